"""Class-weighted softmax cross-entropy, the seed's loss."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..loss_settings import check_loss_value
from ..weights import class_weights as compute_class_weights
from .base import upcast
from .registry import register_loss


class WeightedCrossEntropyLoss(nn.Module):
    """Cross-entropy with a weight per class, ``CE_i = -log softmax(z_i)[y_i]``:

    * ``reduction="mean"`` (the seed): ``mean_i w_{y_i} * CE_i``;
    * ``reduction="weighted_mean"`` (PyTorch's ``CrossEntropyLoss(weight=...)``):
      ``sum_i w_{y_i} CE_i / sum_i w_{y_i}``.

    The weights usually come from :func:`weighted_bert.weights.class_weights`;
    ``label_smoothing`` applies to each example's cross-entropy before weighting.
    Inputs: ``logits`` (batch, classes) and integer ``labels`` (batch,).

    >>> loss = WeightedCrossEntropyLoss([1.0, 2.0, 4.0])
    >>> round(loss(torch.zeros(1, 3), torch.tensor([2])).item(), 4)  # 4 * log 3
    4.3944
    """

    def __init__(self, weight: Sequence[float] | torch.Tensor, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__()
        self.label_smoothing = label_smoothing
        self.reduction = check_loss_value("loss_reduction", reduction)
        self.register_buffer("weight", torch.as_tensor(weight, dtype=torch.float32))

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        per_example = F.cross_entropy(upcast(logits), labels, reduction="none", label_smoothing=self.label_smoothing)
        w = self.weight.to(per_example.dtype)[labels]
        if self.reduction == "mean":
            return (w * per_example).mean()
        return (w * per_example).sum() / w.sum().clamp_min(torch.finfo(torch.float32).tiny)


@register_loss("weighted_ce")
def _build(class_counts, class_weights, weight_normalization, loss_reduction, class_weight_beta, labels,
           label_smoothing):
    weights = compute_class_weights(class_counts, class_weights, beta=class_weight_beta,
                                    normalize=weight_normalization, labels=labels)
    return WeightedCrossEntropyLoss(weights, reduction=loss_reduction, label_smoothing=label_smoothing)
