"""The label audit's rules: folds, the probabilities a row is judged by, its score, its flag,
the reviewer's order, and texts that repeat.

Every training row is judged by a model that did not see it: the rows are dealt into K folds
(:func:`~weighted_bert.label_audit.rules.assign_folds`) and each fold is scored by a model
trained on the others (confident learning's cross-validated probabilities; Northcutt et al.,
JAIR 2021). A row's **score** is its label quality as cleanlab computes it
(``cleanlab.rank.get_label_quality_scores``, self-confidence: the probability of the given
label; in [0, 1], lower is more likely wrong). Its **flag** (``--flag``):

- ``confident`` (the default): the model that did not see the row puts at least
  ``--flag-probability`` (0.9) of its calibrated probability on one other class, the
  suggested label (never every row of a class). Leaving a correct row of a class with a
  handful of rows out of training costs more than keeping a wrong one, so the flags are for
  the rows the models are sure about: on CLINC150-LT (benchmarks/audit.py, 3 seeds; 2 at 10%
  confusable), training without the rows flagged at 0.9 won back 0.54, 0.10, 0.43 and 0.38
  of the macro-F1 that 5% uniform, 5% confusable, 10% uniform and 10% confusable flips cost;
  at 0.5 (more likely than not; seed 0) 0.42, 0.17, 0.05 and 0.01. A second clause, a row
  whose given label gets at most 0.001 while another class gets at least one half, caught
  more of the 5% uniform flips (recall 0.72 -> 0.88, precision 0.87) and won back less
  (0.23, 0.24, 0.41 against 0.66, 0.48, 0.47 over three seeds): not kept.
- ``cleanlab``: cleanlab's ``find_label_issues`` (the confident joint, pruned by the noise
  rate). Its per-class thresholds are each class's mean self-confidence, low for a rare class
  the model has learnt from a few rows, so a correct row is "confidently" another rare class
  at a low probability: on CLINC150-LT with 5% of the labels flipped (benchmarks/audit.py) it
  flagged twice the flips (326 rows for 163 flips, 176 of them correct, 88 in few-shot
  classes), and leaving them out of training lost more macro-F1 than the noise had (see the
  benchmark's results); ``confident`` at 0.5 flagged 247 (152 flips, 95 correct, 43
  few-shot), at 0.9 144 (131 flips, 13 correct, 6 few-shot).

Both run on the probabilities named by ``--audit-probabilities``:

- ``trained`` (the default): the fold model's own probabilities (its temperature applied, no
  decision: each fold's decision differs), as cleanlab takes them.
- ``balanced``: the same probabilities with the class prior the model answers for taken out
  (:func:`~weighted_bert.label_audit.rules.balanced_probabilities`: ``p_c / pi_c``,
  renormalised; ``pi`` the prior the fold's recipe trains for,
  :meth:`~weighted_bert.model_folder.FineTuned.recipe_prior`), the posterior as if every class
  were equally frequent. It was built on the worry that training frequencies make a correct
  row of a rare class look suspect (cleanlab #641), and measured worse: on CLINC150-LT with
  5% of the labels flipped (benchmarks/audit.py), AUROC 0.962 against 0.986 (confusable
  flips) and 0.997 against 0.998 (uniform), precision of the flags 0.30 against 0.47 and
  0.35 against 0.46, the same recall; on the few-shot classes too. Most flips land in a
  rare class (97 of the 150 are few-shot), and taking the prior out makes a rare given label
  look plausible on exactly those rows. Kept as a choice for data whose noise is otherwise.

The code: the rules here and in :mod:`~weighted_bert.label_audit.rules`, the folds and the
output folder in :mod:`~weighted_bert.label_audit.run`, ``label_issues.tsv`` (and ``train
--exclude``, which reads it) in :mod:`~weighted_bert.label_audit.issues_file`, the page in
:mod:`~weighted_bert.label_audit.report`.

A class with one training row cannot be judged out of sample (no fold's model saw the class):
its row is listed unscored (:data:`UNSCORED`), never flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..settings import at_least, between, setting, validate

PROBABILITIES = ("trained", "balanced")
FLAGS = ("confident", "cleanlab")
FOLDS_SMALL, FOLDS_LARGE, LARGE = 5, 3, 20_000  # folds for up to LARGE training rows, and above
UNSCORED = "the only training row of its class: no model that did not see it knows the class"


def default_folds(rows: int) -> int:
    """K when ``--folds`` is not given: 5 (each model trained on 80% of the rows, so that a rare
    class keeps most of its examples) up to 20,000 rows, 3 above (each fold costs a training
    run on (K-1)/K of the data; with that many rows two thirds still hold plenty)."""
    return FOLDS_SMALL if rows <= LARGE else FOLDS_LARGE


@dataclass(kw_only=True)
class AuditSettings:
    """The audit's own settings; the training ones are :class:`~weighted_bert.config.RunConfig`'s."""

    GROUP_ORDER: ClassVar = ("audit",)

    folds: int | None = setting(None, "folds of cross-fitted training: each row is judged by a model trained on "
                                "the other folds", check=at_least(2), group="audit",
                                default_text="5 up to 20,000 training rows, 3 above")
    audit_probabilities: str = setting("trained", "what a row is judged by: trained (the model's probabilities, as "
                                       "cleanlab takes them) or balanced (with the training prior taken out)",
                                       choices=PROBABILITIES, group="audit")  # trained: measured better, see above
    flag: str = setting("confident", "which rows are flagged: confident (the model that did not see the row puts at "
                        "least --flag-probability on one other class) or cleanlab (its find_label_issues)",
                        choices=FLAGS, group="audit")  # cleanlab's flags twice the flips on CLINC150-LT, see above
    flag_probability: float = setting(0.9, "--flag confident: the probability another class needs (lower: more "
                                      "flags, more of them correct rows)", check=between(0, 1),
                                      group="audit")  # 0.9: exclusion won back more than at 0.5 (see above)

    def __post_init__(self):
        validate(self)
