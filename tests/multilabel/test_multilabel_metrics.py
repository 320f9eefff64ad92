"""Multi-label metrics equal scikit-learn's on random data (with empty rows, absent labels,
ties in the scores)."""

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    hamming_loss,
    label_ranking_average_precision_score,
    precision_score,
    recall_score,
)

from weighted_bert.multilabel.metrics import average_precision, lrap, multilabel_metrics, per_label_table


@pytest.fixture(params=[0, 1, 2])
def data(request):
    rng = np.random.default_rng(request.param)
    n, k = 60, 7
    y = rng.random((n, k)) < np.array([0.5, 0.3, 0.1, 0.05, 0.02, 0.0, 0.4])  # label 5: never gold
    y[:4] = False  # rows with no label
    scores = np.round(np.clip(y * 0.3 + rng.random((n, k)) * 0.8, 0, 1), 1)  # rounded: ties
    pred = scores >= 0.5
    return y.astype(int), pred.astype(int), scores


def test_counting_metrics_equal_scikit_learn(data):
    y, pred, scores = data
    m = multilabel_metrics(y, pred, scores)
    seen = np.flatnonzero((y.sum(0) + pred.sum(0)) > 0)
    assert m["micro_f1"] == pytest.approx(f1_score(y, pred, average="micro", zero_division=0))
    assert m["micro_precision"] == pytest.approx(precision_score(y, pred, average="micro", zero_division=0))
    assert m["micro_recall"] == pytest.approx(recall_score(y, pred, average="micro", zero_division=0))
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro", labels=seen, zero_division=0))
    assert m["macro_precision"] == pytest.approx(precision_score(y, pred, average="macro", labels=seen,
                                                                 zero_division=0))
    assert m["macro_recall"] == pytest.approx(recall_score(y, pred, average="macro", labels=seen, zero_division=0))
    assert m["samples_f1"] == pytest.approx(f1_score(y, pred, average="samples", zero_division=1))
    assert m["hamming_loss"] == pytest.approx(hamming_loss(y, pred))
    assert m["subset_accuracy"] == pytest.approx(np.mean((y == pred).all(axis=1)))


def test_ranking_metrics_equal_scikit_learn(data):
    y, pred, scores = data
    m = multilabel_metrics(y, pred, scores)
    present = [j for j in range(y.shape[1]) if y[:, j].any()]
    for j in present:
        assert average_precision(y[:, j], scores[:, j]) == pytest.approx(average_precision_score(y[:, j],
                                                                                                 scores[:, j]))
    assert m["map"] == pytest.approx(np.mean([average_precision_score(y[:, j], scores[:, j]) for j in present]))
    assert lrap(y, scores) == pytest.approx(label_ranking_average_precision_score(y, scores))


def test_per_label_table_carries_counts_groups_and_thresholds(data):
    y, pred, scores = data
    labels = [f"l{j}" for j in range(y.shape[1])]
    rows = per_label_table(y, pred, scores, labels, train_counts=[100, 50, 30, 19, 5, 0, 70],
                           thresholds=[0.5] * 7)
    assert [r["group"] for r in rows] == ["many", "medium", "medium", "few", "few", "few", "many"]
    assert rows[5]["average_precision"] is None and rows[5]["support"] == 0
    assert rows[0]["f1"] == pytest.approx(f1_score(y[:, 0], pred[:, 0]))


def test_shot_group_macro_f1():
    y = np.array([[1, 0], [0, 1], [1, 1]])
    pred = np.array([[1, 0], [0, 0], [1, 0]])  # label 0 perfect, label 1 never predicted
    m = multilabel_metrics(y, pred, train_counts=[100, 3])
    assert m["many_shot_macro_f1"] == 1.0 and m["few_shot_macro_f1"] == 0.0 and m["macro_f1"] == 0.5
