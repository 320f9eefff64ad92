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

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from . import OBJECTIVES, PRIOR_OBJECTIVES  # noqa: F401 (the choices, where the schema reads them)
from .record import decide

TAU_GRID = np.round(np.arange(-1.0, 3.0 + 1e-9, 0.05), 2)  # negative: back toward the head classes
BIAS_GRID = np.arange(-2.0, 2.0 + 1e-9, 0.25)


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


def fit_tau(objective: Objective, z: np.ndarray, y: np.ndarray, log_prior: np.ndarray, grid=TAU_GRID) -> float:
    """The tau of ``grid`` whose shift scores best on dev; among ties, the one nearest the
    objective's neutral tau (the least change)."""
    scores = np.array([objective.score(y, objective.decide(objective.shifted(z, log_prior, t, None))) for t in grid])
    best = np.flatnonzero(scores >= scores.max() - 1e-12)
    return float(grid[best[np.argmin(np.abs(grid[best] - objective.neutral_tau))]])


def fit_biases(objective: Objective, z: np.ndarray, y: np.ndarray, passes: int = 2, grid=BIAS_GRID) -> np.ndarray:
    biases = np.zeros(z.shape[1])
    best = objective.score(y, objective.decide(z))
    for _ in range(passes):
        for c in range(z.shape[1]):
            keep = biases[c]
            for b in grid:
                biases[c] = b
                score = objective.score(y, objective.decide(z + biases))
                if score > best + 1e-12:
                    best, keep = score, b
            biases[c] = keep
    return biases


# name -> the Objective subclass (register_objective); the names are calibration.OBJECTIVES
OBJECTIVE_TYPES: dict[str, type] = {}


def register_objective(cls):
    """Register an :class:`Objective` subclass under its ``name``."""
    if cls.name in OBJECTIVE_TYPES:
        raise TypeError(f"objective {cls.name!r} is registered twice")
    OBJECTIVE_TYPES[cls.name] = cls
    return cls


def make_objective(name: str, k: int, **settings) -> Objective:
    """Objective ``name`` for ``k`` classes with its ``settings`` (see each class's fields)."""
    if name not in OBJECTIVE_TYPES:
        raise ValueError(f"unknown objective {name!r}; the objectives: {', '.join(OBJECTIVE_TYPES)}")
    return OBJECTIVE_TYPES[name](k=k, **settings)


@dataclass
class Objective(ABC):
    """What a decision is fitted for: a score on dev (higher is better), the decision it
    scores, and the adjustment fitted for it (a logit shift ``-tau log(train prior)``,
    optionally per-class biases). ``stated`` objectives carry the user's own statement of
    what errors cost, which is applied as asked; only what is fitted beyond it is guarded
    against noise."""

    name: ClassVar[str]
    stated: ClassVar[bool] = False
    k: int
    target_log_prior: np.ndarray | None = None  # added to the logits before deciding (accuracy, cost)

    def decide(self, logits: np.ndarray) -> np.ndarray:
        return np.asarray(logits).argmax(axis=1)

    @abstractmethod
    def score(self, y: np.ndarray, pred: np.ndarray) -> float:
        """The objective on dev for predictions ``pred`` of gold ``y``; higher is better."""

    @property
    def neutral_tau(self) -> float:
        """The shift that changes nothing the data must justify: none, or with a target prior
        the Bayes one from the training prior (tau 1)."""
        return 0.0 if self.target_log_prior is None else 1.0

    def fit(self, z: np.ndarray, y: np.ndarray, log_prior: np.ndarray, *, per_class_bias: bool = False):
        """``(tau, biases or None)`` fitted on ``z`` (already divided by T)."""
        tau = fit_tau(self, z, y, log_prior)
        return tau, fit_biases(self, self.shifted(z, log_prior, tau, None), y) if per_class_bias else None

    def shifted(self, z, log_prior, tau: float, biases) -> np.ndarray:
        out = z - tau * log_prior
        if self.target_log_prior is not None:
            out = out + self.target_log_prior
        return out + biases if biases is not None else out

    def fitted_text(self, tau: float, biases) -> str:
        """The fitted adjustment, in words (what ``calibrate`` prints)."""
        return f"tau {tau:g}" + (" and per-class biases" if biases is not None else "")

    def settings(self) -> dict:
        """What ``calibration.json`` keeps of this objective (beyond its name)."""
        return {}


@register_objective
@dataclass
class MacroF1(Objective):
    """Mean F1 over the classes in gold or predictions."""

    name: ClassVar[str] = "macro_f1"

    def score(self, y, pred) -> float:
        return macro_f1(y, pred, self.k)


@register_objective
@dataclass
class BalancedAccuracy(Objective):
    """Mean recall over the classes in gold (scikit-learn's)."""

    name: ClassVar[str] = "balanced_accuracy"

    def score(self, y, pred) -> float:
        return balanced_accuracy(y, pred, self.k)


@register_objective
@dataclass
class PriorAccuracy(Objective):
    """Accuracy under the target prior: dev rows weighted by ``target(c) / dev(c)``."""

    name: ClassVar[str] = "accuracy"
    class_weights: np.ndarray | None = None  # importance weights per gold class

    def weighted_mean(self, y, values) -> float:
        """The mean of per-row ``values`` under the importance weights of the rows' gold classes."""
        w = self.class_weights[y] if self.class_weights is not None else np.ones(len(y))
        total = w.sum()
        return float((w * values).sum() / total) if total > 0 else 0.0

    def score(self, y, pred) -> float:
        return self.weighted_mean(y, y == pred)


@register_objective
@dataclass
class ExpectedCost(PriorAccuracy):
    """Minus the expected cost under the target prior, ``C[gold, predicted]`` over the largest
    cost; the decision is the Bayes one. The costs are the user's statement (``stated``)."""

    name: ClassVar[str] = "cost"
    stated: ClassVar[bool] = True
    costs: np.ndarray | None = None  # rows gold, columns predicted

    def decide(self, logits) -> np.ndarray:
        z = np.asarray(logits, dtype=np.float64)
        p = np.exp(z - z.max(axis=1, keepdims=True))
        return decide(p / p.sum(axis=1, keepdims=True), costs=self.costs)

    def score(self, y, pred) -> float:
        return -self.weighted_mean(y, self.costs[y, pred]) / max(self.costs.max(), 1e-12)


@register_objective
@dataclass
class RecallAtPrecision(Objective):
    """The recall of one class while its precision is at least the minimum; one bias on that
    class, found exactly (:func:`class_bias_for_precision`)."""

    name: ClassVar[str] = "recall_at_precision"
    target_class: int = 0
    min_precision: float = 0.0
    class_name: str | None = None  # the label of target_class, for what is printed

    def score(self, y, pred) -> float:
        return recall_at_precision_score(y, pred, self.target_class, self.min_precision)

    def fit(self, z, y, log_prior, *, per_class_bias: bool = False):
        biases = np.zeros(z.shape[1])
        biases[self.target_class] = class_bias_for_precision(z, y, self.target_class, self.min_precision)
        return 0.0, biases

    def fitted_text(self, tau: float, biases) -> str:
        return f"a bias of {biases[self.target_class]:+.3g} on {self.class_name or f'class {self.target_class}'}"


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
