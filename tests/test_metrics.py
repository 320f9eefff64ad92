"""Metrics against a confusion matrix worked out by hand."""

import math

import numpy as np
import pytest

from weighted_bert.metrics import classification_metrics, per_class_report, shot_accuracy
from weighted_bert.shot_groups import shot_group

# gold:      0 0 0 1 1 2
# predicted: 0 0 1 1 0 0
# class 0: TP 2, FP 2 (the 1 and the 2 predicted as 0), FN 1 -> P 2/4, R 2/3, F1 4/7
# class 1: TP 1, FP 1, FN 1                                   -> P 1/2, R 1/2, F1 1/2
# class 2: TP 0, never predicted, FN 1                        -> P 0 (0/0 -> 0), R 0, F1 0
Y_TRUE = [0, 0, 0, 1, 1, 2]
Y_PRED = [0, 0, 1, 1, 0, 0]


def test_classification_metrics_by_hand():
    m = classification_metrics(Y_TRUE, Y_PRED)
    assert m["accuracy"] == pytest.approx(3 / 6)
    assert m["macro_precision"] == pytest.approx((1 / 2 + 1 / 2 + 0) / 3)
    assert m["macro_recall"] == pytest.approx((2 / 3 + 1 / 2 + 0) / 3)
    assert m["macro_f1"] == pytest.approx((4 / 7 + 1 / 2 + 0) / 3)
    # weighted by support 3, 2, 1
    assert m["weighted_f1"] == pytest.approx((3 * 4 / 7 + 2 * 1 / 2 + 0) / 6)
    assert all(np.isfinite(v) for v in m.values())


def test_class_absent_from_gold_and_predictions_is_not_averaged():
    # a 4th class exists in the label map but appears nowhere: macro stays over 3 classes
    report = per_class_report(Y_TRUE, Y_PRED, ["a", "b", "c", "d"])
    assert "d" in report and "nan" not in report.lower()
    assert classification_metrics(Y_TRUE, Y_PRED)["macro_f1"] == pytest.approx((4 / 7 + 1 / 2) / 3)


def test_shot_groups_at_the_edges():
    assert [shot_group(c) for c in (61, 60, 20, 19, 1)] == ["many", "medium", "medium", "few", "few"]
    assert shot_group(100, many_threshold=100, few_threshold=20) == "medium"


def test_shot_accuracy_by_hand():
    counts = [100, 30, 5]  # class 0 many, class 1 medium, class 2 few
    m = shot_accuracy(Y_TRUE, Y_PRED, counts)
    assert m == {"many_shot_accuracy": pytest.approx(2 / 3), "medium_shot_accuracy": 0.5, "few_shot_accuracy": 0.0}
    # no gold example of a few-shot class: the key is left out, not reported as 0
    assert "few_shot_accuracy" not in shot_accuracy([0, 1], [0, 1], counts)


def test_full_metrics_by_hand():
    from weighted_bert.metrics import full_metrics

    m = full_metrics(Y_TRUE, Y_PRED, ["a", "b", "c", "d"], confidence=[0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
                     train_counts=[100, 30, 5, 1])
    # balanced accuracy: mean recall over the gold classes = (2/3 + 1/2 + 0) / 3
    assert m["balanced_accuracy"] == pytest.approx(7 / 18)
    # single-label micro averages equal accuracy
    assert m["micro_precision"] == m["micro_recall"] == m["micro_f1"] == pytest.approx(0.5)
    # MCC: trace c = 3, n = 6, predicted counts p = (4, 2, 0), true counts t = (3, 2, 1):
    # (c n - p.t) / sqrt((n^2 - p.p)(n^2 - t.t)) = (18 - 16) / sqrt((36 - 20)(36 - 14)) = 2 / sqrt(352)
    assert m["mcc"] == pytest.approx(2 / np.sqrt(352))
    assert m["confusion_matrix"] == [[2, 1, 0, 0], [1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
    per_class = {row["label"]: row for row in m["per_class"]}
    assert per_class["a"]["f1"] == pytest.approx(4 / 7) and per_class["a"]["shot_group"] == "many"
    assert per_class["c"]["precision"] == 0.0 and per_class["c"]["support"] == 1
    assert per_class["d"] == {"label": "d", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0,
                              "train_count": 1, "shot_group": "few"}
    assert "ece" in m and 0 <= m["ece"] <= 1


def test_ece_by_hand():
    from weighted_bert.metrics import expected_calibration_error, reliability_bins

    # 15 bins of width 1/15; 0.9 and 0.91 share bin (13/15, 14/15]; the others are alone.
    # bin of 0.9, 0.91: accuracy 1, confidence 0.905 -> 2/5 * 0.095
    # 0.75 wrong -> 1/5 * 0.75; 0.62 right -> 1/5 * 0.38; 0.3 wrong -> 1/5 * 0.3
    confidence = [0.9, 0.91, 0.75, 0.62, 0.3]
    correct = [1, 1, 0, 1, 0]
    assert expected_calibration_error(confidence, correct) == pytest.approx((0.19 + 0.75 + 0.38 + 0.3) / 5)
    assert expected_calibration_error([1.0, 1.0], [1, 1]) == 0.0
    bins = reliability_bins(confidence, correct)
    assert len(bins) == 15 and bins[13]["count"] == 2 and bins[13]["accuracy"] == 1.0
    assert bins[0]["count"] == 0 and bins[0]["accuracy"] is None


def test_threshold_free_metrics_by_hand_and_against_scikit_learn():
    from sklearn.metrics import average_precision_score, log_loss, roc_auc_score

    from weighted_bert.metrics import threshold_free

    # two examples by hand: nll = (ln 2 + ln 4) / 2; Brier = mean of 0.375 and 0.875
    p = np.array([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25]])
    m = threshold_free([0, 2], p)
    assert m["nll"] == pytest.approx((math.log(2) + math.log(4)) / 2)
    assert m["brier"] == pytest.approx(0.625)
    # many examples: each number equals scikit-learn's
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(200, 4)) + 2 * np.eye(4)[rng.integers(0, 4, 200)]
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.where(rng.random(200) < 0.7, logits.argmax(1), rng.integers(0, 4, 200))
    m = threshold_free(y, probabilities)
    for c in range(4):
        assert m["average_precision"][c] == pytest.approx(average_precision_score(y == c, probabilities[:, c]))
        assert m["auroc"][c] == pytest.approx(roc_auc_score(y == c, probabilities[:, c]))
    assert m["macro_auroc"] == pytest.approx(roc_auc_score(y, probabilities, multi_class="ovr", average="macro"))
    assert m["macro_average_precision"] == pytest.approx(np.mean([average_precision_score(y == c, probabilities[:, c])
                                                                  for c in range(4)]))
    assert m["nll"] == pytest.approx(log_loss(y, probabilities, labels=range(4)))
    onehot = np.eye(4)[y]
    assert m["brier"] == pytest.approx(np.mean(np.sum((probabilities - onehot) ** 2, axis=1)))


def test_a_class_without_gold_examples_has_no_ap_or_auroc():
    from weighted_bert.metrics import threshold_free

    p = np.array([[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1]])
    m = threshold_free([0, 1, 0], p)
    assert m["average_precision"][2] is None and m["auroc"][2] is None
    assert m["macro_auroc"] == pytest.approx(1.0)  # over the classes that have gold examples
