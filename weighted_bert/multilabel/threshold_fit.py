"""Fitting the multi-label decision (:class:`.thresholds.Thresholds`) on dev.

``per_label``: each label's own threshold maximises its dev F1 (exactly: over every cut of
its sorted dev scores, the threshold half-way between the two scores at the best cut),
pulled toward one shared threshold, the one best for the macro-F1 of all labels together
(searched on a grid even in logit space): in logit space, a label with n dev positives
gets n / (n + ``SHRINK``) of its own cut and the rest of the shared one. A cut placed by a
handful of positives is mostly noise, one placed by hundreds is not; the shared cut
carries what the labels have in common (a model's rare labels scoring low, say), and a
label with no dev positive takes it whole. ``global``: one threshold for every label, maximising
micro-F1 (the same exact search on all scores at once). ``none``: 0.5.

The noise guard is ``calibrate``'s (:data:`weighted_bert.calibration.fit.RULE`): the
thresholds are fitted on one half of dev and scored on the other, both ways; they are
kept only when this cross-fitted gain over 0.5 (macro-F1 for ``per_label``, micro-F1 for
``global``) is at least ``MIN_GAIN`` and the 5th percentile of its bootstrap over rows is
above 0. What the search found is on record even when refused.
"""

from __future__ import annotations

import numpy as np

from ..calibration.fit import BOOTSTRAP, MIN_GAIN
from .metrics import macro_f1, micro_f1
from .thresholds import DEFAULT, Thresholds

SHRINK = 20  # dev positives at which a label's own cut and the shared cut weigh the same
RULE = (f"kept when the 2-fold cross-fitted dev gain over 0.5 is >= {MIN_GAIN} and the 5th percentile of "
        f"{BOOTSTRAP} bootstrap resamples of it is above 0")


def best_cut(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(threshold, F1) maximising the F1 of ``scores >= threshold`` against 0/1 ``y``; the
    threshold lies half-way between the last score taken and the next (0.5 when ``y`` has
    no positive: then nothing is best predicted, and 0.5 is as good as any)."""
    scores, y = np.asarray(scores, dtype=float).ravel(), np.asarray(y, dtype=bool).ravel()
    positives = int(y.sum())
    if positives == 0:
        return DEFAULT, 0.0
    order = np.argsort(-scores, kind="stable")
    s, hit = scores[order], y[order]
    ends = np.r_[np.flatnonzero(np.diff(s) < 0), len(s) - 1]  # a cut falls between distinct scores only
    tp = np.cumsum(hit)[ends]
    f1 = 2 * tp / (ends + 1 + positives)
    k = int(np.argmax(f1))
    taken = s[ends[k]]
    following = s[ends[k] + 1] if ends[k] + 1 < len(s) else max(taken - 1e-6, 0.0)
    return float((taken + following) / 2), float(f1[k])


SHARED_GRID = 1 / (1 + np.exp(-np.linspace(-7, 3, 101)))  # candidate shared thresholds, even in logit


def shared_macro_cut(scores: np.ndarray, y: np.ndarray) -> float:
    """The one threshold, shared by the labels of ``scores``' columns, that maximises their
    macro-F1 (over the labels with a gold or predicted positive), from ``SHARED_GRID``."""
    best, best_f1 = DEFAULT, -1.0
    for t in SHARED_GRID:
        f1 = macro_f1(y, scores >= t)
        if f1 > best_f1:
            best, best_f1 = float(t), f1
    return best


def fit_values(scores: np.ndarray, y: np.ndarray, mode: str, shrink: float = SHRINK) -> np.ndarray:
    """The thresholds of ``mode`` fitted on (``scores``, ``y``), one per label."""
    k = scores.shape[1]
    if mode == "none":
        return np.full(k, DEFAULT)
    if mode == "global":
        return np.full(k, best_cut(scores, y)[0])
    shared = shared_macro_cut(scores, y)
    values = np.full(k, shared)
    positives = y.sum(axis=0)
    for j in np.flatnonzero(positives):
        weight = positives[j] / (positives[j] + shrink)
        own = best_cut(scores[:, j], y[:, j])[0]
        values[j] = _expit(weight * _logit(own) + (1 - weight) * _logit(shared))
    return values


def _logit(p: float) -> float:
    p = min(max(p, 1e-7), 1 - 1e-7)
    return float(np.log(p / (1 - p)))


def _expit(x: float) -> float:
    return float(1 / (1 + np.exp(-x)))


def objective(mode: str, y: np.ndarray, pred: np.ndarray) -> float:
    """What ``mode`` is fitted for: macro-F1 over the labels seen (per_label), else micro-F1."""
    return macro_f1(y, pred) if mode == "per_label" else micro_f1(y, pred)


def fit_thresholds(scores: np.ndarray, y: np.ndarray, labels, mode: str = "per_label", *,
                   shrink: float = SHRINK, seed: int = 0) -> Thresholds:
    """Fit ``mode``'s thresholds on dev probabilities ``scores`` and gold 0/1 ``y``, behind the
    noise guard (see the module's docstring)."""
    scores, y = np.asarray(scores, dtype=float), np.asarray(y, dtype=bool)
    k = scores.shape[1]
    record = Thresholds(list(labels), [DEFAULT] * k, mode, dev_rows=len(y), rule=RULE)
    if mode == "none" or len(y) < 4:
        return record
    fitted = fit_values(scores, y, mode, shrink)
    base = np.full(k, DEFAULT)
    record.fitted = [round(float(v), 6) for v in fitted]
    record.shrink = shrink if mode == "per_label" else None
    record.dev_before = objective(mode, y, scores >= base)
    record.dev_after = objective(mode, y, scores >= fitted)
    rng = np.random.default_rng(seed)
    halves = np.array_split(rng.permutation(len(y)), 2)
    crossed = np.zeros_like(y)
    for held, fit_on in ((halves[0], halves[1]), (halves[1], halves[0])):
        crossed[held] = scores[held] >= fit_values(scores[fit_on], y[fit_on], mode, shrink)[None, :]
    plain = scores >= base
    record.held_out_gain = objective(mode, y, crossed) - objective(mode, y, plain)
    gains = []
    for _ in range(BOOTSTRAP):
        rows = rng.integers(0, len(y), len(y))
        gains.append(objective(mode, y[rows], crossed[rows]) - objective(mode, y[rows], plain[rows]))
    record.bootstrap_low = float(np.percentile(gains, 5))
    record.accepted = record.held_out_gain >= MIN_GAIN and record.bootstrap_low > 0
    if record.accepted:
        record.values = record.fitted
    return record
