"""Class-balanced loss with negative-tolerant regularisation, CB-NTR (Huang et al.,
"Balancing Methods for Multi-label Text Classification with Long-Tailed Class
Distribution", EMNLP 2021): the best of the losses they compared on long-tailed
multi-label text (Reuters-21578, PubMed).

Each label's terms are weighted by its class-balanced weight ``w_l = (1 - beta) /
(1 - beta^{n_l})`` (Cui et al., CVPR 2019; the inverse effective number), scaled so that
the weights average 1 over the labels, and take NTR's form (see
:mod:`~weighted_bert.losses.multilabel.distribution_balanced`):
``loss = mean_{i,l} w_l (y log(1 + e^{-z'}) + (1 - y) (1 / lambda) log(1 + e^{lambda z'}))``,
each term times NTR's focal factor (gamma 2 in Huang et al.'s configuration).
beta = 0 (w = 1), kappa = 0, lambda = 1, gamma = 0 is plain BCE.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..base import upcast
from ..registry import register_loss
from .distribution_balanced import prior_logits, tolerant_terms


def class_balanced_weights(class_counts: Sequence[int], beta: float) -> torch.Tensor:
    """``(1 - beta) / (1 - beta^n)`` per label, mean 1 over labels; a label without rows takes
    the largest weight of the others.

    >>> [round(w, 4) for w in class_balanced_weights([1, 3], 0.5).tolist()]
    [1.2727, 0.7273]
    """
    n = torch.as_tensor(class_counts, dtype=torch.float64)
    w = (1 - beta) / (1 - beta ** n.clamp_min(1)) if beta > 0 else torch.ones_like(n)
    w = torch.where(n > 0, w, w[n > 0].max() if (n > 0).any() else torch.ones_like(w))
    return (w / w.mean()).float()


class ClassBalancedNTRLoss(nn.Module):
    def __init__(self, class_counts: Sequence[int], num_examples: int, *, beta: float = 0.9999, lam: float = 2.0,
                 kappa: float = 0.05, gamma: float = 2.0):
        super().__init__()
        self.register_buffer("weight", class_balanced_weights(class_counts, beta))
        self.register_buffer("shift", kappa * prior_logits(class_counts, num_examples))
        self.lam, self.gamma = lam, gamma

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits = upcast(logits)
        y = targets.to(logits.dtype)
        return (self.weight.to(logits.dtype) * tolerant_terms(logits, y, self.shift, self.lam, self.gamma)).mean()


@register_loss("cb_ntr")
def _build(class_counts, class_weight_beta, ntr_lambda, ntr_kappa, focal_gamma, num_examples):
    return ClassBalancedNTRLoss(class_counts, num_examples, beta=class_weight_beta, lam=ntr_lambda, kappa=ntr_kappa,
                                gamma=focal_gamma)
