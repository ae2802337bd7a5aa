"""Per-class splits (paper 5.4) and the check that no image sits in two splits.

Per class, posts are ordered by ``rank`` descending (a missing rank last), ties by
``post_id``; the first floor(test_frac * n) are test, the next floor(val_frac * n) validation,
the rest train. Per class, not globally: on the real Reddit release a global top 10% would be
96% r/creepy posts. Fractions are read as exact decimals (``Fraction("0.1")``), so 830 posts
give 83 test posts, never 82 through a float rounding.
"""

from __future__ import annotations

import math
from fractions import Fraction

from emofuse.curation.dedup import NEAR_DISTANCE, near_pairs, phash_to_int


class SplitLeakError(RuntimeError):
    """An image (same SHA-256 or near-identical pHash) sits in two splits: a bug, not bad input."""


def split_sizes(count: int, test_frac: float, val_frac: float) -> tuple[int, int, int]:
    """(train, validation, test) sizes of a class of ``count`` posts."""
    test = math.floor(count * Fraction(str(test_frac)))
    validation = math.floor(count * Fraction(str(val_frac)))
    return count - test - validation, validation, test


def assign_splits(posts, test_frac: float = 0.1, val_frac: float = 0.1):
    """A copy of ``posts`` (DataFrame with label, rank, post_id) with a ``split`` column."""
    import numpy as np

    frame = posts.copy()
    frame["_rank"] = frame["rank"].astype("float64").fillna(-np.inf)
    frame = frame.sort_values(
        ["label", "_rank", "post_id"], ascending=[True, False, True], kind="mergesort"
    )
    position = frame.groupby("label", sort=False).cumcount().to_numpy()
    count = frame.groupby("label", sort=False)["post_id"].transform("size").to_numpy()
    sizes = {n: split_sizes(n, test_frac, val_frac) for n in set(count.tolist())}
    test = np.array([sizes[n][2] for n in count], dtype=np.int64)
    validation = np.array([sizes[n][1] for n in count], dtype=np.int64)
    split = np.where(
        position < test, "test", np.where(position < test + validation, "validation", "train")
    )
    frame["split"] = split
    return frame.drop(columns="_rank").sort_values("post_id", kind="mergesort")


def check_no_leak(posts, max_distance: int = NEAR_DISTANCE) -> None:
    """Raise SplitLeakError if an image hash, exact or near, is found in two splits."""
    import numpy as np

    split_of_sha: dict[str, tuple[str, str]] = {}
    hashes, owners = [], []
    for post_id, split, images in zip(
        posts["post_id"], posts["split"], posts["images"], strict=True
    ):
        for image in images:
            sha = image.get("sha256")
            if sha:
                seen = split_of_sha.setdefault(sha, (split, post_id))
                if seen[0] != split:
                    raise SplitLeakError(
                        f"image {sha[:12]} is in {seen[0]} ({seen[1]}) and {split} ({post_id})"
                    )
            number = phash_to_int(image.get("phash"))
            if number is not None:
                hashes.append(number)
                owners.append((split, post_id))
    if max_distance < 0 or not hashes:
        return
    for a, b in near_pairs(np.array(hashes, dtype=np.uint64), max_distance):
        if owners[a][0] != owners[b][0]:
            raise SplitLeakError(
                f"near-identical images in {owners[a][0]} ({owners[a][1]}) and "
                f"{owners[b][0]} ({owners[b][1]})"
            )
