"""Binary cross-entropy over labels, optionally with a positive weight per label."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ...weights import positive_weights
from ..base import upcast
from ..registry import register_loss


class BCELoss(nn.Module):
    """``mean_{i,l} -(w_l y_il log s(z_il) + (1 - y_il) log(1 - s(z_il)))``, s the sigmoid,
    ``w_l`` the positive weight of label l (None: all 1, plain BCE).

    >>> round(BCELoss()(torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0]])).item(), 4)  # ln 2
    0.6931
    """

    def __init__(self, pos_weight: Sequence[float] | None = None):
        super().__init__()
        self.register_buffer("pos_weight", None if pos_weight is None else torch.as_tensor(pos_weight,
                                                                                         dtype=torch.float32))

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits = upcast(logits)
        return F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype), pos_weight=self.pos_weight)


@register_loss("bce")
def _build(class_counts, pos_weight, class_weight_beta, num_examples):
    return BCELoss(positive_weights(class_counts, num_examples, pos_weight, beta=class_weight_beta))
