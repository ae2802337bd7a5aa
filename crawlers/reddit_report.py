"""The closing summary of ``emofuse crawl reddit``: one row per subreddit, from the store."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from rich.table import Table

from emofuse.crawlers.store import CrawlStore
from emofuse.log import console
from emofuse.paths import store_path


def subreddit_counts(store: CrawlStore, community: str) -> dict[str, Any]:
    """What the store holds for one subreddit (all runs together)."""
    conn = store.conn
    posts = conn.execute("SELECT COUNT(*) FROM posts WHERE community=?", (community,)).fetchone()[0]
    kept = conn.execute(
        "SELECT COUNT(*) FROM posts WHERE community=? AND status='ok'", (community,)
    ).fetchone()[0]
    images = conn.execute(
        "SELECT COUNT(*) FROM images i JOIN posts p USING (post_id) "
        "WHERE p.community=? AND i.status='ok'",
        (community,),
    ).fetchone()[0]
    skipped: Counter = Counter()
    for reason, count in conn.execute(
        "SELECT COALESCE(reason, status), COUNT(*) FROM posts WHERE community=? "
        "AND status IN ('skipped', 'gone', 'failed') GROUP BY 1",
        (community,),
    ):
        skipped[reason] += count
    gallery_items = conn.execute(
        "SELECT COALESCE(SUM(json_extract(extra, '$.gallery_skipped_items')), 0) FROM posts "
        "WHERE community=?",
        (community,),
    ).fetchone()[0]
    if gallery_items:
        skipped["gallery items"] += gallery_items
    fallback = conn.execute(
        "SELECT COUNT(*) FROM images i JOIN posts p USING (post_id) "
        "WHERE p.community=? AND i.status='ok' AND i.reason LIKE 'preview_fallback:%'",
        (community,),
    ).fetchone()[0]
    return {
        "posts": posts,
        "kept": kept,
        "images": images,
        "skipped": skipped,
        "fallback": fallback,
    }


def print_summary(report: Any, data_dir: Path) -> None:
    # posts / image posts / images: what the store holds (all runs); "listed now": this run
    table = Table(title=f"Reddit crawl: {store_path(data_dir, 'reddit')}")
    for column in (
        "subreddit",
        "state",
        "listed now",
        "posts",
        "image posts",
        "images",
        "from preview",
        "skipped (reason count)",
    ):
        numeric = column not in ("subreddit", "state", "skipped (reason count)")
        table.add_column(column, overflow="fold", justify="right" if numeric else "left")
    with CrawlStore(store_path(data_dir, "reddit"), source="reddit") as store:
        for sub in report.subreddits:
            counts = subreddit_counts(store, sub.name)
            reasons = counts["skipped"] + sub.skipped_run
            text = ", ".join(f"{name} {n}" for name, n in reasons.most_common()) or "-"
            state = sub.state if sub.detail in ("", sub.state) else f"{sub.state}: {sub.detail}"
            table.add_row(
                f"r/{sub.name} ({sub.label})",
                state,
                str(sub.listed),
                str(counts["posts"]),
                str(counts["kept"]),
                str(counts["images"]),
                str(counts["fallback"]),
                text,
            )
    console.print(table)
    d = report.downloads
    console.print(
        f"downloads this run: {d.stored} stored, {d.gone} gone, {d.failed} failed "
        f"({d.fallback} from the Reddit preview; {d.links_checked} links were not images) "
        f"in {d.seconds:.1f} s"
    )
