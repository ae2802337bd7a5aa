"""The generated world the sandbox serves: subreddits, posts of every kind, and image blobs.

Everything is derived from a seed, so two worlds built with the same arguments are identical.
Posts are stored as the ``data`` of Reddit ``t3`` things, with the field names and shapes of
the real recorded responses (``../shared/data/recorded-api/reddit/``), and with URLs on the
*real* hostnames (``https://i.redd.it/...``): the crawler maps them to the sandbox with
``SandboxServer.host_map()``, as it would map nothing on the real internet.

Image bytes are rendered lazily (first request) from a per-image seed with Pillow, in the
format the URL promises: JPEG, PNG with alpha, animated GIF, WebP.

``World.expected[id36]`` says what a correct crawler makes of each post (kind, images stored,
status, skip reason): the tests compare the crawl store against it.
"""

from __future__ import annotations

import io
import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from emofuse.crawlers.sandbox import content
from emofuse.schema import REDDIT_DEFAULT_SUBREDDITS

WORLD_NOW = 1_760_000_000.0  # "now" of the world (2025-10-09): fixes time filters and ages
YEAR = 365 * 86400.0
OTHER_IMAGE_HOST = "pics.example.org"  # "any host by content type": no extension in its URLs
NEWS_HOST = "news.example.com"  # links without an image
DEAD_HOST = "deadhost.example.net"  # connection refused: the preview is the fallback
IMGUR_REMOVED_PATH = "/removed.png"

# Which post kinds a generated subreddit holds, and how often (relative weights).
DEFAULT_KIND_WEIGHTS: dict[str, float] = {
    "ireddit_jpeg": 6,
    "ireddit_png_alpha": 2,
    "ireddit_gif": 1,
    "ireddit_webp": 1,
    "imgur_direct": 2,
    "other_host": 1,
    "imgur_page": 1,
    "imgur_album": 1,
    "gallery": 2,
    "crosspost": 1,
    "video": 1,
    "self": 1,
    "link": 1,
    "dead_host": 1,
    "imgur_removed": 1,
}
IMAGE_ONLY_WEIGHTS: dict[str, float] = {"ireddit_jpeg": 1}
# Kinds only made when asked for (kind_weights): posts without a post_hint, as older Reddit
# posts are, on hosts only the content type tells apart (an image, or an HTML page).
UNHINTED_KINDS = ("unhinted_image", "unhinted_link")

CONTENT_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
}


@dataclass
class Subreddit:
    name: str
    label: str
    state: str = "public"  # public | banned | private
    over18: bool = False
    id36: str = ""


@dataclass
class ImageSpec:
    label: str
    fmt: str  # jpeg | png | gif | webp
    seed: int
    size: tuple[int, int]


@dataclass
class Expected:
    """What a correct crawler stores for a post (the tests' ground truth)."""

    kind: str  # image, gallery, album, crosspost, video, self, link
    images: int  # images stored
    status: str  # ok | skipped
    reason: str | None = None  # skip reason / how the images were found
    skipped_items: int = 0  # gallery items that are failed or unprocessed
    fallback: bool = False  # stored from the Reddit preview


@dataclass
class World:
    seed: int = 0
    image_size: tuple[int, int] = (160, 120)
    listing_cap: int = 1000  # Reddit stops a listing near 1000 posts
    subreddits: dict[str, Subreddit] = field(default_factory=dict)
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)  # id36 -> t3 data
    by_subreddit: dict[str, list[str]] = field(default_factory=dict)
    expected: dict[str, Expected] = field(default_factory=dict)
    images: dict[tuple[str, str], ImageSpec] = field(default_factory=dict)  # (host, path)
    imgur_pages: dict[str, str] = field(default_factory=dict)  # imgur id -> i.imgur.com url
    imgur_albums: dict[str, list[str]] = field(default_factory=dict)  # album -> image urls
    imgur_removed: set[str] = field(default_factory=set)  # i.imgur.com paths that redirect
    pages: dict[tuple[str, str], str] = field(default_factory=dict)  # (host, path) -> HTML
    # Flickr lives here too (issue 3 fills these: photo id -> getInfo fields, static images
    # are registered with add_image on live.staticflickr.com).
    flickr_photos: dict[str, dict[str, Any]] = field(default_factory=dict)
    _blobs: dict[tuple[str, str], tuple[bytes, str]] = field(default_factory=dict, repr=False)
    _blob_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _next_id: int = 0

    # -- generation -------------------------------------------------------------------------
    @classmethod
    def generate(
        cls,
        seed: int = 0,
        posts_per_subreddit: int | dict[str, int] = 40,
        subreddits: dict[str, str] | None = None,
        states: dict[str, str] | None = None,
        kind_weights: dict[str, float] | None = None,
        image_size: tuple[int, int] = (160, 120),
        listing_cap: int = 1000,
        nsfw: tuple[str, ...] = ("gore",),
    ) -> World:
        """A world of ``subreddits`` (name -> label; default the four of the paper).

        ``states`` marks subreddits banned or private (they keep no posts);
        ``posts_per_subreddit`` is the size knob; ``kind_weights`` the mix of post kinds
        (``IMAGE_ONLY_WEIGHTS`` for plain JPEG posts only, e.g. benchmarks).
        """
        world = cls(seed=seed, image_size=image_size, listing_cap=listing_cap)
        rng = random.Random(seed)
        weights = kind_weights or DEFAULT_KIND_WEIGHTS
        mapping = subreddits or dict(REDDIT_DEFAULT_SUBREDDITS)
        for name, label in mapping.items():
            state = (states or {}).get(name, "public")
            world.add_subreddit(name, label, state=state, over18=name in nsfw)
        for name, label in mapping.items():
            if world.subreddits[name].state != "public":
                continue
            count = (
                posts_per_subreddit.get(name, 40)
                if isinstance(posts_per_subreddit, dict)
                else posts_per_subreddit
            )
            kinds = list(weights)
            for index in range(count):
                # the first posts walk through every kind once, so small worlds have them all
                kind = (
                    kinds[index]
                    if index < len(kinds)
                    else rng.choices(kinds, [weights[k] for k in kinds])[0]
                )
                world.add_generated_post(name, label, kind, rng)
        return world

    def add_subreddit(
        self, name: str, label: str, state: str = "public", over18: bool = False
    ) -> Subreddit:
        sub = Subreddit(name, label, state, over18, id36=f"2q{len(self.subreddits):04d}")
        self.subreddits[name] = sub
        self.by_subreddit.setdefault(name, [])
        return sub

    def new_id(self) -> str:
        self._next_id += 1
        return _base36(int("1a0000", 36) + self._next_id * 7 + self.seed)

    def add_image(self, url: str, label: str, fmt: str | None = None, seed: int = 0) -> str:
        """Serve a generated image at ``url`` (its host must be a sandbox virtual host)."""
        parts = urlsplit(url)
        path = parts.path
        if fmt is None:
            ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else "jpeg"
            fmt = {"jpg": "jpeg", "jpeg": "jpeg", "png": "png", "gif": "gif", "webp": "webp"}.get(
                ext, "jpeg"
            )
        self.images[(parts.hostname or "", path)] = ImageSpec(label, fmt, seed, self.image_size)
        return url

    def add_page(self, url: str, title: str = "a page") -> str:
        """Serve an HTML page (no image) at ``url``."""
        parts = urlsplit(url)
        self.pages[(parts.hostname or "", parts.path or "/")] = (
            f"<html><head><title>{title}</title></head><body><p>{title}</p></body></html>"
        )
        return url

    def add_post(self, subreddit: str, data: dict[str, Any], expected: Expected | None) -> str:
        """Add a post (t3 data) to a subreddit; returns its id36."""
        self.posts[data["id"]] = data
        self.by_subreddit.setdefault(subreddit, []).append(data["id"])
        if expected is not None:
            self.expected[data["id"]] = expected
        return data["id"]

    def add_generated_post(
        self, subreddit: str, label: str, kind: str, rng: random.Random
    ) -> dict[str, Any]:
        post_id = self.new_id()
        seed = rng.getrandbits(32)
        title = content.make_text(label, rng)
        score = int(10 + rng.paretovariate(1.0) * 60)
        created = WORLD_NOW - rng.uniform(0, 3 * YEAR)
        data = _post_skeleton(post_id, self.subreddits[subreddit], title, score, created)
        media_id = post_id + _base36(seed).rjust(7, "0")[:7]  # unique: starts with the post id
        expected: Expected

        def direct(host: str, ext: str, fmt: str) -> str:
            url = f"https://{host}/{media_id}.{ext}"
            self.add_image(url, label, fmt, seed)
            return url

        if kind.startswith("ireddit_"):
            ext, fmt = {
                "ireddit_jpeg": ("jpeg", "jpeg"),
                "ireddit_png_alpha": ("png", "png"),
                "ireddit_gif": ("gif", "gif"),
                "ireddit_webp": ("webp", "webp"),
            }[kind]
            url = direct("i.redd.it", ext, fmt)
            data.update(url=url, domain="i.redd.it", post_hint="image")
            data["preview"] = self._preview(media_id, label, seed)
            expected = Expected("image", 1, "ok")
        elif kind == "imgur_direct":
            url = direct("i.imgur.com", "jpg", "jpeg")
            data.update(url=url, domain="i.imgur.com", post_hint="image")
            data["preview"] = self._preview(media_id, label, seed)
            expected = Expected("image", 1, "ok")
        elif kind == "other_host":
            url = f"https://{OTHER_IMAGE_HOST}/photo/{media_id}"
            self.add_image(url, label, "jpeg", seed)
            data.update(url=url, domain=OTHER_IMAGE_HOST, post_hint="image")
            expected = Expected("image", 1, "ok")
        elif kind == "imgur_page":
            image_url = direct("i.imgur.com", "png", "png")
            self.imgur_pages[media_id[:7]] = image_url
            data.update(url=f"https://imgur.com/{media_id[:7]}", domain="imgur.com")
            data["post_hint"] = "link"
            expected = Expected("image", 1, "ok")
        elif kind == "imgur_album":
            album_id = media_id[:7]
            count = rng.randint(2, 4)
            urls = []
            for n in range(count):
                url = f"https://i.imgur.com/{media_id[:6]}{n}.jpg"
                self.add_image(url, label, "jpeg", seed + n + 1)
                urls.append(url)
            self.imgur_albums[album_id] = urls
            data.update(url=f"https://imgur.com/a/{album_id}", domain="imgur.com")
            data["post_hint"] = "link"
            expected = Expected("album", count, "ok")
        elif kind == "gallery":
            valid = rng.randint(2, 4)
            broken = ["failed", "unprocessed"][: rng.randint(1, 2)]
            items, metadata = [], {}
            statuses = ["valid"] * valid + broken
            rng.shuffle(statuses)
            for n, status in enumerate(statuses):
                item_id = f"{media_id[:11]}{n:02d}"
                items.append({"caption": "", "media_id": item_id, "id": 900000000 + n})
                if status == "valid":
                    fmt = "png" if n % 2 else "jpeg"
                    ext = "png" if fmt == "png" else "jpg"
                    url = f"https://preview.redd.it/{item_id}.{ext}"
                    self.add_image(url, label, fmt, seed + n + 1)
                    metadata[item_id] = {
                        "status": "valid",
                        "e": "Image",
                        "m": f"image/{ext}",
                        "p": [],
                        "s": {
                            "y": self.image_size[1],
                            "x": self.image_size[0],
                            "u": f"{url}?width={self.image_size[0]}&format=pjpg&auto=webp&s=0",
                        },
                        "id": item_id,
                    }
                else:
                    metadata[item_id] = {"status": status, "id": item_id}
                    if status == "unprocessed":
                        metadata[item_id].update(e="Image", m="image/jpg")
            data.update(
                url=f"https://www.reddit.com/gallery/{post_id}",
                url_overridden_by_dest=f"https://www.reddit.com/gallery/{post_id}",
                domain="reddit.com",
                is_gallery=True,
                media_metadata=metadata,
                gallery_data={"items": items},
            )
            expected = Expected("gallery", valid, "ok", skipped_items=len(broken))
        elif kind == "crosspost":
            parent = self._crosspost_parent(label, rng, seed)
            data.update(
                url=parent["url"],
                domain=parent["domain"],
                crosspost_parent=parent["name"],
                crosspost_parent_list=[parent],
                post_hint="image",
                preview=parent.get("preview"),
            )
            expected = Expected("crosspost", 1, "ok")
        elif kind == "video":
            data.update(
                url=f"https://v.redd.it/{media_id}",
                domain="v.redd.it",
                is_video=True,
                post_hint="hosted:video",
                media={"reddit_video": {"fallback_url": f"https://v.redd.it/{media_id}/DASH"}},
            )
            data["preview"] = self._preview(media_id, label, seed)
            expected = Expected("video", 0, "skipped", "video")
        elif kind == "self":
            body = content.make_text(label, rng)
            data.update(
                url=f"https://www.reddit.com{data['permalink']}",
                domain=f"self.{subreddit}",
                is_self=True,
                selftext=body,
                selftext_html=f'<!-- SC_OFF --><div class="md"><p>{body}</p>\n</div>',
            )
            expected = Expected("self", 0, "skipped", "self")
        elif kind == "link":
            data.update(
                url=f"https://{NEWS_HOST}/story/{media_id}", domain=NEWS_HOST, post_hint="link"
            )
            expected = Expected("link", 0, "skipped", "link")
        elif kind == "unhinted_image":
            url = f"https://{OTHER_IMAGE_HOST}/view/{media_id}"
            self.add_image(url, label, "jpeg", seed)
            data.update(url=url, domain=OTHER_IMAGE_HOST)  # no post_hint, no preview
            expected = Expected("image", 1, "ok")
        elif kind == "unhinted_link":
            url = self.add_page(f"https://{NEWS_HOST}/old/{media_id}", title)
            data.update(url=url, domain=NEWS_HOST)
            expected = Expected("link", 0, "skipped", "link")
        elif kind == "dead_host":
            data.update(url=f"https://{DEAD_HOST}/{media_id}.jpg", domain=DEAD_HOST)
            data["post_hint"] = "image"
            data["preview"] = self._preview(media_id, label, seed)
            expected = Expected("image", 1, "ok", fallback=True)
        elif kind == "imgur_removed":
            url = f"https://i.imgur.com/{media_id[:7]}.jpg"
            self.imgur_removed.add(f"/{media_id[:7]}.jpg")
            data.update(url=url, domain="i.imgur.com", post_hint="image")
            data["preview"] = self._preview(media_id, label, seed)
            expected = Expected("image", 1, "ok", fallback=True)
        else:
            raise ValueError(f"unknown post kind {kind!r}")
        data["_sandbox_kind"] = kind  # removed before serving; lets tests group by kind
        self.add_post(subreddit, data, expected)
        return data

    def _preview(self, media_id: str, label: str, seed: int) -> dict[str, Any]:
        """Reddit's preview block: a JPEG on preview.redd.it (the fallback for dead hosts)."""
        url = f"https://preview.redd.it/{media_id}.jpeg"
        self.add_image(url, label, "jpeg", seed)
        width, height = self.image_size
        return {
            "images": [
                {
                    "source": {"url": f"{url}?auto=webp&s=0", "width": width, "height": height},
                    "resolutions": [],
                    "variants": {},
                    "id": media_id,
                }
            ],
            "enabled": True,
        }

    def _crosspost_parent(self, label: str, rng: random.Random, seed: int) -> dict[str, Any]:
        """A parent post in another (public, unlisted) subreddit with a direct image."""
        home = self.subreddits.get("pics") or self.add_subreddit("pics", label)
        parent_id = self.new_id()
        parent = _post_skeleton(
            parent_id, home, content.make_text(label, rng), rng.randint(100, 5000), WORLD_NOW - YEAR
        )
        media_id = parent_id + _base36(seed + 7).rjust(7, "0")[:7]
        url = f"https://i.redd.it/{media_id}.jpeg"
        self.add_image(url, label, "jpeg", seed + 7)
        parent.update(url=url, domain="i.redd.it", post_hint="image")
        parent["preview"] = self._preview(media_id, label, seed + 7)
        self.posts[parent_id] = parent  # reachable by /api/info, not listed anywhere
        return parent

    # -- what the server asks -----------------------------------------------------------------
    def public_post(self, id36: str) -> dict[str, Any] | None:
        data = self.posts.get(id36)
        if data is None:
            return None
        return {k: v for k, v in data.items() if not k.startswith("_sandbox")}

    def blob(self, host: str, path: str) -> tuple[bytes, str] | None:
        """``(bytes, content type)`` of the image at host+path, rendered once and cached."""
        key = (host, path)
        spec = self.images.get(key)
        if spec is None:
            return None
        with self._blob_lock:
            if key not in self._blobs:
                self._blobs[key] = render_image(spec)
            return self._blobs[key]

    def kind_of(self, id36: str) -> str | None:
        return self.posts.get(id36, {}).get("_sandbox_kind")


def render_image(spec: ImageSpec) -> tuple[bytes, str]:
    """Real image bytes in ``spec.fmt``: PNG has an alpha channel, GIF two frames."""
    rng = random.Random(spec.seed)
    image = content.make_image(spec.label, rng, spec.size)
    buffer = io.BytesIO()
    if spec.fmt == "png":
        rgba = image.convert("RGBA")
        alpha = rgba.getchannel("A").point(lambda _: 0)
        # a transparent border, so flattening on white is visible in the stored JPEG
        alpha.paste(255, (8, 8, spec.size[0] - 8, spec.size[1] - 8))
        rgba.putalpha(alpha)
        rgba.save(buffer, "PNG")
    elif spec.fmt == "gif":
        second = content.make_image(spec.label, rng, spec.size)
        image.save(buffer, "GIF", save_all=True, append_images=[second], duration=200, loop=0)
    elif spec.fmt == "webp":
        image.save(buffer, "WEBP", quality=80)
    else:
        image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue(), CONTENT_TYPES[spec.fmt]


def removed_placeholder() -> bytes:
    """imgur's "removed" placeholder: a 161x81 PNG (what i.imgur.com redirects dead ids to)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (161, 81), (34, 34, 34)).save(buffer, "PNG")
    return buffer.getvalue()


def _post_skeleton(
    id36: str, sub: Subreddit, title: str, score: int, created: float
) -> dict[str, Any]:
    """The common fields of a t3 ``data`` dict, named and typed as in the recorded listings."""
    # Reddit keeps only letters, digits and underscores in the slug: "[OC] Thoughts?" -> oc_thoughts
    slug = "_".join(re.sub(r"[^a-z0-9 ]+", "", title.lower()).split()[:6]) or "_"
    author = f"user_{int(id36, 36) % 9973}"
    return {
        "approved_at_utc": None,
        "subreddit": sub.name,
        "selftext": "",
        "selftext_html": None,
        "author_fullname": f"t2_{_base36(int(id36, 36) % 99991)}",
        "saved": False,
        "gilded": 0,
        "clicked": False,
        "title": title,
        "subreddit_name_prefixed": f"r/{sub.name}",
        "hidden": False,
        "downs": 0,
        "hide_score": False,
        "name": f"t3_{id36}",
        "quarantine": False,
        "upvote_ratio": 0.97,
        "ups": score,
        "domain": "",
        "media_embed": {},
        "is_original_content": False,
        "user_reports": [],
        "secure_media": None,
        "is_reddit_media_domain": False,
        "is_meta": False,
        "category": None,
        "secure_media_embed": {},
        "score": score,
        "thumbnail": "default",
        "edited": False,
        "is_self": False,
        "subreddit_type": "public",
        "created": created,
        "removed_by_category": None,
        "banned_by": None,
        "archived": False,
        "over_18": sub.over18,
        "spoiler": False,
        "locked": False,
        "subreddit_id": f"t5_{sub.id36}",
        "id": id36,
        "author": author,
        "num_comments": int(score // 10),
        "permalink": f"/r/{sub.name}/comments/{id36}/{slug}/",
        "stickied": False,
        "url": "",
        "created_utc": created,
        "num_crossposts": 0,
        "media": None,
        "is_video": False,
    }


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out
