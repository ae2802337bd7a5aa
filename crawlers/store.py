"""The crawl store: one SQLite file (WAL) per source at ``raw/<source>/crawl.sqlite``.

Every write is a short transaction, so a crawl killed at any moment leaves a consistent store
and the same command resumes it. Image files are written by the downloader atomically (temp
file + rename) *before* their row is marked ``ok``; a row marked ``ok`` always has its file.

Tables
  meta      key/value: schema_version, source
  posts     one row per post (the data contract of DESIGN.md, plus crawl state)
  images    one row per image of a post, ``idx`` in display order (gallery order)
  attempts  every fetch attempt that failed or was skipped, with its reason (an audit log)
  cursors   listing pagination state (``after``) so a resumed crawl continues where it was
"""

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from emofuse.errors import UserError
from emofuse.schema import STORE_SCHEMA_VERSION

# Post status: what the crawl knows about a post.
#   pending   listed, images not all attempted yet
#   ok        at least one image stored (or text-only import)
#   skipped   not an image post (video, self, link without image...): reason says which
#   gone      deleted / removed / private at the source: reason says which
#   failed    every image failed after bounded retries: reason says why
POST_STATUSES = ("pending", "ok", "skipped", "gone", "failed")
# Image status: pending, ok, failed, gone
IMAGE_STATUSES = ("pending", "ok", "failed", "gone")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS posts (
    post_id      TEXT PRIMARY KEY,
    source       TEXT NOT NULL,
    label        TEXT NOT NULL,
    title        TEXT,
    body         TEXT,
    rank         REAL,
    votes_agree  INTEGER,
    votes_total  INTEGER,
    created_utc  REAL,
    permalink    TEXT,
    url          TEXT,
    community    TEXT,
    author_hash  TEXT,
    kind         TEXT,
    status       TEXT NOT NULL DEFAULT 'pending',
    reason       TEXT,
    extra        TEXT NOT NULL DEFAULT '{}',
    first_seen   REAL NOT NULL,
    updated_at   REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS posts_label ON posts(label);
CREATE INDEX IF NOT EXISTS posts_status ON posts(status);
CREATE TABLE IF NOT EXISTS images (
    post_id     TEXT NOT NULL REFERENCES posts(post_id),
    idx         INTEGER NOT NULL,
    source_url  TEXT NOT NULL,
    fallback_url TEXT,
    path        TEXT,
    sha256      TEXT,
    phash       TEXT,
    width       INTEGER,
    height      INTEGER,
    status      TEXT NOT NULL DEFAULT 'pending',
    reason      TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    updated_at  REAL NOT NULL,
    PRIMARY KEY (post_id, idx)
);
CREATE INDEX IF NOT EXISTS images_status ON images(status);
CREATE TABLE IF NOT EXISTS attempts (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    ts       REAL NOT NULL,
    post_id  TEXT,
    url      TEXT,
    outcome  TEXT NOT NULL,
    detail   TEXT
);
CREATE TABLE IF NOT EXISTS cursors (
    listing  TEXT PRIMARY KEY,
    after    TEXT,
    done     INTEGER NOT NULL DEFAULT 0,
    seen     INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
"""

POST_FIELDS = (
    "post_id",
    "source",
    "label",
    "title",
    "body",
    "rank",
    "votes_agree",
    "votes_total",
    "created_utc",
    "permalink",
    "url",
    "community",
    "author_hash",
    "kind",
    "status",
    "reason",
)


class CrawlStore:
    """A crawl store. Safe to use from one thread per instance; open one per thread."""

    def __init__(self, path: str | Path, source: str | None = None, create: bool = True):
        self.path = Path(path)
        if not self.path.exists():
            if not create:
                raise UserError(
                    f"no crawl store at {self.path}",
                    "run `emofuse crawl reddit`, `emofuse crawl flickr` or "
                    "`emofuse crawl rehydrate` first, or pass the right --data",
                )
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif self.path.stat().st_size:
            check_store(self.path)  # read-only, so that a refused file stays as it was
        self.conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self._init_schema(source)

    # -- schema ---------------------------------------------------------------------------
    def _init_schema(self, source: str | None) -> None:
        try:
            existing = self.conn.execute(
                "SELECT value FROM meta WHERE key='schema_version'"
            ).fetchone()
        except sqlite3.OperationalError:  # a new, empty database
            existing = None
        if existing is None:
            self.conn.executescript(_SCHEMA)  # idempotent: CREATE ... IF NOT EXISTS
        with self.transaction():
            if existing is None:
                self.conn.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                    (str(STORE_SCHEMA_VERSION),),
                )
            if source:
                self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('source', ?)", (source,))

    @property
    def source(self) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key='source'").fetchone()
        return row[0] if row else None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "CrawlStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- posts ----------------------------------------------------------------------------
    def has_post(self, post_id: str) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM posts WHERE post_id=?", (post_id,)).fetchone()
            is not None
        )

    def upsert_post(self, post: dict[str, Any], image_urls: Iterable[str | tuple] = ()) -> bool:
        """Insert a post and its image rows in one transaction. Returns False if it existed.

        An existing post is never duplicated nor reset: its crawl state is kept, so a resumed
        crawl that lists the same post again changes nothing. ``image_urls`` items are a URL
        or a ``(url, fallback_url)`` pair (e.g. the Reddit preview for a dead host).
        """
        now = time.time()
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM posts WHERE post_id=?", (post["post_id"],)).fetchone():
                return False
            values = {name: post.get(name) for name in POST_FIELDS}
            values["status"] = values["status"] or "pending"
            extra = json.dumps(post.get("extra") or {}, sort_keys=True, default=str)
            conn.execute(
                f"INSERT INTO posts ({', '.join(POST_FIELDS)}, extra, first_seen, updated_at) "
                f"VALUES ({', '.join('?' * len(POST_FIELDS))}, ?, ?, ?)",
                [values[name] for name in POST_FIELDS] + [extra, now, now],
            )
            for idx, item in enumerate(image_urls):
                url, fallback = (item, None) if isinstance(item, str) else item
                conn.execute(
                    "INSERT INTO images (post_id, idx, source_url, fallback_url, updated_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (post["post_id"], idx, url, fallback, now),
                )
        return True

    def update_post(self, post_id: str, **fields: Any) -> None:
        """Set post columns (``extra`` is merged into the stored JSON, not replaced)."""
        extra = fields.pop("extra", None)
        with self.transaction() as conn:
            if fields:
                sets = ", ".join(f"{name}=?" for name in fields)
                conn.execute(
                    f"UPDATE posts SET {sets}, updated_at=? WHERE post_id=?",
                    [*fields.values(), time.time(), post_id],
                )
            if extra:
                row = conn.execute("SELECT extra FROM posts WHERE post_id=?", (post_id,)).fetchone()
                merged = {**json.loads(row[0] if row else "{}"), **extra}
                conn.execute(
                    "UPDATE posts SET extra=? WHERE post_id=?",
                    (json.dumps(merged, sort_keys=True, default=str), post_id),
                )

    def post(self, post_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM posts WHERE post_id=?", (post_id,)).fetchone()
        return _post_row(row) if row else None

    def posts(self, status: str | None = None, label: str | None = None) -> list[dict[str, Any]]:
        query, args = "SELECT * FROM posts WHERE 1=1", []
        if status:
            query, args = query + " AND status=?", [*args, status]
        if label:
            query, args = query + " AND label=?", [*args, label]
        return [_post_row(row) for row in self.conn.execute(query + " ORDER BY post_id", args)]

    def count_posts(self, **where: Any) -> int:
        clause = " AND ".join(f"{name}=?" for name in where) or "1=1"
        return self.conn.execute(
            f"SELECT COUNT(*) FROM posts WHERE {clause}", list(where.values())
        ).fetchone()[0]

    # -- images ---------------------------------------------------------------------------
    def add_images(self, post_id: str, urls: Iterable[str | tuple]) -> None:
        """Append image rows to an existing post (e.g. after resolving an album)."""
        now = time.time()
        with self.transaction() as conn:
            start = conn.execute(
                "SELECT COALESCE(MAX(idx) + 1, 0) FROM images WHERE post_id=?", (post_id,)
            ).fetchone()[0]
            for offset, item in enumerate(urls):
                url, fallback = (item, None) if isinstance(item, str) else item
                conn.execute(
                    "INSERT INTO images (post_id, idx, source_url, fallback_url, updated_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (post_id, start + offset, url, fallback, now),
                )

    def images(self, post_id: str | None = None, status: str | None = None) -> list[dict]:
        query, args = "SELECT * FROM images WHERE 1=1", []
        if post_id:
            query, args = query + " AND post_id=?", [*args, post_id]
        if status:
            query, args = query + " AND status=?", [*args, status]
        return [dict(row) for row in self.conn.execute(query + " ORDER BY post_id, idx", args)]

    def pending_images(self, max_attempts: int | None = None) -> list[dict]:
        """Images still to download, oldest post first (what a resumed crawl picks up)."""
        query = "SELECT * FROM images WHERE status='pending'"
        args: list[Any] = []
        if max_attempts is not None:
            query, args = query + " AND attempts < ?", [max_attempts]
        return [dict(row) for row in self.conn.execute(query + " ORDER BY post_id, idx", args)]

    def record_image(self, post_id: str, idx: int, **fields: Any) -> None:
        """Update one image row (status, path, sha256, phash, width, height, reason...)."""
        sets = ", ".join(f"{name}=?" for name in fields)
        with self.transaction() as conn:
            conn.execute(
                f"UPDATE images SET {sets}, attempts=attempts+1, updated_at=? "
                "WHERE post_id=? AND idx=?",
                [*fields.values(), time.time(), post_id, idx],
            )

    def settle_post(self, post_id: str) -> str:
        """Derive a post's status from its images once none is pending; returns the status."""
        rows = self.conn.execute(
            "SELECT status, reason FROM images WHERE post_id=?", (post_id,)
        ).fetchall()
        statuses = [row["status"] for row in rows]
        if not rows or "pending" in statuses:
            return self.post(post_id)["status"] if self.has_post(post_id) else "pending"
        if "ok" in statuses:
            status, reason = "ok", None
        elif all(s == "gone" for s in statuses):
            status, reason = "gone", rows[0]["reason"]
        else:
            failed = [r["reason"] for r in rows if r["status"] == "failed"]
            status, reason = "failed", failed[0]
        self.update_post(post_id, status=status, reason=reason)
        return status

    # -- audit log and cursors ------------------------------------------------------------
    def record_attempt(
        self, outcome: str, post_id: str | None = None, url: str | None = None, detail: str = ""
    ) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO attempts (ts, post_id, url, outcome, detail) VALUES (?, ?, ?, ?, ?)",
                (time.time(), post_id, url, outcome, detail),
            )

    def cursor(self, listing: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM cursors WHERE listing=?", (listing,)).fetchone()
        return dict(row) if row else None

    def save_cursor(self, listing: str, after: str | None, seen: int, done: bool = False) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO cursors (listing, after, done, seen, updated_at) VALUES (?,?,?,?,?) "
                "ON CONFLICT(listing) DO UPDATE SET after=excluded.after, done=excluded.done, "
                "seen=excluded.seen, updated_at=excluded.updated_at",
                (listing, after, int(done), seen, time.time()),
            )


def check_store(path: Path, require_tables: bool = False) -> None:
    """Refuse, read-only, a file that is not a crawl store or was written by a newer emofuse.

    Opening such a file read-write would add tables to it or leave -wal/-shm files beside it:
    a refused input must stay exactly as it was. An empty database passes unless
    ``require_tables`` (a reader wants posts, a crawler may start from nothing).
    """
    # a store closed cleanly has no -wal file: "immutable" then reads it without creating the
    # -shm index that even a read-only WAL reader leaves behind
    live = any(Path(f"{path}{suffix}").exists() for suffix in ("-wal", "-shm"))
    uri = f"{Path(path).resolve().as_uri()}?mode=ro" + ("" if live else "&immutable=1")
    fix = "point --data (or --store) at an emofuse data directory"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            version = None
            if "meta" in tables:
                row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
                version = row[0] if row else None
    except sqlite3.DatabaseError as error:
        raise UserError(f"{path} is not a crawl store ({error})", fix) from error
    if (tables or require_tables) and not {"meta", "posts", "images"} <= tables:
        raise UserError(f"{path} is not a crawl store (no posts table)", fix)
    if version is not None and int(version) > STORE_SCHEMA_VERSION:
        raise UserError(
            f"{path} was written by a newer emofuse (store schema {version}, "
            f"this one reads up to {STORE_SCHEMA_VERSION})",
            "upgrade emofuse (pip install -U emofuse)",
        )


def _post_row(row: sqlite3.Row) -> dict[str, Any]:
    post = dict(row)
    post["extra"] = json.loads(post["extra"] or "{}")
    return post


def read_store(path: str | Path) -> tuple["Any", "Any"]:
    """Posts and images of a store as two pandas DataFrames (for curation and release).

    Raises UserError for a missing file, a file that is not a store, or a newer schema.
    """
    import pandas as pd

    if Path(path).exists():
        check_store(Path(path), require_tables=True)  # a reader wants posts, even none
    store = CrawlStore(path, create=False)
    try:
        posts = pd.read_sql_query("SELECT * FROM posts ORDER BY post_id", store.conn)
        images = pd.read_sql_query("SELECT * FROM images ORDER BY post_id, idx", store.conn)
    finally:
        store.close()
    return posts, images
