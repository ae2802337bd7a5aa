"""The Flickr crawler: a label file -> ``flickr.photos.getInfo`` (flickrapi) -> images on disk.

For each photo of the label file (see ``labels.py``):

1. the post is inserted once with its label and votes (``status='pending'``), before any
   request, so that a crawl killed at any moment knows what it was asked;
2. ``flickr.photos.getInfo`` gives the title and description (HTML stripped, entities
   decoded), tags, owner (hashed), dates, license and photo page; the image URL is the
   Medium static URL (500 px on the long side) built from the answer, without another call;
3. images are downloaded concurrently by the shared downloader (``download.py``): RGB JPEG,
   sha256, pHash, atomic write, recorded in the store;
4. when that URL is missing (404) or gives an image under ``min_long_side`` px,
   ``flickr.photos.getSizes`` names the smallest size at least that large (else the largest)
   and that one is downloaded instead.

Errors: code 1 (photo deleted or private: Flickr does not say which) marks the post ``gone``
with reason ``flickr_error_1`` and is not retried; codes 105 and 201, HTTP 5xx, timeouts and
resets are retried with backoff (``net.call_api``); what still fails is ``failed`` with its
reason (``--retry-failed`` tries those again). API calls are sequential and paced by a
client-side rate limit (``calls_per_hour``, default 3,500: Flickr allows 3,600 an hour per
key); downloads run in ``workers`` threads. Steps 2-4 go in batches, so images arrive while
the API is being paced, and each step is resumable from the store alone.

The sandbox (or any Flickr-compatible server) is reached through :class:`FlickrClient`'s
``rest_url`` and a host map for the static images: nothing in flickrapi or requests is
patched.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flickrapi

from emofuse.crawlers import net
from emofuse.crawlers.labels import LabelFile, not_flickr_ids
from emofuse.crawlers.store import CrawlStore
from emofuse.errors import UserError
from emofuse.log import redact
from emofuse.paths import images_dir, store_path
from emofuse.privacy import author_hash
from emofuse.schema import strip_html

log = logging.getLogger(__name__)

SOURCE = "flickr"
FLICKR_REST_URL = flickrapi.FlickrAPI.REST_URL
STATIC_HOST = "live.staticflickr.com"
DEFAULT_CALLS_PER_HOUR = 3500.0  # Flickr's limit is 3,600 calls an hour per key
MIN_LONG_SIDE = 500
GONE_CODES = {1}  # photo not found: deleted or private
RETRY_CODES = {105, 201}  # service unavailable: try again later
AUTH_CODES = {96, 97, 98, 99, 100}  # signature / key problems: the user must fix them
SQUARE_LABELS = {"Square", "Large Square"}
CONFIG_ENV = "EMOFUSE_FLICKR_CONFIG"
DEFAULT_CONFIG = Path("~/.config/emofuse/flickr.toml")
_STATUS = re.compile(r"Status code (\d+) received")


# -- credentials --------------------------------------------------------------------------------
@dataclass(frozen=True)
class FlickrCredentials:
    """An API key and secret. Their values never appear in a repr, a log or an error."""

    key: str = field(repr=False)
    secret: str = field(repr=False)
    origin: str = "environment"  # where they came from (for messages)

    @property
    def values(self) -> list[str]:
        return [self.key, self.secret]


def load_credentials(config: str | Path | None = None) -> FlickrCredentials:
    """``FLICKR_API_KEY``/``FLICKR_API_SECRET`` from the environment, else a TOML config file
    (``--flickr-config``, ``$EMOFUSE_FLICKR_CONFIG`` or ``~/.config/emofuse/flickr.toml``)::

        [flickr]
        api_key = "..."
        api_secret = "..."
    """
    key, secret = os.environ.get("FLICKR_API_KEY"), os.environ.get("FLICKR_API_SECRET")
    if key and secret and config is None:
        return FlickrCredentials(key.strip(), secret.strip(), "environment")
    path = Path(config or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG).expanduser()
    if not path.is_file():
        if config is not None:
            raise UserError(f"Flickr config file not found: {path}", "check --flickr-config")
        raise UserError(
            "no Flickr API key: FLICKR_API_KEY and FLICKR_API_SECRET are not both set and "
            f"{path} does not exist",
            "set both variables, or write [flickr] api_key = ... and api_secret = ... to that "
            "file (get a key at https://www.flickr.com/services/apps/create/)",
        )
    try:
        section = tomllib.loads(path.read_text()).get("flickr", {})
    except (OSError, tomllib.TOMLDecodeError) as error:
        # the TOML error quotes the offending line, which may hold the secret: not shown
        raise UserError(
            f"cannot read the Flickr config {path} ({type(error).__name__})",
            "it must be TOML with a [flickr] table holding api_key and api_secret",
        ) from None
    missing = [name for name in ("api_key", "api_secret") if not section.get(name)]
    if missing:
        raise UserError(
            f"{path} has no {' or '.join(missing)} in its [flickr] table",
            'add api_key = "..." and api_secret = "..." under [flickr]',
        )
    return FlickrCredentials(str(section["api_key"]), str(section["api_secret"]), str(path))


# -- the client ---------------------------------------------------------------------------------
class FlickrClient(flickrapi.FlickrAPI):
    """flickrapi's ``FlickrAPI`` answering parsed JSON, pointed at ``rest_url``.

    ``rest_url`` defaults to the real ``https://api.flickr.com/services/rest/``; the sandbox
    passes its own. flickrapi reads the URL from the instance (``self.REST_URL``), so this is
    an ordinary subclass setting, not a patch. No token is read from or written to disk.
    """

    def __init__(
        self, credentials: FlickrCredentials, rest_url: str | None = None, timeout: float = 20.0
    ):
        super().__init__(
            credentials.key,
            credentials.secret,
            format="parsed-json",
            store_token=False,
            timeout=timeout,
        )
        self.REST_URL = rest_url or FLICKR_REST_URL
        self.credentials = credentials

    def __repr__(self) -> str:  # flickrapi's repr shows the key
        return f"FlickrClient({self.REST_URL})"

    __str__ = __repr__


def sandbox_endpoints(base_url: str) -> tuple[str, dict[str, str]]:
    """The REST URL and image host map of a sandbox at ``base_url`` (``emofuse sandbox serve``)."""
    base = base_url.rstrip("/")
    rest = f"{base}/_host/api.flickr.com/services/rest/"
    return rest, {STATIC_HOST: f"{base}/_host/{STATIC_HOST}"}


class PhotoGone(Exception):
    """Flickr error code 1: the photo is deleted or private."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class FlickrServiceError(net.RetryableHTTPError):
    """Flickr codes 105/201 (service unavailable): retried like a 5xx."""

    def __init__(self, code: int, url: str):
        super().__init__(503, url)
        self.code = code


class FlickrGarbledAnswer(net.RetryableHTTPError):
    """An answer flickrapi cannot parse (corrupt or cut JSON): retried like a 5xx."""

    def __init__(self, url: str):
        super().__init__(200, url)


def _translate(error: flickrapi.FlickrError, url: str) -> Exception:
    """A flickrapi error as what the retry policy understands."""
    if error.code in GONE_CODES:
        return PhotoGone(error.code, str(error))
    if error.code in RETRY_CODES:
        return FlickrServiceError(error.code, url)
    if error.code in AUTH_CODES:
        return UserError(
            f"Flickr rejected the API key (code {error.code}: {error})",
            "check FLICKR_API_KEY and FLICKR_API_SECRET (or the config file)",
        )
    match = _STATUS.search(str(error))
    if match:
        status = int(match.group(1))
        if status in net.RETRY_STATUSES:
            return net.RetryableHTTPError(status, url)
        return net.PermanentHTTPError(status, url)
    return error


def failure_reason(error: BaseException) -> str:
    """A short reason for the store and the summary (never a URL with a key in it)."""
    if isinstance(error, FlickrServiceError):
        return f"flickr_error_{error.code}"
    if isinstance(error, FlickrGarbledAnswer):
        return "garbled_answer"
    if isinstance(error, net.RetryableHTTPError | net.PermanentHTTPError):
        return f"http_{error.status}"
    if isinstance(error, flickrapi.FlickrError):
        return f"flickr_error_{error.code}" if error.code is not None else "flickr_error"
    return f"network_{type(error).__name__}"


class FlickrApi:
    """Sequential, paced, retried calls to one Flickr REST endpoint."""

    def __init__(
        self,
        client: FlickrClient,
        calls_per_hour: float = DEFAULT_CALLS_PER_HOUR,
        policy: net.RetryPolicy | None = None,
    ):
        if calls_per_hour <= 0:
            raise UserError(f"--calls-per-hour must be positive, not {calls_per_hour}", "e.g. 3500")
        self.client = client
        self.policy = policy or net.RetryPolicy()
        # one call every 3600/N seconds: never more than N in any hour, even across retries
        self.pacer = net.ApiPacer(min_interval_s=3600.0 / calls_per_hour)
        self.calls = 0
        # flickrapi logs every non-200 answer at ERROR level; we report failures ourselves
        logging.getLogger("flickrapi").setLevel(logging.CRITICAL)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One API method, e.g. ``call("photos.getInfo", photo_id="123")``."""
        target = self.client
        for part in method.split("."):
            target = getattr(target, part)

        def attempt() -> dict[str, Any]:
            self.calls += 1
            try:
                return target(**params)
            except flickrapi.FlickrError as error:
                raise _translate(error, f"flickr.{method}") from None
            except ValueError:  # UnicodeDecodeError, JSONDecodeError: a garbled body
                raise FlickrGarbledAnswer(f"flickr.{method}") from None

        try:
            return net.call_api(attempt, self.policy, self.pacer)
        except UserError as error:
            problem = redact(error.problem, self.client.credentials.values)
            raise UserError(problem, error.fix) from None

    def check_key(self) -> None:
        """One ``flickr.test.echo`` call: a rejected key is a UserError before any write."""
        import requests

        try:
            self.call("test.echo")
        except (net.RetryableHTTPError, net.PermanentHTTPError, requests.RequestException) as error:
            raise UserError(
                f"cannot reach the Flickr API at {self.client.REST_URL} ({failure_reason(error)})",
                "check the network (or the --sandbox URL) and try again",
            ) from None


# -- turning answers into posts -------------------------------------------------------------
def medium_url(photo: dict[str, Any]) -> str:
    """The Medium (500 px) static URL of a getInfo answer: no extra call needed."""
    return f"https://{STATIC_HOST}/{photo['server']}/{photo['id']}_{photo['secret']}.jpg"


def post_fields(photo: dict[str, Any], data: Path) -> dict[str, Any]:
    """Contract fields (and ``extra``) from a getInfo ``photo``. The owner is only hashed."""
    owner = photo.get("owner") or {}
    dates = photo.get("dates") or {}
    urls = [u.get("_content") for u in (photo.get("urls") or {}).get("url", [])]
    page = next((u for u in urls if u), None)
    owner_path = owner.get("path_alias") or owner.get("nsid")
    tags = [
        tag.get("raw") or tag.get("_content") for tag in (photo.get("tags") or {}).get("tag", [])
    ]
    posted = dates.get("posted") or photo.get("dateuploaded")
    return {
        "title": strip_html((photo.get("title") or {}).get("_content")),
        "body": strip_html((photo.get("description") or {}).get("_content")),
        "created_utc": float(posted) if posted else None,
        "permalink": page,
        "url": medium_url(photo),
        "community": f"photos/{owner_path}" if owner_path else None,
        "author_hash": author_hash(owner.get("nsid"), data),
        "kind": "image",
        "extra": {
            "tags": [tag for tag in tags if tag],
            "license": photo.get("license"),
            "date_taken": dates.get("taken"),
            "date_lastupdate": dates.get("lastupdate"),
            "views": photo.get("views"),
            "media": photo.get("media"),
        },
    }


def choose_size(sizes: list[dict[str, Any]], min_long_side: int = MIN_LONG_SIDE) -> dict | None:
    """The smallest non-square photo size with a long side >= ``min_long_side``, else the
    largest one (the photo is smaller than that), from a getSizes ``size`` list."""
    usable = [
        size
        for size in sizes
        if size.get("label") not in SQUARE_LABELS
        and size.get("media", "photo") == "photo"
        and size.get("source")
    ]
    if not usable:
        return None

    def long_side(size: dict[str, Any]) -> int:
        return max(int(size.get("width") or 0), int(size.get("height") or 0))

    large_enough = [size for size in usable if long_side(size) >= min_long_side]
    if large_enough:
        return min(large_enough, key=long_side)
    return max(usable, key=long_side)


# -- the crawl --------------------------------------------------------------------------------
@dataclass
class FlickrCrawlOptions:
    workers: int = 16
    calls_per_hour: float = DEFAULT_CALLS_PER_HOUR
    batch_size: int = 50
    min_long_side: int = MIN_LONG_SIDE
    retry_failed: bool = False
    host_map: dict[str, str] = field(default_factory=dict)
    policy: net.RetryPolicy = field(default_factory=net.RetryPolicy)


@dataclass
class FlickrSummary:
    """The photos of one label file, as the store has them at the end of a run."""

    requested: int = 0
    already: int = 0  # stored before this run (resumed or repeated crawl)
    fetched: int = 0  # with an image stored
    small: int = 0  # stored, but no size reached min_long_side
    pending: int = 0  # still pending (only if the run was interrupted)
    gone: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)
    by_label: Counter = field(default_factory=Counter)  # fetched posts per label
    api_calls: int = 0
    images_stored: int = 0  # downloaded in this run
    store: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            name: dict(value) if isinstance(value, Counter) else value
            for name, value in vars(self).items()
        }


class FlickrCrawler:
    """One crawl of a label file into ``<data>/raw/flickr/``."""

    def __init__(self, api: FlickrApi, data_dir: Path, options: FlickrCrawlOptions | None = None):
        self.api = api
        self.data_dir = Path(data_dir)
        self.options = options or FlickrCrawlOptions()
        self.store: CrawlStore | None = None
        self._images_task: Any = None

    def run(self, labels: LabelFile, progress: Any = None) -> FlickrSummary:
        from emofuse.crawlers.download import remove_stale_temp_files

        odd = not_flickr_ids(labels)
        if odd:
            raise UserError(
                f"{len(odd)} ids of {labels.path.name} are not Flickr photo ids (e.g. {odd[0]!r})",
                "Emotion6's ground_truth.txt names its own image files, not Flickr photos: "
                "use a file whose ids are Flickr photo ids or URLs",
            )
        self.api.check_key()  # a rejected key stops here, before anything is written
        remove_stale_temp_files(images_dir(self.data_dir, SOURCE))
        post_ids = [f"{SOURCE}:{row.photo_id}" for row in labels.rows]
        summary = FlickrSummary(requested=len(post_ids))
        with CrawlStore(store_path(self.data_dir, SOURCE), source=SOURCE) as store:
            self.store = store
            summary.store = str(store.path)
            if progress is not None:
                self._images_task = progress.add_task("flickr images", total=0)
            self._insert(labels)
            summary.already = sum(1 for p in post_ids if store.post(p)["status"] == "ok")
            if self.options.retry_failed:
                self._reset_failed(post_ids)
            # images a killed run left pending first, then the photos still to look up
            summary.images_stored += self._download(progress)
            self._fix_sizes(progress, summary)
            todo = self._needing_info(post_ids)
            task = progress.add_task("flickr getInfo", total=len(todo)) if progress else None
            for start in range(0, len(todo), max(1, self.options.batch_size)):
                for post_id in todo[start : start + self.options.batch_size]:
                    self._get_info(post_id)
                    if task is not None:
                        progress.advance(task)
                summary.images_stored += self._download(progress)
                self._fix_sizes(progress, summary)
            self._count(post_ids, summary)
            self.store = None
        summary.api_calls = self.api.calls
        return summary

    # -- steps ------------------------------------------------------------------------------
    def _insert(self, labels: LabelFile) -> None:
        assert self.store is not None
        for row in labels.rows:
            self.store.upsert_post(
                {
                    "post_id": f"{SOURCE}:{row.photo_id}",
                    "source": SOURCE,
                    "label": row.label,
                    "rank": row.votes_agree,
                    "votes_agree": row.votes_agree,
                    "votes_total": row.votes_total,
                    "kind": "image",
                    "status": "pending",
                    "extra": {"label_file": labels.path.name},
                }
            )

    def _reset_failed(self, post_ids: list[str]) -> None:
        assert self.store is not None
        for post_id in post_ids:
            post = self.store.post(post_id)
            if post["status"] != "failed":
                continue
            for image in self.store.images(post_id):
                if image["status"] == "failed":
                    self.store.record_image(post_id, image["idx"], status="pending", reason=None)
            self.store.update_post(post_id, status="pending", reason=None)

    def _needing_info(self, post_ids: list[str]) -> list[str]:
        """Pending posts without an image row: getInfo not done (or killed before its end)."""
        assert self.store is not None
        wanted = set(post_ids)
        rows = self.store.conn.execute(
            "SELECT p.post_id FROM posts p WHERE p.status='pending' AND NOT EXISTS "
            "(SELECT 1 FROM images i WHERE i.post_id = p.post_id) ORDER BY p.post_id"
        ).fetchall()
        return [row[0] for row in rows if row[0] in wanted]

    def _get_info(self, post_id: str) -> None:
        assert self.store is not None
        photo_id = post_id.split(":", 1)[1]
        try:
            answer = self.api.call("photos.getInfo", photo_id=photo_id)
        except PhotoGone as error:
            self.store.update_post(post_id, status="gone", reason=f"flickr_error_{error.code}")
            self.store.record_attempt("gone", post_id, None, str(error))
            return
        except UserError:
            raise
        except Exception as error:  # retries exhausted: recorded, the crawl goes on
            reason = failure_reason(error)
            self.store.update_post(post_id, status="failed", reason=reason)
            self.store.record_attempt("failed", post_id, None, reason)
            return
        fields = post_fields(answer["photo"], self.data_dir)
        stored = self.store.post(post_id)
        if stored["title"] is not None:
            # a rehydrated photo: the published text stays, the current one goes beside it
            fields["extra"]["current_title"] = fields.pop("title")
            fields["extra"]["current_body"] = fields.pop("body")
        # fields first, then the image row: a kill in between only repeats this getInfo
        self.store.update_post(post_id, **fields)
        self.store.add_images(post_id, [fields["url"]])

    def _download(self, progress: Any) -> int:
        from emofuse.crawlers.download import download_pending

        assert self.store is not None
        if not self.store.pending_images():
            return 0
        pending = len(self.store.pending_images())
        if self._images_task is not None:
            total = progress.tasks[self._images_task].total or 0
            progress.update(self._images_task, total=total + pending)
        result = download_pending(
            self.store,
            self.data_dir,
            SOURCE,
            workers=self.options.workers,
            host_map=self.options.host_map,
            policy=self.options.policy,
        )
        if self._images_task is not None:
            progress.advance(self._images_task, result.attempted)
        return result.stored

    def _fix_sizes(self, progress: Any, summary: FlickrSummary) -> None:
        """getSizes for photos whose Medium URL is missing or too small; download again."""
        assert self.store is not None
        rows = self.store.conn.execute(
            "SELECT i.post_id, i.idx, i.source_url FROM images i JOIN posts p USING (post_id) "
            "WHERE p.source='flickr' AND json_extract(p.extra, '$.sizes_checked') IS NULL AND ("
            "(i.status IN ('gone', 'failed') AND i.reason IN ('http_404', 'http_410')) OR "
            "(i.status='ok' AND MAX(i.width, i.height) < ?))",
            (self.options.min_long_side,),
        ).fetchall()
        changed = False
        for row in rows:
            post_id, idx = row["post_id"], row["idx"]
            try:
                answer = self.api.call("photos.getSizes", photo_id=post_id.split(":", 1)[1])
            except PhotoGone as error:
                self.store.update_post(
                    post_id,
                    status="gone",
                    reason=f"flickr_error_{error.code}",
                    extra={"sizes_checked": True},
                )
                continue
            except UserError:
                raise
            except Exception as error:  # keep what we have; a rerun asks again
                self.store.record_attempt("failed", post_id, None, failure_reason(error))
                continue
            size = choose_size(answer["sizes"].get("size", []), self.options.min_long_side)
            if size is not None and size["source"] != row["source_url"]:
                # the image row first: a kill before the post update only repeats getSizes
                self.store.record_image(
                    post_id, idx, status="pending", source_url=size["source"], reason=None
                )
                self.store.update_post(
                    post_id,
                    status="pending",
                    reason=None,
                    extra={"sizes_checked": True, "size_label": size.get("label")},
                )
                changed = True
            else:
                self.store.update_post(post_id, extra={"sizes_checked": True})
        if changed:
            summary.images_stored += self._download(progress)

    def _count(self, post_ids: list[str], summary: FlickrSummary) -> None:
        assert self.store is not None
        for post_id in post_ids:
            post = self.store.post(post_id)
            status, reason = post["status"], post["reason"] or "unknown"
            if status == "ok":
                summary.fetched += 1
                summary.by_label[post["label"]] += 1
                images = self.store.images(post_id, status="ok")
                if images and max(images[0]["width"], images[0]["height"]) < (
                    self.options.min_long_side
                ):
                    summary.small += 1
            elif status == "gone":
                summary.gone[reason] += 1
            elif status == "failed":
                summary.failed[reason] += 1
            else:
                summary.pending += 1


def crawl_flickr(
    labels: LabelFile,
    data_dir: Path,
    credentials: FlickrCredentials,
    *,
    rest_url: str | None = None,
    options: FlickrCrawlOptions | None = None,
    progress: Any = None,
) -> FlickrSummary:
    """Crawl the photos of ``labels`` into ``<data_dir>/raw/flickr/``. See the module doc."""
    options = options or FlickrCrawlOptions()
    client = FlickrClient(credentials, rest_url=rest_url, timeout=options.policy.timeout[1])
    api = FlickrApi(client, options.calls_per_hour, options.policy)
    return FlickrCrawler(api, data_dir, options).run(labels, progress)


def summary_json(summary: FlickrSummary) -> str:
    return json.dumps(summary.as_dict(), sort_keys=True)
