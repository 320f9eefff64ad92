"""Per-label thresholds: the exact F1 search, recovery on synthetic scores, the noise guard,
the prediction options and the saved file."""

import numpy as np
import pytest

from weighted_bert.errors import DataFormatError
from weighted_bert.multilabel.threshold_fit import SHRINK, best_cut, fit_thresholds, fit_values, shared_macro_cut
from weighted_bert.multilabel.thresholds import Thresholds


def test_best_cut_by_hand():
    # sorted: .9 (pos) .8 (neg) .7 (pos) .2 (pos) .1 (neg); cuts: k=1 F1 2/4, k=3 F1 4/6, k=4 F1 6/7, k=5 6/8
    threshold, f1 = best_cut(np.array([0.8, 0.9, 0.1, 0.7, 0.2]), np.array([0, 1, 0, 1, 1]))
    assert f1 == pytest.approx(6 / 7) and threshold == pytest.approx(0.15)
    assert best_cut(np.array([0.3, 0.6]), np.array([0, 0])) == (0.5, 0.0)


def separable(rng, n, true_thresholds):
    """Scores of label j: positives above true_thresholds[j], negatives below it."""
    k = len(true_thresholds)
    y = rng.random((n, k)) < np.linspace(0.4, 0.08, k)
    low = rng.random((n, k)) * true_thresholds
    high = true_thresholds + rng.random((n, k)) * (1 - true_thresholds)
    return np.where(y, high, low), y


def test_thresholds_are_recovered_on_synthetic_scores():
    # thousands of dev positives a label: its own cut outweighs the shared one (weight n / (n + SHRINK) >= 0.98)
    rng = np.random.default_rng(0)
    truth = np.array([0.2, 0.35, 0.6, 0.8, 0.1])
    scores, y = separable(rng, 20000, truth)
    fitted = fit_thresholds(scores, y, [f"l{j}" for j in range(5)], "per_label")
    assert fitted.accepted and fitted.held_out_gain > 0.05
    assert np.asarray(fitted.values) == pytest.approx(truth, abs=0.02)
    assert (fitted.decide(scores) == y).mean() > 0.995


def test_global_threshold_maximises_micro_f1():
    rng = np.random.default_rng(1)
    scores, y = separable(rng, 600, np.full(4, 0.3))
    fitted = fit_thresholds(scores, y, list("abcd"), "global")
    assert fitted.accepted and len(set(fitted.values)) == 1 and fitted.values[0] == pytest.approx(0.3, abs=0.02)


def test_noise_guard_keeps_half_when_nothing_is_gained():
    rng = np.random.default_rng(2)
    scores, y = separable(rng, 600, np.full(3, 0.5))  # 0.5 is already right
    fitted = fit_thresholds(scores, y, list("abc"), "per_label")
    assert not fitted.accepted and fitted.values == [0.5, 0.5, 0.5] and fitted.fitted is not None
    assert abs(fitted.held_out_gain) < 0.005


def logit(p):
    return np.log(p / (1 - p))


def test_each_label_cut_is_pulled_toward_the_shared_one_by_its_dev_positives():
    # label a: 20 positives, at 0.80..0.99, above 380 negatives at 0..0.3: its own F1-best cut is half-way, 0.55;
    # label b: 180 positives, the same shape; label c: no dev positive
    rng = np.random.default_rng(3)
    n = 400
    scores, y = rng.random((n, 3)) * 0.3, np.zeros((n, 3), dtype=bool)
    for j, positives in ((0, 20), (1, 180)):
        y[:positives, j] = True
        scores[:positives, j] = np.linspace(0.8, 0.99, positives)
        scores[positives, j] = 0.3  # the highest negative
    shared = shared_macro_cut(scores, y)
    values = fit_values(scores, y, "per_label")
    assert SHRINK == 20 and best_cut(scores[:, 0], y[:, 0])[0] == pytest.approx(0.55)
    # logit(value) = w logit(own) + (1 - w) logit(shared), w = positives / (positives + 20): 1/2 and 9/10
    assert logit(values[0]) == pytest.approx(0.5 * logit(0.55) + 0.5 * logit(shared))
    assert logit(values[1]) == pytest.approx(0.9 * logit(0.55) + 0.1 * logit(shared))
    assert values[2] == shared  # nothing of its own to go on
    # the shared cut is the one threshold best for the macro-F1 of every label: here any between 0.3 and 0.8
    assert 0.3 <= shared < 0.8 and shared == pytest.approx(shared_macro_cut(scores[:, :2], y[:, :2]))
    assert fit_values(scores, y, "per_label", shrink=0)[:2] == pytest.approx([0.55, 0.55])  # no pull: its own


def test_rare_labels_scored_low_lean_on_a_shared_cut_fitted_for_them_too():
    # two rare labels (3 dev positives each, scored ~0.05 as rare labels' probabilities are) and two common ones
    # at 0.5: the shared cut falls where the macro-F1 of all four is best, and the rare labels keep most of theirs
    rng = np.random.default_rng(4)
    scores, y = separable(rng, 400, np.array([0.5, 0.5, 0.9, 0.9]))
    for j in (2, 3):
        y[:, j] = False
        y[:3, j] = True
        scores[:, j] = rng.random(400) * 0.02
        scores[:3, j] = 0.05
    fitted = fit_thresholds(scores, y, list("abcd"), "per_label")
    assert fitted.fitted[2] == pytest.approx(fitted.fitted[3], abs=0.01) and 0.02 <= fitted.fitted[2] <= 0.05
    assert (fitted.decide(scores)[:, 2:] == y[:, 2:]).all()


def test_top_k_and_at_least_one():
    t = Thresholds(list("abc"), [0.5, 0.5, 0.9])
    scores = np.array([[0.6, 0.7, 0.95], [0.1, 0.4, 0.3], [0.2, 0.1, 0.85]])
    assert t.decide(scores).tolist() == [[True, True, True], [False, False, False], [False, False, False]]
    assert t.decide(scores, top_k=2).tolist() == [[False, True, True], [False, False, False], [False, False, False]]
    assert t.decide(scores, at_least_one=True).tolist() == [[True, True, True], [False, True, False],
                                                            [False, False, True]]


def test_saved_thresholds_are_read_back_and_checked(tmp_path):
    t = Thresholds(["a", "b"], [0.3, 0.7], "per_label", fitted=[0.3, 0.7], accepted=True)
    t.write(tmp_path / "thresholds.json")
    assert Thresholds.read(tmp_path / "thresholds.json", ["a", "b"]) == t
    with pytest.raises(DataFormatError, match="one threshold in"):
        Thresholds.read(tmp_path / "thresholds.json", ["a", "b", "c"])
