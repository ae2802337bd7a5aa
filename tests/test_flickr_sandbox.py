"""The sandbox Flickr answers flickrapi as the real API does (shapes from the recordings)."""

import xml.etree.ElementTree as ET

import flickrapi
import pytest
import requests
import yaml

from emofuse.crawlers.sandbox.flickr_world import (
    SANDBOX_FLICKR_KEY,
    SANDBOX_FLICKR_SECRET,
    add_flickr_photos,
    sizes,
)
from emofuse.crawlers.sandbox.world import World


@pytest.fixture
def flickr_sandbox(make_sandbox):
    world = World.generate(seed=3, posts_per_subreddit=1)
    ids = add_flickr_photos(world, count=12)
    server = make_sandbox(world)
    assert server.flickr  # the sandbox registers Flickr with its default routes
    server.photo_ids = ids
    return server


def client(server, secret=SANDBOX_FLICKR_SECRET, fmt="parsed-json"):
    api = flickrapi.FlickrAPI(SANDBOX_FLICKR_KEY, secret, format=fmt, store_token=False)
    api.REST_URL = server.host_url("api.flickr.com") + "/services/rest/"
    return api


def by_case(server, case):
    return next(i for i in server.photo_ids if server.world.flickr_photos[i]["case"] == case)


def test_get_info_and_sizes_as_json(flickr_sandbox):
    api = client(flickr_sandbox)
    photo_id = by_case(flickr_sandbox, "ok")
    record = flickr_sandbox.world.flickr_photos[photo_id]
    info = api.photos.getInfo(photo_id=photo_id)
    assert info["stat"] == "ok"
    photo = info["photo"]
    assert photo["id"] == photo_id and photo["secret"] == record["secret"]
    assert photo["title"]["_content"] == record["title"]
    assert photo["description"]["_content"] == record["description"]
    assert photo["owner"]["nsid"] == record["owner"]["nsid"]
    assert [t["raw"] for t in photo["tags"]["tag"]] == record["tags"]
    assert photo["urls"]["url"][0]["type"] == "photopage"

    listed = api.photos.getSizes(photo_id=photo_id)["sizes"]["size"]
    labels = [size["label"] for size in listed]
    assert labels[0] == "Square" and labels[-1] == "Original" and "Medium" in labels
    medium = next(size for size in listed if size["label"] == "Medium")
    assert max(medium["width"], medium["height"]) == 500
    # the static image is served at the size getSizes promised
    host_map = flickr_sandbox.host_map()
    url = medium["source"].replace(
        "https://live.staticflickr.com", host_map["live.staticflickr.com"]
    )
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200 and answer.content[:3] == b"\xff\xd8\xff"
    from io import BytesIO

    from PIL import Image

    assert Image.open(BytesIO(answer.content)).size == (medium["width"], medium["height"])


@pytest.mark.parametrize("case", ["deleted", "private"])
def test_deleted_and_private_answer_code_1(flickr_sandbox, case):
    api = client(flickr_sandbox)
    photo_id = by_case(flickr_sandbox, case)
    with pytest.raises(flickrapi.FlickrError) as error:
        api.photos.getInfo(photo_id=photo_id)
    assert error.value.code == 1
    assert f'Photo "{photo_id}" not found (invalid ID)' in str(error.value)


def test_key_and_signature_are_checked(flickr_sandbox):
    photo_id = by_case(flickr_sandbox, "ok")
    with pytest.raises(flickrapi.FlickrError) as error:
        client(flickr_sandbox, secret="not-the-secret").photos.getInfo(photo_id=photo_id)
    assert error.value.code == 96
    wrong_key = flickrapi.FlickrAPI("nokey", "x", format="parsed-json", store_token=False)
    wrong_key.REST_URL = client(flickr_sandbox).REST_URL
    with pytest.raises(flickrapi.FlickrError) as error:
        wrong_key.photos.getInfo(photo_id=photo_id)
    assert error.value.code == 100
    # flickrapi sends a form-encoded POST with the key in the OAuth header, not the URL
    method, path, route, status = flickr_sandbox.log[-1]
    assert (method, route, status) == ("POST", "flickr.rest", 200)
    assert "nokey" not in path


def test_injected_api_failures_and_http_faults(flickr_sandbox):
    api = client(flickr_sandbox)
    photo_id = by_case(flickr_sandbox, "ok")
    flickr_sandbox.flickr.fail(105, times=1)
    flickr_sandbox.flickr.fail(201, times=1)
    for code in (105, 201):
        with pytest.raises(flickrapi.FlickrError) as error:
            api.photos.getInfo(photo_id=photo_id)
        assert error.value.code == code
    flickr_sandbox.inject("flickr.rest", "status", status=503, times=1)
    with pytest.raises(flickrapi.FlickrError, match="Status code 503"):
        api.photos.getInfo(photo_id=photo_id)
    assert api.photos.getInfo(photo_id=photo_id)["stat"] == "ok"
    with pytest.raises(flickrapi.FlickrError) as error:
        api.photos.nosuchMethod(photo_id=photo_id)
    assert error.value.code == 112


def _shape(element, prefix=""):
    """Element paths and their attribute names, e.g. {'photo/owner': {'nsid', ...}}."""
    shape = {}
    for child in element:
        path = f"{prefix}{child.tag}"
        shape.setdefault(path, set()).update(child.attrib)
        for sub, attrs in _shape(child, path + "/").items():
            shape.setdefault(sub, set()).update(attrs)
    return shape


def _recorded(shared_data, name, method):
    cassette = yaml.safe_load((shared_data / "recorded-api" / "flickr" / name).read_text())
    for interaction in cassette["interactions"]:
        if f"method={method}" in interaction["request"]["uri"]:
            response = interaction["response"]
            body = response.get("content") or response["body"]["string"]
            return ET.fromstring(body.encode())
    raise AssertionError(f"{method} not in {name}")


@pytest.mark.parametrize(
    "cassette",
    [
        "TestGetSinglePhoto.test_get_single_photo.yml",
        "TestIsPhotoDeleted.test_if_photo_exists_its_not_deleted.yml",
    ],
)
def test_xml_has_the_shape_of_the_recorded_responses(shared_data, flickr_sandbox, cassette):
    api = client(flickr_sandbox, fmt="etree")
    photo_id = by_case(flickr_sandbox, "ok")
    for method, call in (
        ("flickr.photos.getInfo", api.photos.getInfo),
        ("flickr.photos.getSizes", api.photos.getSizes),
    ):
        real = _shape(_recorded(shared_data, cassette, method))
        ours = _shape(call(photo_id=photo_id))
        # what we serve is a subset of the real elements, with the real attributes
        # (the real getInfo also has gift/editability/location... that no crawler reads)
        for path, attrs in ours.items():
            assert path in real, path
            assert attrs <= real[path] | {"path_alias"}, (path, attrs - real[path])
        for path in (
            "photo/title",
            "photo/description",
            "photo/dates",
            "photo/tags/tag",
            "photo/urls/url",
            "photo/owner",
            "sizes/size",
        ):
            if path in real:
                assert path in ours and real[path] <= ours[path] | {"gift"}, path


def test_not_found_matches_the_recording(shared_data, flickr_sandbox):
    real = _recorded(
        shared_data, "TestNonExistentPhotos.test_get_single_photo[1].yml", "flickr.photos.getInfo"
    )
    answer = requests.post(
        client(flickr_sandbox).REST_URL,
        data={"method": "flickr.photos.getInfo", "photo_id": "1", "api_key": SANDBOX_FLICKR_KEY},
        timeout=10,
    )
    ours = ET.fromstring(answer.content)
    assert ours.attrib == real.attrib == {"stat": "fail"}
    assert ours.find("err").attrib == real.find("err").attrib


def test_static_404_is_empty_html(flickr_sandbox):
    record = flickr_sandbox.world.flickr_photos[by_case(flickr_sandbox, "image_missing")]
    url = sizes(record)[6]["source"].replace(
        "https://live.staticflickr.com", flickr_sandbox.host_url("live.staticflickr.com")
    )
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 404


def test_flickr_registered_on_a_server_started_without_photos():
    from emofuse.crawlers.sandbox.flickr_api import register_flickr_routes
    from emofuse.crawlers.sandbox.hosts import register_host_routes
    from emofuse.crawlers.sandbox.server import SandboxServer

    world = World.generate(seed=1, posts_per_subreddit=1)
    with SandboxServer(world, register=[register_host_routes]) as server:
        photo_id = add_flickr_photos(world, count=1)[0]  # an "ok" photo
        register_flickr_routes(server, world)
        info = client(server).photos.getInfo(photo_id=photo_id)["photo"]
        url = f"{server.host_url('live.staticflickr.com')}/{info['server']}/"
        answer = requests.get(f"{url}{photo_id}_{info['secret']}.jpg", timeout=10)
        assert answer.status_code == 200 and answer.content[:3] == b"\xff\xd8\xff"
