"""Near-duplicate search (pigeonhole blocks) against brute force, and on real JPEG variants."""

import io

import imagehash
import numpy as np
from PIL import Image, ImageDraw

from emofuse.curation.dedup import NEAR_DISTANCE, deduplicate, hamming, near_pairs, phash_to_int


def brute_force(hashes: list[int], distance: int) -> set[tuple[int, int]]:
    return {
        (i, j)
        for i in range(len(hashes))
        for j in range(i + 1, len(hashes))
        if hamming(hashes[i], hashes[j]) <= distance
    }


def test_near_pairs_equal_brute_force_on_planted_neighbours():
    rng = np.random.default_rng(0)
    base = [int(x) for x in rng.integers(0, 2**63, size=150, dtype=np.int64)]
    hashes = list(base)
    for n in range(150):  # neighbours 0..10 bits away from a base hash
        flipped = base[n % 150]
        for bit in rng.choice(64, size=n % 11, replace=False):
            flipped ^= 1 << int(bit)
        hashes.append(flipped)
    array = np.array(hashes, dtype=np.uint64)
    for distance in (0, 3, 6, 10):
        found = {tuple(pair) for pair in near_pairs(array, distance).tolist()}
        assert found == brute_force(hashes, distance)
        assert found  # the planted neighbours are there


def test_deduplicate_keeps_the_first_listed_and_labels_exact_and_near():
    shas = ["a", "b", "a", "c", "d", None]
    phashes = ["ffffffff00000000", "00000000ffffffff", "ffffffff00000000", "ffffffff00000003",
               "0f0f0f0f0f0f0f0f", "zz-not-hex"]  # fmt: skip
    result = deduplicate(shas, phashes, max_distance=6)
    assert result.keep == [True, True, False, False, True, True]
    assert result.reason == [None, None, "exact", "near", None, None]
    assert (result.exact, result.near) == (1, 1)
    assert deduplicate(shas, phashes, max_distance=1).keep[3] is True


def _jpeg_phash(image: Image.Image, quality: int = 90) -> int:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    with Image.open(io.BytesIO(buffer.getvalue())) as decoded:
        return phash_to_int(str(imagehash.phash(decoded)))


def _scene(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(12, 12, 3), dtype=np.uint8)
    return Image.fromarray(blocks).resize((240, 180), Image.Resampling.BICUBIC)


def test_documented_distance_catches_reencodes_and_separates_different_pictures():
    scenes = [_scene(seed) for seed in range(12)]
    hashes = [_jpeg_phash(scene) for scene in scenes]
    for scene, original in zip(scenes, hashes, strict=True):
        marked = scene.copy()
        ImageDraw.Draw(marked).text((5, 5), "reposted", fill=(255, 255, 255))
        for variant in (
            _jpeg_phash(scene, quality=30),
            _jpeg_phash(scene.resize((120, 90))),
            _jpeg_phash(marked),
        ):
            assert hamming(original, variant) <= NEAR_DISTANCE
    distinct = [hamming(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1 :]]
    assert min(distinct) > NEAR_DISTANCE
