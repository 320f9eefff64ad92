"""Asymmetric loss (Ridnik et al., "Asymmetric Loss For Multi-Label Classification",
ICCV 2021): the many easy negatives are focused away harder than the positives, and a
negative whose probability is below a margin m costs nothing."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..base import upcast
from ..registry import register_loss


class AsymmetricLoss(nn.Module):
    """``mean_{i,l} -(y (1 - p)^g+ log p + (1 - y) p_m^g- log(1 - p_m))`` with p = s(z) and
    ``p_m = max(p - m, 0)``; g+ = g- = m = 0 is plain BCE.

    >>> round(AsymmetricLoss(4.0, 0.0, 0.05)(torch.tensor([[0.0]]), torch.tensor([[0.0]])).item(), 6)
    0.024515
    """

    def __init__(self, gamma_neg: float = 4.0, gamma_pos: float = 0.0, clip: float = 0.05):
        super().__init__()
        self.gamma_neg, self.gamma_pos, self.clip = gamma_neg, gamma_pos, clip

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits = upcast(logits)
        y = targets.to(logits.dtype)
        p = torch.sigmoid(logits)
        log_p = F.logsigmoid(logits)
        if self.clip > 0:  # 1 - p_m = min(1 - p + m, 1)
            log_not = torch.log((torch.sigmoid(-logits) + self.clip).clamp(max=1.0))
            p_neg = (p - self.clip).clamp_min(0)
        else:
            log_not, p_neg = F.logsigmoid(-logits), p
        positive = (1 - p).pow(self.gamma_pos) * log_p
        negative = p_neg.pow(self.gamma_neg) * log_not
        return -(y * positive + (1 - y) * negative).mean()


@register_loss("asymmetric")
def _build(class_counts, asl_gamma_neg, asl_gamma_pos, asl_clip):
    return AsymmetricLoss(asl_gamma_neg, asl_gamma_pos, asl_clip)
