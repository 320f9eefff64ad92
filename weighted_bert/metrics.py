"""Classification metrics, on scikit-learn.

Conventions: a precision or recall whose denominator is zero (a class never predicted,
or absent from the gold labels) counts as 0, scikit-learn's ``zero_division=0``. Macro
averages run over the classes that occur in the gold labels or the predictions
(scikit-learn's default), so a class absent from both does not drag a macro average
down with a meaningless 0.

Shot groups (Kang et al. / Liu et al. long-tail convention): a class is *many*-shot
when its training count is above ``many_threshold``, *few*-shot when it is below
``few_threshold``, *medium* otherwise. Defaults 60 and 20 suit CLINC150-LT (counts 1 to
100); the usual ImageNet-LT values are 100 and 20.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, classification_report, precision_recall_fscore_support

MANY_THRESHOLD = 60
FEW_THRESHOLD = 20


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, float]:
    """Accuracy and macro precision/recall/F1 and weighted F1 (keys without a prefix)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
    _, _, wf, _ = precision_recall_fscore_support(y_true, y_pred, average="weighted", zero_division=0)
    return {"accuracy": float(accuracy_score(y_true, y_pred)), "macro_f1": float(f),
            "macro_precision": float(p), "macro_recall": float(r), "weighted_f1": float(wf)}


def shot_group(count: int, many_threshold: int = MANY_THRESHOLD, few_threshold: int = FEW_THRESHOLD) -> str:
    if count > many_threshold:
        return "many"
    if count < few_threshold:
        return "few"
    return "medium"


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
