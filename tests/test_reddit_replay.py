"""Replay the real recorded Reddit responses (PRAW's cassettes) through the sandbox."""

import json
from urllib.parse import urlsplit

import praw
import pytest

from emofuse.cli import main
from emofuse.crawlers.reddit import classify, preview_url
from emofuse.crawlers.sandbox.reddit_api import SANDBOX_CREDENTIALS, crawl_environment
from emofuse.crawlers.sandbox.replay import recorded_posts, register_cassette_routes
from emofuse.crawlers.sandbox.server import SandboxServer
from emofuse.crawlers.sandbox.world import World
from emofuse.crawlers.store import CrawlStore
from emofuse.paths import store_path

CLIENT_ID, CLIENT_SECRET = next(iter(SANDBOX_CREDENTIALS.items()))
CASSETTES = {
    "popular": "TestSubmission.test_hide_multiple_in_batches.json",  # galleries, videos, self
    "multi": "TestMultiredditListings.test_top.json",  # imgur pages/albums, Flickr links
    "info": "TestReddit.test_info.json",
    "gallery": "TestSubreddit.test_submit_gallery.json",
    "xpost": "TestSubmission.test_crosspost.json",
}


def kind_from_real_fields(data):
    """What the recorded fields themselves say the post is (independent of the crawler)."""
    if data.get("crosspost_parent_list"):
        return kind_from_real_fields(data["crosspost_parent_list"][0])
    if data.get("is_gallery"):
        return "gallery"
    if data.get("is_video") or str(data.get("post_hint", "")).endswith("video"):
        return "video"
    if data.get("is_self"):
        return "self"
    if data.get("post_hint") == "image":
        return "image"
    image_hosts = ("imgur.com", "i.imgur.com", "i.reddituploads.com")  # hint says link, URL not
    if data.get("post_hint") == "link" and data.get("domain") not in image_hosts:
        return "link"
    return None  # no hint: imgur pages/albums and bare links are judged by their URL


def build_world(shared_data):
    world = World(seed=0)
    folder = shared_data / "recorded-api" / "reddit"
    for sub, cassette in CASSETTES.items():
        world.add_subreddit(sub, "joy")
        for data in recorded_posts(folder / cassette):
            if data["id"] in world.posts:
                continue
            found = classify(data)
            if found.probe:  # a link with no post_hint: its real host serves an HTML page
                world.add_page(found.urls[0][0], data["title"])
                found.urls = []
            for url, fallback in found.urls:
                for image_url in (url, fallback):
                    if image_url:
                        world.add_image(image_url, "joy")
            if found.preview:
                world.add_image(found.preview, "joy")
            if found.resolve:
                kind, _, imgur_id = found.resolve.partition(":")
                url = world.add_image(f"https://i.imgur.com/{imgur_id}.jpg", "joy")
                if kind == "imgur_album":
                    second = world.add_image(f"https://i.imgur.com/{imgur_id}b.jpg", "joy")
                    world.imgur_albums[imgur_id] = [url, second]
                else:
                    world.imgur_pages[imgur_id] = url
            world.add_post(sub, data, None)
    return world


@pytest.fixture
def replay_world(shared_data):
    return build_world(shared_data)


def test_recorded_posts_are_classified_as_their_fields_say(replay_world, data_dir, monkeypatch):
    world = replay_world
    with SandboxServer(world) as server:
        for name, value in crawl_environment(server, user_agent="emofuse-replay").items():
            monkeypatch.setenv(name, value)
        args = ["crawl", "reddit", "--data", str(data_dir), "--backoff", "0.01", "--workers", "4"]
        for sub in CASSETTES:
            args += ["--subreddit", f"{sub}=joy"]
        with pytest.raises(SystemExit) as done:
            main(args)
        assert done.value.code == 0
        unrouted = server.count("unrouted")
    assert unrouted == 0  # nothing tried to reach a host the sandbox does not serve
    store = CrawlStore(store_path(data_dir, "reddit"))
    kinds_seen, galleries = set(), 0
    for id36, data in world.posts.items():
        post = store.post(f"reddit:{id36}")
        assert post is not None, id36
        real = kind_from_real_fields(data)
        kind = (
            "crosspost"
            if data.get("crosspost_parent_list") and post["kind"] == "crosspost"
            else post["kind"]
        )
        if real is not None:
            assert post["kind"] in (real, "crosspost" if real in ("image", "gallery") else real), (
                id36,
                data.get("url"),
                real,
                post["kind"],
            )
        kinds_seen.add(kind)
        images = store.images(post["post_id"])
        if real in ("video", "self", "link"):
            assert post["status"] == "skipped" and not images
        if real == "image":
            assert post["status"] == "ok" and images[0]["status"] == "ok"
        if data.get("is_gallery") and data.get("media_metadata"):
            galleries += 1
            valid = [
                item["media_id"]
                for item in data["gallery_data"]["items"]
                if data["media_metadata"][item["media_id"]].get("status") == "valid"
            ]
            ok = [row for row in images if row["status"] == "ok"]
            assert len(ok) == len(valid) > 0  # every gallery image fetched, in order
            for media_id, row in zip(valid, ok, strict=True):
                assert media_id in urlsplit(row["source_url"]).path
        if post["kind"] in ("image", "gallery", "album", "crosspost") and post["status"] == "ok":
            assert all(row["width"] > 0 and row["phash"] for row in images if row["status"] == "ok")
    # every image was served by the sandbox (none went to an unmapped, real host); links
    # without a post_hint were checked by content type and skipped as links
    probes = 0
    for post in store.posts():
        rows = store.images(post["post_id"])
        if post["extra"].get("probe"):
            probes += 1
            assert (post["kind"], post["status"], post["reason"]) == ("link", "skipped", "link"), (
                post["url"]
            )
            assert [row["reason"] for row in rows] == ["not_an_image"]
        else:
            assert all(row["status"] == "ok" for row in rows), post["post_id"]
    assert probes >= 3
    assert {"image", "gallery", "video", "self", "link"} <= kinds_seen
    assert galleries >= 10
    store.close()


def test_recorded_pagination_is_walked_through_after(shared_data):
    cassette = (
        shared_data / "recorded-api" / "reddit" / "TestListingGenerator.test_exhaust_items.json"
    )
    server = SandboxServer()
    pages = register_cassette_routes(server, cassette)
    from emofuse.crawlers.sandbox.reddit_api import register_reddit_routes

    register_reddit_routes(server, World())
    with server:
        reddit = praw.Reddit(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            user_agent="t",
            check_for_updates=False,
            **server.praw_settings(),
        )
        items = list(reddit.redditor("spez").top(time_filter="all", limit=None))
        assert pages == 11 and server.count("replay", 200) == 11
    recorded = []
    for interaction in json.loads(cassette.read_text())["interactions"][1:]:
        body = json.loads(interaction["response"]["body"]["string"])
        recorded += [child["data"]["name"] for child in body["data"]["children"]]
    assert [item.fullname for item in items] == recorded


def test_preview_url_of_a_recorded_image_post(shared_data):
    posts = recorded_posts(shared_data / "recorded-api" / "reddit" / CASSETTES["popular"])
    image = next(p for p in posts if p.get("post_hint") == "image")
    assert preview_url(image).startswith("https://preview.redd.it/")
