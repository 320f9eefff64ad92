"""Focal loss (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..loss_settings import check_loss_value
from ..weights import class_weights as compute_class_weights
from .base import upcast
from .registry import register_loss


class FocalLoss(nn.Module):
    """``mean_i -alpha_{y_i} (1 - p_{i,y_i})^gamma log p_{i,y_i}``, p = softmax(logits).

    ``gamma`` (default 2) down-weights examples the model already gets right; gamma 0 is
    (weighted) cross-entropy. ``alpha`` is one weight per class (None: all 1), taken from
    ``--class-weights`` by the registry.

    >>> loss = FocalLoss(gamma=2.0)
    >>> round(loss(torch.tensor([[0.6931472, 0.0, 0.0]]), torch.tensor([0])).item(), 4)  # 0.5^2 ln 2
    0.1733
    """

    def __init__(self, gamma: float = 2.0, alpha: Sequence[float] | None = None):
        super().__init__()
        self.gamma = check_loss_value("focal_gamma", gamma)
        self.register_buffer("alpha", None if alpha is None else torch.as_tensor(alpha, dtype=torch.float32))

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        log_p = F.log_softmax(upcast(logits), dim=-1).gather(1, labels[:, None]).squeeze(1)
        # (1 - p)^gamma from log p; expm1 keeps it exact when p is close to 1
        loss = -(-torch.expm1(log_p)).clamp_min(0).pow(self.gamma) * log_p
        if self.alpha is not None:
            loss = loss * self.alpha.to(loss.dtype)[labels]
        return loss.mean()


@register_loss("focal")
def _build(class_counts, focal_gamma, class_weights, weight_normalization, class_weight_beta, labels):
    alpha = None if class_weights == "none" else compute_class_weights(
        class_counts, class_weights, beta=class_weight_beta, normalize=weight_normalization, labels=labels)
    return FocalLoss(focal_gamma, alpha)
