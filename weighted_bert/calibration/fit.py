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
   above 0 (``keep="always"``: kept as fitted, the guard's verdict still on record). The
   parameters kept are then fitted on the whole dev set.
   A *stated* objective (``cost``: the user's cost matrix) is the user's statement of what
   errors cost, not a hypothesis: its Bayes rule (least expected cost under the
   temperature-scaled probabilities) is applied as asked; what is fitted beyond it (the
   target prior's shift, tau, biases) must beat the rule as stated, and the record says
   what the rule changes on dev.
3. **Abstaining** (asked for, not guarded): a probability threshold, given or fitted so
   that a stated share of dev is answered; its held-out coverage and accuracy are reported.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import check_choice
from . import KEEPS
from .objectives import Objective, log_prior_from_counts, make_objective
from .record import ABSTAINED, Calibration, decide
from .temperature import cross_fitted, fit_temperature, log_softmax

MIN_GAIN = 0.005
BOOTSTRAP = 200
MIN_ERRORS = 10  # wrong dev predictions needed to fit a temperature
MIN_COVERAGE_ROWS = 20  # dev rows needed to place a coverage threshold (each row moves it by 1/n of coverage)
RULE = (f"kept when the 2-fold cross-fitted dev gain is >= {MIN_GAIN} and the 5th percentile of {BOOTSTRAP} "
        "paired bootstrap gains is > 0; the temperature when it lowers the cross-fitted dev NLL")


def coverage_threshold(confidence: np.ndarray, coverage: float) -> float:
    """The largest threshold that still answers at least ``coverage`` of the texts."""
    ranked = np.sort(np.asarray(confidence, dtype=np.float64))[::-1]
    if not len(ranked):
        return 0.0
    return float(ranked[min(max(math.ceil(coverage * len(ranked)), 1), len(ranked)) - 1])


def calibrate(logits: np.ndarray, y: np.ndarray, class_counts, *, objective: Objective | None = None,
              per_class_bias: bool = False, temperature: bool = True, abstain_threshold: float | None = None,
              coverage: float | None = None, abstain_label: str = "ABSTAIN", seed: int = 0,
              keep: str = "auto") -> Calibration:
    """Fit what the module docstring says on dev ``logits``/``y``; return the record to save.
    ``keep``: ``auto``, the fitted adjustment only when it beats noise; ``always``, as fitted."""
    check_choice("keep", keep, KEEPS)
    z, y = np.asarray(logits, dtype=np.float64), np.asarray(y, dtype=np.int64)
    objective = objective or make_objective("macro_f1", z.shape[1])
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
    # what the fit must beat: the raw argmax, or for a stated objective (a cost matrix) the rule
    # as the user stated it, on the temperature-scaled logits, which is applied either way
    stated = objective.decide(zt) if objective.stated else None
    base = stated if objective.stated else raw
    held_out = base.copy()
    for fit_part, score_part in (halves, halves[::-1]):
        tau, biases = objective.fit(zt[fit_part], y[fit_part], log_prior, per_class_bias=per_class_bias)
        held_out[score_part] = objective.decide(objective.shifted(zt[score_part], log_prior, tau, biases))
    before = objective.score(y, base)
    gain = objective.score(y, held_out) - before
    boots = []
    for _ in range(BOOTSTRAP):
        idx = rng.integers(0, len(y), len(y))
        boots.append(objective.score(y[idx], held_out[idx]) - objective.score(y[idx], base[idx]))
    p05 = float(np.percentile(boots, 5)) if len(y) else 0.0
    beats_noise = bool(gain >= MIN_GAIN and p05 > 0)
    accepted = beats_noise or keep == "always"
    tau, biases = objective.fit(zt, y, log_prior, per_class_bias=per_class_bias)
    after = objective.score(y, objective.decide(objective.shifted(zt, log_prior, tau, biases)))
    costs = getattr(objective, "costs", None)

    record = Calibration(
        log_prior=[float(v) for v in log_prior], temperature=t, objective=objective.name,
        tau=tau if accepted else 0.0,
        biases=[float(b) for b in biases] if accepted and biases is not None else None,
        target_log_prior=[float(v) for v in objective.target_log_prior]
        if accepted and objective.target_log_prior is not None else None,
        costs=np.asarray(costs).tolist() if (accepted or objective.stated) and costs is not None else None,
        dev_before=before, dev_after=after, held_out_gain=float(gain), held_out_gain_p05=p05, accepted=accepted,
        beats_noise=beats_noise, keep=keep, fitted_tau=tau,
        fitted_biases=None if biases is None else [float(b) for b in biases],
        fitted_text=objective.fitted_text(tau, biases),
        stated_report=_stated_effect(objective, y, raw, stated, rng) if objective.stated else None,
        temperature_report=temperature_report, abstain_label=abstain_label, rule=RULE)
    if abstain_threshold is None and coverage is not None and len(y) < MIN_COVERAGE_ROWS:
        record.abstain_report = {"not_fitted": f"{len(y)} dev row(s); a coverage threshold needs at least "
                                               f"{MIN_COVERAGE_ROWS}", "target_coverage": coverage}
    elif abstain_threshold is not None or (coverage is not None and coverage < 1):  # coverage 1: answer all
        record.abstain_threshold, record.abstain_report = _abstaining(record, z, y, halves, abstain_threshold,
                                                                      coverage)
    return record


def _stated_effect(objective: Objective, y, raw, stated, rng) -> dict:
    """What the rule as stated changes on dev: the expected cost (in the matrix's units, under
    the target prior) with the argmax and with the rule, the bootstrap 5th to 95th percentile
    of the change, and how many answers it moved."""

    def cost(rows, pred):
        return objective.weighted_mean(y[rows], objective.costs[y[rows], pred[rows]])

    every = np.arange(len(y))
    changes = []
    for _ in range(BOOTSTRAP):
        rows = rng.integers(0, len(y), len(y))
        changes.append(cost(rows, stated) - cost(rows, raw))
    low, high = (float(np.percentile(changes, 5)), float(np.percentile(changes, 95))) if len(y) else (0.0, 0.0)
    return {"cost_argmax": cost(every, raw), "cost_rule": cost(every, stated), "change_p05": low,
            "change_p95": high, "answers_moved": int((raw != stated).sum()), "rows": int(len(y))}


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


__all__ = ["ABSTAINED", "calibrate", "coverage_threshold"]
