"""Distribution-balanced loss (Wu et al., "Distribution-Balanced Loss for Multi-Label
Classification in Long-Tailed Datasets", ECCV 2020): re-balanced weighting plus
negative-tolerant regularisation (NTR).

With ``n_l`` the training rows of label l among ``N``:

* re-balancing: a row is drawn more often through each of its labels than class-aware
  sampling intends; ``r_il = (1 / n_l) / sum_{j in labels of row i} (1 / n_j)`` is the
  share that label l should have of row i's draws, smoothed to ``r^ = alpha + s(beta (r - mu))``
  (a row with no label: the limit r -> inf, ``alpha + 1``);
* NTR: the logits are shifted by the prior bias, ``z' = z + kappa logit(n_l / N)`` (so a
  rare label's many negatives start near where they belong), and the negative term is
  ``(1 / lambda) log(1 + exp(lambda z'))``: its gradient vanishes fast once a negative is
  below the threshold;
* focal factor (Lin et al., ICCV 2017), as in the published configurations of both Wu et al.
  and Huang et al. (EMNLP 2021, text): each term is scaled by ``(1 - p_t)^gamma``, with
  ``p_t = sigmoid(z')`` for a positive and ``sigmoid(-lambda z')`` for a negative (the
  probability NTR's term is on).

``loss = mean_{i,l} r^_il (y sigmoid(-z')^gamma log(1 + e^{-z'})
+ (1 - y) sigmoid(lambda z')^gamma (1 / lambda) log(1 + e^{lambda z'}))``.
alpha = 0.5, beta = 0 (r^ = 1), kappa = 0, lambda = 1, gamma = 0 is plain BCE; gamma = 0 alone
is Huang et al.'s "DB-0FL".
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..base import upcast
from ..registry import register_loss


def prior_logits(class_counts: Sequence[int], num_examples: int) -> torch.Tensor:
    """``logit(n_l / N)``, the prior kept one row away from 0 and 1 so it stays finite."""
    n = torch.as_tensor(class_counts, dtype=torch.float64).clamp(0.5, num_examples - 0.5)
    return torch.log(n / (num_examples - n)).float()


def tolerant_terms(logits: torch.Tensor, y: torch.Tensor, shift: torch.Tensor, lam: float,
                   gamma: float = 0.0) -> torch.Tensor:
    """NTR per element: ``y softplus(-z') + (1 - y) softplus(lambda z') / lambda``, z' = z + shift,
    each term times its focal factor ``sigmoid(-z')^gamma`` / ``sigmoid(lambda z')^gamma``."""
    z = logits + shift.to(logits.dtype)
    positive, negative = F.softplus(-z), F.softplus(lam * z) / lam
    if gamma:
        positive = positive * torch.sigmoid(-z) ** gamma
        negative = negative * torch.sigmoid(lam * z) ** gamma
    return y * positive + (1 - y) * negative


class DistributionBalancedLoss(nn.Module):
    def __init__(self, class_counts: Sequence[int], num_examples: int, *, alpha: float = 0.1, beta: float = 10.0,
                 mu: float = 0.3, lam: float = 2.0, kappa: float = 0.05, gamma: float = 2.0):
        super().__init__()
        counts = torch.as_tensor(class_counts, dtype=torch.float32)
        self.register_buffer("inverse", torch.where(counts > 0, 1.0 / counts.clamp_min(1), torch.zeros_like(counts)))
        self.register_buffer("shift", kappa * prior_logits(class_counts, num_examples))
        self.alpha, self.beta, self.mu, self.lam, self.gamma = alpha, beta, mu, lam, gamma

    def rebalancing(self, y: torch.Tensor) -> torch.Tensor:
        inverse = self.inverse.to(y.dtype)
        per_row = (y * inverse).sum(dim=1, keepdim=True)
        smoothed = self.alpha + torch.sigmoid(self.beta * (inverse / per_row.clamp_min(1e-12) - self.mu))
        limit = self.alpha + (1.0 if self.beta > 0 else 0.5)  # a row with no label: r -> inf
        return torch.where(per_row > 0, smoothed, torch.full_like(smoothed, limit))

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits = upcast(logits)
        y = targets.to(logits.dtype)
        return (self.rebalancing(y) * tolerant_terms(logits, y, self.shift, self.lam, self.gamma)).mean()


@register_loss("distribution_balanced")
def _build(class_counts, db_alpha, db_beta, db_mu, ntr_lambda, ntr_kappa, focal_gamma, num_examples):
    return DistributionBalancedLoss(class_counts, num_examples, alpha=db_alpha, beta=db_beta, mu=db_mu,
                                    lam=ntr_lambda, kappa=ntr_kappa, gamma=focal_gamma)
