"""Multi-label metrics, in NumPy (fast enough to sit inside a threshold search), each
equal to scikit-learn's (tested).

``y`` is the 0/1 gold matrix (rows x labels), ``pred`` the 0/1 decisions, ``scores`` the
sigmoid probabilities. Conventions:

* per-label precision/recall/F1 with a zero denominator count 0 (``zero_division=0``);
  macro averages run over the labels that occur in the gold sets or the predictions (a
  label absent from both says nothing about the model), like the single-label metrics;
* ``samples_f1``: F1 of each row's set, averaged; a row with no gold and no predicted
  label is right (``zero_division=1``: the empty set was the answer);
* average precision per label is scikit-learn's (no interpolation), over the labels with
  a gold positive; ``map`` is their mean; ``lrap`` is scikit-learn's label-ranking average
  precision (a row without gold label scores 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..shot_groups import FEW_THRESHOLD, MANY_THRESHOLD, shot_group


def counts(y: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per label: true positives, false positives, false negatives."""
    y, pred = np.asarray(y, dtype=bool), np.asarray(pred, dtype=bool)
    return (y & pred).sum(axis=0), (~y & pred).sum(axis=0), (y & ~pred).sum(axis=0)


def f1_from_counts(tp, fp, fn) -> np.ndarray:
    tp, fp, fn = (np.asarray(x, dtype=float) for x in (tp, fp, fn))
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.zeros_like(denominator), where=denominator > 0)


def macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    """Macro-F1 over the labels in the gold or predicted sets (single-label: the classes)."""
    tp, fp, fn = counts(y, pred)
    seen = (tp + fp + fn) > 0
    return float(f1_from_counts(tp, fp, fn)[seen].mean()) if seen.any() else 0.0


def micro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    tp, fp, fn = counts(y, pred)
    return float(f1_from_counts(tp.sum(), fp.sum(), fn.sum()))


def per_label_scores(y: np.ndarray, pred: np.ndarray) -> dict[str, np.ndarray]:
    tp, fp, fn = counts(y, pred)
    precision = np.divide(tp, tp + fp, out=np.zeros(len(tp)), where=(tp + fp) > 0)
    recall = np.divide(tp, tp + fn, out=np.zeros(len(tp)), where=(tp + fn) > 0)
    return {"precision": precision, "recall": recall, "f1": f1_from_counts(tp, fp, fn), "support": tp + fn,
            "predicted": tp + fp}


def average_precision(y_column: np.ndarray, scores: np.ndarray) -> float:
    """scikit-learn's average precision of one label: sum over the ranked positives of
    (recall step) x precision at that rank, ties taken together."""
    y_column = np.asarray(y_column, dtype=bool)
    positives = y_column.sum()
    if positives == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    s, hit = scores[order], y_column[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # thresholds: each distinct score
    tp = np.cumsum(hit)[last_of_tie]
    precision = tp / (last_of_tie + 1)
    recall_step = np.diff(np.r_[0, tp]) / positives
    return float((recall_step * precision).sum())


def lrap(y: np.ndarray, scores: np.ndarray) -> float:
    """Label-ranking average precision (scikit-learn's): for each gold label of a row, the
    share of the labels ranked at or above it that are gold; rows without one score 1."""
    y = np.asarray(y, dtype=bool)
    total = 0.0
    for row_y, row_s in zip(y, scores):
        gold = np.flatnonzero(row_y)
        if len(gold) == 0 or len(gold) == len(row_y):
            total += 1.0
            continue
        at_or_above = (row_s[None, :] >= row_s[gold][:, None])  # gold x labels
        total += float(np.mean(at_or_above[:, row_y].sum(axis=1) / at_or_above.sum(axis=1)))
    return total / len(y) if len(y) else 0.0


def samples_f1(y: np.ndarray, pred: np.ndarray) -> float:
    y, pred = np.asarray(y, dtype=bool), np.asarray(pred, dtype=bool)
    tp = (y & pred).sum(axis=1)
    denominator = y.sum(axis=1) + pred.sum(axis=1)
    return float(np.mean(np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 1.0))) if len(y) else 0.0


def binary_nll(y: np.ndarray, scores: np.ndarray) -> float:
    """Mean binary cross-entropy of the probabilities over every row and label (the
    multi-label ``nll``: lower is better, comparable across losses)."""
    p = np.clip(np.asarray(scores, dtype=float), 1e-12, 1 - 1e-12)
    y = np.asarray(y, dtype=float)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def multilabel_metrics(y: np.ndarray, pred: np.ndarray, scores: np.ndarray | None = None, *,
                       train_counts: Sequence[int] | None = None, many_threshold: int = MANY_THRESHOLD,
                       few_threshold: int = FEW_THRESHOLD) -> dict:
    """Every headline number of a multi-label evaluation (keys as in the results files)."""
    y, pred = np.asarray(y, dtype=bool), np.asarray(pred, dtype=bool)
    per = per_label_scores(y, pred)
    seen = (per["support"] + per["predicted"]) > 0
    tp, fp, fn = (c.sum() for c in counts(y, pred))
    metrics = {
        "micro_f1": float(f1_from_counts(tp, fp, fn)),
        "micro_precision": float(tp / (tp + fp)) if tp + fp else 0.0,
        "micro_recall": float(tp / (tp + fn)) if tp + fn else 0.0,
        "macro_f1": float(per["f1"][seen].mean()) if seen.any() else 0.0,
        "macro_precision": float(per["precision"][seen].mean()) if seen.any() else 0.0,
        "macro_recall": float(per["recall"][seen].mean()) if seen.any() else 0.0,
        "samples_f1": samples_f1(y, pred),
        "hamming_loss": float((y != pred).mean()) if y.size else 0.0,
        "subset_accuracy": float((y == pred).all(axis=1).mean()) if len(y) else 0.0,
        "label_cardinality": float(pred.sum(axis=1).mean()) if len(y) else 0.0,
    }
    if scores is not None:
        aps = [average_precision(y[:, j], scores[:, j]) for j in range(y.shape[1]) if y[:, j].any()]
        metrics.update({"map": float(np.mean(aps)) if aps else 0.0, "lrap": lrap(y, scores),
                        "nll": binary_nll(y, scores)})
    if train_counts is not None:
        groups = np.array([shot_group(c, many_threshold, few_threshold) for c in train_counts])
        for group in ("many", "medium", "few"):
            chosen = seen & (groups == group)
            if chosen.any():
                metrics[f"{group}_shot_macro_f1"] = float(per["f1"][chosen].mean())
    return metrics


def per_label_table(y: np.ndarray, pred: np.ndarray, scores: np.ndarray, labels: Sequence[str], *,
                    train_counts: Sequence[int] | None = None, thresholds: Sequence[float] | None = None,
                    many_threshold: int = MANY_THRESHOLD, few_threshold: int = FEW_THRESHOLD) -> list[dict]:
    """One row per label: training count and group, gold support, precision, recall, F1,
    average precision, and its decision threshold."""
    per = per_label_scores(y, pred)
    rows = []
    for j, label in enumerate(labels):
        count = None if train_counts is None else int(train_counts[j])
        ap = average_precision(np.asarray(y)[:, j], scores[:, j])
        rows.append({"label": label, "train_count": count,
                     "group": None if count is None else shot_group(count, many_threshold, few_threshold),
                     "support": int(per["support"][j]), "predicted": int(per["predicted"][j]),
                     "precision": float(per["precision"][j]), "recall": float(per["recall"][j]),
                     "f1": float(per["f1"][j]), "average_precision": None if np.isnan(ap) else ap,
                     "threshold": None if thresholds is None else float(thresholds[j])})
    return rows
