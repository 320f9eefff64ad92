"""Evaluation: metrics from logits, with the loss, and the result files of a run."""

import json
import math

import numpy as np
import pytest
import torch

from weighted_bert.evaluation import metrics_from_logits
from weighted_bert.losses import get_loss


def test_eval_results_hold_every_metric(trained_run):
    results = json.loads((trained_run / "eval_results.json").read_text())
    for key in ("eval_accuracy", "eval_balanced_accuracy", "eval_macro_f1", "eval_micro_f1", "eval_weighted_f1",
                "eval_mcc", "eval_ece", "eval_few_shot_accuracy", "eval_medium_shot_accuracy",
                "eval_many_shot_accuracy", "eval_per_class", "eval_confusion_matrix"):
        assert key in results, key
    assert len(results["eval_confusion_matrix"]) == 3
    assert sum(map(sum, results["eval_confusion_matrix"])) == results["eval_num_examples"] == 30
    text = (trained_run / "eval_results.txt").read_text()
    assert "eval_per_class" not in text and "nan" not in text.lower()


def test_metrics_from_logits_includes_the_loss():
    logits = np.log(np.array([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25]], dtype=np.float32))
    m = metrics_from_logits(logits, [0, 2], loss_fn=get_loss("ce", [1, 1, 1]), train_counts=[100, 30, 5])
    assert m["accuracy"] == 0.5
    assert m["loss"] == pytest.approx((np.log(2) + np.log(4)) / 2, rel=1e-6)
    assert m["many_shot_accuracy"] == 1.0 and m["few_shot_accuracy"] == 0.0
    assert torch.is_tensor(get_loss("ce", [1, 1, 1])(torch.zeros(1, 3), torch.tensor([0])))


def test_results_stay_linear_in_the_number_of_classes(tmp_path):
    """10,000 classes, 50 examples: no K x K matrix in memory, in the file or on the terminal."""
    from weighted_bert.data import Dataset, Example
    from weighted_bert.evaluation import write_evaluation
    from weighted_bert.labels import LabelMap

    k, n = 10_000, 50
    labels = LabelMap(tuple(f"c{i}" for i in range(k)))
    rng = np.random.default_rng(0)
    gold = rng.integers(0, k, n)
    logits = np.zeros((n, k), dtype=np.float32)
    logits[np.arange(n), np.where(np.arange(n) % 5 == 0, (gold + 1) % k, gold)] = 5.0  # every fifth wrong
    data = Dataset("dev.txt", [Example(f"t{i}", None, f"c{g}", i + 1) for i, g in enumerate(gold)])
    metrics = write_evaluation(tmp_path, logits, data, labels, train_counts=[3] * k)
    assert "confusion_matrix" not in metrics
    assert sorted(c["count"] for c in metrics["confusions"]) == [1] * 10
    assert (tmp_path / "eval_results.json").stat().st_size < 3_000_000


def test_small_label_sets_keep_the_full_matrix_and_the_pairs():
    from weighted_bert.metrics import full_metrics

    m = full_metrics([0, 0, 1, 2], [0, 1, 1, 0], ["a", "b", "c"])
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]
    assert m["confusions"] == [{"gold": "a", "predicted": "b", "count": 1}, {"gold": "c", "predicted": "a", "count": 1}]


def test_every_evaluation_reports_plain_cross_entropy_beside_the_objective():
    logits = np.log(np.array([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25]], dtype=np.float32))
    m = metrics_from_logits(logits, [0, 2], loss_fn=get_loss("weighted_ce", [10, 1, 1]))
    assert m["nll"] == pytest.approx((math.log(2) + math.log(4)) / 2, rel=1e-5)
    assert m["loss"] != pytest.approx(m["nll"])  # the weighted objective is another number
