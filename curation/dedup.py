"""Exact and near-duplicate images: the higher-ranked post keeps the image.

Exact duplicates share the SHA-256 of the stored JPEG. Near duplicates have 64-bit pHashes
(imagehash.phash) within :data:`NEAR_DISTANCE` bits of Hamming distance. The default, 6, was
measured on the 240 real Emotion6 photos of ../shared/data (command in docs/curate.md): a
JPEG re-encode at quality 30, a half-size resize or a watermark text moves a pHash by at most
6 bits (brightness +20% by 6 bits at the 99th percentile); two different photos were never
closer than 14 bits (28,680 pairs, 0.1th percentile 18).

Finding near pairs among N hashes uses the pigeonhole principle: split the 64 bits into
``distance + 1`` blocks; two hashes within ``distance`` bits agree exactly on at least one
block, so only hashes sharing a block value are compared (sorted, in numpy).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

NEAR_DISTANCE = 6
HASH_BITS = 64


def phash_to_int(value: str | None) -> int | None:
    """The 64-bit integer of an imagehash hex string (None when missing or malformed)."""
    if not value:
        return None
    try:
        number = int(str(value), 16)
    except ValueError:
        return None
    return number if 0 <= number < 2**HASH_BITS else None


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def near_pairs(hashes: np.ndarray, max_distance: int) -> np.ndarray:
    """All index pairs (i, j), i < j, of ``hashes`` (uint64) within ``max_distance`` bits.

    Returns an array of shape (k, 2), sorted, without repeats.
    """
    hashes = np.asarray(hashes, dtype=np.uint64)
    if len(hashes) < 2 or max_distance < 0:
        return np.empty((0, 2), dtype=np.int64)
    blocks = min(max_distance + 1, HASH_BITS)
    edges = np.linspace(0, HASH_BITS, blocks + 1).astype(int)
    found = []
    for start, stop in zip(edges[:-1], edges[1:], strict=True):
        mask = np.uint64((1 << int(stop - start)) - 1)
        keys = (hashes >> np.uint64(start)) & mask
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        # compare each hash with the next 1, 2, 3... in block order while any share the block
        for offset in range(1, len(hashes)):
            same = sorted_keys[offset:] == sorted_keys[:-offset]
            if not same.any():
                break
            left, right = order[:-offset][same], order[offset:][same]
            close = np.bitwise_count(hashes[left] ^ hashes[right]) <= max_distance
            if close.any():
                pair = np.stack([left[close], right[close]], axis=1)
                found.append(np.sort(pair, axis=1))
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(found).astype(np.int64), axis=0)


@dataclass
class DedupResult:
    """Per image (in the input order): kept, or why not."""

    keep: list[bool]
    reason: list[str | None]  # None, "exact" or "near"

    @property
    def exact(self) -> int:
        return self.reason.count("exact")

    @property
    def near(self) -> int:
        return self.reason.count("near")


def deduplicate(
    sha256: Sequence[str | None],
    phash: Sequence[str | None],
    max_distance: int = NEAR_DISTANCE,
) -> DedupResult:
    """Greedy de-duplication of images listed best first (highest-ranked post first).

    An image goes when an earlier *kept* image has the same SHA-256 ("exact") or a pHash
    within ``max_distance`` bits ("near"); otherwise it is kept.
    """
    count = len(sha256)
    numbers = [phash_to_int(value) for value in phash]
    with_hash = [i for i, number in enumerate(numbers) if number is not None]
    earlier: dict[int, list[int]] = {}
    if with_hash:
        array = np.array([numbers[i] for i in with_hash], dtype=np.uint64)
        for a, b in near_pairs(array, max_distance):
            first, second = sorted((with_hash[a], with_hash[b]))
            earlier.setdefault(second, []).append(first)
    keep = [False] * count
    reason: list[str | None] = [None] * count
    kept_sha: set[str] = set()
    for i in range(count):
        if sha256[i] and sha256[i] in kept_sha:
            reason[i] = "exact"
        elif any(keep[j] for j in earlier.get(i, ())):
            reason[i] = "near"
        else:
            keep[i] = True
            if sha256[i]:
                kept_sha.add(sha256[i])
    return DedupResult(keep=keep, reason=reason)
