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

from .fit import BIAS_GRID, BOOTSTRAP, MIN_GAIN, TAU_GRID, calibrate, coverage_threshold
from .objectives import OBJECTIVES, Objective, balanced_accuracy, log_prior_from_counts, macro_f1
from .record import ABSTAINED, Calibration, decide

__all__ = ["ABSTAINED", "BIAS_GRID", "BOOTSTRAP", "MIN_GAIN", "OBJECTIVES", "TAU_GRID", "Calibration", "Objective",
           "balanced_accuracy", "calibrate", "coverage_threshold", "decide", "log_prior_from_counts", "macro_f1"]
