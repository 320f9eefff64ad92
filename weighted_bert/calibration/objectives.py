"""What a decision is fitted for (``calibrate --objective``), each a score where higher is better.

* ``macro_f1``: mean F1 over the classes in gold or predictions.
* ``balanced_accuracy``: mean recall over the classes in gold (scikit-learn's).
* ``accuracy``: accuracy under the target prior: dev examples weighted by
  ``target(c) / dev(c)`` for their gold class ``c``, so dev counts as if its classes came in
  the deployment's frequencies.
* ``cost``: minus the expected cost under the target prior, ``C[gold, predicted]`` (rows
  gold, columns predicted) divided by the largest cost, so that gains read on the same 0-1
  scale as the others; the decision is the Bayes one (least expected cost under the
  calibrated probabilities).
* ``recall_at_precision``: the recall of one class while its precision is at least the
  minimum; below it, ``precision - 1`` (always worse than any decision that meets it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import OBJECTIVES, PRIOR_OBJECTIVES  # noqa: F401 (the choices, where the schema reads them)
from .record import decide


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> float:
    """Macro-F1 over the classes present in gold or predictions (as metrics.py), fast."""
    tp = np.bincount(y_true[y_true == y_pred], minlength=k).astype(float)
    gold = np.bincount(y_true, minlength=k).astype(float)
    predicted = np.bincount(y_pred, minlength=k).astype(float)
    present = (gold + predicted) > 0
    f1 = np.divide(2 * tp, gold + predicted, out=np.zeros(k), where=present)
    return float(f1[present].mean()) if present.any() else 0.0


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> float:
    gold = np.bincount(y_true, minlength=k).astype(float)
    tp = np.bincount(y_true[y_true == y_pred], minlength=k).astype(float)
    present = gold > 0
    return float((tp[present] / gold[present]).mean()) if present.any() else 0.0


def log_prior_from_counts(counts) -> np.ndarray:
    counts = np.maximum(np.asarray(counts, dtype=float), 1.0)  # a class never seen counts as one
    return np.log(counts / counts.sum())


def importance_weights(target_log_prior: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Per class, ``target(c) / dev(c)`` (0 for classes dev lacks: they cannot be scored)."""
    dev = np.bincount(y, minlength=k) / max(len(y), 1)
    target = np.exp(target_log_prior - np.max(target_log_prior))
    target = target / target.sum()
    return np.divide(target, dev, out=np.zeros(k), where=dev > 0)


@dataclass
class Objective:
    name: str
    k: int
    class_weights: np.ndarray | None = None  # importance weights per gold class (accuracy, cost)
    costs: np.ndarray | None = None
    target_class: int | None = None
    min_precision: float | None = None
    target_log_prior: np.ndarray | None = None  # added to the logits before deciding (accuracy, cost)

    def decide(self, logits: np.ndarray) -> np.ndarray:
        if self.costs is None:
            return np.asarray(logits).argmax(axis=1)
        z = np.asarray(logits, dtype=np.float64)
        p = np.exp(z - z.max(axis=1, keepdims=True))
        return decide(p / p.sum(axis=1, keepdims=True), costs=self.costs)

    def score(self, y: np.ndarray, pred: np.ndarray) -> float:
        if self.name == "macro_f1":
            return macro_f1(y, pred, self.k)
        if self.name == "balanced_accuracy":
            return balanced_accuracy(y, pred, self.k)
        if self.name == "recall_at_precision":
            return recall_at_precision_score(y, pred, self.target_class, self.min_precision)
        w = self.class_weights[y] if self.class_weights is not None else np.ones(len(y))
        total = w.sum()
        if total <= 0:
            return 0.0
        if self.name == "accuracy":
            return float((w * (y == pred)).sum() / total)
        return float(-(w * self.costs[y, pred]).sum() / total / max(self.costs.max(), 1e-12))


def recall_at_precision_score(y: np.ndarray, pred: np.ndarray, c: int, min_precision: float) -> float:
    chosen = pred == c
    tp = float((chosen & (y == c)).sum())
    precision = tp / chosen.sum() if chosen.any() else 0.0
    positives = (y == c).sum()
    recall = tp / positives if positives else 0.0
    return recall if precision >= min_precision and chosen.any() else precision - 1.0


def class_bias_for_precision(logits: np.ndarray, y: np.ndarray, c: int, min_precision: float) -> float:
    """The bias on class ``c``'s logit that gives the highest recall of ``c`` at precision
    ``>= min_precision`` (among equal recalls, the fewest texts given ``c``), found exactly:
    with margin ``m = z_c - max_other z``, a bias ``b`` gives ``c`` to the texts with ``m + b > 0``."""
    z = np.asarray(logits, dtype=np.float64)
    others = np.delete(z, c, axis=1).max(axis=1) if z.shape[1] > 1 else np.full(len(z), -np.inf)
    margin = z[:, c] - others
    order = np.argsort(-margin, kind="stable")
    hits = np.concatenate([[0.0], np.cumsum(y[order] == c)])
    taken = np.arange(len(order) + 1)
    positives = max(int((y == c).sum()), 1)
    precision = np.divide(hits, taken, out=np.zeros_like(hits), where=taken > 0)
    recall = hits / positives
    score = np.where((precision >= min_precision) & (taken > 0), recall, precision - 1.0)
    best = int(np.flatnonzero(score == score.max())[0])  # the fewest texts at the best score
    m = margin[order]
    if best == 0:
        return float(-(m[0] + 1.0)) if len(m) else 0.0  # nothing given c
    if best == len(m):
        return float(-(m[-1] - 1.0))
    return float(-(m[best - 1] + m[best]) / 2)  # half way between the last taken and the first left
