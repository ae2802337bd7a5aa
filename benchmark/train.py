"""Training the six models on cached features: data preparation, a Trainer, a tuning grid.

``prepare_splits`` turns a curated posts table into one ``FusionData`` per split (image vectors,
text ids or sentence vectors, presence masks, labels). ``Trainer`` is scikit-learn style:
``Trainer(model=..., dataset=..., seed=...).fit(train, validation).predict_proba(test)``.
Training is vectorised over tensors (shuffled index batches, no per-sample Python loop); the
epoch with the best validation accuracy is kept and training stops after ``patience`` epochs
without improvement: the test split is never looked at.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from emofuse.benchmark.device import resolve_device
from emofuse.errors import UserError
from emofuse.paths import features_dir

if TYPE_CHECKING:
    import pandas as pd
    import torch

CONDITIONS = ("both", "image_only", "text_only")
TEXT_ENCODERS = ("embedding", "minilm")
REQUIRED_COLUMNS = ("post_id", "label", "text", "images", "split")

# The --tune grid, searched on validation only (documented in docs/models.md).
TUNE_GRID: dict[str, list[Any]] = {
    "lr": [0.003, 0.01, 0.03],
    "dropout": [0.25, 0.5],
}


@dataclass
class FusionData:
    """The tensors of one split, row-aligned.

    ``image [N, D]`` float (zeros where ``has_image`` is false), ``text`` either ``[N, L]`` long
    word ids (0 = padding) or ``[N, E]`` float sentence vectors, ``has_text [N]`` bool,
    ``labels [N]`` long (index into ``classes``), ``post_ids`` the rows' post ids.
    ``vocab_size`` (None for dense text) and ``embeddings`` (pretrained [V, d] or None) are
    shared by the splits of one preparation and tell the model how to read the text.
    """

    image: torch.Tensor
    has_image: torch.Tensor
    text: torch.Tensor
    has_text: torch.Tensor
    labels: torch.Tensor
    post_ids: list[str]
    classes: list[str]
    vocab_size: int | None = None
    embeddings: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def image_dim(self) -> int:
        return int(self.image.shape[1])

    @property
    def text_dim(self) -> int:
        if self.embeddings is not None:
            return int(self.embeddings.shape[1])
        return int(self.text.shape[1]) if self.vocab_size is None else 0

    def with_condition(self, condition: str) -> FusionData:
        """The same posts as a model sees them in ``condition``: ``image_only`` hides every
        text, ``text_only`` hides every image, ``both`` changes nothing."""
        import torch

        if condition not in CONDITIONS:
            raise UserError(f"unknown condition {condition!r}", f"use one of {CONDITIONS}")
        if condition == "image_only":
            return replace(self, has_text=torch.zeros_like(self.has_text))
        if condition == "text_only":
            return replace(self, has_image=torch.zeros_like(self.has_image))
        return self

    def subset(self, rows: torch.Tensor) -> FusionData:
        return replace(
            self,
            image=self.image[rows],
            has_image=self.has_image[rows],
            text=self.text[rows],
            has_text=self.has_text[rows],
            labels=self.labels[rows],
            post_ids=[self.post_ids[i] for i in rows.tolist()],
        )


@dataclass
class PreparedMeta:
    """What the splits share: class order, image extractor, text encoder and vocabulary."""

    classes: list[str]
    extractor: str
    image_dim: int
    text_encoder: str
    vocab_size: int | None
    text_dim: int
    glove_found: int | None = None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


def check_posts(posts: pd.DataFrame) -> None:
    missing = [column for column in REQUIRED_COLUMNS if column not in posts.columns]
    if missing:
        raise UserError(
            f"the posts table lacks column(s) {', '.join(missing)}",
            "pass a curated posts.parquet (emofuse curate --split writes it)",
        )
    splits = set(posts["split"].dropna().unique())
    for needed in ("train", "validation"):
        if needed not in splits:
            raise UserError(
                f"the posts table has no {needed!r} split",
                "curate with --split so that train, validation and test exist",
            )


def prepare_splits(
    posts: pd.DataFrame,
    data_dir: Path,
    extractor: str = "color_stats",
    text_encoder: str = "embedding",
    glove: Path | None = None,
    *,
    classes: list[str] | None = None,
    weights: Path | None = None,
    device: str = "cpu",
    embedding_dim: int = 200,
    max_len: int = 64,
    ngrams: int = 1,
    min_count: int = 1,
    cache_dir: Path | None = None,
    num_workers: int | None = None,
    show_progress: bool = True,
) -> tuple[dict[str, FusionData], PreparedMeta]:
    """One ``FusionData`` per split present, and the shared metadata.

    Image vectors come from ``extract_image_features`` (cached). Text: ``embedding`` builds the
    vocabulary from the train split only (word ids; ``--glove`` initialises the embeddings and
    sets d to the file's width, else d = ``embedding_dim``); ``minilm`` uses frozen 384-d
    sentence vectors.
    """
    import torch

    from emofuse.benchmark.features import check_extractor, extract_image_features
    from emofuse.benchmark.text import MiniLMEncoder, TextVectorizer, load_glove

    check_posts(posts)
    check_extractor(extractor)
    if text_encoder not in TEXT_ENCODERS:
        raise UserError(f"unknown text encoder {text_encoder!r}", "use embedding or minilm")
    if glove is not None and not Path(glove).is_file():
        raise UserError(f"GloVe file not found: {glove}", "pass --glove PATH to a GloVe .txt")
    posts = posts.reset_index(drop=True)
    labels_present = sorted(posts["label"].astype(str).unique())
    classes = list(classes) if classes else labels_present
    unknown = sorted(set(labels_present) - set(classes))
    if unknown:
        raise UserError(f"labels {unknown} are not in the classes {classes}", "check dataset.json")

    image, has_image = extract_image_features(
        posts,
        Path(data_dir),
        extractor,
        weights=weights,
        device=device,
        cache_dir=cache_dir,
        num_workers=num_workers,
        show_progress=show_progress,
    )
    texts = [str(t) if isinstance(t, str) else "" for t in posts["text"]]
    split_of = posts["split"].astype(str).to_numpy()
    train_rows = np.flatnonzero(split_of == "train")

    vocab_size: int | None = None
    embeddings: torch.Tensor | None = None
    glove_found: int | None = None
    if text_encoder == "embedding":
        vectorizer = TextVectorizer(min_count=min_count, max_len=max_len, ngrams=ngrams)
        vectorizer.fit([texts[i] for i in train_rows])
        vocab_size = vectorizer.vocab_size
        text_dim = embedding_dim
        if glove is not None:
            matrix, glove_found = load_glove(glove, vectorizer.vocabulary_)
            embeddings = torch.from_numpy(matrix)
            text_dim = matrix.shape[1]
        ids, _, has_text = vectorizer.transform(texts)
        text_all: torch.Tensor = ids
    else:
        root = Path(cache_dir) if cache_dir is not None else features_dir(Path(data_dir))
        encoder = MiniLMEncoder(device=resolve_device(device), cache_dir=root / "minilm" / "v1")
        text_all = torch.from_numpy(encoder.encode(texts))
        has_text = torch.tensor([bool(t.strip()) for t in texts])
        text_dim = MiniLMEncoder.dim

    index = {name: i for i, name in enumerate(classes)}
    labels = torch.tensor([index[str(label)] for label in posts["label"]], dtype=torch.long)
    image_all = torch.from_numpy(image)
    has_image_all = torch.from_numpy(has_image)
    post_ids = posts["post_id"].astype(str).tolist()

    splits: dict[str, FusionData] = {}
    counts: dict[str, dict[str, int]] = {}
    for split in ("train", "validation", "test"):
        rows = np.flatnonzero(split_of == split)
        if len(rows) == 0:
            continue
        r = torch.from_numpy(rows)
        data = FusionData(
            image=image_all[r],
            has_image=has_image_all[r],
            text=_trim(text_all[r]) if vocab_size is not None else text_all[r],
            has_text=has_text[r],
            labels=labels[r],
            post_ids=[post_ids[i] for i in rows],
            classes=classes,
            vocab_size=vocab_size,
            embeddings=embeddings,
        )
        splits[split] = data
        counts[split] = {
            "posts": len(data),
            "with_image": int(data.has_image.sum()),
            "with_text": int(data.has_text.sum()),
        }
    meta = PreparedMeta(
        classes=classes,
        extractor=extractor,
        image_dim=int(image.shape[1]),
        text_encoder=text_encoder,
        vocab_size=vocab_size,
        text_dim=text_dim,
        glove_found=glove_found,
        counts=counts,
    )
    return splits, meta


def _trim(ids: torch.Tensor) -> torch.Tensor:
    """Drop padding columns no row of this split uses."""
    used = int((ids != 0).sum(dim=1).max()) if ids.numel() else 0
    return ids[:, : max(1, used)]


# ---------------------------------------------------------------------------------------------
# Trainer


class Trainer:
    """Train one of the six models on ``FusionData`` (scikit-learn style).

    Parameters: ``model`` (a key of ``emofuse.models.MODELS``), ``dataset`` (picks the paper's
    Table 3 defaults, ``emofuse.models.PAPER_DEFAULTS``), ``hparams`` (overrides them: any of
    embedding_dim, hidden_dim, aggregation, fusion, dropout, negatives, main_weight, lr,
    optimizer, weight_decay, batch_size), ``seed``, ``device`` (auto, cpu, cuda),
    ``max_epochs``, ``patience`` (epochs without a better validation accuracy before stopping),
    ``verbose`` (print one line per epoch), ``num_threads`` (torch CPU threads while fitting
    and predicting; default 1, because these models are so small that intra-op threads cost
    more than they give: 5-10x slower on a busy 2-core machine. Run several trainers in
    parallel processes instead).

    Learned: ``model_`` (the torch module at its best validation epoch), ``history_`` (one dict
    per epoch: part, epoch, train_loss, val_loss, val_accuracy), ``hparams_``, ``device_``,
    ``best_epoch_``, ``image_mean_``/``image_std_`` (standardisation of the image vectors, from
    the training posts with an image).

    Late fusion is trained as its two single-modality models, each with its own early stopping.
    """

    def __init__(
        self,
        model: str = "joint_fusion",
        dataset: str = "reddit",
        hparams: dict[str, Any] | None = None,
        seed: int = 0,
        device: str = "auto",
        max_epochs: int = 30,
        patience: int = 4,
        num_threads: int | None = 1,
        verbose: bool = False,
    ):
        self.model = model
        self.dataset = dataset
        self.hparams = hparams
        self.seed = seed
        self.device = device
        self.max_epochs = max_epochs
        self.patience = patience
        self.num_threads = num_threads
        self.verbose = verbose

    # -- building ------------------------------------------------------------------------------

    def resolved_hparams(self) -> dict[str, Any]:
        """The paper's defaults for ``dataset`` with ``hparams`` applied over them."""
        from emofuse.models import defaults_for

        values = defaults_for(self.dataset)
        unknown = set(self.hparams or {}) - set(values)
        if unknown:
            raise UserError(
                f"unknown hyperparameter(s) {sorted(unknown)}",
                f"use some of {sorted(values)}",
            )
        values.update(self.hparams or {})
        return values

    def build_module(self, data: FusionData, hparams: dict[str, Any] | None = None):
        """A fresh, untrained torch module of ``model`` sized for ``data`` (default
        hyperparameters: ``resolved_hparams()``)."""
        from emofuse.models import MODELS

        hparams = hparams if hparams is not None else self.resolved_hparams()

        text_dim = hparams["embedding_dim"]
        if data.embeddings is not None or data.vocab_size is None:
            text_dim = data.text_dim  # GloVe's width, or the sentence encoder's
        return MODELS[self.model](
            n_classes=len(data.classes),
            image_dim=data.image_dim,
            vocab_size=data.vocab_size,
            text_dim=text_dim,
            hidden_dim=hparams["hidden_dim"],
            aggregation=hparams["aggregation"],
            fusion=hparams["fusion"],
            dropout=hparams["dropout"],
            negatives=hparams["negatives"],
            main_weight=hparams["main_weight"],
            embeddings=data.embeddings,
        )

    # -- fitting -------------------------------------------------------------------------------

    def fit(self, train: FusionData, validation: FusionData) -> Trainer:
        with _torch_threads(self.num_threads):
            return self._fit(train, validation)

    def _fit(self, train: FusionData, validation: FusionData) -> Trainer:
        import torch

        from emofuse.models import MODELS

        if self.model not in MODELS:
            raise UserError(f"unknown model {self.model!r}", f"use one of {', '.join(MODELS)}")
        self.device_ = resolve_device(self.device)
        self.hparams_ = self.resolved_hparams()
        torch.manual_seed(self.seed)

        image_rows = train.image[train.has_image]
        if len(image_rows):
            # numpy: torch's column-wise std is ~6x slower on one thread (100 ms a fit)
            values = image_rows.cpu().numpy()
            self.image_mean_ = torch.from_numpy(values.mean(axis=0))
            self.image_std_ = torch.from_numpy(values.std(axis=0)).clamp(min=1e-6)
        else:
            self.image_mean_ = torch.zeros(train.image_dim)
            self.image_std_ = torch.ones(train.image_dim)

        self.model_ = self.build_module(train, self.hparams_).to(self.device_)
        self.history_: list[dict[str, Any]] = []
        self.best_epoch_: dict[str, int] = {}
        train_d, valid_d = self._to_device(train), self._to_device(validation)
        if self.model == "late_fusion":
            for part in ("image_model", "text_model"):
                self._fit_module(getattr(self.model_, part), part, train_d, valid_d)
        else:
            self._fit_module(self.model_, "model", train_d, valid_d)
        self.model_.eval()
        return self

    def _to_device(self, data: FusionData) -> FusionData:
        image = (data.image - self.image_mean_) / self.image_std_
        image = image * data.has_image.unsqueeze(1)  # absent images stay exactly zero
        device = self.device_
        return replace(
            data,
            image=image.to(device),
            has_image=data.has_image.to(device),
            text=data.text.to(device),
            has_text=data.has_text.to(device),
            labels=data.labels.to(device),
        )

    def _fit_module(self, module, part: str, train: FusionData, validation: FusionData) -> None:
        import torch

        trainable = module.can_score(train.has_image, train.has_text)
        rows = torch.nonzero(trainable).squeeze(1)
        if rows.numel() == 0:
            raise UserError(
                f"no training post can feed the {self.model} model "
                f"({type(module).__name__} needs "
                f"{_needs(module)})",
                "choose models that match the modalities the dataset has",
            )
        hp = self.hparams_
        optimizer = self.make_optimizer(module, hp)
        generator = torch.Generator().manual_seed(self.seed)
        batch_size = int(hp["batch_size"])
        best_accuracy, best_loss, best_state, stale = -1.0, float("inf"), None, 0
        for epoch in range(1, self.max_epochs + 1):
            module.train()
            order = rows[torch.randperm(rows.numel(), generator=generator).to(rows.device)]
            total, seen = 0.0, 0
            for start in range(0, order.numel(), batch_size):
                batch = order[start : start + batch_size]
                image, text, has_image, has_text = _inputs(train, batch)
                loss = module.loss(
                    image, text, train.labels[batch], has_image, has_text, generator=generator
                )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * batch.numel()
                seen += batch.numel()
            val_loss, val_accuracy = self._evaluate(module, validation)
            record = {
                "part": part,
                "epoch": epoch,
                "train_loss": total / max(seen, 1),
                "val_loss": val_loss,
                "val_accuracy": val_accuracy,
            }
            self.history_.append(record)
            if self.verbose:
                from emofuse.log import console

                console.print(
                    f"{self.model} seed {self.seed} {part} epoch {epoch}: "
                    f"train loss {record['train_loss']:.4f}, validation loss {val_loss:.4f}, "
                    f"validation accuracy {val_accuracy:.4f}",
                    highlight=False,
                )
            # Keep the epoch with the best validation accuracy (ties: lower validation loss);
            # stop once accuracy has not risen for `patience` epochs, since a loss that keeps
            # creeping down at equal accuracy would otherwise train to max_epochs.
            better = val_accuracy > best_accuracy
            if better or (val_accuracy == best_accuracy and val_loss < best_loss):
                best_state = copy.deepcopy(module.state_dict())
                best_accuracy, best_loss = val_accuracy, val_loss
                self.best_epoch_[part] = epoch
            stale = 0 if better else stale + 1
            if stale >= self.patience:
                break
        if best_state is not None:
            module.load_state_dict(best_state)

    @staticmethod
    def make_optimizer(module, hparams: dict[str, Any]) -> _Optimizers:
        """The optimiser the Trainer steps ``module`` with: Adam (or SGD) at the paper's rate.

        The word embeddings get sparse gradients (only the rows a batch uses), updated by
        ``RowAdam``: a dense Adam step over a 20,000 x 200 table costs more than the rest of the
        step together. Without weight decay that is Adam's update rule on the rows touched
        (as torch's SparseAdam, which is ~1.6x slower on the CPU). The dense parameters use
        torch's fused Adam where it exists (one kernel instead of one op per tensor and step).
        """
        import torch

        hp = hparams
        embedding_weights = []
        if hp["optimizer"] == "adam" and not hp["weight_decay"]:
            for layer in module.modules():
                if isinstance(layer, torch.nn.Embedding):
                    layer.sparse = True
                    embedding_weights.append(layer.weight)
        sparse_ids = {id(p) for p in embedding_weights}
        dense = [p for p in module.parameters() if p.requires_grad and id(p) not in sparse_ids]
        if hp["optimizer"] == "adam":
            optimizers = [
                torch.optim.Adam(dense, lr=hp["lr"], weight_decay=hp["weight_decay"], fused=True)
            ]
            if embedding_weights:
                optimizers.append(RowAdam(embedding_weights, lr=hp["lr"]))
            return _Optimizers(optimizers)
        if hp["optimizer"] == "sgd":
            return _Optimizers(
                [torch.optim.SGD(dense, lr=hp["lr"], weight_decay=hp["weight_decay"])]
            )
        raise UserError(f"unknown optimizer {hp['optimizer']!r}", "use adam or sgd")

    def _evaluate(self, module, data: FusionData) -> tuple[float, float]:
        """(mean NLL, accuracy) on the posts ``module`` can score; (inf, 0) if there are none."""
        import torch
        import torch.nn.functional as F

        rows = torch.nonzero(module.can_score(data.has_image, data.has_text)).squeeze(1)
        if rows.numel() == 0:
            return float("inf"), 0.0
        logits = self._logits(module, data, rows)
        labels = data.labels[rows]
        loss = float(F.cross_entropy(logits, labels))
        accuracy = float((logits.argmax(dim=1) == labels).float().mean())
        return loss, accuracy

    def _logits(self, module, data: FusionData, rows: torch.Tensor) -> torch.Tensor:
        import torch

        module.eval()
        chunks = []
        with torch.no_grad():
            for start in range(0, rows.numel(), 4096):
                batch = rows[start : start + 4096]
                chunks.append(module(*_inputs(data, batch)).float())
        return torch.cat(chunks)

    # -- predicting ----------------------------------------------------------------------------

    def predict_proba(self, data: FusionData, condition: str = "both") -> np.ndarray:
        """Class probabilities [N, C] in ``classes`` order; a row is NaN where the model cannot
        score the post in ``condition`` (e.g. the image model on a post without image, or any
        image-needing model under ``text_only``)."""
        import torch

        if not hasattr(self, "model_"):
            raise RuntimeError("fit the Trainer first")
        seen = self._to_device(data.with_condition(condition))
        out = np.full((len(data), len(data.classes)), np.nan, dtype=np.float64)
        rows = torch.nonzero(self.model_.can_score(seen.has_image, seen.has_text)).squeeze(1)
        if rows.numel():
            with _torch_threads(self.num_threads):
                probs = torch.softmax(self._logits(self.model_, seen, rows), dim=1)
            out[rows.cpu().numpy()] = probs.double().cpu().numpy()
        return out

    def predict(self, data: FusionData, condition: str = "both") -> np.ndarray:
        """Class indexes [N]; -1 where the model cannot score the post."""
        probs = self.predict_proba(data, condition)
        scored = ~np.isnan(probs).any(axis=1)
        out = np.full(len(data), -1, dtype=np.int64)
        out[scored] = probs[scored].argmax(axis=1)
        return out

    def score(self, data: FusionData, condition: str = "both") -> float:
        """Accuracy over the posts the model can score in ``condition`` (NaN if none)."""
        predictions = self.predict(data, condition)
        scored = predictions >= 0
        if not scored.any():
            return float("nan")
        return float((predictions[scored] == data.labels.numpy()[scored]).mean())


def RowAdam(params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8):
    """Adam for sparse-gradient embedding tables, updating only the rows a batch used.

    The same rule as ``torch.optim.SparseAdam`` (moments of untouched rows are left as they
    are), with fewer passes over the rows: index the moments once, update, write back.
    A function returning the optimizer, so that torch is imported only when training.
    """
    import torch

    class _RowAdam(torch.optim.Optimizer):
        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                for param in group["params"]:
                    if param.grad is None:
                        continue
                    grad = param.grad.coalesce()  # one row per word id, duplicates summed
                    rows, values = grad.indices()[0], grad.values()
                    state = self.state[param]
                    if not state:
                        state["step"] = 0
                        state["exp_avg"] = torch.zeros_like(param)
                        state["exp_avg_sq"] = torch.zeros_like(param)
                    state["step"] += 1
                    step = state["step"]
                    exp_avg = state["exp_avg"].index_select(0, rows).lerp_(values, 1 - beta1)
                    exp_avg_sq = state["exp_avg_sq"].index_select(0, rows)
                    exp_avg_sq.mul_(beta2).addcmul_(values, values, value=1 - beta2)
                    state["exp_avg"].index_copy_(0, rows, exp_avg)
                    state["exp_avg_sq"].index_copy_(0, rows, exp_avg_sq)
                    step_size = group["lr"] * (1 - beta2**step) ** 0.5 / (1 - beta1**step)
                    update = exp_avg.div_(exp_avg_sq.sqrt_().add_(group["eps"]))
                    param.index_add_(0, rows, update, alpha=-step_size)

    return _RowAdam(params, dict(lr=lr, betas=betas, eps=eps))


class _Optimizers:
    """Several torch optimizers stepped as one (dense Adam + RowAdam for the embeddings)."""

    def __init__(self, optimizers: list):
        self.optimizers = optimizers

    def zero_grad(self, set_to_none: bool = True) -> None:
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        for optimizer in self.optimizers:
            optimizer.step()


@contextlib.contextmanager
def _torch_threads(count: int | None):
    """Run with ``count`` torch CPU threads, then restore the previous setting."""
    import torch

    if count is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _needs(module) -> str:
    if module.needs_image and module.needs_text:
        return "an image and a text"
    if module.needs_image:
        return "an image"
    if module.needs_text:
        return "a text"
    return "an image or a text"


def _inputs(data: FusionData, rows: torch.Tensor):
    """(image, text, has_image, has_text) of these rows; word ids trimmed to the longest row."""
    text = data.text[rows]
    if data.vocab_size is not None and text.shape[1] > 1:
        used = int((text != 0).sum(dim=1).max())
        text = text[:, : max(1, used)]
    return data.image[rows], text, data.has_image[rows], data.has_text[rows]


# ---------------------------------------------------------------------------------------------
# Tuning


def tune_grid(
    model: str,
    dataset: str,
    train: FusionData,
    validation: FusionData,
    grid: dict[str, list[Any]] | None = None,
    *,
    seed: int = 0,
    device: str = "auto",
    max_epochs: int = 30,
    patience: int = 4,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Try every combination of ``grid`` (default ``TUNE_GRID``) on validation only.

    Returns (the best overrides, one record per combination with its validation accuracy).
    Ties go to the earlier combination, i.e. the one listed first in the grid.
    """
    grid = grid or TUNE_GRID
    names = list(grid)
    results: list[dict[str, Any]] = []
    best: dict[str, Any] = {}
    best_accuracy = -1.0
    for values in itertools.product(*(grid[name] for name in names)):
        overrides = dict(zip(names, values, strict=True))
        trainer = Trainer(
            model,
            dataset,
            hparams=overrides,
            seed=seed,
            device=device,
            max_epochs=max_epochs,
            patience=patience,
        ).fit(train, validation)
        accuracy = trainer.score(validation)
        results.append({**overrides, "val_accuracy": accuracy})
        if accuracy > best_accuracy:
            best, best_accuracy = overrides, accuracy
    return best, results
