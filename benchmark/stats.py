"""Benchmark statistics: metrics over seeds, bootstrap intervals, McNemar with Holm.

Conventions, used by every function here and documented in docs/benchmark.md:

- Labels and predictions are integer class indices ``0..C-1``. A prediction of ``-1`` means the
  model could not score that post in that condition (for instance the image model on a post
  without an image). Such posts are never dropped silently: every metric is computed over the
  posts the model *scored*, and ``n_scored`` / ``n_unscored`` are reported beside it. When a
  model scored no post at all, its metrics are ``None`` (shown as "n/a" in the tables).
- Several seeds: ``predictions`` is an array ``[S, N]`` (seed, test post). The point estimate
  is the mean over seeds, ``std`` the sample standard deviation over seeds (ddof=1; 0 for one
  seed).
- Bootstrap: percentile bootstrap over *test posts*. Each replicate draws N posts with
  replacement (the same draw for every seed), computes the metric for every seed and averages
  over seeds; the 2.5th and 97.5th percentiles of those replicate means form the 95% interval.
  It measures how much the number would move on another test set of the same size.
- F1: scikit-learn's definitions over all C classes (a class never seen nor predicted counts
  0 for macro-F1, ``zero_division=0``). Micro-F1 over all classes equals accuracy for
  single-label classification; we compute it anyway, as the paper reports both.
- McNemar: for every pair of models, on the posts *both* scored, a post counts as correct for a
  model when it is correct for more than half of the seeds (a per-post consensus, so the
  posts stay independent). Exact binomial test when the discordant count is below 25,
  chi-square with continuity correction otherwise. Holm correction over all pairs of one
  dataset and one condition.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

UNSCORED = -1
EXACT_MCNEMAR_BELOW = 25  # discordant pairs; the usual rule for when chi-square is good enough
METRICS = ("accuracy", "f1_macro", "f1_micro")


def _as_seed_matrix(predictions: Any) -> np.ndarray:
    array = np.asarray(predictions, dtype=np.int64)
    return array[None, :] if array.ndim == 1 else array


def _weighted_f1(
    y_true: np.ndarray, predictions: np.ndarray, counts: np.ndarray, n_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Macro-F1, micro-F1 and accuracy of every seed under many resamplings at once.

    ``y_true [N]``, ``predictions [S, N]`` (``UNSCORED`` where not scored), ``counts [B, N]``:
    how often each resampling draws each post. Returns ``[B, S]`` arrays (macro, micro,
    accuracy, and ``valid``: the resampling drew at least one post the seed scored). Each
    count is a matrix product ``counts @ indicator``, so 1,000 replicates of 5 seeds cost
    milliseconds.
    """
    scored = predictions != UNSCORED  # [S, N]
    classes = np.arange(n_classes)
    is_true = (y_true[None, :, None] == classes) & scored[:, :, None]  # [S, N, C]
    is_pred = (predictions[:, :, None] == classes) & scored[:, :, None]

    def weighted(indicator: np.ndarray) -> np.ndarray:  # [S, N, ...] -> [B, S, ...]
        flat = indicator.transpose(1, 0, *range(2, indicator.ndim)).reshape(len(y_true), -1)
        return (counts @ flat.astype(np.float64)).reshape(
            (counts.shape[0], *indicator.shape[:1], *indicator.shape[2:])
        )

    tp = weighted(is_true & is_pred)
    fp = weighted(~is_true & is_pred)
    fn = weighted(is_true & ~is_pred)
    total = weighted(scored)
    correct = weighted((predictions == y_true[None, :]) & scored)
    with np.errstate(invalid="ignore", divide="ignore"):
        denominator = 2 * tp + fp + fn
        per_class = np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1e-12), 0.0)
        accuracy = np.where(total > 0, correct / np.maximum(total, 1e-12), 0.0)
        tp_all, fp_all, fn_all = tp.sum(-1), fp.sum(-1), fn.sum(-1)
        micro_den = 2 * tp_all + fp_all + fn_all
        micro = np.where(micro_den > 0, 2 * tp_all / np.maximum(micro_den, 1e-12), 0.0)
    return per_class.mean(-1), micro, accuracy, total > 0


def confusion_counts(y_true: Any, y_pred: Any, n_classes: int) -> np.ndarray:
    """Confusion matrix [C, C] (rows: truth, columns: prediction) over the scored posts.

    The same numbers as scikit-learn's ``confusion_matrix``, from one ``bincount``: sklearn's
    input validation costs about a second per call on the 2-core machine, and a run makes
    hundreds of calls.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    scored = y_pred != UNSCORED
    flat = y_true[scored] * n_classes + y_pred[scored]
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def metrics_from_confusion(confusion: np.ndarray) -> dict[str, Any] | None:
    """Accuracy, macro-F1, micro-F1 and per-class F1 (scikit-learn's definitions with
    ``zero_division=0``) from a confusion matrix; ``None`` when it is empty."""
    total = confusion.sum()
    if total == 0:
        return None
    tp = np.diag(confusion).astype(np.float64)
    fp = confusion.sum(axis=0) - tp
    fn = confusion.sum(axis=1) - tp
    denominator = 2 * tp + fp + fn
    per_class = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    micro_den = 2 * tp.sum() + fp.sum() + fn.sum()
    return {
        "accuracy": float(tp.sum() / total),
        "f1_macro": float(per_class.mean()),
        "f1_micro": float(2 * tp.sum() / micro_den),
        "per_class_f1": [float(v) for v in per_class],
    }


def point_metrics(y_true: Any, y_pred: Any, n_classes: int) -> dict[str, Any] | None:
    """Accuracy, macro-F1, micro-F1 and per-class F1 of one seed over the posts it scored."""
    return metrics_from_confusion(confusion_counts(y_true, y_pred, n_classes))


def bootstrap_intervals(
    y_true: Any,
    predictions: Any,
    n_classes: int,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, tuple[float, float]] | None:
    """Percentile bootstrap interval of each metric's mean over seeds, resampling test posts.

    ``predictions`` is ``[S, N]`` (or ``[N]`` for one seed). Seeded: the same inputs give the
    same interval. ``None`` when no post was scored.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    preds = _as_seed_matrix(predictions)
    scored = preds != UNSCORED
    if not scored.any():
        return None
    rng = np.random.default_rng(seed)
    n = y_true.shape[0]
    # counts[b, i]: how often replicate b draws post i (a multinomial draw = sampling with
    # replacement); the same draw for every seed, so seed noise is not double counted.
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)
    macro, micro, accuracy, valid = _weighted_f1(y_true, preds, counts, n_classes)
    # a replicate where a seed scored nothing has no metric for that seed: left out below
    tail = (1.0 - confidence) / 2.0
    intervals = {}
    for name, values in (("accuracy", accuracy), ("f1_macro", macro), ("f1_micro", micro)):
        masked = np.where(valid, values, np.nan)
        replicate_means = np.nanmean(masked, axis=1)
        replicate_means = replicate_means[~np.isnan(replicate_means)]
        low, high = np.quantile(replicate_means, [tail, 1.0 - tail])
        intervals[name] = (float(low), float(high))
    return intervals


def summarize(
    y_true: Any,
    predictions: Any,
    n_classes: int,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Everything metrics.json holds for one (dataset, model, condition).

    Returns ``{"accuracy": {"mean", "std", "ci_low", "ci_high", "per_seed"}, "f1_macro": ...,
    "f1_micro": ..., "per_class_f1", "confusion", "n_scored", "n_unscored"}``. A metric is
    ``None`` where the model scored no post. ``confusion`` is summed over seeds (rows: truth,
    columns: prediction, scored posts only); ``per_class_f1`` is the mean over seeds.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    preds = _as_seed_matrix(predictions)
    # a post counts as scored when every seed scored it (scorability depends on which
    # modalities the post has, not on the seed, so in practice all seeds agree)
    scored_every_seed = (preds != UNSCORED).all(axis=0)
    n_scored = int(scored_every_seed.sum())
    result: dict[str, Any] = {"n_scored": n_scored, "n_unscored": int(len(y_true) - n_scored)}
    per_seed = [point_metrics(y_true, p, n_classes) for p in preds]
    if all(m is None for m in per_seed):
        result.update({name: None for name in METRICS})
        result["per_class_f1"] = None
        result["confusion"] = None
        return result
    intervals = bootstrap_intervals(y_true, preds, n_classes, n_boot=n_boot, seed=seed)
    for name in METRICS:
        values = [m[name] for m in per_seed if m is not None]
        result[name] = {
            "mean": float(np.mean(values)),
            "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            "ci_low": intervals[name][0],
            "ci_high": intervals[name][1],
            "per_seed": [None if m is None else m[name] for m in per_seed],
        }
    confusion = sum(confusion_counts(y_true, p, n_classes) for p in preds)
    per_class = [m["per_class_f1"] for m in per_seed if m is not None]
    result["per_class_f1"] = [float(v) for v in np.mean(per_class, axis=0)]
    result["confusion"] = confusion.tolist()
    return result


@dataclass
class McNemarResult:
    model_a: str
    model_b: str
    condition: str
    n_both_scored: int
    only_a_correct: int  # discordant: a right, b wrong
    only_b_correct: int
    method: str  # "exact" or "chi2"
    statistic: float
    p_value: float
    p_holm: float = float("nan")
    significant: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def consensus_correct(y_true: Any, predictions: Any) -> np.ndarray:
    """Per post: correct for more than half of the seeds (unscored counts as not correct)."""
    preds = _as_seed_matrix(predictions)
    correct = preds == np.asarray(y_true)[None, :]
    return correct.sum(axis=0) * 2 > preds.shape[0]


def mcnemar_pair(
    y_true: Any, predictions_a: Any, predictions_b: Any
) -> tuple[int, int, int, str, float, float] | None:
    """McNemar test of two models on the posts both scored (in every seed).

    Returns ``(n_both_scored, only_a_correct, only_b_correct, method, statistic, p_value)``,
    or ``None`` when no post was scored by both.
    """
    from statsmodels.stats.contingency_tables import mcnemar

    y_true = np.asarray(y_true)
    a = _as_seed_matrix(predictions_a)
    b = _as_seed_matrix(predictions_b)
    both = (a != UNSCORED).all(axis=0) & (b != UNSCORED).all(axis=0)
    if not both.any():
        return None
    correct_a = consensus_correct(y_true[both], a[:, both])
    correct_b = consensus_correct(y_true[both], b[:, both])
    table = np.array(
        [
            [np.sum(correct_a & correct_b), np.sum(correct_a & ~correct_b)],
            [np.sum(~correct_a & correct_b), np.sum(~correct_a & ~correct_b)],
        ]
    )
    discordant = int(table[0, 1] + table[1, 0])
    exact = discordant < EXACT_MCNEMAR_BELOW
    test = mcnemar(table, exact=exact, correction=True)
    return (
        int(both.sum()),
        int(table[0, 1]),
        int(table[1, 0]),
        "exact" if exact else "chi2",
        float(test.statistic),
        float(test.pvalue),
    )


def holm(p_values: list[float], alpha: float = 0.05) -> tuple[list[float], list[bool]]:
    """Holm-Bonferroni adjusted p-values and rejections (statsmodels ``multipletests``)."""
    from statsmodels.stats.multitest import multipletests

    if not p_values:
        return [], []
    reject, adjusted, _, _ = multipletests(p_values, alpha=alpha, method="holm")
    return [float(p) for p in adjusted], [bool(r) for r in reject]


def mcnemar_all_pairs(
    y_true: Any,
    predictions_by_model: dict[str, Any],
    condition: str,
    alpha: float = 0.05,
) -> list[McNemarResult]:
    """McNemar between every pair of models (in the dict's order), Holm-corrected together.

    Pairs with no post scored by both are left out (there is nothing to compare).
    """
    results = []
    for name_a, name_b in combinations(list(predictions_by_model), 2):
        test = mcnemar_pair(y_true, predictions_by_model[name_a], predictions_by_model[name_b])
        if test is None:
            continue
        n_both, only_a, only_b, method, statistic, p_value = test
        results.append(
            McNemarResult(
                name_a, name_b, condition, n_both, only_a, only_b, method, statistic, p_value
            )
        )
    adjusted, reject = holm([r.p_value for r in results], alpha=alpha)
    for result, p_holm, significant in zip(results, adjusted, reject, strict=True):
        result.p_holm = p_holm
        result.significant = significant
    return results


def probabilities_to_predictions(probs: Any) -> np.ndarray:
    """Argmax of ``[..., N, C]`` probabilities; ``UNSCORED`` where a row is NaN."""
    probs = np.asarray(probs, dtype=np.float64)
    unscored = np.isnan(probs).any(axis=-1)
    predictions = np.argmax(np.nan_to_num(probs, nan=-np.inf), axis=-1)
    return np.where(unscored, UNSCORED, predictions).astype(np.int64)
