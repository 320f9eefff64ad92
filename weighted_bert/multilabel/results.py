"""Multi-label result files, shared by ``train`` and ``evaluate``/``predict``:

* ``eval_results.txt/.json`` (dev) and ``test_results.txt/.json``: every metric of
  :func:`~weighted_bert.multilabel.metrics.multilabel_metrics` at the model's thresholds,
  and the macro/micro-F1 at 0.5 beside them;
* ``classification_report.txt`` / ``test_classification_report.txt``: one tab-separated
  row per label (training count, group, support, precision, recall, F1, average
  precision, threshold);
* ``test_results.tsv``: a header of the label names, then one sigmoid probability per
  label a line (what ``transformers.pipeline(..., top_k=None)`` gives);
* ``predictions.tsv`` / ``eval_predictions.tsv``: the text, the predicted label set
  (``;``-separated, empty for none), the probabilities of those labels, and the gold set
  when known.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..evaluation import objective
from ..files import atomic_write_text
from ..labels import LabelMap, join_set
from ..prediction import sigmoid
from ..result_files import windows_column, write_eval_results
from ..run_folder import CLASSIFICATION_REPORT, PREDICTIONS, TEST_RESULTS
from ..shot_groups import FEW_THRESHOLD, MANY_THRESHOLD
from .metrics import multilabel_metrics, per_label_table
from .thresholds import DEFAULT, Thresholds

REPORT_COLUMNS = ("label", "train_count", "group", "support", "predicted", "precision", "recall", "f1",
                  "average_precision", "threshold")


def evaluation_metrics(logits: np.ndarray, y: np.ndarray, thresholds: Thresholds | None, *, loss_fn=None,
                       train_counts: Sequence[int] | None = None, many_threshold: int = MANY_THRESHOLD,
                       few_threshold: int = FEW_THRESHOLD, top_k: int | None = None,
                       at_least_one: bool = False) -> dict:
    """Metrics at the thresholds (0.5 without), and macro/micro-F1 at 0.5 when they differ."""
    scores = sigmoid(logits)
    thresholds = thresholds or Thresholds.half(range(y.shape[1]))
    pred = thresholds.decide(scores, top_k=top_k, at_least_one=at_least_one)
    metrics = multilabel_metrics(y, pred, scores, train_counts=train_counts, many_threshold=many_threshold,
                                 few_threshold=few_threshold)
    at_half = scores >= DEFAULT
    if (pred != at_half).any():
        plain = multilabel_metrics(y, at_half)
        metrics.update({"macro_f1_at_0.5": plain["macro_f1"], "micro_f1_at_0.5": plain["micro_f1"]})
    if loss_fn is not None:
        metrics["loss"] = objective(loss_fn, logits, y)
    return metrics


def write_evaluation(output_dir, logits: np.ndarray, dataset, label_map: LabelMap, *, split: str = "dev",
                     thresholds: Thresholds | None = None, extra: dict | None = None, loss_fn=None,
                     train_counts: Sequence[int] | None = None, many_threshold: int = MANY_THRESHOLD,
                     few_threshold: int = FEW_THRESHOLD, top_k: int | None = None, at_least_one: bool = False) -> dict:
    y = label_map.multi_hot(dataset)
    metrics = evaluation_metrics(logits, y, thresholds, loss_fn=loss_fn, train_counts=train_counts,
                                 many_threshold=many_threshold, few_threshold=few_threshold, top_k=top_k,
                                 at_least_one=at_least_one)
    metrics["num_examples"] = len(dataset)
    metrics.update(extra or {})
    write_eval_results(output_dir, metrics, split=split)
    scores = sigmoid(logits)
    values = (thresholds or Thresholds.half(label_map.labels)).values
    rows = per_label_table(y, scores >= np.asarray(values)[None, :], scores, label_map.labels,
                           train_counts=train_counts, thresholds=values, many_threshold=many_threshold,
                           few_threshold=few_threshold)
    atomic_write_text(Path(output_dir) / CLASSIFICATION_REPORT[split], per_label_text(rows))
    return metrics


def per_label_text(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    for row in rows:
        writer.writerow(["" if row[c] is None else f"{row[c]:.4f}" if isinstance(row[c], float) else row[c]
                         for c in REPORT_COLUMNS])
    return buffer.getvalue()


def read_per_label(path) -> list[dict]:
    """The rows :func:`per_label_text` wrote (numbers back as numbers, blanks as None)."""
    rows = list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8")), delimiter="\t"))
    for row in rows:
        for key, value in row.items():
            if key not in ("label", "group"):
                row[key] = None if value == "" else float(value)
    return rows


def write_test_results(path, labels: Sequence[str], scores: np.ndarray) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(labels)
    for row in scores:
        writer.writerow([f"{p:.9g}" for p in row])
    atomic_write_text(path, buffer.getvalue())


def write_predictions(path, examples, scores: np.ndarray, pred: np.ndarray, labels: Sequence[str],
                      windows: Sequence[int] | None = None) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    pair = bool(examples) and examples[0].text_pair is not None
    gold = bool(examples) and examples[0].label is not None
    windows = windows_column(windows, len(examples))
    writer.writerow(["text"] + (["text_b"] if pair else []) + ["predicted_labels", "probabilities"]
                    + (["gold_labels"] if gold else []) + (["windows"] if windows else []))
    for i, (example, row_scores, row_pred) in enumerate(zip(examples, scores, pred)):
        chosen = np.flatnonzero(row_pred)
        chosen = chosen[np.argsort(-row_scores[chosen], kind="stable")]  # most probable first
        writer.writerow([example.text] + ([example.text_pair] if pair else [])
                        + [join_set(labels[j] for j in chosen), join_set(f"{row_scores[j]:.4f}" for j in chosen)]
                        + ([join_set(example.label)] if gold else []) + ([windows[i]] if windows else []))
    atomic_write_text(path, buffer.getvalue())


def write_prediction_files(output_dir, logits: np.ndarray, dataset, label_map: LabelMap, *, split: str = "test",
                           thresholds: Thresholds | None = None) -> np.ndarray:
    scores = sigmoid(logits)
    values = (thresholds or Thresholds.half(label_map.labels)).values
    if split == "test":
        write_test_results(Path(output_dir) / TEST_RESULTS, label_map.labels, scores)
    write_predictions(Path(output_dir) / PREDICTIONS[split], dataset.examples, scores,
                      scores >= np.asarray(values)[None, :], label_map.labels)
    return scores
