"""Image download against the sandbox: formats, safety checks, faults, fallbacks, store rows."""

import gzip
import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from emofuse.crawlers import net
from emofuse.crawlers.download import (
    DownloadError,
    DownloadLimits,
    download_pending,
    image_path,
    sniff_format,
    to_jpeg,
    write_atomic,
)
from emofuse.crawlers.sandbox.server import Response
from emofuse.crawlers.store import CrawlStore
from emofuse.paths import store_path

FAST = net.RetryPolicy(attempts=3, base_s=0.01, max_wait_s=0.05, timeout=(2, 2))


def urls_of(world, fmt):
    return [
        f"https://{host}{path}" for (host, path), spec in world.images.items() if spec.fmt == fmt
    ]


def make_store(data_dir: Path) -> CrawlStore:
    return CrawlStore(store_path(data_dir, "reddit"), source="reddit")


def add_post(store, native_id, urls):
    store.upsert_post(
        {"post_id": f"reddit:{native_id}", "source": "reddit", "label": "joy", "kind": "image"},
        urls,
    )


def test_every_format_becomes_rgb_jpeg(sandbox, data_dir):
    world = sandbox.world
    store = make_store(data_dir)
    wanted = {fmt: urls_of(world, fmt)[0] for fmt in ("jpeg", "png", "gif", "webp")}
    for fmt, url in wanted.items():
        add_post(store, f"p{fmt}", [url])
    summary = download_pending(
        store, data_dir, "reddit", workers=4, host_map=sandbox.host_map(), policy=FAST
    )
    assert summary.stored == 4 and summary.failed == 0
    for fmt in wanted:
        (row,) = store.images(f"reddit:p{fmt}")
        assert row["status"] == "ok"
        assert row["path"] == f"raw/reddit/images/p{fmt}/0.jpg"
        stored = Image.open(data_dir / row["path"])
        assert stored.format == "JPEG" and stored.mode == "RGB"
        assert (row["width"], row["height"]) == stored.size == world.image_size
        assert len(row["phash"]) == 16 and len(row["sha256"]) == 64
        assert store.post(f"reddit:p{fmt}")["status"] == "ok"
    png = Image.open(data_dir / store.images("reddit:ppng")[0]["path"])
    assert min(png.getpixel((1, 1))) > 240  # transparent border flattened on white
    assert not list(data_dir.rglob("*.tmp"))


def test_faults_are_retried_and_succeed(sandbox, data_dir):
    store = make_store(data_dir)
    urls = urls_of(sandbox.world, "jpeg")[:5]
    for n, url in enumerate(urls):
        add_post(store, f"f{n}", [url])
    sandbox.inject("host.*", "status", status=503, times=2)
    sandbox.inject("host.*", "truncate", times=1, skip=3)
    sandbox.inject("host.*", "corrupt", times=1, skip=5)
    sandbox.inject("host.*", "reset", times=1, skip=7)
    summary = download_pending(
        store, data_dir, "reddit", workers=1, host_map=sandbox.host_map(), policy=FAST
    )
    assert summary.stored == 5, summary
    for row in store.images():
        image = Image.open(data_dir / row["path"])
        image.load()  # fully decodable: no corrupt or half file stored


def test_gone_failed_and_fallback(sandbox, data_dir):
    world = sandbox.world
    store = make_store(data_dir)
    preview = urls_of(world, "jpeg")[0]
    removed = f"https://i.imgur.com{next(iter(world.imgur_removed))}"
    add_post(store, "missing", ["https://i.redd.it/doesnotexist.jpg"])
    add_post(store, "dead", [("https://deadhost.example.net/a.jpg", preview)])
    add_post(store, "removed", [(removed, preview)])
    add_post(store, "removednofallback", [removed])
    add_post(store, "ftp", ["ftp://i.redd.it/a.jpg"])
    add_post(store, "html", ["https://news.example.com/story/1"])
    sandbox.inject("host.pics.example.org", "status", status=500)  # never recovers
    add_post(
        store,
        "broken",
        ["https://pics.example.org/photo/x"],
    )
    summary = download_pending(
        store, data_dir, "reddit", workers=3, host_map=sandbox.host_map(), policy=FAST
    )
    rows = {row["post_id"].split(":")[1]: row for row in store.images()}
    assert rows["missing"]["status"] == "gone" and rows["missing"]["reason"] == "http_404"
    assert rows["dead"]["status"] == "ok"
    assert rows["dead"]["reason"] == "preview_fallback:unreachable"
    assert rows["removed"]["status"] == "ok"
    assert rows["removed"]["reason"] == "preview_fallback:imgur_removed"
    assert rows["removednofallback"]["reason"] == "imgur_removed"
    assert rows["ftp"]["reason"] == "bad_scheme"
    assert rows["html"]["status"] == "failed" and rows["html"]["reason"] == "not_an_image"
    assert rows["broken"]["status"] == "failed" and rows["broken"]["reason"] == "http_500"
    assert store.post("reddit:missing")["status"] == "gone"
    assert store.post("reddit:broken")["status"] == "failed"
    assert summary.fallback == 2
    # nothing pending: a rerun attempts nothing (dead images are not retried forever)
    again = download_pending(
        store, data_dir, "reddit", workers=2, host_map=sandbox.host_map(), policy=FAST
    )
    assert again.attempted == 0


def test_size_cap_and_rate_limited_host(sandbox, data_dir):
    store = make_store(data_dir)
    urls = urls_of(sandbox.world, "jpeg")[:3]
    add_post(store, "big", [urls[0]])
    summary = download_pending(
        store,
        data_dir,
        "reddit",
        workers=1,
        host_map=sandbox.host_map(),
        policy=FAST,
        limits=DownloadLimits(max_bytes=200),
    )
    assert summary.failed == 1 and store.images("reddit:big")[0]["reason"] == "too_large"
    add_post(store, "limited", [urls[1]])
    sandbox.inject("host.*", "ratelimit", times=1, retry_after=1)
    summary = download_pending(
        store, data_dir, "reddit", workers=1, host_map=sandbox.host_map(), policy=FAST
    )
    assert summary.stored == 1
    assert sandbox.count("host.*", 429) == 1


def _png_header_only(width, height):
    """A valid PNG header claiming a huge size (a decompression bomb's first bytes)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind, payload):
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


def test_magic_bytes_and_bomb_guard():
    assert sniff_format(b"GIF89a....") == "gif"
    assert sniff_format(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    with pytest.raises(DownloadError, match="not_an_image"):
        to_jpeg(b"<html>not an image</html>")
    with pytest.raises(DownloadError, match="decompression_bomb"):
        to_jpeg(_png_header_only(20000, 20000), DownloadLimits(max_pixels=1_000_000))
    # between 1x and 2x the limit Pillow only warns: still refused
    with pytest.raises(DownloadError, match="decompression_bomb"):
        to_jpeg(_png_header_only(1200, 1000), DownloadLimits(max_pixels=1_000_000))
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, "JPEG")
    with pytest.raises(DownloadError, match="corrupt_image"):
        to_jpeg(buffer.getvalue()[:20] + b"\x00" * 50)


def test_paths_from_ids_and_atomic_write(tmp_path):
    assert image_path(tmp_path, "reddit", "reddit:abc123", 2) == (
        tmp_path / "raw/reddit/images/abc123/2.jpg"
    )
    weird = image_path(tmp_path, "reddit", "reddit:../../etc", 0)
    assert weird.parent.parent == tmp_path / "raw/reddit/images"
    target = tmp_path / "x" / "0.jpg"
    write_atomic(target, b"abc")
    write_atomic(target, b"defg")
    assert target.read_bytes() == b"defg"
    assert [p.name for p in target.parent.iterdir()] == ["0.jpg"]


def test_bomb_and_bad_schemes_through_the_downloader(sandbox, data_dir):
    bomb = _png_header_only(20000, 20000)  # 400 Mpx claimed in 57 bytes: Pillow's own guard
    sandbox.add_host_route(
        "bombs.example.org",
        "GET",
        r"/big\.png",
        lambda request, match: Response.bytes(bomb, "image/png"),
        name="host.bombs",
    )
    store = make_store(data_dir)
    add_post(store, "bomb", ["https://bombs.example.org/big.png"])
    add_post(store, "file", ["file:///etc/passwd"])
    add_post(store, "js", ["javascript:alert(1)"])
    summary = download_pending(
        store, data_dir, "reddit", workers=2, host_map=sandbox.host_map(), policy=FAST
    )
    rows = {row["post_id"].split(":")[1]: row for row in store.images()}
    assert summary.stored == 0
    assert rows["bomb"]["status"] == "failed" and rows["bomb"]["reason"] == "decompression_bomb"
    assert sandbox.count("host.bombs") == 1  # a bomb is final: not fetched again
    assert rows["file"]["reason"] == rows["js"]["reason"] == "bad_scheme"
    assert not [path for path in data_dir.rglob("*") if path.parent.name in rows]


def _animation(fmt, colors):
    frames = [Image.new("RGB", (64, 48), color) for color in colors]
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def test_animated_gif_and_webp_keep_their_first_frame(sandbox, data_dir):
    red, green, blue = (220, 20, 20), (20, 200, 20), (20, 20, 220)
    served = {"a.gif": _animation("GIF", [red, blue]), "a.webp": _animation("WEBP", [green, blue])}
    sandbox.add_host_route(
        "anim.example.org",
        "GET",
        r"/(?P<name>a\.(gif|webp))",
        lambda request, match: Response.bytes(served[match.group("name")], "image/octet-stream"),
        name="host.anim",
    )
    store = make_store(data_dir)
    add_post(store, "gif", ["https://anim.example.org/a.gif"])
    add_post(store, "webp", ["https://anim.example.org/a.webp"])
    summary = download_pending(
        store, data_dir, "reddit", workers=2, host_map=sandbox.host_map(), policy=FAST
    )
    assert summary.stored == 2
    for native, first in (("gif", red), ("webp", green)):
        (row,) = store.images(f"reddit:{native}")
        stored = Image.open(data_dir / row["path"])
        assert stored.format == "JPEG" and stored.size == (64, 48)
        pixel = stored.getpixel((32, 24))
        assert all(abs(a - b) < 40 for a, b in zip(pixel, first, strict=True)), (native, pixel)


def test_gzip_encoded_bodies_are_decoded_and_capped_after_decoding(sandbox, data_dir):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(buffer, "PNG")
    small = gzip.compress(buffer.getvalue())
    # 2 MB of PNG-looking bytes that gzip to a few kB: only the decoded size shows it
    bomb = gzip.compress(b"\x89PNG\r\n\x1a\n" + b"\x00" * 2_000_000)
    bodies = {"small": small, "bomb": bomb}

    def serve(request, match):
        response = Response.bytes(bodies[match.group("name")], "image/png")
        response.headers["Content-Encoding"] = "gzip"
        return response

    sandbox.add_host_route("gz.example.org", "GET", r"/(?P<name>\w+)\.png", serve, name="host.gz")
    store = make_store(data_dir)
    add_post(store, "small", ["https://gz.example.org/small.png"])
    add_post(store, "bomb", ["https://gz.example.org/bomb.png"])
    download_pending(
        store,
        data_dir,
        "reddit",
        workers=1,
        host_map=sandbox.host_map(),
        policy=FAST,
        limits=DownloadLimits(max_bytes=1_000_000),
    )
    rows = {row["post_id"].split(":")[1]: row for row in store.images()}
    assert rows["small"]["status"] == "ok", rows["small"]["reason"]
    assert Image.open(data_dir / rows["small"]["path"]).size == (40, 30)
    assert len(bomb) < 1_000_000 and rows["bomb"]["reason"] == "too_large"
