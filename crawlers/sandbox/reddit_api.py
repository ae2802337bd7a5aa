"""The Reddit API of the sandbox: what PRAW asks, answered from a :class:`World`.

PRAW reaches it through its documented settings ``oauth_url`` and ``reddit_url`` (both the
server root); no client code is patched. Route names: ``reddit.token``, ``reddit.listing``,
``reddit.search``, ``reddit.about``, ``reddit.info``, ``reddit.comments``.

  POST /api/v1/access_token              client-credentials or password grant (HTTP basic)
  GET  /r/{sub}/top|new|hot|controversial  ``after`` pagination, 100 a page, ``t`` time filter,
                                         and the listing cap (Reddit stops near 1000 posts)
  GET  /r/{sub}/search                   ``q`` words in titles, ``sort``, ``t``, same paging
  GET  /r/{sub}/about                    the subreddit (t5)
  GET  /api/info?id=t3_a,t3_b            posts by fullname
  GET  /comments/{id}                    the post and an empty comment listing

Subreddit states answer like Reddit: banned -> 404 ``{"reason": "banned"}``, private -> 403
``{"reason": "private"}``, unknown -> 302 to ``/subreddits/search`` (prawcore's Redirect).

Credentials: ``server.reddit_credentials`` (``{client_id: client_secret}``, default
``SANDBOX_CREDENTIALS``); anything else gets 401 at the token endpoint, as Reddit does.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from typing import Any

from emofuse.crawlers.sandbox.server import Request, Response, SandboxServer
from emofuse.crawlers.sandbox.world import WORLD_NOW, World

SANDBOX_CREDENTIALS = {"sandbox-client-id": "sandbox-client-secret"}
PAGE_MAX = 100
TIME_FILTERS = {
    "hour": 3600.0,
    "day": 86400.0,
    "week": 7 * 86400.0,
    "month": 31 * 86400.0,
    "year": 366 * 86400.0,
    "all": float("inf"),
}
_SUB = r"/r/(?P<sub>[A-Za-z0-9_]+)"
_TAIL = r"(?:\.json)?/?"


def crawl_environment(
    server: SandboxServer,
    credentials: tuple[str, str] | None = None,
    user_agent: str = "emofuse sandbox crawl",
) -> dict[str, str]:
    """The environment that points the crawl commands at ``server``: PRAW's credentials and
    URLs, the image-host map, an imgur client id. ``credentials`` default to the sandbox's."""
    client_id, client_secret = credentials or next(iter(SANDBOX_CREDENTIALS.items()))
    return {
        "praw_client_id": client_id,
        "praw_client_secret": client_secret,
        "praw_user_agent": user_agent,
        "praw_oauth_url": server.url,
        "praw_reddit_url": server.url,
        "EMOFUSE_HOST_MAP": json.dumps(server.host_map()),
        "IMGUR_CLIENT_ID": "sandbox",
    }


def register_reddit_routes(server: SandboxServer, world: World) -> None:
    """Register the Reddit API (token, listings, search, about, info, comments)."""
    if not hasattr(server, "reddit_credentials"):
        server.reddit_credentials = dict(SANDBOX_CREDENTIALS)
    tokens: set[str] = set()

    def token(request: Request, match: re.Match) -> Response:
        client_id, client_secret = _basic_auth(request.header("authorization"))
        accepted = server.reddit_credentials
        if accepted is not None and accepted.get(client_id or "") != client_secret:
            return Response.json({"message": "Unauthorized", "error": 401}, 401)
        value = secrets.token_urlsafe(16)
        tokens.add(value)
        return Response.json(
            {"access_token": value, "token_type": "bearer", "expires_in": 86400, "scope": "*"}
        )

    def authorized(request: Request) -> bool:
        header = request.header("authorization") or ""
        return header.lower().startswith("bearer ") and header.split(" ", 1)[1] in tokens

    def unauthorized() -> Response:
        return Response.json({"message": "Unauthorized", "error": 401}, 401)

    def refused(request: Request, sub: str) -> Response | None:
        """401 without a token, else the subreddit's own refusal (banned, private...)."""
        return unauthorized() if not authorized(request) else _refusal(world, sub)

    def listing(request: Request, match: re.Match) -> Response:
        sub = match.group("sub")
        refusal = refused(request, sub)
        if refusal:
            return refusal
        sort = match.group("sort")
        ids = _sorted_ids(world, sub, sort, request.arg("t", "day" if sort == "top" else "all"))
        return Response.json(_page(world, ids, request))

    def search(request: Request, match: re.Match) -> Response:
        sub = match.group("sub")
        refusal = refused(request, sub)
        if refusal:
            return refusal
        sort = request.arg("sort", "relevance")
        ids = _sorted_ids(world, sub, "new" if sort == "new" else "top", request.arg("t", "all"))
        for term in (request.arg("q") or "").lower().split():
            ids = [i for i in ids if _search_match(world.posts[i], term)]
        return Response.json(_page(world, ids, request))

    def about(request: Request, match: re.Match) -> Response:
        sub = match.group("sub")
        refusal = refused(request, sub)
        if refusal:
            return refusal
        info = world.subreddits[sub]
        return Response.json(
            {
                "kind": "t5",
                "data": {
                    "display_name": info.name,
                    "display_name_prefixed": f"r/{info.name}",
                    "name": f"t5_{info.id36}",
                    "id": info.id36,
                    "over18": info.over18,
                    "subreddit_type": "public",
                    "subscribers": 1000 + len(world.by_subreddit.get(sub, [])),
                    "title": info.name,
                    "url": f"/r/{info.name}/",
                    "created_utc": WORLD_NOW - 10 * 366 * 86400,
                },
            }
        )

    def info(request: Request, match: re.Match) -> Response:
        if not authorized(request):
            return unauthorized()
        names = [n for n in (request.arg("id") or "").split(",") if n.startswith("t3_")]
        children = [
            {"kind": "t3", "data": world.public_post(n[3:])} for n in names if n[3:] in world.posts
        ]
        return Response.json(_listing(children, None))

    def comments(request: Request, match: re.Match) -> Response:
        if not authorized(request):
            return unauthorized()
        data = world.public_post(match.group("id"))
        if data is None:
            return Response.not_found()
        return Response.json([_listing([{"kind": "t3", "data": data}], None), _listing([], None)])

    def subreddit_search(request: Request, match: re.Match) -> Response:
        return Response.json(_listing([], None))

    server.add_route("POST", r"/api/v1/access_token/?", token, name="reddit.token")
    server.add_route(
        "GET",
        _SUB + r"/(?P<sort>top|new|hot|controversial|rising)" + _TAIL,
        listing,
        name="reddit.listing",
    )
    server.add_route("GET", _SUB + r"/search" + _TAIL, search, name="reddit.search")
    server.add_route("GET", _SUB + r"/about" + _TAIL, about, name="reddit.about")
    server.add_route("GET", r"/api/info" + _TAIL, info, name="reddit.info")
    server.add_route(
        "GET", r"/comments/(?P<id>[a-z0-9]+)(?:/[^/]*)?" + _TAIL, comments, name="reddit.comments"
    )
    server.add_route(
        "GET", r"/subreddits/search" + _TAIL, subreddit_search, name="reddit.subreddits"
    )


def _basic_auth(header: str | None) -> tuple[str | None, str | None]:
    if not header or not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header.split(" ", 1)[1]).decode()
    except ValueError:
        return None, None
    client_id, _, client_secret = decoded.partition(":")
    return client_id, client_secret


def _search_match(post: dict[str, Any], term: str) -> bool:
    """Reddit search terms: ``site:domain``, ``url:text``, ``*``, or a word of the title."""
    if term == "*":
        return True
    if term.startswith("site:"):
        domain = post.get("domain") or ""
        return domain == term[5:] or domain.endswith("." + term[5:])
    if term.startswith("url:"):
        return term[4:] in (post.get("url") or "").lower()
    return term in post["title"].lower()


def _refusal(world: World, sub: str) -> Response | None:
    """Reddit's answers for a subreddit that cannot be read."""
    info = world.subreddits.get(sub)
    if info is None:
        return Response.redirect(f"/subreddits/search?q={sub}")
    if info.state == "banned":
        return Response.json({"reason": "banned", "message": "Not Found", "error": 404}, 404)
    if info.state == "private":
        return Response.json({"reason": "private", "message": "Forbidden", "error": 403}, 403)
    return None


def _sorted_ids(world: World, sub: str, sort: str, time_filter: str | None) -> list[str]:
    """The subreddit's post ids in listing order, cut at the world's listing cap."""
    ids = list(world.by_subreddit.get(sub, []))
    posts = world.posts
    if sort in ("top", "controversial"):
        window = TIME_FILTERS.get(time_filter or "all", float("inf"))
        ids = [i for i in ids if WORLD_NOW - posts[i]["created_utc"] <= window]
        ids.sort(key=lambda i: (-posts[i]["score"], i))
    elif sort == "new":
        ids.sort(key=lambda i: (-posts[i]["created_utc"], i))
    elif sort in ("hot", "rising"):
        # Reddit's hot: log-score plus recency (one order of magnitude per 12.5 hours)
        import math

        def hot(i: str) -> float:
            return math.log10(max(posts[i]["score"], 1)) + posts[i]["created_utc"] / 45000

        ids.sort(key=lambda i: (-hot(i), i))
    return ids[: world.listing_cap]


def _page(world: World, ids: list[str], request: Request) -> dict[str, Any]:
    limit = min(int(request.arg("limit", "25") or 25), PAGE_MAX)
    after = request.arg("after")
    start = 0
    if after:
        names = [f"t3_{i}" for i in ids]
        start = names.index(after) + 1 if after in names else len(ids)
    chunk = ids[start : start + limit]
    more = start + limit < len(ids)
    children = [{"kind": "t3", "data": world.public_post(i)} for i in chunk]
    return _listing(children, f"t3_{chunk[-1]}" if chunk and more else None)


def _listing(children: list[dict], after: str | None) -> dict[str, Any]:
    return {
        "kind": "Listing",
        "data": {
            "after": after,
            "dist": len(children),
            "modhash": None,
            "geo_filter": "",
            "children": children,
            "before": None,
        },
    }
