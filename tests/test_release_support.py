"""Builders of real curated folders and benchmark run folders, per docs/contracts.md.

Used by tests/test_release.py and tests/test_report.py (no tests here). Images are real JPEGs:
drawn with Pillow, or copied from the shared Emotion6 sample (through the shared_data fixture).
"""

import hashlib
import json
import random
import shutil
from pathlib import Path

import imagehash
import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from emofuse.privacy import author_hash
from emofuse.schema import CURATED_COLUMNS, CURATED_SCHEMA_VERSION, empty_post, post_text

EMOTION6_CLASSES = ["anger", "disgust", "fear", "joy", "sadness", "surprise"]
WORDS = "the a cat dog sky rain night light old house little friend road sea tree snow".split()


def drawn_jpeg(seed: int, size: tuple[int, int] = (96, 72)) -> Image.Image:
    """A real RGB picture: a colour gradient with a few shapes, different for every seed."""
    rng = random.Random(seed)
    base = np.linspace(0, 255, size[0], dtype=np.uint8)[None, :, None]
    pixels = np.broadcast_to(base, (size[1], size[0], 3)).copy()
    pixels[..., rng.randrange(3)] = rng.randrange(256)
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse([x, y, x + rng.randrange(8, 30), y + rng.randrange(8, 30)], fill=colour)
    return image


def store_image(data: Path, source: str, native: str, index: int, image: Image.Image) -> dict:
    """Write an image where the crawler would, and return its ImageRecord."""
    relative = Path("raw") / source / "images" / native / f"{index}.jpg"
    path = data / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    image.convert("RGB").save(path, "JPEG", quality=85)
    return {
        "path": relative.as_posix(),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "phash": str(imagehash.phash(image)),
        "width": image.width,
        "height": image.height,
        "source_url": f"https://i.example.org/{native}/{index}.jpg",
    }


def assign_splits(posts: pd.DataFrame) -> pd.Series:
    """Per class, by rank descending (ties by post_id): top 10% test, next 10% validation."""
    split = pd.Series("train", index=posts.index)
    for _, group in posts.groupby("label"):
        ordered = group.sort_values(["rank", "post_id"], ascending=[False, True]).index
        n_test = max(1, round(0.1 * len(ordered)))
        split[ordered[:n_test]] = "test"
        split[ordered[n_test : 2 * n_test]] = "validation"
    return split


def write_curated(data: Path, name: str, posts: list[dict], classes: list[str]) -> Path:
    folder = data / "curated" / name
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(posts)
    frame["split"] = assign_splits(frame)
    frame[CURATED_COLUMNS].to_parquet(folder / "posts.parquet", index=False)
    sources = sorted(frame["source"].unique())
    (folder / "dataset.json").write_text(
        json.dumps(
            {
                "name": name,
                "schema_version": CURATED_SCHEMA_VERSION,
                "sources": sources,
                "classes": classes,
                "data_dir": str(data),
                "created_by": "tests",
                "options": {"min_words": 6, "split": True, "language_cache": str(data / "lc")},
            }
        )
    )
    (folder / "filter_report.json").write_text(
        json.dumps(
            {
                "not_english": {c: 2 for c in classes},
                "too_short": {c: 1 for c in classes},
                "near_duplicate": {c: 0 for c in classes},
                "kept": len(posts),
            }
        )
    )
    counts = frame.groupby("label").size()
    (folder / "stats.md").write_text(
        "| emotion | #posts |\n|---|---|\n"
        + "".join(f"| {label} | {counts.get(label, 0)} |\n" for label in classes)
    )
    return folder


def make_drawn_curated(
    data: Path,
    name: str = "tiny",
    classes: tuple[str, ...] = ("joy", "fear", "anger", "disgust"),
    per_class: int = 10,
    text_only_rank: int = -1,
    image_size: tuple[int, int] = (96, 72),
) -> Path:
    """Reddit-like curated dataset of drawn JPEGs: some galleries, one text-only post (of the
    first class, at position text_only_rank in rank order: -1 is the lowest, in train)."""
    posts = []
    rng = random.Random(7)
    for c, label in enumerate(classes):
        for i in range(per_class):
            native = f"{label[:2]}{c}{i:03d}"
            n_images = 3 if i % 4 == 1 else 1
            if label == classes[0] and i == text_only_rank % per_class:
                n_images = 0  # a text-only post (its image host is gone)
            images = [
                store_image(
                    data, "reddit", native, k, drawn_jpeg(c * 1000 + i * 10 + k, image_size)
                )
                for k in range(n_images)
            ]
            title = f"{label} " + " ".join(rng.choice(WORDS) for _ in range(7))
            posts.append(
                empty_post(
                    post_id=f"reddit:{native}",
                    source="reddit",
                    label=label,
                    title=title,
                    body="",
                    text=post_text(title, ""),
                    rank=float(1000 - i * 37 - c),
                    created_utc=1.5e9 + i,
                    permalink=f"/r/{label}/comments/{native}/a_title/",
                    url=f"https://i.redd.it/{native}.jpg",
                    community=label,
                    author_hash=author_hash(f"username_{i % 5}", data),
                    images=images,
                )
            )
    return write_curated(data, name, posts, list(classes))


def make_emotion6_curated(
    data: Path, shared_data: Path, name: str = "emotion6", per_class: int = 5
) -> Path:
    """Flickr-like curated dataset of real Emotion6 JPEGs, labelled by their class folder."""
    truth = pd.read_csv(shared_data / "emotion6" / "ground_truth.txt", sep="\t")
    truth.columns = [c.strip("[]") for c in truth.columns]
    posts = []
    rng = random.Random(6)
    for label in EMOTION6_CLASSES:
        for n in range(1, per_class + 1):
            source_file = shared_data / "emotion6" / "images" / label / f"{n}.jpg"
            native = f"{EMOTION6_CLASSES.index(label) + 1}{n:04d}"
            target = data / "raw" / "flickr" / "images" / native / "0.jpg"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source_file, target)
            with Image.open(target) as image:
                image.load()
                record = {
                    "path": f"raw/flickr/images/{native}/0.jpg",
                    "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
                    "phash": str(imagehash.phash(image)),
                    "width": image.width,
                    "height": image.height,
                    "source_url": f"https://live.staticflickr.com/65535/{native}_abc.jpg",
                }
            row = truth[truth["image_filename"] == f"{label}/{n}.jpg"].iloc[0]
            votes = round(15 * float(row[f"prob. {label}"]))
            # the text names the emotion for about two posts in three, another one otherwise,
            # so that neither modality alone is perfect
            said = label if rng.random() < 0.65 else rng.choice(EMOTION6_CLASSES)
            title = f"Photo {n}: {rng.choice(WORDS)} {rng.choice(WORDS)}"
            body = f"<p>A picture of {said}, taken on a long walk by the {rng.choice(WORDS)}</p>"
            posts.append(
                empty_post(
                    post_id=f"flickr:{native}",
                    source="flickr",
                    label=label,
                    title=title,
                    body=body,
                    text=post_text(title, body),
                    rank=float(votes),
                    votes_agree=votes,
                    votes_total=15,
                    created_utc=1.3e9 + n,
                    permalink=f"https://www.flickr.com/photos/someowner{n}/{native}/",
                    url=f"https://www.flickr.com/photos/someowner{n}/{native}/",
                    community=f"photos/someowner{n}",
                    author_hash=hashlib.sha256(f"owner{n}".encode()).hexdigest()[:16],
                    images=[record],
                )
            )
    return write_curated(data, name, posts, EMOTION6_CLASSES)


# -- benchmark run folders (docs/contracts.md), for the report --------------------------------
MODELS = ["image", "text", "late_fusion", "early_fusion", "joint_fusion", "common_space"]
# how often each model is right, per condition; None: cannot score in that condition
SKILL = {
    "image": {"both": 0.6, "image_only": 0.6, "text_only": None},
    "text": {"both": 0.65, "image_only": None, "text_only": 0.65},
    "late_fusion": {"both": 0.75, "image_only": None, "text_only": None},
    "early_fusion": {"both": 0.75, "image_only": None, "text_only": None},
    "joint_fusion": {"both": 0.8, "image_only": 0.4, "text_only": 0.6},
    "common_space": {"both": 0.85, "image_only": 0.6, "text_only": 0.62},
}


def make_run(data: Path, curated: dict[str, Path], run_id: str = "run-test", seeds: int = 3):
    """A run folder as `emofuse benchmark run` writes it: predictions from simulated models of
    known skill, metrics computed from them with emofuse.benchmark.stats."""
    from emofuse.benchmark import stats
    from emofuse.benchmark.paper import paper_dataset_for, paper_table4, paper_table5

    run_dir = data / "runs" / run_id
    run_dir.mkdir(parents=True)
    rows, datasets = [], {}
    for name, folder in curated.items():
        posts = pd.read_parquet(folder / "posts.parquet")
        classes = json.loads((folder / "dataset.json").read_text())["classes"]
        test = posts[posts["split"] == "test"].sort_values("post_id")
        y = np.array([classes.index(label) for label in test["label"]])
        has_image = test["images"].map(len).to_numpy() > 0
        results, predictions = {}, {c: {} for c in ("both", "image_only", "text_only")}
        for m, model in enumerate(MODELS):
            results[model] = {}
            for condition, skill in SKILL[model].items():
                per_seed = []
                for seed in range(seeds):
                    # a single-modality model predicts the same with or without the other
                    # input: same draw in every condition
                    salt = 0 if model in ("image", "text") else len(condition)
                    rng = np.random.default_rng(1000 * m + 10 * seed + salt)
                    right = rng.random(len(y)) < (skill or 0)
                    wrong = (y + rng.integers(1, len(classes), len(y))) % len(classes)
                    pred = np.where(right, y, wrong)
                    if skill is None:
                        pred[:] = stats.UNSCORED
                    needs_image = model in ("image", "late_fusion", "early_fusion")
                    if needs_image or condition == "image_only":
                        pred[~has_image] = stats.UNSCORED
                    per_seed.append(pred)
                    for post_id, label, p in zip(test["post_id"], test["label"], pred, strict=True):
                        rows.append(
                            {
                                "dataset": name,
                                "model": model,
                                "seed": seed,
                                "condition": condition,
                                "post_id": post_id,
                                "label": label,
                                "pred": None if p == stats.UNSCORED else classes[p],
                                "probs": None
                                if p == stats.UNSCORED
                                else [float(k == p) for k in range(len(classes))],
                            }
                        )
                preds = np.stack(per_seed)
                predictions[condition][model] = preds
                summary = stats.summarize(y, preds, len(classes), n_boot=200)
                if summary["per_class_f1"] is not None:
                    summary["per_class_f1"] = dict(
                        zip(classes, summary["per_class_f1"], strict=True)
                    )
                results[model][condition] = summary
        tests = []
        for condition, by_model in predictions.items():
            scoring = {m: p for m, p in by_model.items() if (p != stats.UNSCORED).any()}
            tests += [r.as_dict() for r in stats.mcnemar_all_pairs(y, scoring, condition)]
        paper_name = paper_dataset_for(name)
        datasets[name] = {
            "classes": classes,
            "n_test": len(y),
            "paper_dataset": paper_name,
            "results": results,
            "mcnemar": tests,
            "paper": paper_table4(paper_name),
            "paper_table5": paper_table5(paper_name),
        }
    (run_dir / "metrics.json").write_text(json.dumps({"run_id": run_id, "datasets": datasets}))
    pd.DataFrame(rows).to_parquet(run_dir / "predictions.parquet", index=False)
    config = {
        "run_id": run_id,
        "seeds": seeds,
        "models": MODELS,
        "extractor": "test-simulated",
        "datasets": {name: {"curated": str(folder)} for name, folder in curated.items()},
        "command_line": "emofuse benchmark run (simulated for the tests)",
    }
    (run_dir / "config.json").write_text(json.dumps(config))
    return run_dir
