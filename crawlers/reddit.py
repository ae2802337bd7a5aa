"""The Reddit crawler: PRAW listings -> classified posts in the crawl store -> images on disk.

Stages, each resumable from the store alone (a crawl killed at any moment is rerun with the
same command and continues):

1. check each subreddit (``/about``): banned, private or missing ones are reported, skipped;
2. walk its listings sequentially through PRAW (``top`` with the time filter, then for
   ``--top-up`` other time filters, ``new``, ``hot`` and searches), saving the ``after``
   cursor after every post; each post is classified (:func:`classify`) and inserted once
   (``upsert_post`` never duplicates nor resets a post);
3. resolve imgur pages and albums to image URLs;
4. download every pending image concurrently (``emofuse.crawlers.download``).

API calls go through PRAW: prawcore paces them by Reddit's ``X-Ratelimit-*`` headers and
retries 5xx, timeouts and resets (bounded, with jittered backoff); a 429 waits for
``Retry-After`` / ``X-Ratelimit-Reset`` and is retried by ``net.call_api``. A listing that
still fails is reported and the crawl goes on; its saved cursor lets a rerun continue it.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from emofuse.crawlers import net
from emofuse.crawlers.download import DownloadSummary, download_pending, remove_stale_temp_files
from emofuse.crawlers.store import CrawlStore
from emofuse.errors import UserError
from emofuse.log import console
from emofuse.paths import images_dir, store_path
from emofuse.privacy import author_hash

log = logging.getLogger(__name__)

SOURCE = "reddit"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp")
VIDEO_EXTENSIONS = (".gifv", ".mp4", ".webm", ".mov")
DIRECT_IMAGE_HOSTS = ("i.redd.it", "i.imgur.com", "preview.redd.it", "i.reddituploads.com")
VIDEO_HOSTS = (
    "v.redd.it",
    "youtube.com",
    "www.youtube.com",
    "m.youtube.com",
    "youtu.be",
    "streamable.com",
    "gfycat.com",
    "redgifs.com",
    "www.redgifs.com",
    "vimeo.com",
)
# Hosts whose links are never images themselves (Reddit's own pages, chat invites...).
NON_IMAGE_HOSTS = ("reddit.com", "www.reddit.com", "old.reddit.com", "redd.it", "discord.gg")
IMAGE_KINDS = ("image", "gallery", "album", "crosspost")
# Listings walked by --top-up, after the main `top` listing, in this order.
TOP_UP_LISTINGS = (
    "top:year",
    "top:month",
    "top:week",
    "new",
    "hot",
    "search:site:i.redd.it",
    "search:site:imgur.com",
)
_IMGUR_ALBUM = re.compile(r"^/(?:a|gallery)/([A-Za-z0-9]+)")
_IMGUR_PAGE = re.compile(r"^/([A-Za-z0-9]{5,8})/?$")
_OG_IMAGE = re.compile(r'<meta[^>]+property="og:image"[^>]+content="([^"]+)"', re.I)


# -- classification -------------------------------------------------------------------------
@dataclass
class Classified:
    """What a post is, and where its images are."""

    kind: str  # image, gallery, album, crosspost, video, self, link
    urls: list[tuple[str, str | None]] = field(default_factory=list)  # (url, fallback)
    status: str = "pending"  # pending (has images to fetch) | skipped | gone
    reason: str | None = None
    resolve: str | None = None  # "imgur_page:<id>" / "imgur_album:<id>": URLs to look up
    skipped_items: int = 0  # gallery items that are failed / unprocessed / deleted
    preview: str | None = None
    probe: bool = False  # a link whose content type decides (see download.settle)


def preview_url(data: dict[str, Any]) -> str | None:
    """The full-size Reddit preview of a post, if Reddit made one."""
    preview = data.get("preview") or {}
    images = preview.get("images") or []
    if images and images[0].get("source", {}).get("url"):
        return images[0]["source"]["url"]
    return None


def classify(data: dict[str, Any]) -> Classified:
    """Classify a post from its Reddit fields (``t3`` data, as PRAW or the JSON has them)."""
    found = _classify(data)
    removed = data.get("removed_by_category") or data.get("selftext") in ("[removed]", "[deleted]")
    if removed and found.status == "pending":
        # removed by moderators or its author: do not collect it, even if the image remains
        return Classified(found.kind, status="gone", reason="removed")
    return found


def _classify(data: dict[str, Any]) -> Classified:
    parents = data.get("crosspost_parent_list") or []
    if data.get("crosspost_parent") and parents:
        parent = classify(parents[0])  # the parent's image, or why it has none
        if parent.kind in IMAGE_KINDS and parent.status == "pending":
            parent.kind = "crosspost"
        return parent
    if data.get("is_gallery") or data.get("gallery_data"):
        return _classify_gallery(data)
    url = data.get("url_overridden_by_dest") or data.get("url") or ""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path.lower()
    hint = data.get("post_hint") or ""
    preview = preview_url(data)
    if (
        data.get("is_video")
        or hint.endswith(":video")
        or host in VIDEO_HOSTS
        or path.endswith(VIDEO_EXTENSIONS)
    ):
        return Classified("video", status="skipped", reason="video")
    if data.get("is_self"):
        return Classified("self", status="skipped", reason="self")
    if parts.scheme not in ("http", "https"):
        return Classified("link", status="skipped", reason="link")
    if host in ("imgur.com", "www.imgur.com", "m.imgur.com"):
        album = _IMGUR_ALBUM.match(parts.path)
        if album:
            return Classified("album", resolve=f"imgur_album:{album.group(1)}", preview=preview)
        page = _IMGUR_PAGE.match(parts.path)
        if page:
            return Classified("image", resolve=f"imgur_page:{page.group(1)}", preview=preview)
    if host in DIRECT_IMAGE_HOSTS or path.endswith(IMAGE_EXTENSIONS) or hint == "image":
        return Classified("image", urls=[(url, preview if preview != url else None)])
    if not hint and not preview and host not in NON_IMAGE_HOSTS and "." in host:
        # Reddit said nothing (older posts have no post_hint): the content type will tell;
        # download.settle makes it an image, or a skipped link
        return Classified("link", urls=[(url, None)], probe=True)
    return Classified("link", status="skipped", reason="link")


def _classify_gallery(data: dict[str, Any]) -> Classified:
    metadata = data.get("media_metadata") or {}
    items = (data.get("gallery_data") or {}).get("items") or []
    if not metadata or not items:
        return Classified("gallery", status="gone", reason="gallery_removed")
    urls, skipped = [], 0
    for item in items:  # gallery_data order is the order the author chose
        meta = metadata.get(item.get("media_id")) or {}
        source = meta.get("s") or {}
        url = source.get("u") or source.get("gif")
        if meta.get("status") != "valid" or item.get("is_deleted") or not url:
            skipped += 1
            continue
        urls.append((url, None))
    if not urls:
        return Classified(
            "gallery", status="gone", reason="gallery_no_valid_items", skipped_items=skipped
        )
    return Classified("gallery", urls=urls, skipped_items=skipped)


def submission_fields(submission: Any) -> dict[str, Any]:
    """The raw fields of a PRAW Submission, as in the JSON (objects back to names)."""
    data = {k: v for k, v in vars(submission).items() if not k.startswith("_")}
    author = data.get("author")
    data["author"] = getattr(author, "name", author)
    sub = data.get("subreddit")
    data["subreddit"] = getattr(sub, "display_name", sub)
    return data


# -- the crawl ------------------------------------------------------------------------------
@dataclass
class RedditCrawlOptions:
    subreddits: dict[str, str]  # name -> emotion label
    time_filter: str = "all"
    limit: int = 1000
    min_upvotes: int = 0
    top_up: int | None = None
    nsfw: str = "keep"  # keep | skip
    workers: int = 16
    host_map: dict[str, str] = field(default_factory=dict)
    imgur_client_id: str | None = None
    policy: net.RetryPolicy = field(default_factory=net.RetryPolicy)


@dataclass
class SubredditReport:
    name: str
    label: str
    state: str = "ok"  # ok | banned | private | missing | nsfw-skipped | error
    detail: str = ""
    listed: int = 0  # listing items seen this run
    new_posts: int = 0  # inserted into the store this run
    skipped_run: Counter = field(default_factory=Counter)  # below_min_upvotes, nsfw, seen


@dataclass
class CrawlReport:
    subreddits: list[SubredditReport] = field(default_factory=list)
    downloads: DownloadSummary = field(default_factory=DownloadSummary)


class RedditCrawler:
    """One crawl of some subreddits into ``<data>/raw/reddit``. ``reddit`` is a praw.Reddit."""

    def __init__(self, reddit: Any, data_dir: Path, options: RedditCrawlOptions):
        self.reddit = reddit
        self.data_dir = Path(data_dir)
        self.options = options
        self.session = net.make_session(pool_size=max(options.workers, 4))
        self.store: CrawlStore | None = None

    def run(self, progress: Any = None) -> CrawlReport:
        report = CrawlReport()
        self.store = CrawlStore(store_path(self.data_dir, SOURCE), source=SOURCE)
        try:
            for name, label in self.options.subreddits.items():
                sub_report = SubredditReport(name, label)
                report.subreddits.append(sub_report)
                try:
                    self._crawl_subreddit(sub_report, progress)
                except Exception as error:
                    if not _is_api_error(error):
                        raise
                    # retries are spent (or the answer is final): report, go on with the others;
                    # the saved cursor lets the next run continue this listing
                    sub_report.state, sub_report.detail = "error", _describe(error)
                    console.print(
                        f"[yellow]warning:[/] r/{name}: listing stopped ({sub_report.detail}); "
                        "the crawl goes on, rerun the command to continue it"
                    )
            self._resolve_pending(progress)
            remove_stale_temp_files(images_dir(self.data_dir, SOURCE))
            report.downloads = download_pending(
                self.store,
                self.data_dir,
                SOURCE,
                workers=self.options.workers,
                host_map=self.options.host_map,
                session=self.session,
                policy=self.options.policy,
                progress=progress,
            )
        finally:
            self.store.close()
            self.store = None
        return report

    def _api(self, call: Any) -> Any:
        """One PRAW call. prawcore already retries 5xx, timeouts and resets with backoff and
        paces calls by Reddit's X-Ratelimit-* headers; a 429 (which prawcore raises) waits
        for Retry-After / X-Ratelimit-Reset here and is retried, and so is an answer that is
        not JSON (a garbled body, which prawcore raises as BadJSON without retrying)."""
        return net.call_api(call, self.options.policy, retry_if=worth_another_call)

    def _crawl_subreddit(self, report: SubredditReport, progress: Any) -> None:
        if not self._check_subreddit(report):
            return
        self._walk(report, f"top:{self.options.time_filter}", progress)
        if self.options.top_up:
            for listing in TOP_UP_LISTINGS:
                if self.image_posts(report.label) >= self.options.top_up:
                    break
                self._walk(report, listing, progress, top_up=True)

    def image_posts(self, label: str) -> int:
        """Image posts of a class in the store (not skipped, not gone)."""
        assert self.store is not None
        marks = ",".join("?" * len(IMAGE_KINDS))
        return self.store.conn.execute(
            f"SELECT COUNT(*) FROM posts WHERE label=? AND kind IN ({marks}) "
            "AND status IN ('pending', 'ok')",
            [label, *IMAGE_KINDS],
        ).fetchone()[0]

    # -- subreddits -----------------------------------------------------------------------
    def _check_subreddit(self, report: SubredditReport) -> bool:
        import prawcore

        subreddit = self.reddit.subreddit(report.name)
        try:
            over18 = self._api(lambda: subreddit.over18)
        except prawcore.exceptions.Redirect:
            report.state, report.detail = "missing", "no such subreddit"
        except prawcore.exceptions.NotFound as error:
            reason = _json_reason(error) or "not found"
            report.state = "banned" if reason == "banned" else "missing"
            report.detail = reason
        except prawcore.exceptions.Forbidden as error:
            reason = _json_reason(error) or "forbidden"
            # Reddit's 403 reasons: private, quarantined (needs an opt-in), gold_only...
            report.state = "quarantined" if reason == "quarantined" else "private"
            report.detail = reason
        else:
            if over18 and self.options.nsfw == "skip":
                report.state, report.detail = "nsfw-skipped", "NSFW, --nsfw skip"
                console.print(f"[yellow]warning:[/] r/{report.name} is NSFW: skipped (--nsfw skip)")
                return False
            return True
        why = "" if report.detail == report.state else f" ({report.detail})"
        console.print(
            f"[yellow]warning:[/] r/{report.name} is {report.state}{why}: skipped, "
            "the crawl goes on with the others"
        )
        return False

    # -- listings -------------------------------------------------------------------------
    def _listing_generator(self, name: str, listing: str, limit: int, after: str | None):
        subreddit = self.reddit.subreddit(name)
        params = {"after": after} if after else {}
        kind, _, arg = listing.partition(":")
        if kind == "top":
            return subreddit.top(time_filter=arg or "all", limit=limit, params=params)
        if kind == "new":
            return subreddit.new(limit=limit, params=params)
        if kind == "hot":
            return subreddit.hot(limit=limit, params=params)
        if kind == "search":
            return subreddit.search(arg, sort="top", time_filter="all", limit=limit, params=params)
        raise ValueError(f"unknown listing {listing!r}")

    def _walk(self, report: SubredditReport, listing: str, progress: Any, top_up=False) -> None:
        assert self.store is not None
        key = f"{report.name}:{listing}"
        cursor = self.store.cursor(key) or {}
        if cursor.get("done"):
            return
        seen = int(cursor.get("seen") or 0)
        limit = self.options.limit
        if seen >= limit:
            self.store.save_cursor(key, cursor.get("after"), seen, done=True)
            return
        generator = self._listing_generator(report.name, listing, limit - seen, cursor.get("after"))
        task = (
            progress.add_task(f"r/{report.name} {listing}", total=limit, completed=seen)
            if progress is not None
            else None
        )
        sentinel = object()
        after = cursor.get("after")
        sorted_by_score = listing.startswith("top") or listing.startswith("search")
        while True:
            submission = self._api(lambda: next(generator, sentinel))
            if submission is sentinel:
                break
            seen += 1
            report.listed += 1
            data = submission_fields(submission)
            stop = self._consider(report, data)
            after = data.get("name") or f"t3_{data['id']}"
            self.store.save_cursor(key, after, seen)
            if task is not None:
                progress.advance(task)
            if stop and sorted_by_score:
                break  # sorted by score: every later post is below --min-upvotes too
            if top_up and self.image_posts(report.label) >= (self.options.top_up or 0):
                # enough: the cursor stays open so a bigger --top-up later continues here
                if task is not None:
                    progress.update(task, total=seen)
                return
        self.store.save_cursor(key, after, seen, done=True)
        if task is not None:
            progress.update(task, total=seen, completed=seen)

    def _consider(self, report: SubredditReport, data: dict[str, Any]) -> bool:
        """Insert one listed post if it qualifies. Returns True when it is below the
        score threshold (which ends a listing sorted by score)."""
        assert self.store is not None
        score = int(data.get("score") or 0)
        if score < self.options.min_upvotes:
            report.skipped_run["below min upvotes"] += 1
            return True
        if data.get("over_18") and self.options.nsfw == "skip":
            report.skipped_run["nsfw"] += 1
            return False
        post_id = f"{SOURCE}:{data['id']}"
        if self.store.has_post(post_id):
            report.skipped_run["listed again"] += 1
            return False
        found = classify(data)
        extra = {
            "num_comments": data.get("num_comments"),
            "upvote_ratio": data.get("upvote_ratio"),
            "over_18": bool(data.get("over_18")),
            "domain": data.get("domain"),
        }
        if found.skipped_items:
            extra["gallery_skipped_items"] = found.skipped_items
        if found.resolve:
            extra["resolve"] = found.resolve
        if found.preview:
            extra["preview"] = found.preview
        if found.probe:
            extra["probe"] = True
        if data.get("crosspost_parent"):
            extra["crosspost_parent"] = data["crosspost_parent"]
        permalink = data.get("permalink") or ""
        post = {
            "post_id": post_id,
            "source": SOURCE,
            "label": report.label,
            "title": data.get("title"),
            "body": data.get("selftext") or "",
            "rank": score,
            "created_utc": data.get("created_utc"),
            "permalink": f"https://www.reddit.com{permalink}"
            if permalink.startswith("/")
            else permalink,
            "url": data.get("url"),
            "community": report.name,
            "author_hash": author_hash(data.get("author"), self.data_dir),
            "kind": found.kind,
            "status": found.status,
            "reason": found.reason,
            "extra": extra,
        }
        if self.store.upsert_post(post, found.urls):
            report.new_posts += 1
        return False

    # -- imgur ----------------------------------------------------------------------------
    def _resolve_pending(self, progress: Any) -> None:
        assert self.store is not None
        resolve_imgur_links(
            self.store,
            self.session,
            host_map=self.options.host_map,
            imgur_client_id=self.options.imgur_client_id,
            policy=self.options.policy,
            progress=progress,
        )


def resolve_imgur_links(
    store: CrawlStore,
    session: Any,
    *,
    host_map: dict[str, str],
    imgur_client_id: str | None,
    policy: net.RetryPolicy,
    progress: Any = None,
) -> None:
    """Turn the imgur pages and albums of pending posts into image rows; posts that get no
    image fall back to their Reddit preview, or are marked gone with the reason.

    Resumable: only posts with no image rows yet are looked at. Used by the crawl and by
    ``crawl rehydrate``, so both resolve imgur links the same way.
    """
    import json

    rows = store.conn.execute(
        "SELECT p.post_id, p.extra FROM posts p WHERE p.status='pending' "
        "AND json_extract(p.extra, '$.resolve') IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM images i WHERE i.post_id = p.post_id)"
    ).fetchall()
    if not rows:
        return
    headers = {"Authorization": f"Client-ID {imgur_client_id}"} if imgur_client_id else {}
    task = progress.add_task("imgur links", total=len(rows)) if progress else None
    for row in rows:
        extra = json.loads(row["extra"])
        try:
            urls = _imgur_image_urls(extra["resolve"], session, host_map, headers, policy)
        except (net.PermanentHTTPError, net.RetryableHTTPError) as error:
            urls, reason = [], f"imgur_http_{error.status}"
        except Exception as error:  # network gave up: record, never retry forever
            urls, reason = [], f"imgur_{type(error).__name__}"
        else:
            reason = "imgur_no_images"
        preview = extra.get("preview")
        if urls:
            store.add_images(row["post_id"], [(u, preview) for u in urls])
        elif preview:
            store.add_images(row["post_id"], [(preview, None)])
            store.record_attempt("fallback", row["post_id"], None, reason)
        else:
            store.update_post(row["post_id"], status="gone", reason=reason)
        if task is not None:
            progress.advance(task)


def _imgur_image_urls(
    resolve: str,
    session: Any,
    host_map: dict[str, str],
    headers: dict[str, str],
    policy: net.RetryPolicy,
) -> list[str]:
    """The image URLs behind ``imgur_page:ID`` / ``imgur_album:ID``."""
    kind, _, imgur_id = resolve.partition(":")
    if kind == "imgur_album" and headers:
        url = net.rewrite_url(f"https://api.imgur.com/3/album/{imgur_id}/images", host_map)
        answer = net.get(session, url, policy, headers=headers)
        return [item["link"] for item in answer.json().get("data", []) if item.get("link")]
    # without an imgur API client id: the page's og:image (an album's first image)
    prefix = "a/" if kind == "imgur_album" else ""
    page = net.get(
        session, net.rewrite_url(f"https://imgur.com/{prefix}{imgur_id}", host_map), policy
    )
    return _OG_IMAGE.findall(page.text)[:1]


def worth_another_call(error: BaseException) -> bool:
    """A PRAW error that prawcore does not retry but we do: a 429, an answer not JSON."""
    import prawcore

    return net.is_rate_limited(error) or isinstance(error, prawcore.exceptions.BadJSON)


def _is_api_error(error: Exception) -> bool:
    import prawcore

    return isinstance(error, prawcore.exceptions.PrawcoreException | net.RetryableHTTPError)


def _describe(error: Exception) -> str:
    """A short, secret-free description of an API error."""
    status = getattr(getattr(error, "response", None), "status_code", None)
    return f"HTTP {status}" if status else type(error).__name__


def _json_reason(error: Exception) -> str | None:
    response = getattr(error, "response", None)
    try:
        return (response.json() or {}).get("reason")
    except Exception:
        return None


def parse_subreddits(values: list[str] | None, defaults: dict[str, str]) -> dict[str, str]:
    """``NAME=EMOTION`` items -> {name: emotion}; none given: the defaults."""
    if not values:
        return dict(defaults)
    mapping: dict[str, str] = {}
    for value in values:
        name, sep, emotion = value.partition("=")
        name = name.strip().removeprefix("r/").removeprefix("/r/")
        if not sep or not re.fullmatch(r"[A-Za-z0-9_]{2,21}", name) or not emotion.strip():
            raise UserError(
                f"--subreddit {value!r} is not NAME=EMOTION",
                "write it like --subreddit happy=joy (repeat the option for more)",
            )
        mapping[name] = emotion.strip()
    return mapping
