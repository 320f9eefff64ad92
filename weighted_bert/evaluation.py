"""Evaluation: logits -> metrics and result files, shared by train and evaluate."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score

from .calibration.temperature import nll
from .data.readers import Dataset
from .files import atomic_write_text
from .labels import LabelMap
from .metrics import classification_metrics, full_metrics, per_class_report, shot_accuracy
from .prediction import softmax
from .result_files import write_eval_results, write_predictions, write_test_results
from .run_folder import CLASSIFICATION_REPORT, PREDICTIONS, TEST_RESULTS
from .shot_groups import FEW_THRESHOLD, MANY_THRESHOLD


def objective(loss_fn, logits: np.ndarray, y_true) -> float:
    """The training loss over all of ``logits`` at once (the seed's ``eval_loss``), computed
    where the loss module's buffers are, without moving the module. ``y_true``: class ids,
    or (multi-label) the 0/1 target matrix."""
    device = next(loss_fn.buffers(), torch.empty(0)).device
    y = np.asarray(y_true)
    with torch.no_grad():
        return float(loss_fn(torch.from_numpy(np.asarray(logits)).to(device),
                             torch.as_tensor(y, dtype=torch.float32 if y.ndim == 2 else torch.long, device=device)))


def decisions(probabilities: np.ndarray, y_true: Sequence[int], calibration=None) -> tuple[np.ndarray, dict]:
    """The class chosen for each row at full coverage (the calibration's cost rule, else the
    argmax) and what the calibration's decision rule adds to the metrics: ``mean_cost`` with
    a cost matrix; with abstaining, ``coverage`` (the share answered), ``abstained`` and
    ``answered_accuracy`` / ``answered_macro_f1`` over the answered texts."""
    from .calibration import decide

    p, y = np.asarray(probabilities), np.asarray(y_true)
    if calibration is None:
        return p.argmax(axis=1), {}
    chosen = decide(p, costs=calibration.costs)
    extra = {}
    if calibration.costs is not None and len(y):
        extra["mean_cost"] = float(np.asarray(calibration.costs)[y, chosen].mean())
    if calibration.abstain_threshold is not None:
        answered = p[np.arange(len(p)), chosen] >= calibration.abstain_threshold
        extra.update({"coverage": float(answered.mean()) if len(y) else 0.0, "abstained": int((~answered).sum())})
        if answered.any():
            answered_scores = classification_metrics(y[answered], chosen[answered])
            extra.update({"answered_accuracy": answered_scores["accuracy"],
                          "answered_macro_f1": answered_scores["macro_f1"]})
    return chosen, extra


def metrics_from_logits(logits: np.ndarray, y_true: Sequence[int], *, loss_fn=None,
                        train_counts: Sequence[int] | None = None,
                        many_threshold: int = MANY_THRESHOLD, few_threshold: int = FEW_THRESHOLD,
                        calibration=None) -> dict:
    """Accuracy, macro P/R/F1, weighted F1, ``nll`` (plain cross-entropy, comparable across
    recipes), the training objective as ``loss`` (when ``loss_fn`` is given),
    many/medium/few-shot accuracy (when ``train_counts`` is given), and what a
    ``calibration``'s decision rule adds (:func:`decisions`)."""
    y_pred, extra = decisions(softmax(logits), y_true, calibration)
    metrics = classification_metrics(y_true, y_pred)
    metrics["balanced_accuracy"] = float(balanced_accuracy_score(y_true, y_pred)) if len(y_pred) else 0.0
    metrics["nll"] = nll(logits, y_true)
    if loss_fn is not None:
        metrics["loss"] = objective(loss_fn, logits, y_true)
    if train_counts is not None:
        metrics.update(shot_accuracy(y_true, y_pred, train_counts, many_threshold=many_threshold,
                                     few_threshold=few_threshold))
    metrics.update(extra)
    return metrics


def write_evaluation(output_dir, logits: np.ndarray, dataset: Dataset, label_map: LabelMap, *,
                     split: str = "dev", extra: dict | None = None, loss_fn=None,
                     train_counts: Sequence[int] | None = None, many_threshold: int = MANY_THRESHOLD,
                     few_threshold: int = FEW_THRESHOLD, calibration=None) -> dict:
    """Write the ``split``'s results (``eval_results.txt/.json`` for dev, ``test_results.*``
    for test: every metric of ``metrics.full_metrics``, the loss, and what a
    ``calibration``'s decision rule adds) and its per-class classification report."""
    y_true = label_map.encode(dataset)
    probabilities = softmax(logits)
    y_pred, decided = decisions(probabilities, y_true, calibration)
    metrics = full_metrics(y_true, y_pred, label_map.labels,
                           confidence=probabilities[np.arange(len(y_pred)), y_pred], train_counts=train_counts,
                           many_threshold=many_threshold, few_threshold=few_threshold, probabilities=probabilities)
    metrics.update(decided)
    if loss_fn is not None:
        metrics["loss"] = objective(loss_fn, logits, y_true)
    metrics["num_examples"] = len(dataset)
    if extra:
        metrics.update(extra)
    write_eval_results(output_dir, metrics, split=split)
    atomic_write_text(Path(output_dir) / CLASSIFICATION_REPORT[split],
                      per_class_report(y_true, y_pred, label_map.labels))
    return metrics


def write_prediction_files(output_dir, logits: np.ndarray, dataset: Dataset, label_map: LabelMap, *,
                           split: str = "test") -> np.ndarray:
    """Test: the seed's ``test_results.tsv`` and ``predictions.tsv``; dev: ``eval_predictions.tsv``."""
    probabilities = softmax(logits)
    if split == "test":
        write_test_results(Path(output_dir) / TEST_RESULTS, probabilities)
    write_predictions(Path(output_dir) / PREDICTIONS[split], dataset.examples, probabilities, label_map.labels)
    return probabilities
