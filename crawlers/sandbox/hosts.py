"""The image hosts of the sandbox world, as virtual hosts under ``/_host/<hostname>/``.

Route names (for counters and fault injection) are ``host.<hostname>``, e.g.
``host.i.redd.it``; ``server.inject("host.*", ...)`` hits every image host.

  i.redd.it, preview.redd.it     generated images (query strings ignored, as on the CDN)
  i.imgur.com                    images; removed ids answer 302 to /removed.png (161x81 PNG)
  imgur.com/<id>                 an HTML page whose og:image is the image
  imgur.com/a/<id>               an album page (og:image of the first image)
  api.imgur.com/3/album/<id>/images   the album's images as imgur API JSON (needs Client-ID)
  pics.example.org               images without an extension: only the content type tells
  news.example.com               HTML articles (links without an image)
  hosts of ``world.pages``       HTML pages (e.g. the real link hosts of a replayed listing)
  deadhost.example.net           refuses connections (a dead host; the preview is the fallback)
  any other host with images in the world (e.g. live.staticflickr.com once Flickr adds some)
"""

from __future__ import annotations

import re
from html import escape

from emofuse.crawlers.sandbox.server import HOST_PREFIX, Request, Response, SandboxServer
from emofuse.crawlers.sandbox.world import (
    DEAD_HOST,
    IMGUR_REMOVED_PATH,
    NEWS_HOST,
    OTHER_IMAGE_HOST,
    World,
    removed_placeholder,
)

STANDARD_IMAGE_HOSTS = ("i.redd.it", "preview.redd.it", OTHER_IMAGE_HOST)


def register_host_routes(server: SandboxServer, world: World) -> None:
    """Register every image host of ``world`` on ``server`` (or its router)."""

    def blob_handler(host: str):
        def handler(request: Request, match: re.Match) -> Response:
            found = world.blob(host, "/" + match.group("path"))
            if found is None:
                page = world.pages.get((host, "/" + match.group("path")))
                return Response.html(page) if page else Response.not_found()
            data, content_type = found
            return Response.bytes(data, content_type)

        return handler

    hosts = set(STANDARD_IMAGE_HOSTS) | {host for host, _ in world.images} - {"i.imgur.com"}
    for host in sorted(hosts):
        server.add_host_route(host, "GET", r"/(?P<path>.+)", blob_handler(host))

    placeholder = removed_placeholder()
    imgur_blob = blob_handler("i.imgur.com")

    def imgur_image(request: Request, match: re.Match) -> Response:
        path = "/" + match.group("path")
        if path == IMGUR_REMOVED_PATH:
            return Response.bytes(placeholder, "image/png")
        if path in world.imgur_removed:
            return Response.redirect(f"{HOST_PREFIX}i.imgur.com{IMGUR_REMOVED_PATH}")
        return imgur_blob(request, match)

    server.add_host_route("i.imgur.com", "GET", r"/(?P<path>.+)", imgur_image)

    def imgur_page(request: Request, match: re.Match) -> Response:
        if match.group("album"):
            urls = world.imgur_albums.get(match.group("id"))
        else:
            url = world.imgur_pages.get(match.group("id"))
            urls = [url] if url else None
        if not urls:
            return Response.html(
                "<html><title>imgur: the magic of the internet</title></html>", 404
            )
        return Response.html(
            "<html><head>"
            f'<meta property="og:image" content="{escape(urls[0])}"/>'
            f"<title>imgur</title></head><body>{len(urls)} image(s)</body></html>"
        )

    server.add_host_route(
        "imgur.com", "GET", r"/(?P<album>a/|gallery/)?(?P<id>[A-Za-z0-9]+)/?", imgur_page
    )

    def imgur_album_api(request: Request, match: re.Match) -> Response:
        if not (request.header("authorization") or "").startswith("Client-ID "):
            return Response.json({"data": {"error": "Authentication required"}, "status": 401}, 401)
        urls = world.imgur_albums.get(match.group("id"))
        if urls is None:
            return Response.json({"data": {"error": "Unable to find album"}, "status": 404}, 404)
        images = [
            {"id": url.rsplit("/", 1)[-1].split(".")[0], "type": "image/jpeg", "link": url}
            for url in urls
        ]
        return Response.json({"data": images, "success": True, "status": 200})

    server.add_host_route(
        "api.imgur.com", "GET", r"/3/album/(?P<id>[A-Za-z0-9]+)/images/?", imgur_album_api
    )

    def page_handler(host: str):
        def handler(request: Request, match: re.Match) -> Response:
            page = world.pages.get((host, "/" + match.group("path")))
            if page is None and host != NEWS_HOST:
                return Response.html("<html><body>Not found</body></html>", 404)
            return Response.html(
                page or "<html><body><h1>A news story</h1><p>No picture here.</p></body></html>"
            )

        return handler

    # HTML pages: the news host answers any path; other hosts only the pages of the world
    for host in sorted(({NEWS_HOST} | {host for host, _ in world.pages}) - hosts - {"i.imgur.com"}):
        server.add_host_route(host, "GET", r"/(?P<path>.*)", page_handler(host))
    server.add_dead_host(DEAD_HOST)
