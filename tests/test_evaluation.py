"""Evaluation: metrics from logits, with the loss, and the result files of a run."""

import json

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
