"""The second stage's formulas on features (rows x width), labels (class ids), a weight
matrix (classes x width) and a bias (classes), as numpy arrays.

>>> w = np.array([[3.0, 4.0], [0.0, 1.0]]); b = np.array([1.0, 0.5])
>>> tau_normalised(w, b, 1.0)[0].tolist()   # rows over their norms 5 and 1
[[0.6, 0.8], [0.0, 1.0]]
>>> balanced_weights(np.array([0, 0, 0, 1]), 2).tolist()   # each class weighs alike, mean 1
[0.6666666666666666, 0.6666666666666666, 0.6666666666666666, 2.0]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import TAU_GRID, WEIGHT_DECAY


def tau_normalised(weight: np.ndarray, bias: np.ndarray, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Each class's logit ``w_c x + b_c`` divided by ``||w_c|| ** tau`` (its row and bias alike)."""
    scale = np.linalg.norm(weight, axis=1) ** tau
    scale = np.where(scale > 0, scale, 1.0)
    return weight / scale[:, None], bias / scale


def choose_tau(features: np.ndarray, weight: np.ndarray, bias: np.ndarray, score: Callable[[np.ndarray], float],
               grid=TAU_GRID) -> tuple[float, dict[float, float]]:
    """The tau of ``grid`` whose logits on ``features`` ``score`` best (ties: the smaller tau)."""
    scores = {}
    for tau in grid:
        w, b = tau_normalised(weight, bias, tau)
        scores[tau] = float(score(features @ w.T + b))
    best = max(grid, key=lambda t: (scores[t], -t))
    return best, scores


def balanced_weights(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Per-example weights ``1 / n_c``, scaled to mean 1: what class-balanced sampling gives in
    expectation (every class drawn alike, uniformly within it)."""
    counts = np.bincount(labels, minlength=num_classes).astype(float)
    weights = 1.0 / counts[labels]
    return weights * len(labels) / weights.sum()


def _fit(parameters, loss_of, steps: int = 200) -> None:
    """Full-batch L-BFGS on ``loss_of()`` (a convex problem: deterministic, no learning rate)."""
    import torch

    optimizer = torch.optim.LBFGS(parameters, lr=1.0, max_iter=steps, history_size=20,
                                  tolerance_grad=1e-7, tolerance_change=1e-10, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = loss_of()
        loss.backward()
        return loss

    optimizer.step(closure)


def retrained_classifier(features: np.ndarray, labels: np.ndarray, num_classes: int, *,
                         weight_decay: float = WEIGHT_DECAY) -> tuple[np.ndarray, np.ndarray]:
    """cRT: ``(W, b)`` minimising the class-balanced cross-entropy (:func:`balanced_weights`)
    plus ``weight_decay / 2 * ||W||^2``, from zero."""
    import torch

    x = torch.as_tensor(features, dtype=torch.float64)
    y = torch.as_tensor(labels, dtype=torch.long)
    w_example = torch.as_tensor(balanced_weights(labels, num_classes), dtype=torch.float64)
    weight = torch.zeros(num_classes, x.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(num_classes, dtype=torch.float64, requires_grad=True)

    def loss_of():
        ce = torch.nn.functional.cross_entropy(x @ weight.T + bias, y, reduction="none")
        return (w_example * ce).mean() + 0.5 * weight_decay * (weight ** 2).sum()

    _fit([weight, bias], loss_of)
    return weight.detach().numpy(), bias.detach().numpy()


def learned_scales(features: np.ndarray, labels: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """LWS: one scale ``f_c > 0`` a class on the logits ``f_c (w_c x + b_c)``, minimising the
    class-balanced cross-entropy, starting at 1 (fitted as ``log f_c``: a scale never turns a
    class's logits around)."""
    import torch

    z = torch.as_tensor(features @ weight.T + bias, dtype=torch.float64)
    y = torch.as_tensor(labels, dtype=torch.long)
    w_example = torch.as_tensor(balanced_weights(labels, weight.shape[0]), dtype=torch.float64)
    log_scales = torch.zeros(weight.shape[0], dtype=torch.float64, requires_grad=True)

    def loss_of():
        return (w_example * torch.nn.functional.cross_entropy(z * log_scales.exp(), y, reduction="none")).mean()

    _fit([log_scales], loss_of)
    return log_scales.detach().exp().numpy()
