"""Image download for every source: fetch, check, convert to RGB JPEG, hash, store atomically.

Source-agnostic: a crawler inserts image rows (``CrawlStore.upsert_post``/``add_images``) and
calls :func:`download_pending`, which downloads every pending row with a thread pool and
records each result through ``CrawlStore.record_image`` / ``settle_post``::

    from emofuse.crawlers.download import download_pending
    summary = download_pending(store, data_dir, "flickr", workers=16, host_map=host_map)

Safety: http(s) only; a size cap (``Content-Length`` and the bytes actually read); the magic
bytes must be JPEG, PNG, GIF or WebP; Pillow's decompression-bomb guard is an error, not a
warning; names come from ids only (``raw/<source>/images/<native id>/<n>.jpg``); the file is
written to a temp name and renamed, and only then is its row marked ``ok``: a killed crawl
leaves either no file or a whole one, and a row marked ``ok`` is never downloaded again.

Workers only do network, decoding and the file write; the calling thread owns the store
(one SQLite connection, one writer), so no lock is needed around it.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from PIL import Image

from emofuse.crawlers import net
from emofuse.crawlers.store import CrawlStore
from emofuse.paths import images_dir

MAGIC = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)
IMGUR_REMOVED = "/removed.png"  # where imgur redirects deleted images
NOT_AN_IMAGE = "not_an_image"
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass
class DownloadLimits:
    max_bytes: int = 25 * 1024 * 1024
    max_pixels: int = 64_000_000  # decompression-bomb guard (Pillow's default is ~89M)
    jpeg_quality: int = 90


class DownloadError(Exception):
    """Why an image could not be stored. ``gone``: the image is not there (404, removed,
    dead host); otherwise it failed (corrupt, too big, not an image...)."""

    def __init__(self, reason: str, gone: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.gone = gone


@dataclass
class StoredImage:
    path: str  # relative to the data directory
    sha256: str
    phash: str
    width: int
    height: int
    source_url: str
    size: int = 0  # bytes of the stored JPEG
    fallback_reason: str | None = None  # set when the fallback URL was used, says why


@dataclass
class DownloadSummary:
    attempted: int = 0
    stored: int = 0
    failed: int = 0
    gone: int = 0
    fallback: int = 0
    links_checked: int = 0  # probe posts whose host answered something that is not an image
    bytes: int = 0
    seconds: float = 0.0
    reasons: Counter = field(default_factory=Counter)

    def merge(self, other: DownloadSummary) -> None:
        names = ("attempted", "stored", "failed", "gone", "fallback", "links_checked", "bytes")
        for name in (*names, "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.reasons.update(other.reasons)


def sniff_format(data: bytes) -> str | None:
    """The image format from the magic bytes, or None."""
    for magic, name in MAGIC:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def to_jpeg(data: bytes, limits: DownloadLimits | None = None) -> tuple[bytes, Image.Image]:
    """Decode image bytes and return ``(RGB JPEG bytes, the RGB image)``.

    PNG/GIF/WebP alpha is flattened on white; animated GIF and WebP give their first frame.
    Raises DownloadError for anything that is not a sane image.
    """
    limits = limits or DownloadLimits()
    kind = sniff_format(data)
    if kind is None:
        raise DownloadError(NOT_AN_IMAGE)
    # Pillow's global guard (Image.MAX_IMAGE_PIXELS) stays as it is: changing it, or the
    # warning filters, from worker threads would race. Image.open reads only the header,
    # so the size is checked here, before any pixel is decoded.
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > limits.max_pixels:
                raise DownloadError("decompression_bomb")
            image.seek(0)  # first frame of an animation
            image.load()
            rgb = _flatten(image)
    except Image.DecompressionBombError as error:  # Pillow's own guard, past 2x its limit
        raise DownloadError("decompression_bomb") from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise DownloadError("corrupt_image") from error
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=limits.jpeg_quality)
    return out.getvalue(), rgb


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, with any transparency composited on white (not black)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def phash_hex(image: Image.Image) -> str:
    import imagehash

    return str(imagehash.phash(image))


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file and a rename: never a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def remove_stale_temp_files(folder: Path) -> int:
    """Delete temp files a killed run left behind (never a finished image). Returns the count.

    Call it only when no other process downloads into ``folder``."""
    removed = 0
    if folder.is_dir():
        for temp in folder.rglob(".*.tmp"):
            temp.unlink(missing_ok=True)
            removed += 1
    return removed


def image_path(data_dir: Path, source: str, post_id: str, idx: int) -> Path:
    """``raw/<source>/images/<native id>/<idx>.jpg``: from ids only, never from URLs."""
    native = post_id.split(":", 1)[-1]
    if not _SAFE_ID.match(native):
        native = hashlib.sha256(native.encode()).hexdigest()[:32]
    return images_dir(data_dir, source) / native / f"{int(idx)}.jpg"


def fetch_bytes(
    session: requests.Session,
    url: str,
    limits: DownloadLimits,
    policy: net.RetryPolicy,
    host_map: dict[str, str] | None = None,
) -> tuple[bytes, str]:
    """The image bytes at ``url`` (mapped through ``host_map``) and the final URL."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise DownloadError("bad_scheme", gone=True)
    target = net.rewrite_url(url, host_map)

    def read(response: requests.Response) -> tuple[bytes, str]:
        if urlsplit(response.url).path.endswith(IMGUR_REMOVED) and response.history:
            raise DownloadError("imgur_removed", gone=True)
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        # S3-style hosts send images as octet-stream: the magic bytes decide those
        binary = ("image/", "application/octet-stream", "binary/octet-stream")
        if content_type and not content_type.startswith(binary):
            raise DownloadError(NOT_AN_IMAGE)  # e.g. an HTML page: its body is not even read
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limits.max_bytes:
            raise DownloadError("too_large")
        chunks, total = [], 0
        for chunk in response.iter_content(64 * 1024):
            total += len(chunk)
            if total > limits.max_bytes:
                raise DownloadError("too_large")
            chunks.append(chunk)
        data = b"".join(chunks)
        # Content-Length counts the bytes sent: a gzip-encoded body decodes to more
        encoded = response.headers.get("Content-Encoding", "").lower() not in ("", "identity")
        if declared and declared.isdigit() and not encoded and len(data) != int(declared):
            raise requests.exceptions.ChunkedEncodingError("truncated body")
        return data, response.url

    try:
        return net.get(session, target, policy, read=read)
    except net.PermanentHTTPError as error:
        raise DownloadError(f"http_{error.status}", gone=error.status in (404, 410, 403)) from error
    except net.RetryableHTTPError as error:
        raise DownloadError(f"http_{error.status}") from error
    except requests.exceptions.ConnectionError as error:
        # still failing after the retries: the host is unreachable (dead, refused, reset)
        raise DownloadError("unreachable", gone=True) from error
    except requests.exceptions.Timeout as error:
        raise DownloadError("timeout") from error
    except requests.RequestException as error:
        raise DownloadError(f"network_{type(error).__name__}") from error


def fetch_image(
    session: requests.Session,
    url: str,
    limits: DownloadLimits,
    policy: net.RetryPolicy,
    host_map: dict[str, str] | None = None,
) -> tuple[bytes, Image.Image]:
    """Fetch and convert; a corrupt body (e.g. damaged in transit) is fetched again."""
    last: DownloadError | None = None
    for _ in range(max(1, policy.attempts)):
        data, _final = fetch_bytes(session, url, limits, policy, host_map)
        try:
            return to_jpeg(data, limits)
        except DownloadError as error:
            if error.reason != "corrupt_image":
                raise
            last = error
    raise last or DownloadError("corrupt_image")


def download_image(
    row: dict[str, Any],
    data_dir: Path,
    source: str,
    session: requests.Session,
    limits: DownloadLimits,
    policy: net.RetryPolicy,
    host_map: dict[str, str] | None = None,
) -> StoredImage:
    """Download one image row (its ``source_url``, then its ``fallback_url``) and store it."""
    fallback_reason = None
    try:
        jpeg, image = fetch_image(session, row["source_url"], limits, policy, host_map)
        used = row["source_url"]
    except DownloadError as error:
        if not row.get("fallback_url"):
            raise
        fallback_reason = error.reason
        jpeg, image = fetch_image(session, row["fallback_url"], limits, policy, host_map)
        used = row["fallback_url"]
    path = image_path(data_dir, source, row["post_id"], row["idx"])
    write_atomic(path, jpeg)
    return StoredImage(
        path=path.relative_to(data_dir).as_posix(),
        sha256=hashlib.sha256(jpeg).hexdigest(),
        phash=phash_hex(image),
        width=image.width,
        height=image.height,
        source_url=used,
        size=len(jpeg),
        fallback_reason=fallback_reason,
    )


def download_pending(
    store: CrawlStore,
    data_dir: Path,
    source: str,
    workers: int = 16,
    host_map: dict[str, str] | None = None,
    *,
    session: requests.Session | None = None,
    limits: DownloadLimits | None = None,
    policy: net.RetryPolicy | None = None,
    progress: Any = None,
    post_ids: set[str] | None = None,
) -> DownloadSummary:
    """Download every pending image of ``store`` with ``workers`` threads.

    Each finished image is recorded at once (``ok`` with path/sha256/phash/size, or
    ``gone``/``failed`` with its reason); a post is settled when its last image is done.
    ``progress`` is an optional rich Progress to show a bar on. ``post_ids`` limits the
    work to those posts. Returns counts of what happened.
    """
    data_dir = Path(data_dir)
    limits = limits or DownloadLimits()
    policy = policy or net.RetryPolicy()
    session = session or net.make_session(pool_size=max(workers, 4))
    rows = [r for r in store.pending_images() if post_ids is None or r["post_id"] in post_ids]
    summary = DownloadSummary()
    if not rows:
        return summary
    remaining = Counter(row["post_id"] for row in rows)
    task = progress.add_task(f"{source} images", total=len(rows)) if progress else None
    started = time.perf_counter()

    def work(row: dict[str, Any]) -> StoredImage:
        return download_image(row, data_dir, source, session, limits, policy, host_map)

    # A bounded window of in-flight jobs keeps memory flat however many rows are pending.
    queue = iter(rows)
    in_flight: dict[Future, dict[str, Any]] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="download") as pool:

        def submit_more() -> None:
            while len(in_flight) < max(1, workers) * 2:
                row = next(queue, None)
                if row is None:
                    return
                in_flight[pool.submit(work, row)] = row

        submit_more()
        while in_flight:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                row = in_flight.pop(future)
                _record(store, row, future, summary)
                remaining[row["post_id"]] -= 1
                if remaining[row["post_id"]] == 0:
                    settle(store, row["post_id"], summary)
                if progress is not None:
                    progress.advance(task)
            submit_more()
    summary.seconds = time.perf_counter() - started
    return summary


def settle(store: CrawlStore, post_id: str, summary: DownloadSummary | None = None) -> str:
    """Settle a post whose images are all attempted; returns its status.

    A *probe* post (``extra.probe``: a link to an unknown host, which only the content type
    can tell apart) becomes kind ``image`` when its image was stored, and ``skipped`` with
    reason ``link`` when the host answered something that is not an image.
    """
    status = store.settle_post(post_id)
    post = store.post(post_id)
    if not post or not post["extra"].get("probe"):
        return status
    if status == "ok":
        store.update_post(post_id, kind="image")
    elif all(row["reason"] == NOT_AN_IMAGE for row in store.images(post_id)):
        store.update_post(post_id, kind="link", status="skipped", reason="link")
        if summary is not None:
            summary.failed -= len(store.images(post_id))
            summary.links_checked += 1
        return "skipped"
    return status


def _record(store: CrawlStore, row: dict, future: Future, summary: DownloadSummary) -> None:
    summary.attempted += 1
    post_id, idx = row["post_id"], row["idx"]
    try:
        stored: StoredImage = future.result()
    except DownloadError as error:
        status = "gone" if error.gone else "failed"
        store.record_image(post_id, idx, status=status, reason=error.reason)
        store.record_attempt(status, post_id, row["source_url"], error.reason)
        summary.reasons[error.reason] += 1
        if error.gone:
            summary.gone += 1
        else:
            summary.failed += 1
        return
    reason = f"preview_fallback:{stored.fallback_reason}" if stored.fallback_reason else None
    store.record_image(
        post_id,
        idx,
        status="ok",
        path=stored.path,
        sha256=stored.sha256,
        phash=stored.phash,
        width=stored.width,
        height=stored.height,
        source_url=stored.source_url,
        reason=reason,
    )
    if reason:
        summary.fallback += 1
        summary.reasons[reason] += 1
        store.record_attempt("fallback", post_id, row["source_url"], stored.fallback_reason or "")
    summary.stored += 1
    summary.bytes += stored.size
