"""Evaluation: logits -> metrics and report files, shared by train, evaluate and predict."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .data.readers import Dataset
from .io import atomic_write_text
from .labels import LabelMap
from .metrics import (
    FEW_THRESHOLD,
    MANY_THRESHOLD,
    classification_metrics,
    full_metrics,
    per_class_report,
    shot_accuracy,
)
from .prediction import encode_examples, predict_logits, softmax
from .reports import write_eval_results, write_predictions, write_test_results


def objective(loss_fn, logits: np.ndarray, y_true: Sequence[int]) -> float:
    """The training loss over all of ``logits`` at once (the seed's ``eval_loss``), computed
    where the loss module's buffers are, without moving the module."""
    device = next(loss_fn.buffers(), torch.empty(0)).device
    with torch.no_grad():
        return float(loss_fn(torch.from_numpy(logits).to(device),
                             torch.as_tensor(np.asarray(y_true), dtype=torch.long, device=device)))


def metrics_from_logits(logits: np.ndarray, y_true: Sequence[int], *, loss_fn=None,
                        train_counts: Sequence[int] | None = None,
                        many_threshold: int = MANY_THRESHOLD, few_threshold: int = FEW_THRESHOLD) -> dict:
    """Accuracy, macro P/R/F1, weighted F1, the loss (when ``loss_fn`` is given) and
    many/medium/few-shot accuracy (when ``train_counts`` is given)."""
    y_pred = logits.argmax(axis=1)
    metrics = classification_metrics(y_true, y_pred)
    if loss_fn is not None:
        metrics["loss"] = objective(loss_fn, logits, y_true)
    if train_counts is not None:
        metrics.update(shot_accuracy(y_true, y_pred, train_counts, many_threshold=many_threshold,
                                     few_threshold=few_threshold))
    return metrics


def run_split(model, tokenizer, dataset: Dataset, label_map: LabelMap, *, max_seq_length: int,
              batch_size: int, precision: str = "fp32") -> np.ndarray:
    """Logits for every example of ``dataset``, in file order."""
    encodings = encode_examples(tokenizer, dataset.examples, max_seq_length)
    return predict_logits(model, tokenizer, encodings, batch_size=batch_size, precision=precision)


def write_evaluation(output_dir, logits: np.ndarray, dataset: Dataset, label_map: LabelMap, *,
                     prefix: str = "eval", extra: dict | None = None, loss_fn=None,
                     train_counts: Sequence[int] | None = None, many_threshold: int = MANY_THRESHOLD,
                     few_threshold: int = FEW_THRESHOLD) -> dict:
    """Write ``{prefix}_results.txt/.json`` (every metric of ``metrics.full_metrics``, and
    the loss) and the per-class ``classification_report.txt``."""
    y_true = label_map.encode(dataset)
    probabilities = softmax(logits)
    metrics = full_metrics(y_true, probabilities.argmax(axis=1), label_map.labels,
                           confidence=probabilities.max(axis=1), train_counts=train_counts,
                           many_threshold=many_threshold, few_threshold=few_threshold)
    if loss_fn is not None:
        metrics["loss"] = objective(loss_fn, logits, y_true)
    metrics["num_examples"] = len(dataset)
    if extra:
        metrics.update(extra)
    write_eval_results(output_dir, metrics, prefix=prefix)
    report_name = "classification_report.txt" if prefix == "eval" else f"{prefix}_classification_report.txt"
    atomic_write_text(Path(output_dir) / report_name,
                      per_class_report(y_true, logits.argmax(axis=1), label_map.labels))
    return metrics


def write_prediction_files(output_dir, logits: np.ndarray, dataset: Dataset, label_map: LabelMap, *,
                           split: str = "test") -> np.ndarray:
    """Test: the seed's ``test_results.tsv`` and ``predictions.tsv``; dev: ``eval_predictions.tsv``."""
    probabilities = softmax(logits)
    if split == "test":
        write_test_results(Path(output_dir) / "test_results.tsv", probabilities)
    name = "predictions.tsv" if split == "test" else "eval_predictions.tsv"
    write_predictions(Path(output_dir) / name, dataset.examples, probabilities, label_map.labels)
    return probabilities
