"""Focal loss for sigmoid outputs (Lin et al., "Focal Loss for Dense Object Detection",
ICCV 2017), each label a binary problem."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..base import upcast
from ..registry import register_loss


class SigmoidFocalLoss(nn.Module):
    """``mean_{i,l} -(1 - p_t)^gamma log p_t`` with ``p_t = s(z)`` for a positive and
    ``1 - s(z)`` for a negative; gamma 0 is plain BCE. No alpha: Lin et al. found it matters
    little once gamma focuses on the hard labels.

    >>> round(SigmoidFocalLoss(2.0)(torch.tensor([[0.0]]), torch.tensor([[1.0]])).item(), 4)  # 0.5^2 ln 2
    0.1733
    """

    def __init__(self, gamma: float = 2.0):
        super().__init__()
        self.gamma = gamma

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits = upcast(logits)
        nll = F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype), reduction="none")  # -log p_t
        return ((-torch.expm1(-nll)).clamp_min(0).pow(self.gamma) * nll).mean()  # 1 - p_t = -expm1(log p_t)


@register_loss("sigmoid_focal")
def _build(class_counts, focal_gamma):
    return SigmoidFocalLoss(focal_gamma)
