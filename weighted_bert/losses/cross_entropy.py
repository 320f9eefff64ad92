"""Softmax cross-entropy, the unweighted baseline."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import upcast
from .registry import register_loss


class CrossEntropyLoss(nn.Module):
    """Mean softmax cross-entropy: ``mean_i -log softmax(z_i)[y_i]``.

    Inputs: ``logits`` of shape (batch, classes), integer ``labels`` of shape (batch,).
    ``label_smoothing`` eps (Szegedy et al., CVPR 2016) takes the target as
    ``(1 - eps) * one_hot + eps / K``.

    >>> loss = CrossEntropyLoss()
    >>> round(loss(torch.zeros(2, 3), torch.tensor([0, 2])).item(), 4)  # log 3
    1.0986
    """

    def __init__(self, label_smoothing: float = 0.0):
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(upcast(logits), labels, label_smoothing=self.label_smoothing)


@register_loss("ce")
def _build(class_counts, label_smoothing):
    return CrossEntropyLoss(label_smoothing)
