"""Logit-adjusted cross-entropy (Menon et al., "Long-tail learning via logit adjustment", ICLR 2021)
and Balanced Softmax (Ren et al., "Balanced Meta-Softmax for Long-Tailed Visual Recognition",
NeurIPS 2020)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .base import upcast
from .registry import register_loss


def log_prior(class_counts: Sequence[int]) -> torch.Tensor:
    """log(n_c / N); a class with no training example counts as one (it stays finite)."""
    counts = torch.as_tensor([max(int(c), 1) for c in class_counts], dtype=torch.float64)
    return (counts / counts.sum()).log().float()


class LogitAdjustedLoss(nn.Module):
    """``CE(logits + tau * log(prior), y)`` with ``prior_c = n_c / N``; prediction uses the
    plain logits. tau 0, or a uniform prior, is plain cross-entropy.

    Balanced Softmax is ``CE(logits + log n_c, y)``: the same loss with tau 1, since
    ``log n_c`` and ``log prior_c`` differ by ``log N``, which softmax ignores.

    ``label_smoothing`` (0 to 1) mixes the one-hot target with the uniform one.

    >>> loss = LogitAdjustedLoss([1, 1, 2], tau=1.0)  # prior 1/4, 1/4, 1/2
    >>> round(loss(torch.zeros(1, 3), torch.tensor([2])).item(), 4)  # -log(1/2)
    0.6931
    """

    def __init__(self, class_counts: Sequence[int], tau: float = 1.0, label_smoothing: float = 0.0):
        super().__init__()
        self.tau = tau
        self.label_smoothing = label_smoothing
        self.register_buffer("log_prior", log_prior(class_counts))

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        logits = upcast(logits)
        adjusted = logits + self.tau * self.log_prior.to(logits.dtype)
        return F.cross_entropy(adjusted, labels, label_smoothing=self.label_smoothing)


@register_loss("logit_adjusted")
def _build(class_counts, la_tau, label_smoothing):
    return LogitAdjustedLoss(class_counts, la_tau, label_smoothing)


@register_loss("balanced_softmax")
def _build_balanced(class_counts, label_smoothing):
    return LogitAdjustedLoss(class_counts, 1.0, label_smoothing)
