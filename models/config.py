"""The paper's hyperparameters (Table 3 and section 5.4) as data, per dataset.

Keys are the keyword arguments of every model in ``models.fusion`` plus the training settings
(``lr``, ``optimizer``, ``batch_size``) that ``emofuse.benchmark.train.Trainer`` reads.
"""

from typing import Any

_SHARED: dict[str, Any] = {
    "embedding_dim": 200,  # d, word embedding size (the GloVe file's width overrides it)
    "hidden_dim": 100,  # h, hidden vector space before the last layer
    "main_weight": 3.0,  # lambda, weight of the classification task in eq. 14
    "aggregation": "max",  # aggregation layer over the words (psi^2, eq. 9)
    "fusion": "max",  # fusion layer of joint and common space fusion (eq. 10)
    "dropout": 0.25,  # dropout right after the embedding lookup (section 5.4)
    "lr": 0.01,  # section 5.4
    # The paper names SGD (eq. 12) but not its schedule; Adam at the paper's learning rate
    # converges in a few epochs on cached features. Switch with hparams={"optimizer": "sgd"}.
    "optimizer": "adam",
    "weight_decay": 0.0,
    "batch_size": 128,
}

PAPER_DEFAULTS: dict[str, dict[str, Any]] = {
    "reddit": {**_SHARED, "negatives": 3},  # g = 3 negative texts (Table 3)
    "flickr": {**_SHARED, "negatives": 4},  # g = 4 negative texts (Table 3)
}


def defaults_for(dataset: str) -> dict[str, Any]:
    """Table 3 defaults for a dataset name.

    Exact name first, then a known prefix (``flickr-2024`` -> flickr), else the Reddit values
    (the paper's smaller ``g``) for a dataset the paper never saw.
    """
    if dataset in PAPER_DEFAULTS:
        return dict(PAPER_DEFAULTS[dataset])
    for name, values in PAPER_DEFAULTS.items():
        if dataset.startswith(name):
            return dict(values)
    return dict(PAPER_DEFAULTS["reddit"])
