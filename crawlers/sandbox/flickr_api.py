"""Flickr REST in the sandbox: ``/_host/api.flickr.com/services/rest/``.

It answers what flickrapi sends: a form-encoded POST (GET works too) signed with OAuth 1 in
the ``Authorization`` header (the API key is ``oauth_consumer_key``; the HMAC-SHA1 signature is
checked against the key's secret), ``format=json&nojsoncallback=1`` for flickrapi's
``parsed-json`` or ``format=rest`` (XML, the shape of the real recorded responses in
``../shared/data/recorded-api/flickr/``).

Methods: ``flickr.photos.getInfo``, ``flickr.photos.getSizes``, ``flickr.test.echo``.
Failures answer HTTP 200 with ``stat=fail`` and Flickr's codes:

  1    Photo "<id>" not found (invalid ID): deleted and private photos alike
  96   Invalid signature
  100  Invalid API Key (Key not found)
  105  Service currently unavailable           (injected: ``service.fail(105, times=N)``)
  112  Method "<name>" not found
  201  Sorry, the Flickr API service is not currently available   (injected likewise)

HTTP-level faults (5xx, latency, resets) use the server's injection on the route name
``flickr.rest``; static images are served by the image hosts (route
``host.live.staticflickr.com``), from ``world.images``.

Usage::

    server = SandboxServer(world, register=[register_reddit_routes, register_host_routes,
                                            register_flickr_routes])
    service = server.flickr            # the FlickrService registered on it
    service.fail(105, times=2)         # the next two calls answer stat=fail code 105
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import urlsplit

from emofuse.crawlers.sandbox.flickr_world import (
    FLICKR_API_HOST,
    FLICKR_STATIC_HOST,
    SANDBOX_FLICKR_KEY,
    SANDBOX_FLICKR_SECRET,
    photopage,
    sizes,
)
from emofuse.crawlers.sandbox.server import Request, Response

REST_PATH = "/services/rest/"
ERROR_MESSAGES = {
    96: "Invalid signature",
    100: "Invalid API Key (Key not found)",
    105: "Service currently unavailable",
    112: 'Method "{method}" not found',
    201: "Sorry, the Flickr API service is not currently available.",
}


class FlickrFail(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class FlickrService:
    """The state of the sandbox's Flickr API: keys, injected failures, call counters."""

    world: Any
    keys: dict[str, str] = field(
        default_factory=lambda: {SANDBOX_FLICKR_KEY: SANDBOX_FLICKR_SECRET}
    )
    check_signature: bool = True
    calls: Counter = field(default_factory=Counter)  # method -> calls answered
    failures: Counter = field(default_factory=Counter)  # code -> stat=fail answers
    _pending: list[list[Any]] = field(default_factory=list)  # [code, times left, method]
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, code: int, times: int = 1, method: str | None = None) -> None:
        """The next ``times`` calls (of ``method``, or any) answer ``stat=fail`` with ``code``."""
        with self._lock:
            self._pending.append([code, times, method])

    def _injected(self, method: str) -> int | None:
        with self._lock:
            for item in self._pending:
                code, left, only = item
                if left > 0 and (only is None or only == method):
                    item[1] -= 1
                    return code
        return None

    # -- the API --------------------------------------------------------------------------
    def answer(self, request: Request) -> Response:
        args = {name: request.arg(name) for name in ("method", "format", "photo_id")}
        fmt = args["format"] or "rest"
        method = args["method"] or ""
        try:
            self._authenticate(request)
            code = self._injected(method)
            if code is not None:
                raise FlickrFail(code, ERROR_MESSAGES[code])
            if method == "flickr.photos.getInfo":
                payload = {"photo": self._photo_info(self._photo(args["photo_id"]))}
            elif method == "flickr.photos.getSizes":
                payload = {"sizes": self._sizes(self._photo(args["photo_id"]))}
            elif method == "flickr.test.echo":
                payload = {"method": {"_content": method}}
            else:
                raise FlickrFail(112, ERROR_MESSAGES[112].format(method=method))
        except FlickrFail as fail:
            with self._lock:
                self.failures[fail.code] += 1
            return _fail_response(fail, fmt)
        with self._lock:
            self.calls[method] += 1
        return _ok_response(method, payload, fmt)

    def _authenticate(self, request: Request) -> None:
        """Key from the OAuth header (as flickrapi sends it) or ``api_key``; signature checked."""
        from oauthlib.oauth1.rfc5849 import signature, utils

        header = request.header("authorization") or ""
        if header.startswith("OAuth "):
            oauth = {k: utils.unescape(v) for k, v in utils.parse_authorization_header(header)}
            key = oauth.get("oauth_consumer_key", "")
            if key not in self.keys:
                raise FlickrFail(100, ERROR_MESSAGES[100])
            if self.check_signature:
                host = request.header("host") or "127.0.0.1"
                uri = f"http://{host}{request.path}"
                params = signature.collect_parameters(
                    uri_query=urlsplit(uri).query,
                    body=request.body.decode("utf-8") if request.body else None,
                    headers={"Authorization": header},
                )
                check = _SignedRequest(request.method, uri, params, oauth.get("oauth_signature"))
                if not signature.verify_hmac_sha1(check, self.keys[key]):
                    raise FlickrFail(96, ERROR_MESSAGES[96])
            return
        if (request.arg("api_key") or "") not in self.keys:
            raise FlickrFail(100, ERROR_MESSAGES[100])

    def _photo(self, photo_id: str | None) -> dict[str, Any]:
        record = self.world.flickr_photos.get(photo_id or "")
        if record is None or record["state"] != "public":
            # deleted and private photos answer alike: Flickr does not say which
            raise FlickrFail(1, f'Photo "{photo_id}" not found (invalid ID)')
        return record

    @staticmethod
    def _photo_info(record: dict[str, Any]) -> dict[str, Any]:
        owner = record["owner"]
        tags = [
            {
                "id": f"{owner['nsid'].split('@')[0]}-{record['id']}-{index}",
                "author": owner["nsid"],
                "authorname": owner["username"],
                "raw": tag,
                "_content": re.sub(r"[^a-z0-9]", "", tag.lower()),
                "machine_tag": 0,
            }
            for index, tag in enumerate(record["tags"])
        ]
        return {
            "id": record["id"],
            "secret": record["secret"],
            "server": record["server"],
            "farm": record["farm"],
            "dateuploaded": record["dateuploaded"],
            "isfavorite": 0,
            "license": record["license"],
            "safety_level": "0",
            "rotation": 0,
            "originalsecret": record["originalsecret"],
            "originalformat": "jpg",
            "views": record["views"],
            "media": "photo",
            "owner": {
                "nsid": owner["nsid"],
                "username": owner["username"],
                "realname": owner["realname"],
                "location": owner["location"],
                "iconserver": owner["iconserver"],
                "iconfarm": owner["iconfarm"],
                "path_alias": owner["path_alias"],
            },
            "title": {"_content": record["title"]},
            "description": {"_content": record["description"]},
            "visibility": {"ispublic": 1, "isfriend": 0, "isfamily": 0},
            "dates": {
                "posted": record["dateuploaded"],
                "taken": record["taken"],
                "takengranularity": 0,
                "takenunknown": "0",
                "lastupdate": record["lastupdate"],
            },
            "usage": {"candownload": 1, "canblog": 0, "canprint": 0, "canshare": 1},
            "comments": {"_content": "0"},
            "notes": {"note": []},
            "people": {"haspeople": 0},
            "tags": {"tag": tags},
            "urls": {"url": [{"type": "photopage", "_content": photopage(record)}]},
        }

    @staticmethod
    def _sizes(record: dict[str, Any]) -> dict[str, Any]:
        return {"canblog": 0, "canprint": 0, "candownload": 1, "size": sizes(record)}


@dataclass
class _SignedRequest:
    """What oauthlib's signature check reads from a request."""

    http_method: str
    uri: str
    params: list[tuple[str, str]]
    signature: str | None


def _ok_response(method: str, payload: dict[str, Any], fmt: str) -> Response:
    if fmt == "json":
        return Response.json({**payload, "stat": "ok"})
    return _xml(f'<rsp stat="ok">\n{_to_xml(payload)}\n</rsp>\n')


def _fail_response(fail: FlickrFail, fmt: str) -> Response:
    if fmt == "json":
        return Response.json({"stat": "fail", "code": fail.code, "message": fail.message})
    return _xml(
        f'<rsp stat="fail">\n\t<err code="{fail.code}" msg="{escape(fail.message)}" />\n</rsp>\n'
    )


def _xml(body: str) -> Response:
    text = '<?xml version="1.0" encoding="utf-8" ?>\n' + body
    return Response(200, text.encode(), {"Content-Type": "text/xml; charset=utf-8"})


def _to_xml(payload: dict[str, Any]) -> str:
    """Flickr's JSON convention back to its XML: scalars are attributes, ``_content`` is text,
    lists repeat the element (``{"tags": {"tag": [...]}}`` -> ``<tags><tag/>...</tags>``)."""
    parts = []
    for name, value in payload.items():
        parts.append(_element(name, value))
    return "\n".join(parts)


def _element(name: str, value: Any) -> str:
    if isinstance(value, list):
        return "".join(_element(name, item) for item in value)
    if not isinstance(value, dict):
        return f"<{name}>{escape(str(value))}</{name}>"
    attrs = "".join(
        f' {key}="{escape("" if item is None else str(item))}"'
        for key, item in value.items()
        if not isinstance(item, dict | list) and key != "_content"
    )
    children = "".join(
        _element(key, item) for key, item in value.items() if isinstance(item, dict | list)
    )
    text = escape(str(value["_content"]), quote=False) if "_content" in value else ""
    if not children and not text:
        return f"<{name}{attrs} />"
    return f"<{name}{attrs}>{text}{children}</{name}>"


def register_flickr_routes(server: Any, world: Any) -> FlickrService:
    """Register the Flickr REST endpoint on ``server`` (or its router); returns its service.

    The service is also set as ``server.flickr`` so that tests can inject API-level failures.
    Static images are served from ``world.images`` by the image hosts, or by a route added
    here when the image hosts were registered before the world had Flickr photos.
    """
    service = FlickrService(world)

    def rest(request: Request, match: re.Match) -> Response:
        return service.answer(request)

    for method in ("POST", "GET"):
        server.add_host_route(
            FLICKR_API_HOST, method, r"/services/rest/?", rest, name="flickr.rest"
        )

    def static(request: Request, match: re.Match) -> Response:
        found = world.blob(FLICKR_STATIC_HOST, "/" + match.group("path"))
        if found is None:  # as the real CDN: 404 with an empty text/html body
            return Response(404, b"", {"Content-Type": "text/html; charset=utf-8"})
        return Response.bytes(*found)

    hosts = getattr(server, "router", server).hosts
    if FLICKR_STATIC_HOST not in hosts:  # photos added after the image hosts were registered
        server.add_host_route(FLICKR_STATIC_HOST, "GET", r"/(?P<path>.+)", static)
    server.flickr = service
    return service
