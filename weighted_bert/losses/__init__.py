"""Losses: ``(logits, labels) -> scalar`` modules, one file each, built by name.

>>> loss = get_loss("weighted_ce", [5, 1, 2], class_weights="inverse")
"""

from . import cross_entropy, dice, focal, ldam, logit_adjusted, multilabel, weighted_cross_entropy  # noqa: F401
from .cross_entropy import CrossEntropyLoss
from .dice import SelfAdjustingDiceLoss
from .focal import FocalLoss
from .ldam import CosineClassifier, LDAMLoss
from .logit_adjusted import LogitAdjustedLoss
from .registry import available_losses, get_loss, loss_options, register_loss
from .weighted_cross_entropy import WeightedCrossEntropyLoss

__all__ = ["CosineClassifier", "CrossEntropyLoss", "FocalLoss", "LDAMLoss", "LogitAdjustedLoss",
           "SelfAdjustingDiceLoss", "WeightedCrossEntropyLoss", "available_losses", "get_loss",
           "loss_options", "register_loss"]
