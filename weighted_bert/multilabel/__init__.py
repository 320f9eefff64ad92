"""Multi-label classification: each text has a set of labels (none, one or several).

The readers give such rows a tuple of labels (:mod:`weighted_bert.data`); here live what
only the multi-label task has: its metrics (:mod:`.metrics`), its decision, thresholds per
label (the record in :mod:`.thresholds`, its fit on dev in :mod:`.threshold_fit`), and its
result files (:mod:`.results`).
"""

THRESHOLD_MODES = ("per_label", "global", "none")  # --thresholds: fitted on dev after training (.threshold_fit)
