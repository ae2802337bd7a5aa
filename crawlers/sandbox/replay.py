"""Serve real recorded API responses (vcrpy cassettes) through the sandbox.

Two ways, both used by the tests against ``../shared/data/recorded-api/reddit/``:

- :func:`register_cassette_routes`: every recorded GET is answered verbatim at its path
  (the ``after`` query selects the page), so PRAW walks the real pagination;
- :func:`recorded_posts`: the ``t3`` posts of a cassette, to put into a :class:`World`
  (``World.add_post``) and crawl like generated ones.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from emofuse.crawlers.sandbox.server import Request, Response, SandboxServer


def load_cassette(path: Path) -> list[dict[str, Any]]:
    return json.loads(Path(path).read_text())["interactions"]


def recorded_posts(path: Path) -> list[dict[str, Any]]:
    """Every ``t3`` data dict in the GET responses of a cassette, in recorded order."""
    posts = []
    for interaction in load_cassette(path):
        if interaction["request"]["method"] != "GET":
            continue
        body = json.loads(interaction["response"]["body"]["string"])
        for listing in body if isinstance(body, list) else [body]:
            for child in listing.get("data", {}).get("children", []):
                if child.get("kind") == "t3":
                    posts.append(child["data"])
    return posts


def register_cassette_routes(server: SandboxServer, path: Path, name: str = "replay") -> int:
    """Answer each recorded GET at its path; pages are told apart by their ``after``."""
    pages: dict[tuple[str, str | None], tuple[int, str]] = {}
    for interaction in load_cassette(path):
        request = interaction["request"]
        if request["method"] != "GET":
            continue
        parts = urlsplit(request["uri"])
        after = parse_qs(parts.query).get("after", [None])[0]
        response = interaction["response"]
        pages[(parts.path.rstrip("/"), after)] = (
            response["status"]["code"],
            response["body"]["string"],
        )

    def answer(request: Request, match: re.Match) -> Response:
        found = pages.get((request.path.rstrip("/"), request.arg("after")))
        if found is None:
            return Response.not_found()
        status, body = found
        return Response(status, body.encode(), {"Content-Type": "application/json"})

    for page_path in {page_path for page_path, _ in pages}:
        server.add_route("GET", re.escape(page_path) + "/?", answer, name=name)
    return len(pages)
