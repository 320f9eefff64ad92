"""Losses: ``(logits, labels) -> scalar`` modules, one file each, built by name.

>>> loss = get_loss("weighted_ce", [5, 1, 2], class_weights="inverse")
"""

from . import cross_entropy, weighted_cross_entropy  # noqa: F401  (registers the losses)
from .cross_entropy import CrossEntropyLoss
from .registry import available_losses, get_loss, loss_options, register_loss
from .weighted_cross_entropy import WeightedCrossEntropyLoss

__all__ = ["CrossEntropyLoss", "WeightedCrossEntropyLoss", "available_losses", "get_loss",
           "loss_options", "register_loss"]
