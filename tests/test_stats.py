"""The benchmark statistics against values computed by hand, scipy and scikit-learn."""

import numpy as np
import pytest
from scipy import stats as scipy_stats
from sklearn.metrics import f1_score

from emofuse.benchmark import stats


def _pair_with_discordant(only_a: int, only_b: int, both_right: int = 20, both_wrong: int = 5):
    """Labels and two models' predictions with the given discordant counts (class 0 truth)."""
    y = np.zeros(only_a + only_b + both_right + both_wrong, dtype=int)
    a = np.concatenate(
        [np.zeros(only_a), np.ones(only_b), np.zeros(both_right), np.ones(both_wrong)]
    )
    b = np.concatenate(
        [np.ones(only_a), np.zeros(only_b), np.zeros(both_right), np.ones(both_wrong)]
    )
    return y, a.astype(int), b.astype(int)


def test_mcnemar_exact_binomial_matches_hand_value():
    y, a, b = _pair_with_discordant(only_a=2, only_b=8)
    n_both, only_a, only_b, method, _, p = stats.mcnemar_pair(y, a, b)
    assert (n_both, only_a, only_b, method) == (35, 2, 8, "exact")
    # two-sided exact binomial: 2 * P(X <= 2 | n=10, 1/2) = 2 * (1 + 10 + 45) / 1024
    assert p == pytest.approx(112 / 1024)


def test_mcnemar_chi_square_with_continuity_correction_for_many_discordant():
    y, a, b = _pair_with_discordant(only_a=10, only_b=30)
    _, _, _, method, statistic, p = stats.mcnemar_pair(y, a, b)
    assert method == "chi2"
    assert statistic == pytest.approx((abs(10 - 30) - 1) ** 2 / 40)
    assert p == pytest.approx(scipy_stats.chi2.sf(361 / 40, df=1))


def test_mcnemar_only_on_posts_both_models_scored():
    y, a, b = _pair_with_discordant(only_a=2, only_b=8)
    a = a.copy()
    a[:2] = stats.UNSCORED  # the two posts only a got right: a could not score them
    n_both, only_a, only_b, _, _, _ = stats.mcnemar_pair(y, a, b)
    assert (n_both, only_a, only_b) == (33, 0, 8)
    nothing = np.full_like(a, stats.UNSCORED)
    assert stats.mcnemar_pair(y, nothing, b) is None


def test_mcnemar_uses_the_per_post_majority_over_seeds():
    y = np.array([0, 0, 0])
    # post 0: right in 2 of 3 seeds (counts right); post 1: 1 of 3 (wrong); post 2: 3 of 3
    a = np.array([[0, 0, 0], [0, 1, 0], [1, 1, 0]])
    assert stats.consensus_correct(y, a).tolist() == [True, False, True]


def test_holm_against_hand_computed_adjustment():
    adjusted, reject = stats.holm([0.01, 0.04, 0.03], alpha=0.05)
    # sorted 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> monotone: 0.06
    assert adjusted == pytest.approx([0.03, 0.06, 0.06])
    assert reject == [True, False, False]


def test_all_pairs_are_tested_and_corrected_together():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 200)
    good = np.where(rng.random(200) < 0.9, y, (y + 1) % 3)
    bad = np.where(rng.random(200) < 0.5, y, (y + 1) % 3)
    also_good = np.where(rng.random(200) < 0.9, y, (y + 2) % 3)
    none = np.full(200, stats.UNSCORED)
    results = stats.mcnemar_all_pairs(
        y, {"good": good, "bad": bad, "also_good": also_good, "none": none}, condition="both"
    )
    pairs = [(r.model_a, r.model_b) for r in results]
    assert pairs == [("good", "bad"), ("good", "also_good"), ("bad", "also_good")]
    raw = [r.p_value for r in results]
    expected, _ = stats.holm(raw)
    assert [r.p_holm for r in results] == pytest.approx(expected)
    by_pair = {(r.model_a, r.model_b): r for r in results}
    assert by_pair["good", "bad"].significant
    assert not by_pair["good", "also_good"].significant


def test_weighted_f1_matches_scikit_learn_on_resampled_posts():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 150)
    preds = np.stack(
        [np.where(rng.random(150) < p, y, rng.integers(0, 4, 150)) for p in (0.6, 0.8)]
    )
    preds[1, :10] = stats.UNSCORED  # the second seed could not score 10 posts
    counts = rng.multinomial(150, np.full(150, 1 / 150), size=5).astype(float)
    macro, micro, accuracy, valid = stats._weighted_f1(y, preds, counts, 4)
    assert macro.shape == (5, 2) and valid.all()
    for b in range(5):
        for s in range(2):
            idx = np.repeat(np.arange(150), counts[b].astype(int))
            idx = idx[preds[s, idx] != stats.UNSCORED]
            t, p = y[idx], preds[s, idx]
            assert macro[b, s] == pytest.approx(
                f1_score(t, p, labels=range(4), average="macro", zero_division=0)
            )
            assert micro[b, s] == pytest.approx(f1_score(t, p, average="micro"))
            assert accuracy[b, s] == pytest.approx(np.mean(t == p))


def test_point_metrics_match_scikit_learn():
    from sklearn.metrics import confusion_matrix

    rng = np.random.default_rng(11)
    y = rng.integers(0, 5, 300)
    pred = np.where(rng.random(300) < 0.6, y, rng.integers(0, 4, 300))  # class 4 never predicted
    pred[:7] = stats.UNSCORED
    ours = stats.point_metrics(y, pred, 5)
    t, p = y[7:], pred[7:]
    assert (
        stats.confusion_counts(y, pred, 5).tolist()
        == confusion_matrix(t, p, labels=range(5)).tolist()
    )
    assert ours["accuracy"] == pytest.approx(np.mean(t == p))
    assert ours["f1_macro"] == pytest.approx(
        f1_score(t, p, labels=range(5), average="macro", zero_division=0)
    )
    assert ours["f1_micro"] == pytest.approx(f1_score(t, p, labels=range(5), average="micro"))
    assert ours["per_class_f1"] == pytest.approx(
        f1_score(t, p, labels=range(5), average=None, zero_division=0).tolist()
    )
    assert stats.point_metrics(y, np.full(300, stats.UNSCORED), 5) is None


def test_bootstrap_interval_width_matches_the_normal_approximation():
    rng = np.random.default_rng(7)
    n = 2000
    y = rng.integers(0, 4, n)
    pred = np.where(rng.random(n) < 0.7, y, (y + 1) % 4)
    low, high = stats.bootstrap_intervals(y, pred, 4, n_boot=2000, seed=0)["accuracy"]
    acc = np.mean(pred == y)
    half_width = 1.96 * np.sqrt(acc * (1 - acc) / n)
    assert low < acc < high
    assert (high - low) == pytest.approx(2 * half_width, rel=0.15)


def test_bootstrap_is_seeded_and_degenerate_when_always_right():
    y = np.arange(40) % 4
    pred = np.stack([y, np.where(np.arange(40) < 30, y, 0)])
    first = stats.bootstrap_intervals(y, pred, 4, n_boot=300, seed=5)
    assert first == stats.bootstrap_intervals(y, pred, 4, n_boot=300, seed=5)
    assert first != stats.bootstrap_intervals(y, pred, 4, n_boot=300, seed=6)
    assert stats.bootstrap_intervals(y, y, 4, n_boot=100)["accuracy"] == (1.0, 1.0)


def test_summarize_counts_unscored_posts_and_averages_seeds():
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    seed0 = np.array([0, 1, 2, 1, 1, 2, -1, -1])  # 5 of 6 scored right
    seed1 = np.array([0, 1, 1, 1, 1, 2, -1, -1])  # 4 of 6
    summary = stats.summarize(y, np.stack([seed0, seed1]), 3, n_boot=200)
    assert summary["n_scored"] == 6 and summary["n_unscored"] == 2
    assert summary["accuracy"]["per_seed"] == pytest.approx([5 / 6, 4 / 6])
    assert summary["accuracy"]["mean"] == pytest.approx(0.75)
    assert summary["accuracy"]["std"] == pytest.approx(np.std([5 / 6, 4 / 6], ddof=1))
    assert summary["f1_micro"]["mean"] == pytest.approx(0.75)
    # confusion summed over seeds, scored posts only: 12 entries
    confusion = np.array(summary["confusion"])
    assert confusion.sum() == 12 and confusion[0, 1] == 2 and confusion[2, 1] == 1
    assert len(summary["per_class_f1"]) == 3


def test_summarize_marks_a_model_that_scored_nothing():
    y = np.array([0, 1, 2])
    summary = stats.summarize(y, np.full((2, 3), stats.UNSCORED), 3)
    assert summary["accuracy"] is None and summary["confusion"] is None
    assert summary["n_scored"] == 0 and summary["n_unscored"] == 3


def test_probabilities_to_predictions_marks_nan_rows_unscored():
    probs = np.array([[0.1, 0.9], [np.nan, np.nan], [0.7, 0.3]])
    assert stats.probabilities_to_predictions(probs).tolist() == [1, stats.UNSCORED, 0]
