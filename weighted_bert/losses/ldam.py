"""LDAM loss with deferred re-weighting (Cao et al., "Learning Imbalanced Datasets with
Label-Distribution-Aware Margin Loss", NeurIPS 2019)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..weights import class_weights
from .base import upcast
from .registry import register_loss


class CosineClassifier(nn.Module):
    """``scale * cos(x, w_c)``: the normalised head LDAM is defined on. Saved (and used
    after training) as the linear layer ``scale * normalise(W)``, which picks the same class
    (see ``saved_model.to_plain_head``)."""

    def __init__(self, in_features: int, num_labels: int, scale: float):
        super().__init__()
        self.scale = scale
        self.weight = nn.Parameter(torch.empty(num_labels, in_features).normal_(0, 0.02))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * F.linear(F.normalize(x, dim=-1), F.normalize(self.weight, dim=-1))


class LDAMLoss(nn.Module):
    """``CE(z - s * Delta_y * onehot(y), y)`` where ``z = s * cos`` comes from the cosine
    head (``requires_cosine_head``), ``Delta_c = C / n_c^(1/4)`` with C such that the
    largest margin is ``max_margin`` (default 0.5), and ``s = scale`` (default 30).

    Deferred re-weighting (DRW): from ``drw_start`` (a fraction of training, e.g. 0.8;
    None: never) each example is weighted by the effective-number weight of its class,
    ``(1 - beta) / (1 - beta^n_c)``, beta 0.9999, normalised to average 1 over classes
    (the paper's normalisation), with the reduction ``sum w_y CE / sum w_y``.

    >>> loss = LDAMLoss([16, 1], max_margin=0.5, scale=1.0)  # margins 0.25, 0.5
    >>> round(loss(torch.zeros(1, 2), torch.tensor([1])).item(), 4)  # -log(e^-.5 / (1 + e^-.5))
    0.9741
    """

    def __init__(self, class_counts: Sequence[int], max_margin: float = 0.5, scale: float = 30.0,
                 drw_start: float | None = None, beta: float = 0.9999):
        super().__init__()
        counts = torch.as_tensor([max(int(c), 1) for c in class_counts], dtype=torch.float64)
        margins = counts.pow(-0.25)
        self.register_buffer("margins", (margins * (max_margin / margins.max())).float())
        self.scale = scale
        self.drw_start = drw_start
        weights = torch.as_tensor(class_weights(list(class_counts), "effective_number", beta=beta, normalize="none"))
        self.register_buffer("drw_weights", (weights * len(weights) / weights.sum()).float())
        self.reweighting = drw_start is not None and drw_start <= 0
        self.requires_cosine_head = True

    def on_progress(self, fraction: float) -> None:
        """Called by the trainer with the fraction of training done; switches DRW on."""
        self.reweighting = self.drw_start is not None and fraction >= self.drw_start

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        logits = upcast(logits)
        margin = F.one_hot(labels, logits.shape[-1]).to(logits.dtype) * self.margins.to(logits.dtype)[labels, None]
        adjusted = logits - self.scale * margin
        if not self.reweighting:
            return F.cross_entropy(adjusted, labels)
        return F.cross_entropy(adjusted, labels, weight=self.drw_weights.to(logits.dtype))


@register_loss("ldam")
def _build(class_counts, ldam_max_margin, ldam_scale, drw_start, class_weight_beta):
    return LDAMLoss(class_counts, ldam_max_margin, ldam_scale, drw_start, class_weight_beta)
