"""Image features gamma(i), chosen by name, batched, cached per image sha256 and extractor.

Extractors (``EXTRACTORS``):

- ``inception_v3``: torchvision InceptionV3, the 2048-d pooled output before the classifier
  (the paper's image vector). ImageNet weights from the torch hub cache or ``--weights PATH``.
- ``color_stats``: 51 hand-crafted colour, brightness, saturation and texture statistics in the
  spirit of Machajdik and Hanbury (2010); no weights, so any machine runs the benchmark.
- ``precomputed:PATH``: vectors from a file (Parquet, .npz, or .npy + .keys.txt) keyed by
  ``post_id`` or image ``sha256``, so any backbone can be plugged in.

A post's vector is the mean of its images' vectors; a post without images gets a zero vector
and ``has_image = False``. Decoding runs in DataLoader workers; on CUDA the CNN runs
channels_last under bf16 autocast. The cache lives in ``<data>/features/<extractor>/<variant>/``
(the variant names the weights, so vectors of different weights never mix) as ``.npz`` shards
of (sha256, vector), written atomically every few thousand images: a rerun, or a run after a
crash, only computes the images not yet cached.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from emofuse.benchmark.device import resolve_device
from emofuse.errors import UserError
from emofuse.paths import features_dir

if TYPE_CHECKING:
    import pandas as pd
    import torch

INCEPTION_URL = "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth"
INCEPTION_FILE = "inception_v3_google-0cc3c7bd.pth"
SHARD_SIZE = 2048  # images per cache shard: what a crash can cost at most


# ---------------------------------------------------------------------------------------------
# Decoding


def open_rgb(path: Path, size: int) -> Any:
    """Decode an image as RGB, letting libjpeg downscale (draft) to about ``size`` pixels."""
    from PIL import Image

    image = Image.open(path)
    image.draft("RGB", (size, size))  # JPEG DCT scaling: decodes 2-8x fewer pixels
    return image.convert("RGB")


# ---------------------------------------------------------------------------------------------
# color_stats


def color_statistics(rgb: np.ndarray) -> np.ndarray:
    """51 hand-crafted statistics of an RGB uint8 image [H, W, 3] (Machajdik & Hanbury 2010).

    Colour: RGB means and stds; saturation-weighted circular hue mean and concentration; hue
    histogram (12 bins, weighted by saturation); warm-hue share; Hasler-Suesstrunk
    colourfulness. Saturation and brightness: means, stds, 4-bin histograms, Valdez-Mehrabian
    pleasure/arousal/dominance, dark and bright shares, RMS contrast and dynamic range.
    Texture and composition: gradient magnitude at two scales, edge density, Laplacian
    variance, rule-of-thirds centre saturation and brightness, and a low-depth-of-field proxy
    (centre sharpness over overall sharpness).
    """
    pixels = rgb.astype(np.float32) / 255.0
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    maximum = pixels.max(axis=-1)
    minimum = pixels.min(axis=-1)
    value = maximum
    chroma = maximum - minimum
    saturation = np.where(maximum > 0, chroma / np.maximum(maximum, 1e-6), 0.0)
    # hue in [0, 1): the standard piecewise RGB -> HSV formula, vectorised
    safe = np.maximum(chroma, 1e-6)
    hue = np.where(
        maximum == r,
        ((g - b) / safe) % 6,
        np.where(maximum == g, (b - r) / safe + 2, (r - g) / safe + 4),
    )
    hue = np.where(chroma > 1e-6, hue / 6.0, 0.0)
    angle = hue * 2 * np.pi
    weight_total = saturation.sum() + 1e-6
    hue_cos = (np.cos(angle) * saturation).sum() / weight_total
    hue_sin = (np.sin(angle) * saturation).sum() / weight_total
    hue_concentration = np.hypot(hue_cos, hue_sin)
    hue_hist = np.bincount(
        np.minimum((hue * 12).astype(int), 11).ravel(), weights=saturation.ravel(), minlength=12
    ) / float(weight_total)
    saturated = saturation > 0.2
    warm = ((hue < 1 / 6) | (hue > 5 / 6)) & saturated  # reds, oranges, yellows, magentas
    warm_share = warm.sum() / max(saturated.sum(), 1)
    sat_hist = np.histogram(saturation, bins=4, range=(0, 1))[0] / saturation.size
    val_hist = np.histogram(value, bins=4, range=(0, 1))[0] / value.size
    mean_s, mean_v = saturation.mean(), value.mean()
    pleasure = 0.69 * mean_v + 0.22 * mean_s
    arousal = -0.31 * mean_v + 0.60 * mean_s
    dominance = -0.76 * mean_v + 0.32 * mean_s
    rg = r - g
    yb = 0.5 * (r + g) - b
    colourfulness = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    low, high = np.percentile(luma, [5, 95])

    def gradient(image: np.ndarray) -> np.ndarray:
        gy = np.abs(np.diff(image, axis=0))[:, :-1]
        gx = np.abs(np.diff(image, axis=1))[:-1, :]
        return np.hypot(gx, gy)

    fine = gradient(luma)
    even = luma[: luma.shape[0] // 2 * 2, : luma.shape[1] // 2 * 2]
    coarse_luma = even.reshape(even.shape[0] // 2, 2, even.shape[1] // 2, 2).mean(axis=(1, 3))
    coarse = gradient(coarse_luma) if min(coarse_luma.shape) > 1 else np.zeros((1, 1))
    laplacian = (
        luma[1:-1, :-2] + luma[1:-1, 2:] + luma[:-2, 1:-1] + luma[2:, 1:-1] - 4 * luma[1:-1, 1:-1]
    )
    height, width = luma.shape
    centre = (
        slice(height // 3, max(2 * height // 3, height // 3 + 1)),
        slice(width // 3, max(2 * width // 3, width // 3 + 1)),
    )
    centre_fine = fine[centre] if fine.size else fine
    sharp_all = float(fine.mean()) if fine.size else 0.0
    sharp_centre = float(centre_fine.mean()) if centre_fine.size else 0.0
    features = [
        *pixels.reshape(-1, 3).mean(axis=0),
        *pixels.reshape(-1, 3).std(axis=0),
        hue_cos,
        hue_sin,
        hue_concentration,
        mean_s,
        saturation.std(),
        mean_v,
        value.std(),
        pleasure,
        arousal,
        dominance,
        *hue_hist,
        *sat_hist,
        *val_hist,
        colourfulness,
        luma.std(),
        high - low,
        fine.mean() if fine.size else 0.0,
        fine.std() if fine.size else 0.0,
        coarse.mean(),
        coarse.std(),
        (fine > 0.1).mean() if fine.size else 0.0,
        laplacian.var() if laplacian.size else 0.0,
        warm_share,
        saturation[centre].mean(),
        value[centre].mean(),
        sharp_centre / (sharp_all + 1e-6),
        (value < 0.2).mean(),
        (value > 0.8).mean(),
    ]
    return np.asarray(features, dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# Extractors


@dataclass
class Extractor:
    """One way to turn an image into a vector.

    ``preprocess`` runs in the DataLoader workers (decode + resize, or the whole feature for a
    cheap extractor); ``embed`` runs on a collated batch in the main process.
    """

    name: str
    dim: int
    weights: Path | None = None
    device: str = "cpu"

    def variant(self) -> str:
        """Names what changes the vectors besides the extractor (e.g. the weights)."""
        return "v1"

    def prepare(self) -> None:
        """Load what ``embed`` needs (weights); called only when something must be computed."""

    def preprocess(self, path: Path) -> Any:
        raise NotImplementedError

    def embed(self, batch: Any) -> np.ndarray:
        raise NotImplementedError


class ColorStats(Extractor):
    SIZE = 160  # statistics of a ~160 px image; colour statistics barely change with size

    def __init__(self, weights: Path | None = None, device: str = "cpu"):
        super().__init__("color_stats", 51, None, device)

    def variant(self) -> str:
        # bump whenever color_statistics changes, so that old cached vectors are not reused
        return "v2"

    def preprocess(self, path: Path) -> np.ndarray:
        image = open_rgb(path, self.SIZE)
        image.thumbnail((self.SIZE, self.SIZE))
        return color_statistics(np.asarray(image))

    def embed(self, batch: Any) -> np.ndarray:
        return np.asarray(batch, dtype=np.float32)


def inception_weights_path(weights: Path | None) -> Path:
    """The InceptionV3 weights to load: ``weights`` or the torch hub cache. Error if missing."""
    if weights is not None:
        weights = Path(weights).expanduser()
        if not weights.is_file():
            raise UserError(
                f"weights file not found: {weights}",
                "pass --weights PATH to an InceptionV3 state dict (.pth)",
            )
        return weights
    import torch

    cached = Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE
    if not cached.is_file():
        try:
            _download(INCEPTION_URL, cached)
        except OSError as error:  # no network, DNS failure, HTTP error, timeout
            raise UserError(
                f"InceptionV3 ImageNet weights are not in the torch cache ({cached}) and "
                f"cannot be downloaded ({type(error).__name__})",
                f"download {INCEPTION_URL} to that path, or pass --weights PATH, "
                "or use --extractor color_stats (no weights needed)",
            ) from None
    return cached


def _download(url: str, target: Path, timeout: float = 20.0) -> None:
    """Fetch the torchvision weights into the torch cache (checked against the hash prefix
    in the file name); an offline machine fails in well under a second."""
    import socket

    import torch

    target.parent.mkdir(parents=True, exist_ok=True)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        torch.hub.download_url_to_file(url, str(target), hash_prefix="0cc3c7bd", progress=False)
    except RuntimeError as error:  # hash mismatch: a corrupt or intercepted download
        raise OSError(str(error)) from None
    finally:
        socket.setdefaulttimeout(previous)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class InceptionV3(Extractor):
    SIZE = 299
    RESIZE = 342  # torchvision's IMAGENET1K_V1 eval transform: resize 342, centre crop 299
    MEAN = (0.485, 0.456, 0.406)
    STD = (0.229, 0.224, 0.225)

    def __init__(self, weights: Path | None = None, device: str = "cpu"):
        super().__init__("inception_v3", 2048, weights, device)
        self._path = inception_weights_path(weights)
        self._model = None

    def variant(self) -> str:
        return "weights-" + _file_sha256(self._path)[:12]

    def prepare(self) -> None:
        import torch
        import torchvision

        try:
            state = torch.load(self._path, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises many types for a bad file
            raise UserError(
                f"cannot read weights {self._path} ({type(error).__name__})",
                "pass --weights PATH to an InceptionV3 state dict saved with torch.save",
            ) from None
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        # transform_input: the ImageNet weights expect torchvision's re-normalisation
        model = torchvision.models.inception_v3(
            weights=None, aux_logits=True, transform_input=True, init_weights=False
        )
        try:
            model.load_state_dict(state)
        except (RuntimeError, TypeError, AttributeError) as error:
            first = str(error).splitlines()[0][:120]
            raise UserError(
                f"{self._path} is not an InceptionV3 state dict ({first})",
                "pass --weights PATH to torchvision InceptionV3 weights",
            ) from None
        model.fc = torch.nn.Identity()  # the 2048-d pooled vector, not the 1000 logits
        model.AuxLogits = None
        model.aux_logits = False
        model.eval()
        if self.device.startswith("cuda"):
            model = model.to(self.device, memory_format=torch.channels_last)
        self._model = model

    def preprocess(self, path: Path) -> Any:
        import torch

        image = open_rgb(path, self.RESIZE)
        width, height = image.size
        scale = self.RESIZE / min(width, height)
        image = image.resize(
            (max(self.SIZE, round(width * scale)), max(self.SIZE, round(height * scale))),
            resample=1,  # PIL.Image.LANCZOS would be sharper; bilinear matches torchvision
        )
        width, height = image.size
        left, top = (width - self.SIZE) // 2, (height - self.SIZE) // 2
        image = image.crop((left, top, left + self.SIZE, top + self.SIZE))
        tensor = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1)
        return tensor  # uint8 [3, 299, 299]; normalised in embed, on the device

    def embed(self, batch: torch.Tensor) -> np.ndarray:
        import torch

        assert self._model is not None, "prepare() first"
        mean = torch.tensor(self.MEAN).view(1, 3, 1, 1)
        std = torch.tensor(self.STD).view(1, 3, 1, 1)
        with torch.inference_mode():
            if self.device.startswith("cuda"):
                x = batch.to(self.device, non_blocking=True).float().div_(255)
                x = ((x - mean.to(x.device)) / std.to(x.device)).contiguous(
                    memory_format=torch.channels_last
                )
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    out = self._model(x)
            else:
                x = (batch.float().div_(255) - mean) / std
                out = self._model(x)
        return out.float().cpu().numpy()


EXTRACTORS: dict[str, Callable[..., Extractor]] = {
    "inception_v3": InceptionV3,
    "color_stats": ColorStats,
}
PRECOMPUTED_PREFIX = "precomputed:"


def check_extractor(name: str) -> None:
    """UserError for an unknown extractor name (call before any work)."""
    if name.startswith(PRECOMPUTED_PREFIX) or name in EXTRACTORS:
        return
    raise UserError(
        f"unknown image extractor {name!r}",
        f"use one of {', '.join(EXTRACTORS)}, or precomputed:PATH",
    )


# ---------------------------------------------------------------------------------------------
# Cache


@dataclass
class FeatureCache:
    """(sha256 -> vector) shards under one folder; shards are written atomically."""

    folder: Path
    dim: int
    vectors: dict[str, np.ndarray] = field(default_factory=dict)

    def load(self) -> FeatureCache:
        for shard in sorted(self.folder.glob("shard-*.npz")):
            with np.load(shard, allow_pickle=False) as data:
                keys, values = data["sha256"], data["vectors"]
            if values.ndim != 2 or values.shape[1] != self.dim:
                continue  # a shard of another layout: ignore rather than mix dimensions
            self.vectors.update(zip(keys.tolist(), values, strict=True))
        return self

    def write(self, keys: list[str], values: np.ndarray) -> None:
        if not keys:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"shard-{time.time_ns()}-{os.getpid()}.npz"
        temporary = self.folder / (name + ".tmp.npz")
        np.savez(temporary, sha256=np.asarray(keys), vectors=values.astype(np.float32))
        os.replace(temporary, self.folder / name)
        self.vectors.update(zip(keys, values.astype(np.float32), strict=True))


# ---------------------------------------------------------------------------------------------
# Post images


def post_images(posts: pd.DataFrame) -> list[list[tuple[str, str]]]:
    """Per post, its images as (sha256, path relative to <data>)."""
    if "images" not in posts.columns:
        raise UserError(
            "the posts table has no 'images' column",
            "pass a curated posts.parquet (emofuse curate writes it)",
        )
    out = []
    for images in posts["images"]:
        entries = []
        if images is not None and not (isinstance(images, float) and np.isnan(images)):
            for image in list(images):
                if image and image.get("sha256") and image.get("path"):
                    entries.append((str(image["sha256"]), str(image["path"])))
        out.append(entries)
    return out


class _ImageFiles:
    """A map-style dataset over image files; a file that fails to decode yields its error."""

    def __init__(self, paths: list[Path], preprocess: Callable[[Path], Any]):
        self.paths = paths
        self.preprocess = preprocess

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[int, Any, str | None]:
        try:
            return index, self.preprocess(self.paths[index]), None
        except Exception as error:  # Pillow raises several types for bad bytes
            return index, None, f"{type(error).__name__}: {error}"


def _collate(items: list[tuple[int, Any, str | None]]) -> list[tuple[int, Any, str | None]]:
    return items


def default_workers() -> int:
    """Decoding workers: all cores but one, at most 8 (0 = decode in the main process).

    With a CNN the worker decodes while the main process runs the network. For color_stats on
    a 2-core machine one worker measured anywhere from 1.6x slower to 1.5x faster than none,
    depending on the load (benchmarks/features.py, docs/performance.md).
    """
    return max(0, min(8, (os.cpu_count() or 1) - 1))


def compute_vectors(
    extractor: Extractor,
    paths: list[Path],
    *,
    batch_size: int = 64,
    num_workers: int | None = None,
    on_batch: Callable[[list[int], np.ndarray], None] | None = None,
) -> None:
    """Run ``extractor`` over ``paths`` in batches; ``on_batch(indexes, vectors)`` per batch.

    A file that cannot be decoded stops the run with a UserError naming it.
    """
    import torch
    from torch.utils.data import DataLoader

    workers = default_workers() if num_workers is None else num_workers
    loader = DataLoader(
        _ImageFiles(paths, extractor.preprocess),
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=_collate,
        pin_memory=extractor.device.startswith("cuda"),
        persistent_workers=False,
    )
    for items in loader:
        for index, _, error in items:
            if error is not None:
                raise UserError(
                    f"cannot decode image {paths[index]} ({error})",
                    "re-crawl or re-curate to drop the broken image",
                )
        indexes = [index for index, _, _ in items]
        inputs = [value for _, value, _ in items]
        if isinstance(inputs[0], torch.Tensor):
            batch: Any = torch.stack(inputs)
        else:
            batch = np.stack(inputs)
        vectors = extractor.embed(batch)
        if on_batch is not None:
            on_batch(indexes, vectors)


def _load_precomputed(
    spec: str, posts: pd.DataFrame, images: list[list[tuple[str, str]]]
) -> tuple[np.ndarray, np.ndarray]:
    path = Path(spec[len(PRECOMPUTED_PREFIX) :]).expanduser()
    if not path.is_file():
        raise UserError(f"feature file not found: {path}", "pass precomputed:PATH to a file")
    keys, vectors = _read_vector_file(path)
    lookup = {key: i for i, key in enumerate(keys)}
    by_post = bool(set(posts["post_id"].astype(str)) & set(lookup))
    n = len(posts)
    out = np.zeros((n, vectors.shape[1]), dtype=np.float32)
    has_image = np.zeros(n, dtype=bool)
    missing: list[str] = []
    for row, (post_id, entries) in enumerate(
        zip(posts["post_id"].astype(str), images, strict=True)
    ):
        if by_post:
            # a post without images in the curated data has no image, whatever the file
            # holds for its id: the curated table is the truth about which posts have one
            if entries and post_id in lookup:
                out[row] = vectors[lookup[post_id]]
                has_image[row] = True
            elif entries:
                missing.append(post_id)
            continue
        found = [lookup[sha] for sha, _ in entries if sha in lookup]
        missing.extend(sha for sha, _ in entries if sha not in lookup)
        if found:
            out[row] = vectors[found].mean(axis=0)
            has_image[row] = True
    if missing:
        raise UserError(
            f"{path} lacks vectors for {len(missing)} "
            f"{'posts' if by_post else 'images'} (first: {missing[0]})",
            "add them to the file, keyed by post_id or image sha256",
        )
    return out, has_image


def _read_vector_file(path: Path) -> tuple[list[str], np.ndarray]:
    """(keys, vectors [K, D]) from .parquet (key column post_id or sha256; a list column
    'vector'/'features' or numeric columns), .npz (arrays post_id|sha256 and vectors), or
    .npy (a [K, D] array) with PATH.keys.txt (one key a line)."""
    suffix = path.suffix.lower()
    fix = "see docs/models.md for the precomputed feature formats"
    if suffix == ".parquet":
        import pandas as pd

        table = pd.read_parquet(path)
        key = next((c for c in ("post_id", "sha256") if c in table.columns), None)
        if key is None:
            raise UserError(f"{path} has no 'post_id' or 'sha256' column", fix)
        vector_column = next((c for c in ("vector", "features") if c in table.columns), None)
        if vector_column is not None:
            vectors = np.stack([np.asarray(v, dtype=np.float32) for v in table[vector_column]])
        else:
            numeric = table.drop(columns=[key]).select_dtypes("number")
            if numeric.shape[1] == 0:
                raise UserError(f"{path} has no vector column", fix)
            vectors = numeric.to_numpy(dtype=np.float32)
        return table[key].astype(str).tolist(), vectors
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            key = next((k for k in ("post_id", "sha256") if k in data.files), None)
            if key is None or "vectors" not in data.files:
                raise UserError(f"{path} needs arrays 'post_id' or 'sha256', and 'vectors'", fix)
            return data[key].astype(str).tolist(), data["vectors"].astype(np.float32)
    if suffix == ".npy":
        keys_file = path.with_suffix(".keys.txt")
        if not keys_file.is_file():
            raise UserError(f"{path} needs its keys in {keys_file}", fix)
        vectors = np.load(path, allow_pickle=False).astype(np.float32)
        keys = keys_file.read_text(encoding="utf-8").split()
        if vectors.ndim != 2 or len(keys) != len(vectors):
            raise UserError(f"{path}: {len(keys)} keys for an array of shape {vectors.shape}", fix)
        return keys, vectors
    raise UserError(f"unsupported feature file {path}", "use .parquet, .npz or .npy")


# ---------------------------------------------------------------------------------------------
# The entry point


def extract_image_features(
    posts: pd.DataFrame,
    data_dir: Path,
    extractor: str,
    *,
    weights: Path | None = None,
    device: str = "cpu",
    batch_size: int = 64,
    cache_dir: Path | None = None,
    num_workers: int | None = None,
    show_progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Image vectors for every post: (float32 [n_posts, dim], bool has_image [n_posts]).

    Images are read from ``data_dir / image.path``. Vectors are cached per image sha256 under
    ``(cache_dir or <data>/features)/<extractor>/<variant>/``; only uncached images are decoded.
    """
    check_extractor(extractor)
    images = post_images(posts)
    if extractor.startswith(PRECOMPUTED_PREFIX):
        return _load_precomputed(extractor, posts, images)

    device = resolve_device(device)
    model = EXTRACTORS[extractor](weights=weights, device=device)
    root = Path(cache_dir) if cache_dir is not None else features_dir(Path(data_dir))
    cache = FeatureCache(root / extractor / model.variant(), model.dim).load()

    todo: dict[str, Path] = {}
    for entries in images:
        for sha, relative in entries:
            if sha not in cache.vectors and sha not in todo:
                todo[sha] = Path(data_dir) / relative
    absent = [str(path) for path in todo.values() if not path.is_file()]
    if absent:
        raise UserError(
            f"{len(absent)} image files are missing (first: {absent[0]})",
            "run the crawl again (it re-fetches missing images) or re-curate",
        )

    if todo:
        _compute_into_cache(model, cache, todo, batch_size, num_workers, show_progress)

    out = np.zeros((len(posts), model.dim), dtype=np.float32)
    has_image = np.zeros(len(posts), dtype=bool)
    for row, entries in enumerate(images):
        if entries:
            out[row] = np.mean([cache.vectors[sha] for sha, _ in entries], axis=0)
            has_image[row] = True
    return out, has_image


def _compute_into_cache(
    model: Extractor,
    cache: FeatureCache,
    todo: dict[str, Path],
    batch_size: int,
    num_workers: int | None,
    show_progress: bool,
) -> None:
    from emofuse.log import console, progress

    model.prepare()
    keys = list(todo)
    paths = [todo[key] for key in keys]
    pending_keys: list[str] = []
    pending_vectors: list[np.ndarray] = []

    def flush() -> None:
        if pending_keys:
            cache.write(list(pending_keys), np.stack(pending_vectors))
            pending_keys.clear()
            pending_vectors.clear()

    with progress() as bar:
        task = bar.add_task(f"{model.name} features", total=len(keys), visible=show_progress)

        def on_batch(indexes: list[int], vectors: np.ndarray) -> None:
            pending_keys.extend(keys[i] for i in indexes)
            pending_vectors.extend(vectors)
            if len(pending_keys) >= SHARD_SIZE:
                flush()
            bar.advance(task, len(indexes))

        try:
            compute_vectors(
                model, paths, batch_size=batch_size, num_workers=num_workers, on_batch=on_batch
            )
        finally:
            flush()  # keep what was computed, even when a broken image stops the run
    if show_progress:
        console.print(f"{model.name}: computed {len(keys)} image vectors, cached in {cache.folder}")
