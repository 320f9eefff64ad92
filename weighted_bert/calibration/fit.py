"""Fitting a decision on dev, with a guard against fitting noise.

1. **Temperature** (:mod:`.temperature`): kept when it lowers the 2-fold cross-fitted dev NLL;
   not fitted when dev has fewer than 10 wrong predictions (with none, the NLL keeps
   falling as T -> 0: the data cannot say how sure the model should be).
2. **Decision adjustment** for the objective (:mod:`.objectives`), on ``z / T``:
   ``log(target) - tau * log(train prior)`` (the target term only for ``accuracy`` and
   ``cost``) with tau on a grid from -1 to 3 by 0.05 (negative tau leans back towards
   the head classes, for a model trained with re-weighting or re-sampling), optionally
   per-class biases (coordinate ascent, each class over -2 to 2 by 0.25, two passes);
   for ``recall_at_precision`` one bias on the named class, found exactly.
   The gain over the raw argmax is measured by 2-fold cross-fitting (fitted on one half
   of dev, scored on the other, both ways); it is kept only when that held-out gain is at
   least 0.005 and the 5th percentile of the gain over 200 paired bootstrap resamples is
   above 0. The parameters kept are then fitted on the whole dev set.
3. **Abstaining** (asked for, not guarded): a probability threshold, given or fitted so
   that a stated share of dev is answered; its held-out coverage and accuracy are reported.
"""

from __future__ import annotations

import math

import numpy as np

from .objectives import Objective
from .record import ABSTAINED, Calibration, decide
from .temperature import cross_fitted, fit_temperature, log_softmax

TAU_GRID = np.round(np.arange(-1.0, 3.0 + 1e-9, 0.05), 2)
BIAS_GRID = np.arange(-2.0, 2.0 + 1e-9, 0.25)
MIN_GAIN = 0.005
BOOTSTRAP = 200
MIN_ERRORS = 10  # wrong dev predictions needed to fit a temperature
MIN_COVERAGE_ROWS = 20  # dev rows needed to place a coverage threshold (each row moves it by 1/n of coverage)
RULE = (f"kept when the 2-fold cross-fitted dev gain is >= {MIN_GAIN} and the 5th percentile of {BOOTSTRAP} "
        "paired bootstrap gains is > 0; the temperature when it lowers the cross-fitted dev NLL")


def fit_tau(objective: Objective, z: np.ndarray, y: np.ndarray, log_prior: np.ndarray, grid=TAU_GRID) -> float:
    base = z if objective.target_log_prior is None else z + objective.target_log_prior
    scores = np.array([objective.score(y, objective.decide(base - t * log_prior)) for t in grid])
    neutral = 0.0 if objective.target_log_prior is None else 1.0  # the least change: no shift / the Bayes one
    best = np.flatnonzero(scores >= scores.max() - 1e-12)
    return float(grid[best[np.argmin(np.abs(grid[best] - neutral))]])


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


def fit_adjustment(objective: Objective, z, y, log_prior, *, per_class_bias: bool = False):
    """``(tau, biases or None)`` fitted on ``z`` (already divided by T)."""
    from .objectives import class_bias_for_precision

    if objective.name == "recall_at_precision":
        biases = np.zeros(z.shape[1])
        biases[objective.target_class] = class_bias_for_precision(z, y, objective.target_class,
                                                                  objective.min_precision)
        return 0.0, biases
    tau = fit_tau(objective, z, y, log_prior)
    shifted = _shifted(objective, z, log_prior, tau, None)
    return tau, fit_biases(objective, shifted, y) if per_class_bias else None


def _shifted(objective: Objective, z, log_prior, tau, biases):
    out = z - tau * log_prior
    if objective.target_log_prior is not None:
        out = out + objective.target_log_prior
    return out + biases if biases is not None else out


def coverage_threshold(confidence: np.ndarray, coverage: float) -> float:
    """The largest threshold that still answers at least ``coverage`` of the texts."""
    ranked = np.sort(np.asarray(confidence, dtype=np.float64))[::-1]
    if not len(ranked):
        return 0.0
    return float(ranked[min(max(math.ceil(coverage * len(ranked)), 1), len(ranked)) - 1])


def calibrate(logits: np.ndarray, y: np.ndarray, class_counts, *, objective: Objective | None = None,
              per_class_bias: bool = False, temperature: bool = True, abstain_threshold: float | None = None,
              coverage: float | None = None, abstain_label: str = "ABSTAIN", seed: int = 0) -> Calibration:
    """Fit what the module docstring says on dev ``logits``/``y``; return the record to save."""
    from .objectives import log_prior_from_counts

    z, y = np.asarray(logits, dtype=np.float64), np.asarray(y, dtype=np.int64)
    objective = objective or Objective("macro_f1", z.shape[1])
    log_prior = log_prior_from_counts(class_counts)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    halves = [order[: len(y) // 2], order[len(y) // 2:]]

    temperature_report, t = None, 1.0
    errors = int((z.argmax(1) != y).sum())
    if temperature and errors < MIN_ERRORS:
        temperature_report = {"not_fitted": f"{errors} wrong dev prediction(s); a temperature needs at least "
                                            f"{MIN_ERRORS} (with none, the NLL falls without bound as T -> 0)"}
    elif temperature:
        temperature_report = cross_fitted(z, y, halves)
        t = fit_temperature(z, y) if temperature_report["nll_after"] < temperature_report["nll_before"] else 1.0
        temperature_report["temperature"] = t
    zt = z / t

    raw = z.argmax(1)
    held_out = raw.copy()
    for fit_part, score_part in (halves, halves[::-1]):
        tau, biases = fit_adjustment(objective, zt[fit_part], y[fit_part], log_prior, per_class_bias=per_class_bias)
        held_out[score_part] = objective.decide(_shifted(objective, zt[score_part], log_prior, tau, biases))
    before = objective.score(y, raw)
    gain = objective.score(y, held_out) - before
    boots = []
    for _ in range(BOOTSTRAP):
        idx = rng.integers(0, len(y), len(y))
        boots.append(objective.score(y[idx], held_out[idx]) - objective.score(y[idx], raw[idx]))
    p05 = float(np.percentile(boots, 5)) if len(y) else 0.0
    accepted = bool(gain >= MIN_GAIN and p05 > 0)
    tau, biases = fit_adjustment(objective, zt, y, log_prior, per_class_bias=per_class_bias)
    after = objective.score(y, objective.decide(_shifted(objective, zt, log_prior, tau, biases)))

    record = Calibration(
        log_prior=[float(v) for v in log_prior], temperature=t, objective=objective.name,
        tau=tau if accepted else 0.0,
        biases=[float(b) for b in biases] if accepted and biases is not None else None,
        target_log_prior=[float(v) for v in objective.target_log_prior]
        if accepted and objective.target_log_prior is not None else None,
        costs=objective.costs.tolist() if accepted and objective.costs is not None else None,
        dev_before=before, dev_after=after, held_out_gain=float(gain), held_out_gain_p05=p05, accepted=accepted,
        fitted_tau=tau, fitted_biases=None if biases is None else [float(b) for b in biases],
        temperature_report=temperature_report, abstain_label=abstain_label, rule=RULE)
    if abstain_threshold is None and coverage is not None and len(y) < MIN_COVERAGE_ROWS:
        record.abstain_report = {"not_fitted": f"{len(y)} dev row(s); a coverage threshold needs at least "
                                               f"{MIN_COVERAGE_ROWS}", "target_coverage": coverage}
    elif abstain_threshold is not None or (coverage is not None and coverage < 1):  # coverage 1: answer all
        record.abstain_threshold, record.abstain_report = _abstaining(record, z, y, halves, abstain_threshold,
                                                                      coverage)
    return record


def _abstaining(record: Calibration, z, y, halves, threshold, coverage):
    """The threshold (given, or fitted to ``coverage`` on all of dev) and its held-out report."""
    p = np.exp(log_softmax(record.apply(z)))
    chosen = decide(p, costs=record.costs)
    confidence = p[np.arange(len(p)), chosen]
    answered = np.zeros(len(y), dtype=bool)
    for fit_part, score_part in (halves, halves[::-1]):
        cut = threshold if threshold is not None else coverage_threshold(confidence[fit_part], coverage)
        answered[score_part] = confidence[score_part] >= cut
    final = threshold if threshold is not None else coverage_threshold(confidence, coverage)
    right = chosen == y
    report = {"coverage": float(answered.mean()) if len(y) else 0.0,
              "answered_accuracy": float(right[answered].mean()) if answered.any() else None,
              "full_coverage_accuracy": float(right.mean()) if len(y) else None,
              "target_coverage": coverage}
    return float(final), report


__all__ = ["ABSTAINED", "calibrate", "coverage_threshold", "fit_adjustment", "fit_biases", "fit_tau"]
