"""The losses' settings, once: each loss's parameters with their defaults, help and checks.

:class:`LossSettings` is the part of the run's schema that the losses read;
:class:`weighted_bert.config.RunConfig` inherits it, and the losses
(:mod:`weighted_bert.losses`) check their values against it, so that the formulas import
the settings they take and nothing of the run around them (the command line, the data,
the other ~50 settings). ``labels`` (the label order, for class weights read from a JSON
file) is a parameter of two losses that is not a loss setting: the run passes its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from .recipes import RECIPES
from .settings import at_least, between, check_value, default_of, setting
from .weights import NORMALIZATIONS, POS_WEIGHTS, SCHEMES

REDUCTIONS = ("mean", "weighted_mean")
LABELS = "labels"  # the label order: a loss parameter that the run gives, not a setting

# The settings each loss reads (its factory in weighted_bert/losses takes exactly these). A loss
# registered from outside the package (losses.register_loss) adds its own entry.
LOSS_SETTINGS = {
    "ce": ("label_smoothing",),
    "weighted_ce": ("class_weights", "weight_normalization", "loss_reduction", "class_weight_beta", "labels",
                    "label_smoothing"),
    "focal": ("focal_gamma", "class_weights", "weight_normalization", "class_weight_beta", "labels"),
    "dice": ("dice_alpha", "dice_smoothing"),
    "ldam": ("ldam_max_margin", "ldam_scale", "drw_start", "class_weight_beta"),
    "logit_adjusted": ("la_tau", "label_smoothing"),
    "balanced_softmax": ("label_smoothing",),
    # multi-label (sigmoid outputs): weighted_bert/losses/multilabel/
    "bce": ("pos_weight", "class_weight_beta"),
    "sigmoid_focal": ("focal_gamma",),
    "asymmetric": ("asl_gamma_neg", "asl_gamma_pos", "asl_clip"),
    "distribution_balanced": ("db_alpha", "db_beta", "db_mu", "ntr_lambda", "ntr_kappa", "focal_gamma"),
    "cb_ntr": ("class_weight_beta", "ntr_lambda", "ntr_kappa", "focal_gamma"),
}
MULTI_LABEL_LOSSES = ("bce", "sigmoid_focal", "asymmetric", "distribution_balanced", "cb_ntr")
# class_weights left unset: the seed's N / n_c for weighted_ce; alpha = 1 for focal (Lin et al. found
# alpha matters little once gamma focuses on hard examples).
CLASS_WEIGHTS_BY_LOSS = {"weighted_ce": "inverse", "focal": "none"}


def _scheme_or_file(value) -> str | None:
    if isinstance(value, Mapping) or value in SCHEMES or Path(value).is_file():
        return None
    return f"is neither a scheme ({', '.join(SCHEMES)}) nor an existing JSON file"


@dataclass(kw_only=True)
class LossSettings:
    """The settings some loss reads (see ``LOSS_SETTINGS``), ``loss`` itself, and the recipe
    that presets them (applied by :class:`~weighted_bert.config.RunConfig`)."""

    recipe: str | None = setting(None, "a preset of the loss and sampling settings (and target prior), measured in "
                                 "benchmarks/results/defaults.md; it sets those still at their defaults",
                                 choices=tuple(RECIPES),
                                 group="loss", default_text="none: the settings below")
    loss: str = setting("ce", "training loss", choices=lambda: tuple(LOSS_SETTINGS),
                        group="loss")  # with target prior dev: the winner in benchmarks/results/defaults.md
    class_weights: str | dict | None = setting(None, "weighting scheme, or a JSON file label -> weight (from "
                                               "Python also a mapping)", check=_scheme_or_file, group="loss",
                                        default_text="inverse, N / n_c, for weighted_ce; none for focal")
    weight_normalization: str = setting("sample_mean", "sample_mean: average weight over training examples is 1, "
                                        "so weighting does not change the loss scale; none: raw weights (the seed)",
                                        choices=NORMALIZATIONS, group="loss")
    loss_reduction: str = setting("mean", "mean of w_y*CE over the batch (the seed), or sum w_y*CE / sum w_y",
                                  choices=REDUCTIONS, group="loss")
    class_weight_beta: float = setting(0.9999, "beta of the effective_number scheme and of ldam's deferred "
                                       "re-weighting", check=between(0, 1, high_open=True), group="loss")  # Cui et al.
    label_smoothing: float = setting(0.0, "label smoothing for ce, weighted_ce, logit_adjusted, balanced_softmax",
                                     check=between(0, 1), aliases=("label-smoothing-factor",), group="loss")
    focal_gamma: float = setting(2.0, "focal, sigmoid_focal, distribution_balanced, cb_ntr: exponent of (1 - p)",
                                 check=at_least(0), group="loss")  # Lin et al.'s best; DB's and CB-NTR's papers too
    dice_alpha: float = setting(0.1, "dice: self-adjusting exponent of (1 - p)", check=at_least(0), group="loss")
    dice_smoothing: float = setting(1.0, "dice: smoothing gamma", check=at_least(0), group="loss")  # Li et al.
    la_tau: float = setting(1.0, "logit_adjusted: strength tau of logits + tau log(prior)", group="loss")  # Menon et al.
    ldam_max_margin: float = setting(0.5, "ldam: largest class margin", check=at_least(0),
                                     group="loss")  # Cao et al.
    ldam_scale: float = setting(30.0, "ldam: scale s of the cosine head", check=at_least(0, strict=True),
                                group="loss")  # Cao et al.'s s
    drw_start: float | None = setting(None, "ldam: deferred re-weighting from this fraction of training on, e.g. 0.8",
                                      check=between(0, 1), group="loss", default_text="off")
    pos_weight: str = setting("none", "bce: weight of each label's positive term, from its training count n and "
                              "negatives m: inverse (m / n), sqrt_inverse (sqrt(m / n)), effective_number (the ratio "
                              "of the effective numbers of negatives and positives, Cui et al.)", choices=POS_WEIGHTS,
                              group="loss")
    asl_gamma_neg: float = setting(4.0, "asymmetric: focusing exponent of the negatives", check=at_least(0),
                                   group="loss")  # Ridnik et al.'s
    asl_gamma_pos: float = setting(0.0, "asymmetric: focusing exponent of the positives", check=at_least(0),
                                   group="loss")  # Ridnik et al.'s
    asl_clip: float = setting(0.05, "asymmetric: probability margin m shifted off the negatives", check=between(0, 1),
                              group="loss")  # Ridnik et al.'s
    db_alpha: float = setting(0.1, "distribution_balanced: smoothing floor alpha of the re-balancing weight",
                              check=at_least(0), group="loss")  # Wu et al.
    db_beta: float = setting(10.0, "distribution_balanced: smoothing slope beta", check=at_least(0), group="loss")
    db_mu: float = setting(0.3, "distribution_balanced: smoothing centre mu", check=at_least(0), group="loss")
    ntr_lambda: float = setting(2.0, "distribution_balanced, cb_ntr: scale lambda of the negative term "
                                "(negative-tolerant regularisation)", check=at_least(0, strict=True),
                                group="loss")  # Wu et al.'s neg_scale
    ntr_kappa: float = setting(0.05, "distribution_balanced, cb_ntr: share kappa of each label's prior logit "
                               "log(p / (1 - p)) added to its logit inside the loss", check=at_least(0),
                               group="loss")  # Wu et al.'s init_bias

    def loss_settings(self, labels=None) -> dict:
        """The settings ``self.loss`` reads, with the values this run uses (``labels``: the
        label order, for class weights from a JSON file)."""
        values = {name: getattr(self, name, None) for name in LOSS_SETTINGS[self.loss]}
        if "class_weights" in values and values["class_weights"] is None:
            values["class_weights"] = CLASS_WEIGHTS_BY_LOSS[self.loss]
        if "labels" in values:
            values["labels"] = list(labels) if labels is not None else values["labels"]
        return values


def unread_loss_settings(loss: str, names) -> list[str]:
    """Those of ``names`` that some loss reads but ``loss`` does not: they would do nothing."""
    every = {name for reads in LOSS_SETTINGS.values() for name in reads} - {"labels"}
    return sorted(n for n in names if n in every and n not in LOSS_SETTINGS[loss])


def loss_defaults(loss: str) -> dict:
    """The settings loss ``loss`` reads, at their defaults (``labels``: None, the run's own order)."""
    values = {name: None if name == LABELS else default_of(LossSettings, name) for name in LOSS_SETTINGS[loss]}
    if "class_weights" in values:
        values["class_weights"] = CLASS_WEIGHTS_BY_LOSS[loss]
    return values


def loss_setting_names() -> set[str]:
    """Every setting a loss may take as a parameter (``labels`` too)."""
    return {f.name for f in fields(LossSettings)} | {LABELS}


def check_loss_value(name: str, value):
    """``value`` of loss setting ``name`` when the schema allows it, else a ``SettingError``."""
    return value if name == LABELS else check_value(LossSettings, name, value)
