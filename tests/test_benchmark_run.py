"""``emofuse benchmark run`` end to end: real JPEGs, real features, real torch training."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from benchmark_data import cli_exit_code, make_curated
from sklearn.metrics import accuracy_score, f1_score

from emofuse.benchmark import run as run_module

MODELS = ["image", "text", "late_fusion", "early_fusion", "joint_fusion", "common_space"]
CONDITIONS = ["both", "image_only", "text_only"]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """One real run: a dataset with images (some posts without) and a text-only one."""
    data = tmp_path_factory.mktemp("bench") / "data"
    make_curated(data, "reddit", per_class=40, missing_image_every=8)
    make_curated(data, "textonly", per_class=30, with_images=False, seed=1)
    args = ["benchmark", "run", "--all", "--seeds", "2", "--extractor", "color_stats"]
    assert cli_exit_code(*args, "--bootstrap", "200", "--run-id", "r1", "--data", str(data)) == 0
    return data / "runs" / "r1"


def test_run_writes_the_contract_files(finished_run):
    names = sorted(str(p.relative_to(finished_run)) for p in finished_run.rglob("*") if p.is_file())
    expected = ["config.json", "metrics.json", "predictions.parquet"]
    expected += [f"tables/table2.{e}" for e in ("csv", "md")]
    expected += [f"tables/table{t}.{e}" for t in (4, 5) for e in ("csv", "json", "md", "tex")]
    assert set(expected) <= set(names)
    assert not list(finished_run.parent.glob(".*.partial"))
    config = json.loads((finished_run / "config.json").read_text())
    assert config["seeds"] == 2 and config["extractor"] == "color_stats"
    assert config["models"] == MODELS and config["device"] == "cpu"
    assert config["command_line"].startswith("emofuse benchmark run --dataset reddit")
    assert config["datasets"]["reddit"]["splits"]["test"] == {
        "posts": 16,
        "with_image": 12,
        "with_text": 16,
    }
    assert config["datasets"]["reddit"]["models"]["joint_fusion"]["hparams"]["hidden_dim"] == 100


def test_predictions_mark_what_a_model_cannot_score(finished_run):
    frame = pd.read_parquet(finished_run / "predictions.parquet")
    # every (dataset, model, seed, condition, test post): 16 reddit and 12 text-only test posts
    assert len(frame) == len(MODELS) * 2 * len(CONDITIONS) * (16 + 12)
    assert not frame.duplicated(["dataset", "model", "seed", "condition", "post_id"]).any()
    reddit = frame[frame.dataset == "reddit"]
    # post 3 of each class (a test post) has no image: the image model cannot score it
    no_image = {f"reddit:{c}0003" for c in ("jo", "fe", "an", "di")}
    image_model = reddit[(reddit.model == "image") & (reddit.condition == "both")]
    assert set(image_model[image_model.pred.isna()].post_id) == no_image
    text_given_image = reddit[(reddit.model == "text") & (reddit.condition == "image_only")]
    assert text_given_image.pred.isna().all() and text_given_image.probs.isna().all()
    joint = reddit[(reddit.model == "joint_fusion") & (reddit.condition == "both")]
    assert joint.pred.notna().all()
    scored = joint.probs.dropna()
    assert np.allclose([sum(p) for p in scored], 1.0)
    assert set(joint.pred) <= {"joy", "fear", "anger", "disgust"}
    text_only_data = frame[(frame.dataset == "textonly") & (frame.model == "image")]
    assert text_only_data.pred.isna().all()


def test_late_fusion_is_the_product_of_the_same_seeds_image_and_text_models(finished_run):
    """Paper 5.3: late fusion reuses the image and text classifiers (eq. 2), it is not refitted."""
    frame = pd.read_parquet(finished_run / "predictions.parquet")
    reddit = frame[(frame.dataset == "reddit") & (frame.condition == "both")]
    keyed = reddit.set_index(["model", "seed", "post_id"]).probs
    checked = 0
    for (model, seed, post_id), probs in keyed.items():
        if model != "late_fusion":
            continue
        image, text = keyed["image", seed, post_id], keyed["text", seed, post_id]
        if image is None or text is None:
            assert probs is None  # cannot score without both modalities
            continue
        product = np.asarray(image) * np.asarray(text)
        assert np.allclose(probs, product / product.sum())
        checked += 1
    assert checked == 2 * 12  # two seeds x the 12 test posts with an image
    config = json.loads((finished_run / "config.json").read_text())
    assert config["datasets"]["reddit"]["models"]["late_fusion"]["epochs_trained"] == [0, 0]


def test_metrics_agree_with_predictions_recomputed_independently(finished_run):
    metrics = json.loads((finished_run / "metrics.json").read_text())
    frame = pd.read_parquet(finished_run / "predictions.parquet")
    reddit = metrics["datasets"]["reddit"]
    assert reddit["classes"] == ["joy", "fear", "anger", "disgust"] and reddit["n_test"] == 16
    assert set(reddit["results"]) == set(MODELS)
    for model in ("text", "image", "common_space"):
        entry = reddit["results"][model]["both"]
        per_seed = []
        for seed in (0, 1):
            rows = frame[
                (frame.dataset == "reddit")
                & (frame.model == model)
                & (frame.condition == "both")
                & (frame.seed == seed)
                & frame.pred.notna()
            ]
            per_seed.append(accuracy_score(rows.label, rows.pred))
            if seed == 0:
                macro = f1_score(
                    rows.label,
                    rows.pred,
                    labels=reddit["classes"],
                    average="macro",
                    zero_division=0,
                )
                assert entry["f1_macro"]["per_seed"][0] == pytest.approx(macro)
        assert entry["accuracy"]["per_seed"] == pytest.approx(per_seed)
        assert entry["accuracy"]["mean"] == pytest.approx(np.mean(per_seed))
        assert (
            entry["accuracy"]["ci_low"] <= entry["accuracy"]["mean"] <= entry["accuracy"]["ci_high"]
        )
        assert entry["n_scored"] + entry["n_unscored"] == 16
        assert np.array(entry["confusion"]).sum() == 2 * entry["n_scored"]
        assert set(entry["per_class_f1"]) == set(reddit["classes"])
    assert reddit["results"]["image"]["both"]["n_unscored"] == 4
    # real training learned something: the titles carry the class in 70% of posts
    assert reddit["results"]["text"]["both"]["accuracy"]["mean"] > 0.5
    # McNemar: every pair of the six models on "both", Holm-corrected, p_holm >= p
    both = [t for t in reddit["mcnemar"] if t["condition"] == "both"]
    assert len(both) == 15
    assert all(t["p_holm"] >= t["p_value"] - 1e-12 for t in both)
    image_only_models = {t["model_a"] for t in reddit["mcnemar"] if t["condition"] == "image_only"}
    assert "text" not in image_only_models and "image" in image_only_models
    assert reddit["paper"]["text"]["accuracy"] == pytest.approx(0.784)


def test_text_only_dataset_is_reported_not_crashed(finished_run):
    metrics = json.loads((finished_run / "metrics.json").read_text())
    text_only = metrics["datasets"]["textonly"]["results"]
    for model in ("image", "late_fusion", "early_fusion"):
        assert text_only[model]["both"]["accuracy"] is None
        assert text_only[model]["both"]["n_unscored"] == 12
        assert text_only[model]["both"]["note"].startswith("cannot score")
    for model in ("text", "joint_fusion", "common_space"):
        assert text_only[model]["text_only"]["n_scored"] == 12
    table4 = (finished_run / "tables" / "table4.md").read_text()
    section = table4.split("## textonly")[1]
    row = next(line for line in section.splitlines() if line.startswith("| Early fusion"))
    assert "n/a" in row and "0/12" in row


def test_same_seed_gives_the_same_predictions_in_one_or_two_processes(tmp_path):
    data = tmp_path / "data"
    make_curated(data, "small", per_class=20, missing_image_every=0)
    runs = []
    for run_id, workers in (("a", 1), ("b", 2)):
        options = run_module.RunOptions(
            data_dir=data,
            models=["text", "common_space"],
            seeds=2,
            extractor="color_stats",
            n_boot=100,
            run_id=run_id,
            build_report=False,
            workers=workers,
        )
        run_dir = run_module.run_benchmark(options)
        assert json.loads((run_dir / "config.json").read_text())["datasets"]["small"][
            "workers"
        ] == (workers)
        runs.append(pd.read_parquet(run_dir / "predictions.parquet"))
    pd.testing.assert_frame_equal(runs[0], runs[1])


def test_report_command_rebuilds_the_page(finished_run, capsys):
    report = finished_run / "report.html"
    assert report.is_file()  # written at the end of the run
    report.unlink()
    data = finished_run.parent.parent
    assert cli_exit_code("benchmark", "report", "r1", "--data", str(data)) == 0
    assert report.is_file() and "Table 4" in report.read_text()


def test_tune_chooses_on_validation_and_records_the_grid(tmp_path):
    data = tmp_path / "data"
    make_curated(data, "small", per_class=20, missing_image_every=0)
    options = run_module.RunOptions(
        data_dir=data,
        models=["text"],
        seeds=1,
        extractor="color_stats",
        tune=True,
        n_boot=100,
        run_id="tuned",
        build_report=False,
        ngrams=2,
    )
    config = json.loads((run_module.run_benchmark(options) / "config.json").read_text())
    used = config["datasets"]["small"]["models"]["text"]
    assert len(used["grid"]) == 6  # lr x dropout of TUNE_GRID
    best = max(used["grid"], key=lambda r: r["val_accuracy"])
    assert used["grid"][0]["val_accuracy"] <= best["val_accuracy"]
    chosen = [r for r in used["grid"] if {k: r[k] for k in used["tuned"]} == used["tuned"]]
    assert chosen[0]["val_accuracy"] == best["val_accuracy"]
    assert used["hparams"]["lr"] == used["tuned"]["lr"]
    assert "--tune" in config["command_line"] and "--ngrams 2" in config["command_line"]
    # 36 distinct words in the generated titles (+ padding): bigrams make the vocabulary larger
    assert config["datasets"]["small"]["vocab_size"] > 37


# ----------------------------------------------------------------------------- bad input


@pytest.fixture
def curated_data(tmp_path) -> Path:
    data = tmp_path / "data"
    make_curated(data, "small", per_class=10, missing_image_every=0)
    return data


def _refused(capsys, data: Path, *args: str) -> str:
    code = cli_exit_code("benchmark", "run", *args, "--data", str(data))
    output = capsys.readouterr().err.strip()
    assert code == 2, output
    assert not (data / "runs").exists()  # nothing written
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and output.endswith(errors[0])  # one line, the last
    return errors[0]


def test_no_curated_data(tmp_path, capsys):
    message = _refused(capsys, tmp_path / "empty", "--all")
    assert "no curated dataset" in message and "emofuse curate --split" in message


def test_unknown_model_and_unknown_dataset(curated_data, capsys):
    assert "unknown model 'vgg'" in _refused(capsys, curated_data, "--all", "--models", "text,vgg")
    assert "choose among small" in _refused(capsys, curated_data, "--dataset", "flickr")
    assert "--all or --dataset" in _refused(capsys, curated_data)


def test_feature_file_missing_ids(curated_data, capsys):
    posts = pd.read_parquet(curated_data / "curated" / "small" / "posts.parquet")
    partial = curated_data.parent / "vectors.parquet"
    pd.DataFrame(
        {"post_id": posts.post_id[:-3], "vector": [np.ones(8, dtype=np.float32)] * (len(posts) - 3)}
    ).to_parquet(partial)
    message = _refused(capsys, curated_data, "--all", "--extractor", f"precomputed:{partial}")
    assert "lacks vectors for 3 posts" in message
    message = _refused(
        capsys, curated_data, "--all", "--extractor", f"precomputed:{partial}.absent"
    )
    assert "feature file not found" in message


def test_cuda_without_a_gpu(curated_data, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "no CUDA GPU" in _refused(capsys, curated_data, "--all", "--device", "cuda")


def test_other_bad_options(curated_data, capsys, monkeypatch, tmp_path):
    assert "--seeds" in _refused(capsys, curated_data, "--all", "--seeds", "0")
    assert "--patience must be at least 1" in _refused(
        capsys, curated_data, "--all", "--patience", "0"
    )
    assert "--ngrams only applies" in _refused(
        capsys, curated_data, "--all", "--ngrams", "2", "--text-encoder", "minilm"
    )
    assert "GloVe file not found" in _refused(
        capsys, curated_data, "--all", "--glove", str(tmp_path / "no.txt")
    )
    assert "unknown extractor" in _refused(capsys, curated_data, "--all", "--extractor", "vgg")
    # inception_v3 asked explicitly without weights: one line on how to provide them
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    assert "weights" in _refused(capsys, curated_data, "--all", "--extractor", "inception_v3")


def test_report_needs_a_run_folder(tmp_path, capsys):
    assert cli_exit_code("benchmark", "report", str(tmp_path), "--data", str(tmp_path)) == 2
    assert "no benchmark run" in capsys.readouterr().err
