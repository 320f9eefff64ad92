"""Multi-label losses: ``(logits, targets) -> scalar`` for sigmoid outputs, ``targets`` a
0/1 matrix (rows x labels). Each is a mean over every row and label, so that each equals
plain binary cross-entropy at its neutral settings (tested)."""

from . import asymmetric, bce, cb_ntr, distribution_balanced, sigmoid_focal  # noqa: F401  (registers)
from .asymmetric import AsymmetricLoss
from .bce import BCELoss
from .cb_ntr import ClassBalancedNTRLoss
from .distribution_balanced import DistributionBalancedLoss
from .sigmoid_focal import SigmoidFocalLoss

__all__ = ["AsymmetricLoss", "BCELoss", "ClassBalancedNTRLoss", "DistributionBalancedLoss", "SigmoidFocalLoss"]
