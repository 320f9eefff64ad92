"""Temperature scaling (Guo et al., "On Calibration of Modern Neural Networks", ICML 2017).

One number ``T > 0`` divides every logit: ``softmax(z / T)``. It is fitted on dev by
minimising the negative log-likelihood (a convex problem in ``1 / T``), so it never changes
which class is largest; it only makes the probabilities say how often the model is right.
"""

from __future__ import annotations

import numpy as np

from ..metrics import expected_calibration_error, reliability_bins

LOG_T_BOUNDS = (np.log(0.05), np.log(20.0))  # a model needing more than this is not a scale problem


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def nll(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-probability of the gold class (plain cross-entropy)."""
    if len(y) == 0:
        return 0.0
    return float(-log_softmax(logits)[np.arange(len(y)), np.asarray(y)].mean())


def ece(logits: np.ndarray, y: np.ndarray) -> float:
    """Top-label expected calibration error of ``softmax(logits)`` (as :mod:`weighted_bert.metrics`)."""
    p = np.exp(log_softmax(logits))
    return expected_calibration_error(p.max(axis=1), p.argmax(axis=1) == np.asarray(y))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The ``T`` minimising ``nll(logits / T, y)``, searched on ``log T`` within ``LOG_T_BOUNDS``."""
    from scipy.optimize import minimize_scalar

    z, y = np.asarray(logits, dtype=np.float64), np.asarray(y)
    if len(y) == 0:
        return 1.0
    result = minimize_scalar(lambda log_t: nll(z / np.exp(log_t), y), bounds=LOG_T_BOUNDS, method="bounded",
                             options={"xatol": 1e-5})
    return float(np.exp(result.x))


def top_label_bins(logits: np.ndarray, y: np.ndarray) -> list[dict]:
    p = np.exp(log_softmax(logits))
    return reliability_bins(p.max(axis=1), p.argmax(axis=1) == np.asarray(y))


def cross_fitted(logits: np.ndarray, y: np.ndarray, halves) -> dict:
    """NLL, ECE and reliability bins of dev before and after temperature scaling, each half
    scored with the temperature fitted on the other half (no text judged by a T fitted on it)."""
    z, y = np.asarray(logits, dtype=np.float64), np.asarray(y)
    scaled = z.copy()
    for fit_part, score_part in (halves, halves[::-1]):
        scaled[score_part] = z[score_part] / fit_temperature(z[fit_part], y[fit_part])
    return {"nll_before": nll(z, y), "nll_after": nll(scaled, y), "ece_before": ece(z, y), "ece_after": ece(scaled, y),
            "bins_before": top_label_bins(z, y), "bins_after": top_label_bins(scaled, y)}
