"""Self-adjusting Dice loss (Li et al., "Dice Loss for Data-imbalanced NLP Tasks", ACL 2020)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..loss_settings import check_loss_value
from .base import upcast
from .registry import register_loss


class SelfAdjustingDiceLoss(nn.Module):
    """Multi-class Dice (DSC) as one-vs-rest soft Dice per class over the batch:

    ``p~_ic = (1 - p_ic)^alpha * p_ic``  (p = softmax(logits); the self-adjusting factor)
    ``DSC_c = (2 sum_i p~_ic y_ic + gamma) / (sum_i p~_ic + sum_i y_ic + gamma)``
    ``loss = mean_c (1 - DSC_c)``

    with y the one-hot labels, ``alpha`` (default 0.1) the self-adjusting exponent and
    ``gamma`` (default 1) the smoothing. The authors' code (ShannonAI/dice_loss_for_NLP)
    sums over classes; we average, so the loss does not grow with the number of classes
    (a constant factor, like a learning-rate change). A class absent from the batch still
    counts: its DSC pushes the probability it receives towards 0.

    >>> loss = SelfAdjustingDiceLoss(alpha=0.0, smoothing=0.0)
    >>> round(loss(torch.tensor([[0.0, 0.0]]), torch.tensor([0])).item(), 4)  # mean(1 - 2*.5/1.5, 1 - 0/.5)
    0.6667
    """

    def __init__(self, alpha: float = 0.1, smoothing: float = 1.0):
        super().__init__()
        self.alpha = check_loss_value("dice_alpha", alpha)
        self.smoothing = check_loss_value("dice_smoothing", smoothing)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        p = F.softmax(upcast(logits), dim=-1)
        # clamped so the gradient of (1 - p)^alpha stays finite when p reaches 1
        adjusted = (1 - p).clamp_min(1e-12).pow(self.alpha) * p
        y = F.one_hot(labels, p.shape[-1]).to(p.dtype)
        intersection = (adjusted * y).sum(0)
        dsc = (2 * intersection + self.smoothing) / (adjusted.sum(0) + y.sum(0) + self.smoothing)
        return (1 - dsc).mean()


@register_loss("dice")
def _build(class_counts, dice_alpha, dice_smoothing):
    return SelfAdjustingDiceLoss(dice_alpha, dice_smoothing)
