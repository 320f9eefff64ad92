"""Classification metrics, on scikit-learn.

Conventions: a precision or recall whose denominator is zero (a class never predicted,
or absent from the gold labels) counts as 0, scikit-learn's ``zero_division=0``. Macro
averages run over the classes that occur in the gold labels or the predictions
(scikit-learn's default), so a class absent from both does not drag a macro average
down with a meaningless 0.

Shot groups (many, medium, few): :mod:`weighted_bert.shot_groups`, with their thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    classification_report,
    confusion_matrix,
    matthews_corrcoef,
    precision_recall_fscore_support,
)

from .shot_groups import FEW_THRESHOLD, MANY_THRESHOLD, shot_group

ECE_BINS = 15
DENSE_CONFUSION_UP_TO = 50  # a full K x K matrix in the results only while it stays readable


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, float]:
    """Accuracy and macro precision/recall/F1 and weighted F1 (keys without a prefix)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
    _, _, wf, _ = precision_recall_fscore_support(y_true, y_pred, average="weighted", zero_division=0)
    return {"accuracy": float(accuracy_score(y_true, y_pred)), "macro_f1": float(f),
            "macro_precision": float(p), "macro_recall": float(r), "weighted_f1": float(wf)}


def expected_calibration_error(confidence: Sequence[float], correct: Sequence[bool], n_bins: int = ECE_BINS) -> float:
    """Top-label ECE (Guo et al., ICML 2017): ``sum_b |B_b|/n * |accuracy(B_b) - confidence(B_b)|``
    over ``n_bins`` equal-width bins of the top-label probability; bin b holds
    confidences in ``(b/n_bins, (b+1)/n_bins]`` (a confidence of 0 goes to the first bin)."""
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    if confidence.size == 0:
        return 0.0
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    ece = 0.0
    for b in np.unique(bins):
        mask = bins == b
        ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def reliability_bins(confidence: Sequence[float], correct: Sequence[bool], n_bins: int = ECE_BINS) -> list[dict]:
    """Per bin: its edges, example count, mean confidence and accuracy (None when empty)."""
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        mask = bins == b
        rows.append({"low": b / n_bins, "high": (b + 1) / n_bins, "count": int(mask.sum()),
                     "confidence": float(confidence[mask].mean()) if mask.any() else None,
                     "accuracy": float(correct[mask].mean()) if mask.any() else None})
    return rows


def full_metrics(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str], *,
                 confidence: Sequence[float] | None = None, train_counts: Sequence[int] | None = None,
                 many_threshold: int = MANY_THRESHOLD, few_threshold: int = FEW_THRESHOLD,
                 probabilities: np.ndarray | None = None) -> dict:
    """Every metric we report: :func:`classification_metrics`, balanced accuracy, micro
    averages, Matthews correlation, ECE (with ``confidence``, the top-label probability),
    shot-group accuracy (with ``train_counts``), per-class scores, the threshold-free scores
    of :func:`threshold_free` (with ``probabilities``), the non-zero confusions
    and, up to ``DENSE_CONFUSION_UP_TO`` classes, the confusion matrix (rows gold, columns
    predicted, in label order)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    k = len(labels)
    metrics = classification_metrics(y_true, y_pred)
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="micro", zero_division=0)
    wp, wr, _, _ = precision_recall_fscore_support(y_true, y_pred, average="weighted", zero_division=0)
    metrics.update({
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        "micro_precision": float(p), "micro_recall": float(r), "micro_f1": float(f),
        "weighted_precision": float(wp), "weighted_recall": float(wr),
        "mcc": float(matthews_corrcoef(y_true, y_pred)) if len(y_true) else 0.0,
    })
    if confidence is not None:
        metrics["ece"] = expected_calibration_error(confidence, y_true == y_pred)
    if train_counts is not None:
        metrics.update(shot_accuracy(y_true, y_pred, train_counts, many_threshold=many_threshold,
                                     few_threshold=few_threshold))
    cp, cr, cf, support = precision_recall_fscore_support(y_true, y_pred, labels=list(range(k)), average=None,
                                                          zero_division=0)
    metrics["per_class"] = [
        {"label": labels[c], "precision": float(cp[c]), "recall": float(cr[c]), "f1": float(cf[c]),
         "support": int(support[c]),
         **({"train_count": int(train_counts[c]),
             "shot_group": shot_group(train_counts[c], many_threshold, few_threshold)} if train_counts else {})}
        for c in range(k)]
    if probabilities is not None:
        scores = threshold_free(y_true, probabilities)
        for c, row in enumerate(metrics["per_class"]):
            row["average_precision"], row["auroc"] = scores["average_precision"][c], scores["auroc"][c]
        metrics.update({key: scores[key] for key in ("macro_average_precision", "macro_auroc", "nll", "brier")})
    metrics["confusions"] = confusions(y_true, y_pred, labels)
    if k <= DENSE_CONFUSION_UP_TO:
        metrics["confusion_matrix"] = confusion_matrix(y_true, y_pred, labels=list(range(k))).tolist()
    return metrics


def threshold_free(y_true: Sequence[int], probabilities: np.ndarray) -> dict:
    """Scores of the probabilities themselves, before any decision rule:

    * per class, ``average_precision`` (scikit-learn's ``average_precision_score``: the mean
      precision at each recall step, ranking all examples by that class's probability) and
      ``auroc`` (one-vs-rest ROC AUC), for classes with at least one gold example (None for
      the others, where neither is defined), and their macro averages over those classes;
    * ``nll``, the mean negative log-probability of the gold class (plain cross-entropy,
      comparable across recipes whatever loss trained them);
    * ``brier``, the mean over examples of sum_c (p_c - 1[c = y])^2.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    y, p = np.asarray(y_true, dtype=np.int64), np.asarray(probabilities, dtype=np.float64)
    n, k = p.shape
    ap, auroc = [None] * k, [None] * k
    for c in np.unique(y):  # only classes with gold examples: at most n of them, whatever k is
        positive = y == c
        ap[c] = float(average_precision_score(positive, p[:, c]))
        auroc[c] = float(roc_auc_score(positive, p[:, c])) if not positive.all() else None
    defined = [v for v in ap if v is not None]
    ranked = [v for v in auroc if v is not None]
    onehot_sum = np.sum(p * p, axis=1) - 2 * p[np.arange(n), y] + 1
    return {"average_precision": ap, "auroc": auroc,
            "macro_average_precision": float(np.mean(defined)) if defined else None,
            "macro_auroc": float(np.mean(ranked)) if ranked else None,
            "nll": float(-np.mean(np.log(np.clip(p[np.arange(n), y], np.finfo(np.float64).eps, 1)))),
            "brier": float(np.mean(onehot_sum))}


def confusions(y_true, y_pred, labels: Sequence[str]) -> list[dict]:
    """Every off-diagonal cell of the confusion matrix that is not zero, largest first:
    ``{"gold", "predicted", "count"}``. Linear in the examples, whatever the number of classes."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    wrong = y_true != y_pred
    if not wrong.any():
        return []
    cells, counts = np.unique(np.stack([y_true[wrong], y_pred[wrong]], axis=1), axis=0, return_counts=True)
    order = sorted(range(len(counts)), key=lambda i: (-counts[i], cells[i][0], cells[i][1]))
    return [{"gold": labels[cells[i][0]], "predicted": labels[cells[i][1]], "count": int(counts[i])} for i in order]


def shot_accuracy(y_true: Sequence[int], y_pred: Sequence[int], train_counts: Sequence[int], *,
                  many_threshold: int = MANY_THRESHOLD, few_threshold: int = FEW_THRESHOLD) -> dict[str, float]:
    """Accuracy over the examples whose gold class is many-, medium- or few-shot.

    A group with no gold example is left out of the result rather than reported as 0.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    groups = np.array([shot_group(c, many_threshold, few_threshold) for c in train_counts])
    result = {}
    for name in ("many", "medium", "few"):
        mask = groups[y_true] == name if len(y_true) else np.zeros(0, bool)
        if mask.any():
            result[f"{name}_shot_accuracy"] = float((y_true[mask] == y_pred[mask]).mean())
    return result


def per_class_report(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> str:
    """scikit-learn's text report over every class of the label map."""
    return classification_report(y_true, y_pred, labels=list(range(len(labels))), target_names=list(labels),
                                 digits=4, zero_division=0)
