"""The six models of the paper (section 4) as plain ``torch.nn.Module``s. Imports only torch.

Every model takes the same constructor arguments (so that one registry and one trainer serve
them all; each uses the ones it needs) and the same forward:

``forward(image, text, image_mask=None, text_mask=None) -> logits [B, C]``

- ``image``: ``[B, n]`` float image vectors gamma(i) (cached CNN or hand-crafted features), or
  ``None`` when no post in the batch has an image.
- ``text`` (``TextInput``): either ``[B, L]`` long word ids (0 is padding, so a row of zeros is
  an empty text) read through an embedding layer, or ``[B, E]`` float sentence vectors (a frozen
  encoder such as MiniLM) used as psi(s) directly. ``None`` when no post has text.
- ``image_mask`` / ``text_mask``: ``[B]`` bool, which posts have that modality (default: all
  posts, when the tensor is given).

``can_score(has_image, has_text)`` says which posts a model can classify: the single-modality
models need their modality, late and early fusion need both (paper section 3), joint and
common space fusion need either.

``loss(image, text, labels, ...)`` is the training objective: the negative log-likelihood
(eq. 12), plus the auxiliary common-space loss for ``CommonSpace`` (eq. 14).
"""

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# Word ids [B, L] (long, 0 = padding) or dense sentence vectors [B, E] (float).
TextInput = Tensor


def _present(mask: Tensor | None, x: Tensor | None, batch: int, device: torch.device) -> Tensor:
    """The [B] bool mask of posts that have this modality."""
    if x is None:
        return torch.zeros(batch, dtype=torch.bool, device=device)
    if mask is None:
        return torch.ones(batch, dtype=torch.bool, device=device)
    return mask.to(device=device, dtype=torch.bool)


def _batch_info(image: Tensor | None, text: Tensor | None) -> tuple[int, torch.device]:
    ref = image if image is not None else text
    if ref is None:
        raise ValueError("a model needs the image, the text, or both")
    return ref.shape[0], ref.device


def masked_pool(vectors: Tensor, mask: Tensor, how: str) -> Tensor:
    """Pool ``vectors [B, K, m]`` over K where ``mask [B, K]`` is true; all-masked rows give 0.

    ``how`` is ``max`` (component-wise max) or ``mean``. Used both to aggregate words (eq. 9)
    and to fuse the image and text vectors (eq. 10).
    """
    keep = mask.unsqueeze(-1)
    if how == "max":
        pooled = vectors.masked_fill(~keep, float("-inf")).max(dim=1).values
        # a post with nothing to pool (no word, no modality) gets the zero vector, not -inf
        return torch.where(mask.any(dim=1, keepdim=True), pooled, torch.zeros_like(pooled))
    if how == "mean":
        total = (vectors * keep).sum(dim=1)
        count = mask.sum(dim=1, keepdim=True).clamp(min=1)
        return total / count
    raise ValueError(f"unknown pooling {how!r}: use 'max' or 'mean'")


class FastDropout(nn.Module):
    """Inverted dropout, as ``nn.Dropout``, with the mask drawn by ``torch.rand``: on the CPU
    that is about twice as fast as ``bernoulli_``, and the dropout after the lookup was the
    largest single cost of a training step."""

    def __init__(self, p: float = 0.25):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability {p} is not in [0, 1)")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand_like(x) >= self.p
        return x * keep.to(x.dtype) / (1.0 - self.p)


def segment_pool(vectors: Tensor, rows: Tensor, batch: int, how: str) -> Tensor:
    """Pool ``vectors [T, d]`` into ``[batch, d]`` by their ``rows [T]``; empty rows give 0.

    ``rows`` must be sorted (each post's words contiguous), as ``nonzero`` returns them.
    ``how``: ``max`` (component-wise) or ``mean``, the aggregation layer of eq. 9.
    ``segment_reduce`` on contiguous segments: forward and backward 2.5x faster on the CPU
    than ``scatter_reduce``, which was the largest cost of a joint fusion step after the
    image projection.
    """
    if how not in ("max", "mean"):
        raise ValueError(f"unknown pooling {how!r}: use 'max' or 'mean'")
    lengths = torch.bincount(rows, minlength=batch)
    pooled = torch.segment_reduce(vectors, how, lengths=lengths)
    # an empty segment gives -inf (max) or NaN (mean): a post without words pools to zero
    return torch.where(lengths.unsqueeze(1) > 0, pooled, torch.zeros_like(pooled))


class TextEncoder(nn.Module):
    """psi(s): embedding lookup, dropout, aggregation over words (section 4.2).

    With ``vocab_size=None`` the input is already a dense sentence vector [B, dim]; only the
    dropout applies.
    """

    def __init__(
        self,
        vocab_size: int | None,
        dim: int,
        aggregation: str = "max",
        dropout: float = 0.25,
        embeddings: Tensor | None = None,
    ):
        super().__init__()
        self.aggregation = aggregation
        self.dropout = FastDropout(dropout)
        self.embedding: nn.Embedding | None = None
        if vocab_size is not None:
            self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
            if embeddings is not None:
                if tuple(embeddings.shape) != (vocab_size, dim):
                    raise ValueError(
                        f"embeddings of shape {tuple(embeddings.shape)}, "
                        f"expected {(vocab_size, dim)}"
                    )
                with torch.no_grad():
                    self.embedding.weight.copy_(embeddings)
            else:
                # small uniform init as in fastText; N(0, 1) would swamp the max aggregation
                nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
            with torch.no_grad():
                self.embedding.weight[0].zero_()

    def forward(self, text: TextInput) -> Tensor:
        if self.embedding is None:
            return self.dropout(text.float())
        # Look up, drop out and pool only the real words, not the padding: titles are short
        # and a batch is as wide as its longest one, so this is 2-3x faster than a padded
        # [B, L, d] tensor (same result, tested).
        rows, columns = (text != 0).nonzero(as_tuple=True)
        words = self.dropout(self.embedding(text[rows, columns]))  # [T, d]
        return segment_pool(words, rows, text.shape[0], self.aggregation)


class FusionModel(nn.Module):
    """What the six models share: constructor arguments, masks, ``can_score``, ``loss``."""

    needs_image: ClassVar[bool] = False
    needs_text: ClassVar[bool] = False

    def __init__(
        self,
        n_classes: int,
        image_dim: int,
        vocab_size: int | None = None,
        text_dim: int = 200,
        hidden_dim: int = 100,
        aggregation: str = "max",
        fusion: str = "max",
        dropout: float = 0.25,
        negatives: int = 3,
        main_weight: float = 3.0,
        embeddings: Tensor | None = None,
    ):
        super().__init__()
        self.n_classes = n_classes
        self.image_dim = image_dim
        self.vocab_size = vocab_size
        self.text_dim = text_dim
        self.hidden_dim = hidden_dim
        self.aggregation = aggregation
        self.fusion = fusion
        self.negatives = negatives
        self.main_weight = main_weight
        self.dropout_rate = dropout
        self.embeddings = embeddings  # only read when a subclass builds its text encoder

    def _text_encoder(self, aggregation: str | None = None) -> TextEncoder:
        """psi(s) with this model's vocabulary, width, dropout and initial embeddings."""
        return TextEncoder(
            self.vocab_size,
            self.text_dim,
            aggregation or self.aggregation,
            self.dropout_rate,
            self.embeddings,
        )

    @classmethod
    def can_score(cls, has_image: Tensor, has_text: Tensor) -> Tensor:
        """[B] bool: posts this model can classify given which modalities they have."""
        if cls.needs_image and cls.needs_text:
            return has_image & has_text
        if cls.needs_image:
            return has_image.clone()
        if cls.needs_text:
            return has_text.clone()
        return has_image | has_text

    def loss(
        self,
        image: Tensor | None,
        text: TextInput | None,
        labels: Tensor,
        image_mask: Tensor | None = None,
        text_mask: Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Mean negative log-likelihood over the batch (eq. 12)."""
        return F.cross_entropy(self(image, text, image_mask, text_mask), labels)


class ImageOnly(FusionModel):
    """Image-based classifier: one linear layer on gamma(i), softmax (section 5.3)."""

    needs_image = True

    def __init__(self, n_classes: int, image_dim: int, **kwargs):
        super().__init__(n_classes, image_dim, **kwargs)
        self.classifier = nn.Linear(image_dim, n_classes)

    def forward(self, image, text=None, image_mask=None, text_mask=None) -> Tensor:
        if image is None:
            raise ValueError("the image-only model needs the image vectors")
        return self.classifier(image)


class TextOnly(FusionModel):
    """fastText: word (and n-gram) embeddings, mean over words, linear, softmax.

    fastText averages, so the aggregation is always ``mean`` here whatever ``aggregation``
    says; the dropout after the lookup is the paper's (section 5.4).
    """

    needs_text = True

    def __init__(self, n_classes: int, image_dim: int, **kwargs):
        super().__init__(n_classes, image_dim, **kwargs)
        self.text_encoder = self._text_encoder(aggregation="mean")
        self.classifier = nn.Linear(self.text_dim, n_classes)

    def forward(self, image=None, text=None, image_mask=None, text_mask=None) -> Tensor:
        if text is None:
            raise ValueError("the text-only model needs the text")
        return self.classifier(self.text_encoder(text))


class LateFusion(FusionModel):
    """Late fusion (eq. 2): argmax of P(y|i) * P(y|s), from an ImageOnly and a TextOnly model.

    The logits are ``log P(y|i) + log P(y|s)``, so their softmax is the normalised product of
    the two classifiers' probabilities. The two parts are trained separately, each as its own
    single-modality model (the trainer does that; ``loss`` here trains them jointly only as a
    fallback).
    """

    needs_image = True
    needs_text = True

    def __init__(self, n_classes: int, image_dim: int, **kwargs):
        super().__init__(n_classes, image_dim, **kwargs)
        self.image_model = ImageOnly(n_classes, image_dim, **kwargs)
        self.text_model = TextOnly(n_classes, image_dim, **kwargs)

    def forward(self, image, text, image_mask=None, text_mask=None) -> Tensor:
        image_log_probs = F.log_softmax(self.image_model(image), dim=-1)
        text_log_probs = F.log_softmax(self.text_model(None, text), dim=-1)
        return image_log_probs + text_log_probs

    def loss(self, image, text, labels, image_mask=None, text_mask=None, generator=None):
        return F.cross_entropy(self.image_model(image), labels) + F.cross_entropy(
            self.text_model(None, text), labels
        )


class EarlyFusion(FusionModel):
    """Early fusion (eq. 3): [gamma(i); psi(s)] -> linear to h -> linear -> softmax.

    The concatenation needs both modalities; ``can_score`` says so and a missing one is fed
    as zeros only so that a mixed batch still runs.
    """

    needs_image = True
    needs_text = True

    def __init__(self, n_classes: int, image_dim: int, **kwargs):
        super().__init__(n_classes, image_dim, **kwargs)
        self.text_encoder = self._text_encoder()
        self.hidden = nn.Linear(image_dim + self.text_dim, self.hidden_dim)
        self.classifier = nn.Linear(self.hidden_dim, n_classes)

    def forward(self, image, text, image_mask=None, text_mask=None) -> Tensor:
        batch, device = _batch_info(image, text)
        has_image = _present(image_mask, image, batch, device)
        has_text = _present(text_mask, text, batch, device)
        gamma = (
            image * has_image.unsqueeze(-1)
            if image is not None
            else torch.zeros(batch, self.image_dim, device=device)
        )
        psi = (
            self.text_encoder(text) * has_text.unsqueeze(-1)
            if text is not None
            else torch.zeros(batch, self.text_dim, device=device)
        )
        return self.classifier(self.hidden(torch.cat([gamma, psi], dim=-1)))


class JointFusion(FusionModel):
    """Joint fusion (eqs. 10-11): pool(W~ gamma(i) + b~, psi(s)) -> linear to h -> softmax.

    The image vector is projected into the text space, then the two vectors are pooled
    component-wise (``fusion``: max by default, Table 3) over the modalities the post has, so
    a post with only an image or only a text is still classified.
    """

    def __init__(self, n_classes: int, image_dim: int, **kwargs):
        super().__init__(n_classes, image_dim, **kwargs)
        self.text_encoder = self._text_encoder()
        self.image_projection = nn.Linear(image_dim, self.text_dim)  # W~, b~ (eq. 11)
        self.hidden = nn.Linear(self.text_dim, self.hidden_dim)
        self.classifier = nn.Linear(self.hidden_dim, n_classes)

    def encode(
        self, image, text, image_mask=None, text_mask=None
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(gamma~ [B, m], psi [B, m], has_image [B], has_text [B]); absent rows are zeros."""
        batch, device = _batch_info(image, text)
        has_image = _present(image_mask, image, batch, device)
        has_text = _present(text_mask, text, batch, device)
        zeros = torch.zeros(batch, self.text_dim, device=device)
        gamma = self.image_projection(image) if image is not None else zeros
        psi = self.text_encoder(text) if text is not None else zeros
        return gamma, psi, has_image, has_text

    def classify(self, gamma: Tensor, psi: Tensor, has_image: Tensor, has_text: Tensor) -> Tensor:
        post = masked_pool(
            torch.stack([gamma, psi], dim=1), torch.stack([has_image, has_text], dim=1), self.fusion
        )
        return self.classifier(self.hidden(post))

    def forward(self, image, text, image_mask=None, text_mask=None) -> Tensor:
        return self.classify(*self.encode(image, text, image_mask, text_mask))


def common_space_aux_loss(image_vectors: Tensor, positive_texts: Tensor, negative_texts: Tensor):
    """The auxiliary loss of eq. 13, averaged over the anchors.

    ``image_vectors [A, m]`` and ``positive_texts [A, m]`` are the two vectors of the same
    posts; ``negative_texts [A, g, m]`` are g texts from posts of other classes. With the
    Euclidean distance d, each term ``-log(e^-d+ / (e^-d+ + e^-d-))`` equals
    ``softplus(d+ - d-)``.
    """
    positive = _distance(image_vectors, positive_texts)  # [A]
    negative = _distance(image_vectors.unsqueeze(1), negative_texts)  # [A, g]
    return F.softplus(positive.unsqueeze(1) - negative).sum(dim=1).mean()


def _distance(a: Tensor, b: Tensor) -> Tensor:
    # the small epsilon keeps the gradient finite when two vectors coincide
    return torch.sqrt(((a - b) ** 2).sum(dim=-1) + 1e-12)


def sample_negatives(
    labels: Tensor, has_text: Tensor, anchors: Tensor, g: int, generator: torch.Generator | None
) -> tuple[Tensor, Tensor]:
    """For each anchor row, g random rows (with replacement) whose text is present and whose
    label differs. Returns (anchor rows that have at least one candidate [A], their negatives
    [A, g]). Sampling is vectorised over the batch, from the batch itself."""
    candidates = (labels.unsqueeze(0) != labels.unsqueeze(1)) & has_text.unsqueeze(0)
    candidates = candidates[anchors]
    usable = candidates.any(dim=1)
    rows = anchors[usable]
    if rows.numel() == 0:
        return rows, torch.empty(0, g, dtype=torch.long, device=labels.device)
    weights = candidates[usable].float()
    # multinomial on the CPU generator, so a given seed samples the same on every device
    picks = torch.multinomial(weights.cpu(), g, replacement=True, generator=generator)
    return rows, picks.to(labels.device)


class CommonSpace(JointFusion):
    """Common space fusion: joint fusion trained with the auxiliary task (eqs. 13-14).

    loss = lambda * NLL + eq. 13 over the posts that have both modalities, with ``negatives``
    (g) texts of other classes drawn at random from the batch at every step.
    """

    def loss(self, image, text, labels, image_mask=None, text_mask=None, generator=None):
        gamma, psi, has_image, has_text = self.encode(image, text, image_mask, text_mask)
        main = F.cross_entropy(self.classify(gamma, psi, has_image, has_text), labels)
        anchors = torch.nonzero(has_image & has_text).squeeze(1)
        rows, negatives = sample_negatives(labels, has_text, anchors, self.negatives, generator)
        if rows.numel() == 0:
            return self.main_weight * main
        auxiliary = common_space_aux_loss(gamma[rows], psi[rows], psi[negatives])
        return self.main_weight * main + auxiliary


MODELS: dict[str, type[FusionModel]] = {
    "image": ImageOnly,
    "text": TextOnly,
    "late_fusion": LateFusion,
    "early_fusion": EarlyFusion,
    "joint_fusion": JointFusion,
    "common_space": CommonSpace,
}

# The constructor arguments every model accepts (the rest of a hyperparameter dict is training).
MODEL_ARGUMENTS = (
    "vocab_size",
    "text_dim",
    "hidden_dim",
    "aggregation",
    "fusion",
    "dropout",
    "negatives",
    "main_weight",
    "embeddings",
)
