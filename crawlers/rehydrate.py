"""Rehydration: rebuild a published dataset from its release, fetching what is still online.

A *release* is either
  - the paper's own Reddit release (``processed_{happy,creepy,rage,gore}.csv``: id, name, url,
    ups, downs, created_utc, title, permalink, subreddit, num_comments, author, ...), as a folder
    holding those files or as one of them; or
  - a release written by ``emofuse release``: Parquet shards or CSV files with a ``post_id``
    column (``reddit:<id36>`` or ``flickr:<photo id>``) and a ``label`` column; an ``--ids-only``
    release has only ids, labels, ranks and splits.

``rehydrate(release, data, images=False)`` imports text and metadata only, without any request:
every post goes into ``<data>/raw/<source>/crawl.sqlite`` with status ``ok`` and kind ``text``
(or ``pending`` when the release has no text: an ids-only release needs the online pass).
With ``images=True`` the posts are then re-fetched from the source (see ``rehydrate`` below).

The published title and score are kept in the ``title`` and ``rank`` columns (so that the
split of the published dataset is reproduced) and in ``extra`` as ``published_title`` and
``published_score``; the online pass writes the current values beside them as
``current_title`` and ``current_score``.

Everything is read and checked before anything is written: a missing file, an unknown format,
a missing column or an unknown subreddit raise :class:`UserError` and leave ``<data>`` as it was.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emofuse.errors import UserError
from emofuse.paths import store_path
from emofuse.schema import POST_COLUMNS, REDDIT_DEFAULT_SUBREDDITS, SPLITS

# Columns the paper's release must have (the others are optional and ignored).
EMOCLASSIFIER_COLUMNS = ("id", "url", "ups", "created_utc", "title", "permalink", "subreddit")
# Columns an ``emofuse release`` table must have.
RELEASE_COLUMNS = ("post_id", "label")
# Contract fields an ``emofuse release`` table may carry; copied into the store when present.
RELEASE_OPTIONAL = tuple(
    name
    for name in POST_COLUMNS
    if name not in (*RELEASE_COLUMNS, "source", "text", "images")  # source: from post_id
)
SOURCES = ("reddit", "flickr")
INFO_BATCH = 100  # fullnames per /api/info request (Reddit's maximum)


@dataclass
class ReleasePost:
    """One post of a release, as read (nothing hashed or written yet)."""

    post_id: str
    source: str
    label: str
    fields: dict[str, Any]  # contract fields present in the release (title, rank, url, ...)
    author: str | None = None  # raw author name (paper's release only); hashed before storing
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def native_id(self) -> str:
        return self.post_id.split(":", 1)[1]

    @property
    def has_text(self) -> bool:
        return bool(self.fields.get("title") or self.fields.get("body"))


@dataclass
class RehydrateSummary:
    """What a rehydration did. ``gone`` and ``failed`` count posts by reason."""

    release: str
    format: str
    requested: int = 0
    imported: int = 0  # new rows written to a store
    already: int = 0  # rows that were already in the store (a resumed or repeated run)
    fetched: int = 0  # posts found online by the online pass
    images_stored: int = 0  # downloaded in this run
    pending: int = 0  # not settled yet (an interrupted run; rerun to finish)
    gone: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)  # online, but no image any more
    by_label: Counter = field(default_factory=Counter)
    by_source: Counter = field(default_factory=Counter)
    stores: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "format": self.format,
            "requested": self.requested,
            "imported": self.imported,
            "already": self.already,
            "fetched": self.fetched,
            "images_stored": self.images_stored,
            "pending": self.pending,
            "gone": dict(self.gone),
            "failed": dict(self.failed),
            "skipped": dict(self.skipped),
            "by_label": dict(self.by_label),
            "by_source": dict(self.by_source),
            "stores": list(self.stores),
        }


# -- reading a release -----------------------------------------------------------------------
def read_release(
    release: str | Path, subreddits: dict[str, str] | None = None
) -> tuple[str, list[ReleasePost]]:
    """Read and check a release; returns ``(format name, posts)``. Writes nothing.

    ``subreddits`` maps subreddit names (case-insensitive) to emotion classes for the paper's
    release; the default is :data:`emofuse.schema.REDDIT_DEFAULT_SUBREDDITS`.
    """
    path = Path(release).expanduser()
    if not path.exists():
        raise UserError(
            f"release not found: {path}",
            "pass --from a folder with processed_*.csv (the paper's release) or a folder "
            "written by `emofuse release`",
        )
    emoclassifier = _emoclassifier_files(path)
    if emoclassifier:
        return "emoclassifier", _read_emoclassifier(emoclassifier, subreddits)
    tables = _release_tables(path)
    if tables:
        return "emofuse", _read_emofuse_release(tables)
    raise UserError(
        f"{path} is not a release this version reads",
        "expected processed_<subreddit>.csv files (the paper's Reddit release) or Parquet/CSV "
        "files with post_id and label columns (written by `emofuse release`)",
    )


def _emoclassifier_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path] if path.name.startswith("processed_") and path.suffix == ".csv" else []
    return sorted(path.glob("processed_*.csv"))


def _release_tables(path: Path) -> list[Path]:
    if path.is_file():
        return [path] if path.suffix in (".parquet", ".csv", ".tsv") else []
    parquet = sorted(path.rglob("*.parquet"))
    if parquet:
        return parquet
    return sorted(p for p in path.rglob("*") if p.suffix in (".csv", ".tsv"))


def _table_columns(path: Path) -> list[str]:
    """Column names without reading the rows (Parquet shards hold the image bytes)."""
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        with open(path, encoding="utf-8-sig") as handle:
            header = handle.readline().rstrip("\r\n")
        return [name.strip() for name in header.split("\t" if path.suffix == ".tsv" else ",")]
    except Exception as error:  # pyarrow raises many types for a damaged file
        raise UserError(
            f"cannot read {path}: {type(error).__name__}: {error}",
            "check that the release is complete (compare SHA256SUMS) and not truncated",
        ) from error


def _read_table(path: Path, columns: list[str] | None = None):
    import pandas as pd

    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path, columns=columns)
        table = pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",", dtype=str)
        return table if columns is None else table[columns]
    except Exception as error:  # pandas/pyarrow raise many types for a damaged file
        raise UserError(
            f"cannot read {path}: {type(error).__name__}: {error}",
            "check that the release is complete (compare SHA256SUMS) and not truncated",
        ) from error


def _release_classes(tables: list[Path]) -> list[str] | None:
    """Class names from ``release.json`` beside ``data/`` (Parquet labels are class indices)."""
    import json

    for table in tables:
        for folder in table.parents:
            manifest = folder / "release.json"
            if manifest.is_file():
                try:
                    return list(json.loads(manifest.read_text()).get("classes") or []) or None
                except (OSError, ValueError) as error:
                    raise UserError(
                        f"cannot read {manifest}: {error}", "check that the release is complete"
                    ) from error
    return None


def _read_emoclassifier(files: list[Path], subreddits: dict[str, str] | None) -> list[ReleasePost]:
    mapping = {
        name.lower(): label for name, label in (subreddits or REDDIT_DEFAULT_SUBREDDITS).items()
    }
    posts: list[ReleasePost] = []
    seen: set[str] = set()
    for path in files:
        table = _read_table(path)
        missing = [name for name in EMOCLASSIFIER_COLUMNS if name not in table.columns]
        if missing:
            raise UserError(
                f"{path.name} lacks the column(s) {', '.join(missing)}",
                f"the paper's release has the columns {', '.join(EMOCLASSIFIER_COLUMNS)}, ...",
            )
        for row in table.to_dict("records"):
            subreddit = str(row["subreddit"]).strip()
            label = mapping.get(subreddit.lower())
            if label is None:
                raise UserError(
                    f"{path.name}: subreddit r/{subreddit} has no emotion class",
                    "map it with --subreddit NAME=EMOTION (known: "
                    + ", ".join(f"{k}={v}" for k, v in sorted(mapping.items()))
                    + ")",
                )
            native = str(row["id"]).strip()
            post_id = f"reddit:{native}"
            if post_id in seen:  # the same post listed twice: keep the first
                continue
            seen.add(post_id)
            title = _text(row.get("title"))
            score = _number(row.get("ups"))
            posts.append(
                ReleasePost(
                    post_id=post_id,
                    source="reddit",
                    label=label,
                    fields={
                        "title": title,
                        "body": None,
                        "rank": score,
                        "created_utc": _number(row.get("created_utc")),
                        "permalink": _text(row.get("permalink")),
                        "url": _text(row.get("url")),
                        "community": subreddit,
                    },
                    author=_text(row.get("author")),
                    extra={
                        "release": "emoclassifier",
                        "published_title": title,
                        "published_score": score,
                        "published_downs": _number(row.get("downs")),
                        "published_num_comments": _number(row.get("num_comments")),
                    },
                )
            )
    return posts


def _read_emofuse_release(tables: list[Path]) -> list[ReleasePost]:
    """Posts of a release written by ``emofuse release`` (Parquet, ImageFolder or ids-only).

    Only tables with ``post_id`` and ``label`` columns are read, and only the columns the store
    takes (never the image bytes). Parquet labels are class indices: ``release.json`` names
    them. The split comes from a ``split`` column or the shard name (``data/<split>-...``).
    """
    readable = [(path, _table_columns(path)) for path in tables]
    usable = [(p, cols) for p, cols in readable if all(c in cols for c in RELEASE_COLUMNS)]
    if not usable:
        path, columns = readable[0]
        missing = [name for name in RELEASE_COLUMNS if name not in columns]
        raise UserError(
            f"{path} lacks the column(s) {', '.join(missing)}",
            "a release written by `emofuse release` has post_id and label columns",
        )
    classes = _release_classes([p for p, _ in usable])
    posts: list[ReleasePost] = []
    seen: set[str] = set()
    for path, columns in usable:
        present = [name for name in RELEASE_OPTIONAL if name in columns]
        wanted = [*RELEASE_COLUMNS, *present, *(["split"] if "split" in columns else [])]
        table = _read_table(path, wanted)
        shard_split = path.name.split("-", 1)[0] if path.suffix == ".parquet" else None
        for row in table.to_dict("records"):
            post_id = str(row["post_id"]).strip()
            source = post_id.split(":", 1)[0]
            if source not in SOURCES or ":" not in post_id:
                raise UserError(
                    f"{path.name}: post_id {post_id!r} is not reddit:<id> or flickr:<id>",
                    "check that the file is an emofuse release",
                )
            if post_id in seen:
                continue
            seen.add(post_id)
            label = _label_name(row["label"], classes, path)
            fields = {name: _clean(row.get(name)) for name in present}
            for name in ("rank", "created_utc", "votes_agree", "votes_total"):
                if name in fields:
                    fields[name] = _number(fields[name])
            extra: dict[str, Any] = {"release": "emofuse"}
            split = _clean(row.get("split")) or (shard_split if shard_split in SPLITS else None)
            if split:
                extra["published_split"] = split
            if fields.get("title"):
                extra["published_title"] = fields["title"]
            if fields.get("rank") is not None:
                extra["published_score"] = fields["rank"]
            posts.append(ReleasePost(post_id, source, label, fields, None, extra))
    return posts


def _label_name(value: Any, classes: list[str] | None, path: Path) -> str:
    """A label as written (a class name) or as a class index into ``release.json``."""
    text = str(value).strip()
    if classes and text.isdigit():
        index = int(text)
        if index >= len(classes):
            raise UserError(
                f"{path.name}: label index {index} but release.json names {len(classes)} classes",
                "check that the release is complete",
            )
        return classes[index]
    return text


def _clean(value: Any) -> Any:
    """pandas' missing values (NaN, None, pd.NA) as None."""
    if value is None:
        return None
    try:
        if isinstance(value, float) and math.isnan(value):
            return None
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
    except TypeError:
        pass
    return value


def _text(value: Any) -> str | None:
    value = _clean(value)
    return None if value is None else str(value)


def _number(value: Any) -> float | None:
    value = _clean(value)
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else number


# -- importing ---------------------------------------------------------------------------------
def import_posts(
    posts: list[ReleasePost], data: Path, summary: RehydrateSummary, online: bool = False
) -> None:
    """Write the release's posts into the crawl stores, without any request.

    Text-only (``online=False``), a post with text is ``ok`` (kind ``text``); one without
    (ids only) is ``pending``. For the online pass every new post starts ``pending``.
    A post already in the store is left as it is (its crawl state is kept), so importing the
    same release twice, or after a killed run, neither duplicates nor resets anything.
    """
    from emofuse.crawlers.store import CrawlStore
    from emofuse.privacy import author_hash

    by_source: dict[str, list[ReleasePost]] = {}
    for post in posts:
        by_source.setdefault(post.source, []).append(post)
    for source, group in sorted(by_source.items()):
        path = store_path(data, source)
        summary.stores.append(str(path))
        with CrawlStore(path, source=source) as store:
            for post in group:
                row = {
                    "post_id": post.post_id,
                    "source": post.source,
                    "label": post.label,
                    **post.fields,
                    "kind": "text" if post.has_text and not online else None,
                    "status": "ok" if post.has_text and not online else "pending",
                    "reason": None if post.has_text or online else "ids only: not fetched yet",
                    "extra": post.extra,
                }
                if post.author is not None and not row.get("author_hash"):
                    row["author_hash"] = author_hash(post.author, data)
                if store.upsert_post(row):
                    summary.imported += 1
                else:
                    summary.already += 1


@dataclass
class OnlineOptions:
    """How the online pass reaches the sources. Clients are made lazily, after the release
    was read and checked but before anything is written, and only for the sources it holds.

    ``make_reddit`` returns a ``praw.Reddit`` (``reddit_cli.build_reddit``);
    ``make_flickr_credentials`` returns ``FlickrCredentials`` (``flickr.load_credentials``).
    ``host_map`` maps real hostnames to another server (the sandbox); its ``api.flickr.com``
    entry is also where the Flickr REST API is called.
    """

    make_reddit: Callable[[], Any] | None = None
    make_flickr_credentials: Callable[[], Any] | None = None
    host_map: dict[str, str] = field(default_factory=dict)
    workers: int = 16
    imgur_client_id: str | None = None
    calls_per_hour: float = 3500.0
    policy: Any = None  # net.RetryPolicy; None: the default one
    batch_size: int = INFO_BATCH


def rehydrate(
    release: str | Path,
    data: str | Path,
    *,
    images: bool = True,
    subreddits: dict[str, str] | None = None,
    online: OnlineOptions | None = None,
    progress: Any = None,
) -> RehydrateSummary:
    """Import a release into ``<data>/raw/<source>/crawl.sqlite``; with ``images``, re-fetch it.

    ``images=False`` (``--no-images``): text and metadata only, no request at all.
    ``images=True``: Reddit posts are re-fetched 100 at a time through ``/api/info`` (PRAW),
    their images resolved and downloaded like a crawl's; Flickr photos go through the Flickr
    crawler. Posts no longer online are ``gone`` with the reason (``not_found``, ``deleted``,
    ``removed``, ``flickr_error_1``, or the image's, e.g. ``http_404``, ``imgur_removed``);
    posts still online but without an image any more are ``skipped`` (``no_image:<kind>``).
    """
    data = Path(data)
    fmt, posts = read_release(release, subreddits)
    if not posts:
        raise UserError(f"the release {release} holds no posts", "check the --from path")
    summary = RehydrateSummary(release=str(release), format=fmt, requested=len(posts))
    summary.by_label.update(post.label for post in posts)
    summary.by_source.update(post.source for post in posts)
    reddit = flickr_api = None
    if images:
        online = online or OnlineOptions()
        if summary.by_source["reddit"]:
            if online.make_reddit is None:
                raise UserError(
                    "re-fetching Reddit posts needs Reddit API credentials",
                    "set praw_client_id/praw_client_secret/praw_user_agent (or --site), or "
                    "pass --no-images to import text and metadata only",
                )
            reddit = online.make_reddit()
        if summary.by_source["flickr"]:
            if online.make_flickr_credentials is None:
                raise UserError(
                    "re-fetching Flickr photos needs a Flickr API key",
                    "set FLICKR_API_KEY and FLICKR_API_SECRET, or pass --no-images",
                )
            flickr_api = _flickr_api(online.make_flickr_credentials(), online)
            flickr_api.check_key()  # a rejected key stops here, before the import writes
    import_posts(posts, data, summary, online=images)
    if images:
        assert online is not None
        reddit_posts = [post for post in posts if post.source == "reddit"]
        flickr_posts = [post for post in posts if post.source == "flickr"]
        if reddit_posts:
            summary.images_stored += refetch_reddit(reddit_posts, data, reddit, online, progress)
        if flickr_posts:
            summary.images_stored += refetch_flickr(
                flickr_posts, data, flickr_api, online, release, progress
            )
    _count(posts, data, summary)
    return summary


# -- the online pass: Reddit ------------------------------------------------------------------
def refetch_reddit(
    posts: list[ReleasePost], data: Path, reddit: Any, online: OnlineOptions, progress: Any
) -> int:
    """Re-fetch Reddit posts through ``/api/info`` (100 fullnames a request); returns the
    number of images stored. Resumable: a post is looked up until it is marked checked."""
    from emofuse.crawlers import net
    from emofuse.crawlers.download import download_pending, remove_stale_temp_files
    from emofuse.crawlers.reddit import resolve_imgur_links
    from emofuse.crawlers.store import CrawlStore
    from emofuse.paths import images_dir

    policy = online.policy or net.RetryPolicy()
    post_ids = [post.post_id for post in posts]
    with CrawlStore(store_path(data, "reddit"), source="reddit") as store:
        todo = [post_id for post_id in post_ids if _needs_lookup(store, post_id)]
        task = progress.add_task("reddit /api/info", total=len(todo)) if progress else None
        size = max(1, min(INFO_BATCH, online.batch_size))
        for start in range(0, len(todo), size):
            batch = todo[start : start + size]
            _lookup_batch(store, reddit, batch, data, policy)
            if task is not None:
                progress.advance(task, len(batch))
        # imgur pages and albums -> image URLs, exactly as the Reddit crawler does it
        resolve_imgur_links(
            store,
            net.make_session(pool_size=max(online.workers, 4)),
            host_map=online.host_map,
            imgur_client_id=online.imgur_client_id,
            policy=policy,
            progress=progress,
        )
        remove_stale_temp_files(images_dir(data, "reddit"))
        result = download_pending(
            store,
            data,
            "reddit",
            workers=online.workers,
            host_map=online.host_map,
            policy=policy,
            progress=progress,
            post_ids=set(post_ids),
        )
    return result.stored


def _needs_lookup(store: Any, post_id: str) -> bool:
    post = store.post(post_id)
    if not post["extra"].get("checked_online"):
        return True
    # killed between the post update and its image rows: look it up again
    return (
        post["status"] == "pending"
        and not post["extra"].get("resolve")
        and not store.images(post_id)
    )


def _lookup_batch(store: Any, reddit: Any, batch: list[str], data: Path, policy: Any) -> None:
    from emofuse.crawlers import net
    from emofuse.crawlers.reddit import submission_fields, worth_another_call

    fullnames = [f"t3_{post_id.split(':', 1)[1]}" for post_id in batch]

    def fetch() -> dict[str, dict[str, Any]]:
        # one /api/info request: PRAW asks for up to 100 fullnames at a time
        return {s.id: submission_fields(s) for s in reddit.info(fullnames=fullnames)}

    try:
        found = net.call_api(
            fetch, policy, retry_if=lambda e: net.is_transient(e) or worth_another_call(e)
        )
    except Exception as error:  # retries exhausted: recorded, looked up again by a rerun
        reason = _reddit_failure(error)
        for post_id in batch:
            store.update_post(post_id, status="failed", reason=reason)
            store.record_attempt("failed", post_id, None, reason)
        return
    for post_id in batch:
        current = found.get(post_id.split(":", 1)[1])
        if current is None:
            store.update_post(
                post_id, status="gone", reason="not_found", extra={"checked_online": True}
            )
        else:
            _apply_current(store, post_id, current, data)


def _reddit_failure(error: BaseException) -> str:
    status = getattr(getattr(error, "response", None), "status_code", None)
    if status is None:
        status = getattr(error, "status", None)
    return f"reddit_http_{status}" if status else f"reddit_{type(error).__name__}"


def _apply_current(store: Any, post_id: str, current: dict[str, Any], data: Path) -> None:
    """Record what Reddit says now beside what the release published; queue the images."""
    from emofuse.crawlers.reddit import classify
    from emofuse.privacy import author_hash

    post = store.post(post_id)
    found = classify(current)
    extra: dict[str, Any] = {
        "checked_online": True,
        "current_title": current.get("title"),
        "current_score": current.get("score"),
        "current_num_comments": current.get("num_comments"),
    }
    if found.resolve:
        extra["resolve"] = found.resolve
    if found.preview:
        extra["preview"] = found.preview
    # fields the release did not publish (an ids-only release) come from the current post
    permalink = current.get("permalink") or ""
    fill = {
        "title": current.get("title"),
        "body": current.get("selftext") or "",
        "rank": current.get("score"),
        "created_utc": current.get("created_utc"),
        "permalink": f"https://www.reddit.com{permalink}" if permalink.startswith("/") else None,
        "url": current.get("url"),
        "community": current.get("subreddit"),
        "author_hash": author_hash(current.get("author"), data),
    }
    fields = {name: value for name, value in fill.items() if post.get(name) in (None, "")}
    category = current.get("removed_by_category")
    if found.status == "gone":
        status = "gone"
        reason = "deleted" if category in ("deleted", "author") else found.reason or "removed"
    elif found.status == "skipped":
        status, reason = "skipped", f"no_image:{found.reason or found.kind}"
    else:
        status, reason = "pending", None
    store.update_post(post_id, kind=found.kind, status=status, reason=reason, extra=extra, **fields)
    if status == "pending" and found.urls and not store.images(post_id):
        store.add_images(post_id, found.urls)


# -- the online pass: Flickr ------------------------------------------------------------------
def _flickr_api(credentials: Any, online: OnlineOptions) -> Any:
    """The paced, retrying Flickr API client of a rehydration (``--host-map`` may redirect)."""
    from emofuse.crawlers import net
    from emofuse.crawlers.flickr import FlickrApi, FlickrClient

    policy = online.policy or net.RetryPolicy()
    api_base = online.host_map.get("api.flickr.com")
    rest_url = f"{api_base.rstrip('/')}/services/rest/" if api_base else None
    client = FlickrClient(credentials, rest_url=rest_url, timeout=policy.timeout[1])
    return FlickrApi(client, online.calls_per_hour, policy)


def refetch_flickr(
    posts: list[ReleasePost],
    data: Path,
    api: Any,
    online: OnlineOptions,
    release: str | Path,
    progress: Any,
) -> int:
    """Re-fetch Flickr photos with the Flickr crawler (``api``: a FlickrApi); returns the
    number of images stored."""
    from emofuse.crawlers import net
    from emofuse.crawlers.flickr import FlickrCrawler, FlickrCrawlOptions
    from emofuse.crawlers.labels import LabelFile, LabelRow
    from emofuse.crawlers.store import CrawlStore

    policy = online.policy or net.RetryPolicy()
    # photos imported text-only before: fetch them now (the published text stays)
    with CrawlStore(store_path(data, "flickr"), source="flickr") as store:
        for post in posts:
            row = store.post(post.post_id)
            if row["status"] == "ok" and row["kind"] == "text" and not store.images(post.post_id):
                store.update_post(post.post_id, status="pending", kind=None, reason=None)
    rows = [
        LabelRow(
            post.native_id,
            post.label,
            post.fields.get("votes_agree"),
            post.fields.get("votes_total"),
        )
        for post in posts
    ]
    labels = LabelFile(Path(release), "release", sorted({p.label for p in posts}), rows)
    options = FlickrCrawlOptions(
        workers=online.workers,
        calls_per_hour=online.calls_per_hour,
        host_map=online.host_map,
        policy=policy,
    )
    return FlickrCrawler(api, data, options).run(labels, progress).images_stored


def _count(posts: list[ReleasePost], data: Path, summary: RehydrateSummary) -> None:
    """Fill the outcome counts from the stores: what the release's posts are now."""
    from emofuse.crawlers.store import CrawlStore

    for source in sorted({post.source for post in posts}):
        with CrawlStore(store_path(data, source), source=source) as store:
            for post in posts:
                if post.source != source:
                    continue
                row = store.post(post.post_id)
                status, reason = row["status"], row["reason"] or "unknown"
                if status == "ok" and store.images(post.post_id, status="ok"):
                    summary.fetched += 1
                elif status == "gone":
                    summary.gone[reason] += 1
                elif status == "failed":
                    summary.failed[reason] += 1
                elif status == "skipped":
                    summary.skipped[reason] += 1
                elif status == "pending":
                    summary.pending += 1
