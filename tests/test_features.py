"""Image features on real JPEGs (Cornell Emotion6 via the shared_data fixture): color_stats,
inception_v3 with randomly initialised weights saved the way torchvision's are, precomputed
files, the sha256 cache, the mean over a post's images, and the errors."""

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from emofuse.benchmark import features
from emofuse.benchmark.features import (
    EXTRACTORS,
    color_statistics,
    extract_image_features,
)
from emofuse.errors import UserError


def copy_images(shared_data: Path, data: Path, per_class: int = 2) -> list[dict]:
    """Copy real Emotion6 JPEGs into a data dir as the crawler lays them out; image records."""
    records = []
    for label in ("anger", "joy", "fear"):
        for source in sorted((shared_data / "emotion6" / "images" / label).glob("*.jpg"))[
            :per_class
        ]:
            relative = Path("raw/flickr/images") / f"{label}{source.stem}" / "0.jpg"
            (data / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, data / relative)
            digest = hashlib.sha256((data / relative).read_bytes()).hexdigest()
            records.append({"path": str(relative), "sha256": digest, "label": label})
    return records


@pytest.fixture
def posts_and_data(shared_data, tmp_path):
    data = tmp_path / "data"
    images = copy_images(shared_data, data)
    rows = [
        {"post_id": f"flickr:{i}", "images": [{"path": im["path"], "sha256": im["sha256"]}]}
        for i, im in enumerate(images)
    ]
    # a gallery post with two images, and a post without any image
    rows.append(
        {"post_id": "flickr:gallery", "images": [rows[0]["images"][0], rows[1]["images"][0]]}
    )
    rows.append({"post_id": "flickr:textonly", "images": []})
    return pd.DataFrame(rows), data


def test_registry():
    assert set(EXTRACTORS) == {"inception_v3", "color_stats"}


def test_color_statistics_measure_colour_brightness_and_texture():
    red = np.zeros((40, 40, 3), np.uint8)
    red[..., 0] = 255
    grey = np.full((40, 40, 3), 128, np.uint8)
    dark = np.full((40, 40, 3), 10, np.uint8)
    stripes = np.zeros((40, 40, 3), np.uint8)
    stripes[:, ::2] = 255
    f_red, f_grey, f_dark, f_stripes = map(color_statistics, (red, grey, dark, stripes))
    assert f_red.shape == (51,) and f_red.dtype == np.float32
    assert f_red[:3].tolist() == [1.0, 0.0, 0.0]  # mean R, G, B
    assert f_red[6] == pytest.approx(1.0)  # saturation-weighted hue is red: cos = 1
    assert f_red[9] == pytest.approx(1.0) and f_grey[9] == 0.0  # mean saturation
    assert f_grey[11] > f_dark[11]  # mean brightness
    assert f_dark[-2] == 1.0 and f_grey[-2] == 0.0  # share of dark pixels
    assert f_stripes[38] > 0.5 and f_grey[38] == 0.0  # fine gradient magnitude: texture
    assert np.isfinite(np.stack([f_red, f_grey, f_dark, f_stripes])).all()


def test_color_stats_on_real_jpegs_mean_over_images_and_cache(posts_and_data):
    posts, data = posts_and_data
    vectors, has_image = extract_image_features(
        posts, data, "color_stats", num_workers=1, show_progress=False
    )
    assert vectors.shape == (8, 51) and vectors.dtype == np.float32
    assert has_image.tolist() == [True] * 7 + [False]
    assert not vectors[7].any()
    assert np.allclose(vectors[6], (vectors[0] + vectors[1]) / 2)
    assert len({tuple(v) for v in vectors[:6]}) == 6  # six different real images
    shards = list((data / "features" / "color_stats" / "v2").glob("shard-*.npz"))
    assert len(shards) == 1
    # a rerun never recomputes: with the image files gone, the cache alone answers
    shutil.rmtree(data / "raw")
    again, has_again = extract_image_features(posts, data, "color_stats", num_workers=0)
    assert np.array_equal(again, vectors) and np.array_equal(has_again, has_image)
    assert len(list(shards[0].parent.glob("shard-*.npz"))) == 1


def test_missing_and_corrupt_images_are_user_errors(posts_and_data):
    posts, data = posts_and_data
    first = data / posts.loc[0, "images"][0]["path"]
    first.unlink()
    with pytest.raises(UserError, match="image files are missing"):
        extract_image_features(posts, data, "color_stats", num_workers=0)
    assert not (data / "features").exists()  # nothing written before the error
    first.write_bytes(b"\xff\xd8\xff\xe0 truncated, not a JPEG")
    with pytest.raises(UserError, match=r"cannot decode image .*0\.jpg"):
        extract_image_features(posts, data, "color_stats", num_workers=0, batch_size=2)


def test_unknown_extractor():
    with pytest.raises(UserError, match="unknown image extractor"):
        extract_image_features(pd.DataFrame({"post_id": [], "images": []}), Path("."), "vgg")


@pytest.fixture(scope="module")
def random_inception_weights(tmp_path_factory) -> Path:
    """InceptionV3 with random weights, saved as torchvision saves its ImageNet state dict."""
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False)
    path = tmp_path_factory.mktemp("weights") / "inception_random.pth"
    torch.save(model.state_dict(), path)
    return path


def test_inception_v3_pooled_2048_on_real_jpegs(posts_and_data, random_inception_weights):
    posts, data = posts_and_data
    subset = posts.iloc[[0, 1, 6, 7]].reset_index(drop=True)
    vectors, has_image = extract_image_features(
        subset, data, "inception_v3", weights=random_inception_weights, batch_size=2, num_workers=1
    )
    assert vectors.shape == (4, 2048)
    assert has_image.tolist() == [True, True, True, False]
    assert np.isfinite(vectors).all() and (vectors[:3] >= 0).all()  # pooled after ReLU
    assert not np.allclose(vectors[0], vectors[1])
    assert np.allclose(vectors[2], (vectors[0] + vectors[1]) / 2, atol=1e-6)
    # cached under a variant named after the weights file's hash
    folders = list((data / "features" / "inception_v3").iterdir())
    assert [f.name[:8] for f in folders] == ["weights-"]


def test_inception_v3_missing_or_bad_weights(tmp_path, monkeypatch, posts_and_data):
    posts, data = posts_and_data
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    # a real download attempt, to a local port where nothing listens (as offline as CI gets)
    monkeypatch.setattr(features, "INCEPTION_URL", "http://127.0.0.1:9/inception_v3.pth")
    with pytest.raises(UserError, match=r"cannot be downloaded.*127\.0\.0\.1:9.*--weights"):
        extract_image_features(posts, data, "inception_v3")
    with pytest.raises(UserError, match="weights file not found"):
        extract_image_features(posts, data, "inception_v3", weights=tmp_path / "none.pth")
    bad = tmp_path / "bad.pth"
    torch.save({"conv.weight": torch.zeros(1)}, bad)
    with pytest.raises(UserError, match="not an InceptionV3 state dict"):
        extract_image_features(posts, data, "inception_v3", weights=bad, num_workers=0)


def test_precomputed_files_keyed_by_post_or_sha256(posts_and_data, tmp_path):
    posts, data = posts_and_data
    rng = np.random.default_rng(0)
    by_post = tmp_path / "posts.parquet"
    post_vectors = rng.normal(size=(7, 5)).astype(np.float32)
    pd.DataFrame({"post_id": posts["post_id"][:7], "vector": list(post_vectors)}).to_parquet(
        by_post
    )
    vectors, has_image = extract_image_features(posts, data, f"precomputed:{by_post}")
    assert np.allclose(vectors[:7], post_vectors) and not vectors[7].any()
    assert has_image.tolist() == [True] * 7 + [False]

    shas = [images[0]["sha256"] for images in posts["images"][:6]]
    image_vectors = rng.normal(size=(6, 3)).astype(np.float32)
    by_sha = tmp_path / "images.npz"
    np.savez(by_sha, sha256=np.asarray(shas), vectors=image_vectors)
    vectors, _ = extract_image_features(posts, data, f"precomputed:{by_sha}")
    assert np.allclose(vectors[6], image_vectors[:2].mean(axis=0))

    as_npy = tmp_path / "images.npy"
    np.save(as_npy, image_vectors)
    as_npy.with_suffix(".keys.txt").write_text("\n".join(shas), encoding="utf-8")
    vectors_npy, _ = extract_image_features(posts, data, f"precomputed:{as_npy}")
    assert np.array_equal(vectors_npy, vectors)

    # numeric columns work too; a file that misses some ids is one clear error
    wide = tmp_path / "wide.parquet"
    table = pd.DataFrame(image_vectors[:5], columns=["f0", "f1", "f2"])
    table.insert(0, "sha256", shas[:5])
    table.to_parquet(wide)
    with pytest.raises(UserError, match=r"lacks vectors for 1 images \(first: " + shas[5]):
        extract_image_features(posts, data, f"precomputed:{wide}")
    with pytest.raises(UserError, match="feature file not found"):
        extract_image_features(posts, data, f"precomputed:{tmp_path / 'nope.parquet'}")


def test_cuda_without_gpu_is_a_user_error(posts_and_data, monkeypatch):
    posts, data = posts_and_data
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserError, match="no CUDA GPU"):
        extract_image_features(posts, data, "color_stats", device="cuda")


def test_default_workers_leaves_a_core_free():
    assert 0 <= features.default_workers() <= 8


def test_png_gif_webp_and_rgba_images_decode_too(shared_data, tmp_path):
    from PIL import Image

    data = tmp_path / "data"
    source = sorted((shared_data / "emotion6" / "images" / "joy").glob("*.jpg"))[0]
    original = Image.open(source).convert("RGB")
    rows = []
    for name, image, options in (
        ("png", original, {}),
        ("gif", original.convert("P", palette=Image.Palette.ADAPTIVE), {}),
        ("webp", original, {"quality": 90}),
        ("rgba.png", original.convert("RGBA"), {}),
    ):
        path = data / "raw" / "flickr" / "images" / f"x.{name}"
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, **options)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        rows.append(
            {"post_id": name, "images": [{"path": str(path.relative_to(data)), "sha256": digest}]}
        )
    vectors, has_image = extract_image_features(pd.DataFrame(rows), data, "color_stats")
    assert has_image.all() and np.isfinite(vectors).all()
    # the same picture in four containers: mean RGB within a few levels of each other
    assert np.ptp(vectors[:, :3], axis=0).max() < 0.05


def test_precomputed_vector_of_a_post_without_images_is_ignored(posts_and_data, tmp_path):
    """The curated table says which posts have an image: a file keyed by post id that also
    holds the text-only post's id gives it no image (and no vector)."""
    posts, data = posts_and_data
    assert posts["post_id"].iloc[-1] == "flickr:textonly" and not posts["images"].iloc[-1]
    vectors_in = np.random.default_rng(1).normal(size=(len(posts), 4)).astype(np.float32)
    by_post = tmp_path / "all_posts.npz"
    np.savez(by_post, post_id=posts["post_id"].to_numpy(str), vectors=vectors_in)
    vectors, has_image = extract_image_features(posts, data, f"precomputed:{by_post}")
    assert has_image.tolist() == [True] * (len(posts) - 1) + [False]
    assert np.allclose(vectors[:-1], vectors_in[:-1]) and not vectors[-1].any()
