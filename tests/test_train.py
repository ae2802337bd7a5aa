"""Training on real data: Emotion6 JPEGs (colour statistics, cached), real GloVe and MiniLM,
real torch training of the six models, early stopping on validation, conditions, errors."""

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from emofuse.benchmark.train import FusionData, Trainer, prepare_splits, tune_grid
from emofuse.errors import UserError
from emofuse.models import MODELS

CLASSES = ["anger", "fear", "joy", "sadness"]
CUES = {
    "anger": ["furious", "hate", "angry"],
    "fear": ["scared", "creepy", "terrified"],
    "joy": ["happy", "love", "wonderful"],
    "sadness": ["sad", "cry", "lonely"],
}
FILLER = ["the", "a", "photo", "of", "my", "day", "this", "is", "what", "we", "saw", "today"]
FAST = {"batch_size": 16}


def build_posts(shared_data: Path, data: Path, per_class: int = 40) -> pd.DataFrame:
    """Posts from real Emotion6 images and synthetic titles: a cue word of the class 85% of
    the time, of another class otherwise. Some posts lack the image, some the text."""
    rng = np.random.default_rng(0)
    rows = []
    for label in CLASSES:
        sources = sorted((shared_data / "emotion6" / "images" / label).glob("*.jpg"))[:per_class]
        for i, source in enumerate(sources):
            relative = Path("raw/flickr/images") / f"{label}{source.stem}" / "0.jpg"
            (data / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, data / relative)
            sha = hashlib.sha256((data / relative).read_bytes()).hexdigest()
            cue_class = label if rng.random() < 0.85 else str(rng.choice(CLASSES))
            words = list(rng.choice(FILLER, size=4)) + [str(rng.choice(CUES[cue_class]))]
            rng.shuffle(words)
            split = "test" if i < 6 else "validation" if i < 12 else "train"
            rows.append(
                {
                    "post_id": f"flickr:{label}-{source.stem}",
                    "label": label,
                    "text": "" if i % 7 == 3 else " ".join(words),
                    "images": [] if i % 6 == 5 else [{"path": str(relative), "sha256": sha}],
                    "split": split,
                }
            )
    posts = pd.DataFrame(rows)
    # a word seen only in a test post never enters the vocabulary
    posts.loc[(posts["split"] == "test").idxmax(), "text"] = "zzonlyintest"
    return posts


@pytest.fixture(scope="module")
def corpus(shared_data, tmp_path_factory):
    data = tmp_path_factory.mktemp("train") / "data"
    posts = build_posts(shared_data, data)
    splits, meta = prepare_splits(
        posts, data, extractor="color_stats", num_workers=0, show_progress=False
    )
    return posts, data, splits, meta


def fit(model: str, splits, seed: int = 0, **kwargs) -> Trainer:
    kwargs.setdefault("max_epochs", 12)
    kwargs.setdefault("patience", 3)
    hparams = {**FAST, **kwargs.pop("hparams", {})}
    return Trainer(model, "flickr", hparams=hparams, seed=seed, device="cpu", **kwargs).fit(
        splits["train"], splits["validation"]
    )


def test_prepare_splits_tensors(corpus):
    posts, _, splits, meta = corpus
    assert set(splits) == {"train", "validation", "test"}
    assert meta.classes == CLASSES and meta.image_dim == 51 and meta.text_dim == 200
    train, test = splits["train"], splits["test"]
    assert len(train) == 112 and len(test) == 24
    assert train.image.dtype == torch.float32 and train.image.shape == (112, 51)
    assert train.text.dtype == torch.long and train.text.shape[0] == 112
    assert train.labels.tolist() == [
        CLASSES.index(label) for label in posts.query("split == 'train'")["label"]
    ]
    expected_image = [bool(len(im)) for im in posts.query("split == 'train'")["images"]]
    assert train.has_image.tolist() == expected_image
    assert not train.image[~train.has_image].any()
    assert meta.counts["train"]["with_text"] == int(train.has_text.sum()) < 112
    # the test-only word is unknown: the post has text, but no known word
    row = test.post_ids.index(posts.loc[(posts["split"] == "test").idxmax(), "post_id"])
    assert test.has_text[row] and not test.text[row].any()


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_trains_and_scores_what_it_can(corpus, name):
    _, _, splits, _ = corpus
    trainer = fit(name, splits)
    test = splits["test"]
    probs = trainer.predict_proba(test)
    assert probs.shape == (24, 4)
    scorable = MODELS[name].can_score(test.has_image, test.has_text).numpy()
    assert np.isnan(probs[~scorable]).all()
    assert np.allclose(probs[scorable].sum(axis=1), 1.0)
    assert 1 <= len(trainer.history_) <= (24 if name == "late_fusion" else 12)
    # the kept model is the best validation epoch: its validation accuracy is the history's max
    if name != "late_fusion":
        best = max(h["val_accuracy"] for h in trainer.history_)
        assert trainer.score(splits["validation"]) == pytest.approx(best)
    image_only = trainer.predict_proba(test, "image_only")
    text_only = trainer.predict_proba(test, "text_only")
    if name in ("image", "joint_fusion", "common_space"):
        assert (~np.isnan(image_only).any(axis=1)).sum() == int(test.has_image.sum())
    else:
        assert np.isnan(image_only).all()
    if name in ("text", "joint_fusion", "common_space"):
        assert (~np.isnan(text_only).any(axis=1)).sum() == int(test.has_text.sum())
    else:
        assert np.isnan(text_only).all()


def test_text_and_joint_models_learn_the_cue_words(corpus):
    _, _, splits, _ = corpus
    # On the text alone (colour statistics of 112 images are too weak a signal to pin a
    # threshold on), every text-reading model must find the cue words: the text carries the
    # label 85% of the time, chance is 25%, and seeds 0-5 score 0.7-0.9 on these 20 posts.
    text_only = {name: data.with_condition("text_only") for name, data in splits.items()}
    for name in ("text", "joint_fusion", "common_space"):
        trainer = fit(name, text_only, max_epochs=20, patience=5)
        assert trainer.score(text_only["test"]) >= 0.6, name


def test_late_fusion_trains_its_two_classifiers_separately(corpus):
    _, _, splits, _ = corpus
    trainer = fit("late_fusion", splits)
    assert {h["part"] for h in trainer.history_} == {"image_model", "text_model"}
    assert set(trainer.best_epoch_) == {"image_model", "text_model"}


def test_training_is_deterministic_per_seed(corpus):
    _, _, splits, _ = corpus
    first = fit("common_space", splits, seed=3, max_epochs=4).predict_proba(splits["test"])
    again = fit("common_space", splits, seed=3, max_epochs=4).predict_proba(splits["test"])
    other = fit("common_space", splits, seed=4, max_epochs=4).predict_proba(splits["test"])
    assert np.array_equal(first, again, equal_nan=True)
    assert not np.allclose(first, other, equal_nan=True)


def test_glove_initialises_25d_embeddings(corpus, shared_data):
    posts, data, _, _ = corpus
    glove = shared_data / "glove" / "glove.twitter.27B.25d.top12k.txt"
    splits, meta = prepare_splits(posts, data, "color_stats", glove=glove, show_progress=False)
    assert meta.text_dim == 25 and meta.glove_found >= 20
    assert splits["train"].embeddings.shape == (meta.vocab_size, 25)
    trainer = fit("joint_fusion", splits, max_epochs=3)
    assert trainer.model_.text_encoder.embedding.weight.shape == (meta.vocab_size, 25)
    text = fit("text", splits, max_epochs=20, patience=5)
    assert text.score(splits["test"]) >= 0.6  # seeds 0-5: 0.8-0.9


def test_minilm_sentence_vectors_feed_the_models(corpus):
    posts, data, _, _ = corpus
    splits, meta = prepare_splits(posts, data, "color_stats", "minilm", show_progress=False)
    train = splits["train"]
    assert meta.vocab_size is None and meta.text_dim == 384
    assert train.text.dtype == torch.float32 and train.text.shape == (112, 384)
    assert not train.text[~train.has_text].any()
    trainer = fit("text", splits, max_epochs=20, patience=5)
    assert trainer.score(splits["test"]) >= 0.6  # seeds 0-5: 0.85


def test_tune_grid_picks_on_validation(corpus):
    _, _, splits, _ = corpus
    grid = {"lr": [0.001, 0.03], "batch_size": [16]}
    best, results = tune_grid(
        "text", "flickr", splits["train"], splits["validation"], grid, max_epochs=6, patience=2
    )
    assert [r["lr"] for r in results] == [0.001, 0.03]
    top = max(results, key=lambda r: r["val_accuracy"])
    assert best == {"lr": top["lr"], "batch_size": 16}


def test_bad_input_is_one_clear_error(corpus, monkeypatch):
    posts, data, splits, _ = corpus
    with pytest.raises(UserError, match="unknown model 'cnn'"):
        Trainer("cnn").fit(splits["train"], splits["validation"])
    with pytest.raises(UserError, match="unknown hyperparameter"):
        Trainer("text", hparams={"learning_rate": 1}).fit(splits["train"], splits["validation"])
    with pytest.raises(UserError, match="lacks column"):
        prepare_splits(posts.drop(columns=["split"]), data)
    with pytest.raises(UserError, match="no 'validation' split"):
        prepare_splits(posts[posts["split"] != "validation"], data)
    with pytest.raises(UserError, match="unknown text encoder"):
        prepare_splits(posts, data, text_encoder="bert")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserError, match="no CUDA GPU"):
        Trainer("text", device="cuda").fit(splits["train"], splits["validation"])


def test_a_model_that_needs_an_absent_modality_says_so(corpus):
    _, _, splits, _ = corpus
    text_only = {name: data.with_condition("text_only") for name, data in splits.items()}
    with pytest.raises(UserError, match="needs an image and a text"):
        fit("early_fusion", text_only)
    trainer = fit("joint_fusion", text_only)  # the joint model reads the text alone
    assert not np.isnan(trainer.predict_proba(text_only["test"])[text_only["test"].has_text]).any()


def test_fusion_data_conditions():
    data = FusionData(
        image=torch.ones(2, 3),
        has_image=torch.tensor([True, False]),
        text=torch.tensor([[1, 0], [2, 3]]),
        has_text=torch.tensor([True, True]),
        labels=torch.tensor([0, 1]),
        post_ids=["a", "b"],
        classes=["x", "y"],
        vocab_size=4,
    )
    assert data.with_condition("image_only").has_text.tolist() == [False, False]
    assert data.with_condition("text_only").has_image.tolist() == [False, False]
    assert data.with_condition("both") is data
    assert data.subset(torch.tensor([1])).post_ids == ["b"]
    with pytest.raises(UserError):
        data.with_condition("audio_only")


def test_verbose_prints_one_line_per_epoch(corpus, capsys):
    _, _, splits, _ = corpus
    trainer = fit("text", splits, max_epochs=2, patience=5, verbose=True)
    err = capsys.readouterr().err
    assert len(trainer.history_) == 2
    assert "text seed 0 model epoch 1: train loss" in err and "epoch 2:" in err


def test_row_adam_is_sparse_adams_update_rule():
    """The embeddings' optimiser: the same weights as torch's SparseAdam after ragged steps
    (untouched rows keep their moments), and only the used rows move."""
    from emofuse.benchmark.train import RowAdam

    weights = {}
    for name, make in (("sparse", torch.optim.SparseAdam), ("row", RowAdam)):
        torch.manual_seed(0)
        table = torch.nn.Embedding(30, 4, sparse=True)
        optimizer = make([table.weight], lr=0.05)
        start = table.weight.detach().clone()
        for step in range(6):
            ids = torch.randint(1, 20, (5 + step,))  # rows 20-29 never used
            optimizer.zero_grad()
            (table(ids) ** 2).sum().backward()
            optimizer.step()
        weights[name] = table.weight.detach()
    assert torch.allclose(weights["sparse"], weights["row"], atol=1e-6)
    assert torch.equal(weights["row"][20:], start[20:])
    assert not torch.equal(weights["row"][1:20], start[1:20])


def test_public_api_builds_the_fit_model_and_optimiser(corpus):
    """resolved_hparams / build_module / make_optimizer: what benchmarks/train.py's naive loop
    uses; the module is the class fit trains, sized for the data."""
    trainer = Trainer("joint_fusion", "flickr", hparams={"lr": 0.02})
    hp = trainer.resolved_hparams()
    assert hp["lr"] == 0.02 and hp["batch_size"] == 128
    train = corpus[2]["train"]
    module = trainer.build_module(train, hp)
    assert type(module) is MODELS["joint_fusion"]
    assert module.classifier.out_features == len(train.classes)
    optimizer = Trainer.make_optimizer(module, hp)
    assert len(optimizer.optimizers) == 2  # dense Adam + RowAdam for the word embeddings
    with pytest.raises(UserError):
        Trainer("joint_fusion", hparams={"learning_rate": 1}).resolved_hparams()
