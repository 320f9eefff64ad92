"""Post-hoc calibration and decisions, fitted on a labelled dev set by ``weighted-bert calibrate``.

* :mod:`.temperature`: temperature scaling, so the probabilities say how often the model is right;
* :mod:`.objectives`: what a decision is fitted for (macro-F1, balanced accuracy, accuracy
  under a target prior, expected cost, recall at a precision);
* :mod:`.inputs`: the target prior and cost matrix files;
* :mod:`.fit`: the fit, with its guard against noise, and abstaining;
* :mod:`.record`: ``calibration.json``, and how it turns raw logits into decisions.

The logit adjustment follows Menon et al., "Long-tail learning via logit adjustment"
(ICLR 2021, section 4): the Bayes decision for another class prior is an additive shift.
"""

import importlib

OBJECTIVES = ("macro_f1", "balanced_accuracy", "accuracy", "cost", "recall_at_precision")  # see .objectives
PRIOR_OBJECTIVES = ("accuracy", "cost")  # scored and decided under a target prior
KEEPS = ("auto", "always")  # the noise guard's role: keep a fitted adjustment when it beats noise, or always

# Each name from the submodule that defines it, imported when first used: reading a model's
# calibration.json (.record) must not import the fit's scikit-learn (a second of start-up).
_HOMES = {"BIAS_GRID": "objectives", "BOOTSTRAP": "fit", "MIN_GAIN": "fit", "TAU_GRID": "objectives", "calibrate": "fit",
          "coverage_threshold": "fit", "Objective": "objectives", "make_objective": "objectives",
          "balanced_accuracy": "objectives", "log_prior_from_counts": "objectives", "macro_f1": "objectives",
          "ABSTAINED": "record", "Calibration": "record", "decide": "record"}
__all__ = sorted([*_HOMES, "KEEPS", "OBJECTIVES", "PRIOR_OBJECTIVES"])


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
