"""`emofuse release`: real curated folders in, loadable releases out (datasets, mlcroissant)."""

import hashlib
import io
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from PIL import Image
from test_release_support import EMOTION6_CLASSES, make_drawn_curated, make_emotion6_curated

from emofuse.cli import main
from emofuse.curation.release import build_release
from emofuse.errors import UserError
from emofuse.privacy import author_hash

SALT = "pepper-7f3c9a1e5b"


@pytest.fixture
def hf_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets.config
    import huggingface_hub.constants

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    # datasets and huggingface_hub read the variables once, at import: an earlier test of the
    # session may have imported them online, with the user's cache (where an offline load would
    # find a dataset cached by an earlier session, pointing at its deleted images)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-home" / "datasets")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


def run_cli(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return exit_info.value.code


def load(folder: Path):
    from datasets import load_dataset

    return load_dataset(str(folder))


def released_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def card_header(folder: Path) -> dict:
    text = (folder / "README.md").read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def check_sha256sums(folder: Path) -> None:
    lines = (folder / "SHA256SUMS").read_text().splitlines()
    listed = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in lines}
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} - {
        "SHA256SUMS"
    }
    assert set(listed) == on_disk
    for name, digest in listed.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name


def test_parquet_release_loads_with_datasets(data_dir, tmp_path, hf_offline, monkeypatch):
    # the crawler's salt file (emofuse.privacy) and, for this run, $EMOFUSE_SALT
    data_dir.mkdir(parents=True)
    (data_dir / ".salt").write_text(SALT + "-from-the-file\n")
    monkeypatch.setenv("EMOFUSE_SALT", SALT)
    curated = make_drawn_curated(data_dir, per_class=10)
    out = tmp_path / "release"

    code = run_cli(
        ["release", "--curated", str(curated), "--out", str(out), "--license", "cc-by-4.0"]
    )
    assert code == 0

    posts = pd.read_parquet(curated / "posts.parquet")
    ds = load(out)
    assert sorted(ds) == ["test", "train", "validation"]
    assert ds["train"].features["label"].names == ["joy", "fear", "anger", "disgust"]
    for split in ds:
        expected = posts[posts["split"] == split]
        assert ds[split].num_rows == len(expected)
        got = pd.Series(ds[split]["label"]).map(ds[split].features["label"].int2str)
        assert sorted(got) == sorted(expected["label"])
        assert sorted(ds[split]["post_id"]) == sorted(expected["post_id"])

    # every image decodes and is the very JPEG the crawler stored (by sha256)
    decoded = 0
    by_id = posts.set_index("post_id")
    for split in ds:
        for row in ds[split]:
            stored = by_id.loc[row["post_id"], "images"]
            images = ([row["image"]] if row["image"] is not None else []) + row["more_images"]
            assert len(images) == len(stored) == row["n_images"]
            assert row["image_sha256"] == [image["sha256"] for image in stored]
            for image in images:
                image.load()
                assert image.size[0] > 0
                decoded += 1
    assert decoded == sum(len(images) for images in posts["images"]) == 61
    text_only = ds["train"].filter(lambda row: row["n_images"] == 0)
    assert text_only.num_rows == 1 and text_only[0]["image"] is None

    # raw image bytes are in the Parquet file itself, not paths to elsewhere
    table = pd.read_parquet(next((out / "data").glob("test-*.parquet")))
    first = table["image"].iloc[0]
    assert Image.open(io.BytesIO(first["bytes"])).format == "JPEG"
    assert not first["path"].startswith("/") and "raw/" not in first["path"]
    # the stored JPEGs, bit for bit, in every shard and image column
    for shard in (out / "data").glob("*.parquet"):
        for _, row in pd.read_parquet(shard).iterrows():
            released = ([row["image"]] if row["image"] is not None else []) + list(
                row["more_images"]
            )
            digests = [hashlib.sha256(image["bytes"]).hexdigest() for image in released]
            assert digests == [image["sha256"] for image in by_id.loc[row["post_id"], "images"]]

    header = card_header(out)
    assert header["license"] == "cc-by-4.0" and not (out / "LICENSE").exists()
    assert set(header["task_categories"]) == {"image-classification", "text-classification"}
    assert header["size_categories"] == ["n<1K"]
    assert {f["split"] for f in header["configs"][0]["data_files"]} == set(ds)
    label_feature = next(f for f in header["dataset_info"]["features"] if f["name"] == "label")
    assert list(label_feature["dtype"]["class_label"]["names"].values()) == [
        "joy",
        "fear",
        "anger",
        "disgust",
    ]
    card = (out / "README.md").read_text()
    for section in (
        "Motivation",
        "Composition",
        "Collection process",
        "Preprocessing",
        "Uses",
        "Distribution",
        "Maintenance",
    ):
        assert f"## {section}" in card
    assert "Reddit Data API Terms" in card and "not_english" in card

    check_sha256sums(out)
    everything = released_bytes(out)
    assert SALT.encode() not in everything  # covers the file's value too (it starts so)
    assert b"username_" not in everything  # what the hashes were made from
    assert author_hash("username_1", data_dir).encode() in everything
    assert str(tmp_path).encode() not in everything  # no local path (it may name a person)
    manifest = json.loads((out / "release.json").read_text())
    assert manifest["splits"]["train"]["num_rows"] == ds["train"].num_rows


def test_croissant_is_valid_and_reads_the_records(data_dir, tmp_path, hf_offline):
    import mlcroissant as mlc

    curated = make_drawn_curated(data_dir, per_class=6)
    out = tmp_path / "release"
    # tiny shards: a split over several files is described by a FileSet
    build_release(curated, out, max_shard_bytes=8_000)
    assert len(list((out / "data").glob("train-*.parquet"))) > 1

    dataset = mlc.Dataset(jsonld=out / "croissant.json")
    assert not dataset.metadata.issues.errors
    posts = pd.read_parquet(curated / "posts.parquet")
    for split in ("train", "test"):
        records = list(dataset.records(record_set=split))
        assert len(records) == int((posts["split"] == split).sum())
        ids = sorted(record[f"{split}/post_id"].decode() for record in records)
        assert ids == sorted(posts.loc[posts["split"] == split, "post_id"])
        with_image = [r for r in records if r[f"{split}/image"] is not None]
        assert with_image and all(r[f"{split}/image"].size[0] > 0 for r in with_image)
    # the shards load as one split with datasets too
    ds = load(out)
    assert {split: ds[split].num_rows for split in ds} == posts["split"].value_counts().to_dict()


def test_imagefolder_release_of_real_emotion6_photos(data_dir, tmp_path, shared_data, hf_offline):
    curated = make_emotion6_curated(data_dir, shared_data, per_class=5)
    out = tmp_path / "release-if"
    code = run_cli(
        ["release", "--curated", str(curated), "--out", str(out), "--format", "imagefolder"]
    )
    assert code == 0
    assert (out / "data" / "train" / "metadata.csv").is_file()

    ds = load(out)
    assert {split: ds[split].num_rows for split in ds} == {"train": 18, "validation": 6, "test": 6}
    for split in ds:
        assert set(ds[split]["label"]) == set(EMOTION6_CLASSES)  # every class in every split
        for row in ds[split]:
            row["image"].load()
            assert row["image"].mode == "RGB" and row["image"].width > 0
        # the released files are the Emotion6 photos, byte for byte
        metadata = pd.read_csv(out / "data" / split / "metadata.csv")
        for _, row in metadata.iterrows():
            released = (out / "data" / split / row["file_name"]).read_bytes()
            number = int(row["post_id"].split(":")[1][1:])
            original = shared_data / "emotion6" / "images" / row["label"] / f"{number}.jpg"
            assert released == original.read_bytes()
            assert hashlib.sha256(released).hexdigest() == row["image_sha256"]

    # the Flickr owner's user name (in page URLs and the owner path) is not released
    everything = released_bytes(out)
    assert b"someowner" not in everything
    assert b"flickr.com/photo.gne?id=" in everything
    header = card_header(out)
    assert header["configs"][0]["data_files"][0] == {"split": "train", "path": "data/train/*"}
    # the default licence: the sources' terms, in a LICENSE file the header links to
    assert header["license"] == "other" and header["license_link"] == "LICENSE"
    assert "Flickr API Terms" in (out / "LICENSE").read_text()
    from huggingface_hub import DatasetCard  # the Hub's own parser reads the header

    card_data = DatasetCard.load(out / "README.md").data.to_dict()
    assert card_data["task_categories"] == ["image-classification", "text-classification"]
    assert "Flickr API Terms" in (out / "README.md").read_text()
    check_sha256sums(out)

    import mlcroissant as mlc

    dataset = mlc.Dataset(jsonld=out / "croissant.json")
    assert len(list(dataset.records(record_set="test"))) == 6


def test_ids_only_release_has_no_content(data_dir, hf_offline):
    curated = make_drawn_curated(data_dir, name="reddit", per_class=10)
    # defaults: --curated <data>/curated/reddit, --out <data>/release/reddit
    code = run_cli(["release", "--ids-only", "--data", str(data_dir)])
    assert code == 0
    out = data_dir / "release" / "reddit"
    assert sorted(p.name for p in (out / "data").iterdir()) == [
        "test.csv",
        "train.csv",
        "validation.csv",
    ]
    frame = pd.concat(pd.read_csv(p) for p in (out / "data").glob("*.csv"))
    assert list(frame.columns) == [
        "post_id",
        "source",
        "native_id",
        "label",
        "rank",
        "votes_agree",
        "votes_total",
        "split",
    ]
    posts = pd.read_parquet(curated / "posts.parquet")
    merged = posts.merge(frame, on="post_id", suffixes=("", "_released"))
    assert len(merged) == len(posts) == len(frame)
    assert (merged["label"] == merged["label_released"]).all()
    assert (merged["split"] == merged["split_released"]).all()
    assert (merged["rank"] == merged["rank_released"]).all()
    assert (merged["post_id"] == merged["source"] + ":" + merged["native_id"]).all()

    everything = released_bytes(out)
    for title in posts["title"]:
        assert title.encode() not in everything
    for author in posts["author_hash"]:
        assert author.encode() not in everything
    assert b"JFIF" not in everything and b"i.redd.it" not in everything
    assert str(data_dir).encode() not in everything
    card = (out / "README.md").read_text()
    assert "emofuse crawl rehydrate --from path/to/reddit" in card
    assert json.loads((out / "release.json").read_text())["format"] == "ids-only"

    ds = load(out)
    assert ds["train"].features["label"].names == ["joy", "fear", "anger", "disgust"]
    assert ds["test"].num_rows == 4

    import mlcroissant as mlc

    croissant = mlc.Dataset(jsonld=out / "croissant.json")
    assert not croissant.metadata.issues.errors
    records = list(croissant.records(record_set="test"))
    assert sorted(r["test/post_id"].decode() for r in records) == sorted(ds["test"]["post_id"])


def test_exclude_drops_listed_posts_before_writing(data_dir, tmp_path):
    curated = make_drawn_curated(data_dir, per_class=10)
    removal = tmp_path / "removal.txt"
    # full id, bare id, a comment, blank lines and an id that is not in the dataset
    removal.write_text("# withdrawn by their authors\nreddit:jo0000\n\nfe1003\nreddit:zzz999\n")
    out = tmp_path / "release"
    assert (
        run_cli(
            ["release", "--curated", str(curated), "--out", str(out), "--exclude", str(removal)]
        )
        == 0
    )
    released = pd.concat(pd.read_parquet(p) for p in (out / "data").glob("*.parquet"))
    assert len(released) == 38
    assert not {"reddit:jo0000", "reddit:fe1003"} & set(released["post_id"])
    everything = released_bytes(out)
    assert b"jo0000" not in everything and b"fe1003" not in everything
    assert json.loads((out / "release.json").read_text())["excluded"] == 2


@pytest.mark.parametrize(
    "line", ["reddit: abc", "https://reddit.com/r/happy/comments/abc", "twitter:123", "a b"]
)
def test_malformed_exclusion_list_is_refused_and_nothing_written(data_dir, tmp_path, line):
    curated = make_drawn_curated(data_dir, per_class=3)
    removal = tmp_path / "removal.txt"
    removal.write_text(f"reddit:jo0000\n{line}\n")
    out = tmp_path / "release"
    assert (
        run_cli(
            ["release", "--curated", str(curated), "--out", str(out), "--exclude", str(removal)]
        )
        == 2
    )
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".release")]


def test_no_curated_data_is_refused(data_dir, tmp_path, capsys):
    out = tmp_path / "release"
    assert run_cli(["release", "--data", str(data_dir), "--name", "flickr", "--out", str(out)]) == 2
    assert "no curated dataset" in capsys.readouterr().err.replace("\n", " ")
    assert not out.exists()


def test_non_empty_out_needs_force_and_force_replaces(data_dir, tmp_path, capsys):
    curated = make_drawn_curated(data_dir, per_class=3)
    out = tmp_path / "release"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    assert run_cli(["release", "--curated", str(curated), "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["precious.txt"]

    # --force replaces an earlier release, not a folder of something else
    assert run_cli(["release", "--curated", str(curated), "--out", str(out), "--force"]) == 2
    assert "not an emofuse release" in capsys.readouterr().err.replace("\n", " ")
    assert [p.name for p in out.iterdir()] == ["precious.txt"]

    (out / "precious.txt").unlink()
    assert run_cli(["release", "--curated", str(curated), "--out", str(out), "--ids-only"]) == 0
    assert run_cli(["release", "--curated", str(curated), "--out", str(out), "--force"]) == 0
    assert json.loads((out / "release.json").read_text())["format"] == "parquet"
    assert (out / "README.md").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emofuse-data", "release"]


@pytest.mark.parametrize("kept_in", ["environment", "salt file"])
def test_salt_in_a_post_stops_the_release(data_dir, tmp_path, monkeypatch, kept_in):
    if kept_in == "environment":
        monkeypatch.setenv("EMOFUSE_SALT", SALT)
    else:
        monkeypatch.delenv("EMOFUSE_SALT", raising=False)
        data_dir.mkdir(parents=True)
        (data_dir / ".salt").write_text(SALT + "\n")
    curated = make_drawn_curated(data_dir, per_class=3)
    posts = pd.read_parquet(curated / "posts.parquet")
    posts.loc[0, "title"] = posts.loc[0, "title"] + " " + SALT
    posts.to_parquet(curated / "posts.parquet", index=False)
    out = tmp_path / "release"
    with pytest.raises(UserError, match="salt"):
        build_release(curated, out)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emofuse-data"]
    # default --out under <data>/release/: not even the release/ folder is left behind
    with pytest.raises(UserError, match="salt"):
        build_release(curated, data_dir / "release" / "tiny")
    assert not (data_dir / "release").exists()


def test_missing_image_file_is_refused(data_dir, tmp_path):
    curated = make_drawn_curated(data_dir, per_class=3)
    posts = pd.read_parquet(curated / "posts.parquet")
    (data_dir / posts["images"].iloc[1][0]["path"]).unlink()
    out = tmp_path / "release"
    assert run_cli(["release", "--curated", str(curated), "--out", str(out)]) == 2
    assert not out.exists()


def test_bad_inputs_one_line_exit_2_and_every_file_untouched(data_dir, tmp_path, capsys):
    """No curated data, a non-empty --out without --force, a malformed exclusion list, data
    curated by a newer emofuse, a bad --format: one line, exit 2, and the data dir and the
    output folder byte for byte as before."""

    def snapshot() -> dict:
        return {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()}

    def refused(*args: str) -> str:
        before = snapshot()
        assert run_cli(["release", *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error:"), err
        assert snapshot() == before
        return err

    out = tmp_path / "release"
    assert "no curated dataset" in refused("--data", str(data_dir), "--out", str(out))
    curated = make_drawn_curated(data_dir, per_class=3)
    capsys.readouterr()
    out.mkdir()
    (out / "notes.txt").write_text("someone's files")
    assert "not empty" in refused("--curated", str(curated), "--out", str(out))
    removal = tmp_path / "removal.csv"
    removal.write_text("post_id,reason\nreddit:jo0000,deleted\n")  # a CSV, not one id a line
    assert "line 1 is not a post id" in refused(
        "--curated", str(curated), "--out", str(tmp_path / "new"), "--exclude", str(removal)
    )
    assert "does not exist" in refused(
        "--curated", str(curated), "--out", str(tmp_path / "new"), "--exclude", "nowhere.txt"
    )
    info = json.loads((curated / "dataset.json").read_text())
    (curated / "dataset.json").write_text(json.dumps({**info, "schema_version": 99}))
    assert "newer emofuse" in refused("--curated", str(curated), "--out", str(tmp_path / "new"))
    (curated / "dataset.json").write_text(json.dumps(info))
    assert "unknown --format" in refused(
        "--curated", str(curated), "--out", str(tmp_path / "new"), "--format", "zip"
    )
    assert not (tmp_path / "new").exists()


def test_same_curated_data_gives_the_same_release_bytes(data_dir, tmp_path, monkeypatch):
    """With SOURCE_DATE_EPOCH (reproducible builds) every file of two releases of one curated
    folder is identical, in every format; the date is the one given."""
    curated = make_drawn_curated(data_dir, per_class=4)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    for options in ({}, {"fmt": "imagefolder"}, {"ids_only": True}):
        first, second = tmp_path / "a" / "release", tmp_path / "b" / "release"
        build_release(curated, first, force=True, **options)
        build_release(curated, second, force=True, **options)
        files = sorted(str(p.relative_to(first)) for p in first.rglob("*") if p.is_file())
        assert files == sorted(str(p.relative_to(second)) for p in second.rglob("*") if p.is_file())
        for name in files:
            assert (first / name).read_bytes() == (second / name).read_bytes(), (options, name)
    assert "on 2023-11-14" in (first / "README.md").read_text()
    assert json.loads((first / "release.json").read_text())["created_utc"].startswith("2023-11-14")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(UserError, match="SOURCE_DATE_EPOCH"):
        build_release(curated, tmp_path / "third")
    assert not (tmp_path / "third").exists()


def test_help_texts_keep_their_square_brackets(monkeypatch):
    """Rich markup would swallow "[default: ...]" written in a help text: it is escaped."""
    from typer.testing import CliRunner

    from emofuse.cli import app

    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    release_help = runner.invoke(app, ["release", "--help"]).output
    assert "[default: the --curated folder's name, else reddit]" in release_help
    curate_help = runner.invoke(app, ["curate", "--help"]).output
    assert "SOURCE.RULE=on|off" in curate_help and "[default: hybrid]" in curate_help
    monkeypatch.setenv("COLUMNS", "80")  # a plain terminal: no option name or word cut short
    for command in ("curate", "release"):
        output = runner.invoke(app, [command, "--help"]).output
        assert max(map(len, output.splitlines())) <= 80 and "…" not in output


def test_salt_scan_finds_a_salt_cut_by_a_chunk_boundary(tmp_path):
    from emofuse.curation.release import _contains_any

    salt = SALT.encode()
    for offset in range(-len(salt), 2):  # the salt across, before and after the boundary
        path = tmp_path / f"file{offset}"
        path.write_bytes(b"x" * (64 + offset) + salt + b"y" * 50)
        assert _contains_any(path, [b"zz", salt], chunk_size=64)
    path.write_bytes(b"x" * 300)
    assert not _contains_any(path, [salt], chunk_size=64)


def test_progress_bar_started_after_the_checks_and_a_running_one_left_running(data_dir, tmp_path):
    from emofuse.log import progress

    curated = make_drawn_curated(data_dir, per_class=3)
    bar = progress()
    with pytest.raises(UserError):  # refused before the bar ever shows
        build_release(tmp_path / "nowhere", tmp_path / "r0", progress=bar)
    assert not bar.live.is_started and not bar.tasks
    build_release(curated, tmp_path / "r1", progress=bar)  # started here, stopped here
    assert not bar.live.is_started and bar.tasks[0].completed == 12
    with progress() as running:  # a caller's running bar (the demo's) keeps running
        build_release(curated, tmp_path / "r2", progress=running)
        assert running.live.is_started
