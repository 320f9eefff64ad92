"""The ``--recipe`` presets: named sets of loss and sampling settings (and a target prior).

Each preset was measured by a benchmark: the single-label ones by ``benchmarks/defaults.py``
(``benchmarks/results/defaults.md``), the multi-label ones by ``benchmarks/multilabel.py``
(``benchmarks/results/multilabel*.md``). A preset sets the settings still at their
defaults (:meth:`weighted_bert.config.RunConfig`); the values are checked there.
"""

RECIPES = {
    "seed": {"loss": "weighted_ce", "class_weights": "inverse", "weight_normalization": "none",
             "loss_reduction": "mean", "target_prior": "none"},  # the seed's method, as it was
    "ce": {"loss": "ce"},
    "class_balanced": {"loss": "ce", "sampling": "class_balanced"},
    "sqrt": {"loss": "ce", "sampling": "sqrt"},
    "logit_adjusted": {"loss": "logit_adjusted"},
    "ldam_drw": {"loss": "ldam", "drw_start": 0.8},
    "recommended": {"loss": "ce", "target_prior": "dev"},  # the defaults: the winner of the rule
    # multi-label (benchmarks/multilabel.py, benchmarks/results/multilabel.md)
    "bce": {"loss": "bce"},
    "bce_pos_weight": {"loss": "bce", "pos_weight": "inverse"},
    "sigmoid_focal": {"loss": "sigmoid_focal"},
    "asymmetric": {"loss": "asymmetric"},
    "distribution_balanced": {"loss": "distribution_balanced"},  # as published: with the focal factor
    "cb_ntr": {"loss": "cb_ntr"},
    "distribution_balanced_no_focal": {"loss": "distribution_balanced", "focal_gamma": 0.0},  # Huang et al.'s DB-0FL
    "cb_ntr_no_focal": {"loss": "cb_ntr", "focal_gamma": 0.0},
}

# a multi-label run with no loss given: the best held-out dev macro-F1 over the results of
# benchmarks/multilabel.py (results/multilabel*.json: data sets and budgets; a test checks it)
MULTI_LABEL_RECIPE = "distribution_balanced_no_focal"
