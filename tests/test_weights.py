"""Class weights against numbers worked out by hand for counts [5, 1, 2] (N = 8, K = 3)."""

import json
import math

import pytest

from weighted_bert.weights import class_weights

COUNTS = [5, 1, 2]

# Raw weights:
#   inverse       N / n_c        = 8/5, 8/1, 8/2                  = 1.6, 8, 4
#   balanced      N / (K n_c)    = 8/15, 8/3, 8/6
#   sqrt_inverse  1 / sqrt(n_c)  = 1/sqrt5, 1, 1/sqrt2
#   proportional  n_c / N        = 5/8, 1/8, 2/8
# sample_mean multiplies by N / sum_c n_c w_c:
#   inverse:      sum = 5*1.6 + 8 + 2*4 = 24        -> x 1/3  -> 8/15, 8/3, 4/3
#   balanced:     sum = 8/3 + 8/3 + 8/3 = 8         -> x 1    -> unchanged
#   sqrt_inverse: sum = sqrt5 + 1 + sqrt2 = 4.65028 -> x 8/4.65028 = 1.720326
#   proportional: sum = (25 + 1 + 4)/8 = 30/8       -> x 64/30 -> 4/3, 4/15, 8/15
RAW = {
    "none": [1, 1, 1],
    "inverse": [1.6, 8.0, 4.0],
    "balanced": [8 / 15, 8 / 3, 4 / 3],
    "sqrt_inverse": [1 / math.sqrt(5), 1.0, 1 / math.sqrt(2)],
    "proportional": [0.625, 0.125, 0.25],
}
SAMPLE_MEAN = {
    "none": [1, 1, 1],
    "inverse": [8 / 15, 8 / 3, 4 / 3],
    "balanced": [8 / 15, 8 / 3, 4 / 3],
    "sqrt_inverse": [0.7693532, 1.7203259, 1.2164541],
    "proportional": [4 / 3, 4 / 15, 8 / 15],
}


@pytest.mark.parametrize("scheme", sorted(RAW))
def test_raw_weights(scheme):
    assert class_weights(COUNTS, scheme, normalize="none") == pytest.approx(RAW[scheme], rel=1e-6)


@pytest.mark.parametrize("scheme", sorted(SAMPLE_MEAN))
def test_sample_mean_weights(scheme):
    weights = class_weights(COUNTS, scheme)
    assert weights == pytest.approx(SAMPLE_MEAN[scheme], rel=1e-6)
    # The defining property: the average weight over training examples is 1.
    assert sum(n * w for n, w in zip(COUNTS, weights)) == pytest.approx(sum(COUNTS))


def test_effective_number_by_hand():
    # beta = 0.5: (1 - 0.5) / (1 - 0.5**n) = 0.5/0.96875, 0.5/0.5, 0.5/0.75
    assert class_weights(COUNTS, "effective_number", beta=0.5, normalize="none") == pytest.approx(
        [16 / 31, 1.0, 2 / 3])
    # normalised: sum = 5*16/31 + 1 + 2*2/3 = 4.9140 -> x 8/4.9140
    factor = 8 / (80 / 31 + 1 + 4 / 3)
    assert class_weights(COUNTS, "effective_number", beta=0.5) == pytest.approx(
        [16 / 31 * factor, factor, 2 / 3 * factor])


def test_effective_number_default_beta_is_close_to_inverse():
    # beta = 0.9999: (1 - b) / (1 - b**n) ~ 1/n for small n: 0.2000400, 1, 0.5000250
    assert class_weights(COUNTS, "effective_number", normalize="none") == pytest.approx(
        [0.20004000, 1.0, 0.50002500], rel=1e-6)


def test_the_seeds_single_example_class_is_finite():
    weights = class_weights([1000, 1], "inverse", normalize="none")
    assert weights == [1.001, 1001.0]


def test_class_absent_from_training_gets_largest_present_weight():
    for scheme in RAW:
        weights = class_weights([5, 0, 2], scheme, normalize="none")
        assert all(math.isfinite(w) for w in weights)
        assert weights[1] == max(weights[0], weights[2])
    assert class_weights([5, 0, 2], "effective_number", normalize="none")[1] == pytest.approx(0.50002500)


def test_weights_from_json_file(tmp_path):
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"a": 1, "b": 3, "c": 0.5}))
    assert class_weights(COUNTS, str(path), normalize="none", labels=["a", "b", "c"]) == [1.0, 3.0, 0.5]
    # normalised: sum = 5*1 + 1*3 + 2*0.5 = 9 -> x 8/9
    assert class_weights(COUNTS, str(path), labels=["a", "b", "c"]) == pytest.approx([8 / 9, 24 / 9, 4 / 9])


def test_json_weights_must_cover_every_label(tmp_path):
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"a": 1, "b": 3, "zzz": 1}))
    with pytest.raises(ValueError, match=r"no weight for 'c'.*labels not in the data: 'zzz'"):
        class_weights(COUNTS, str(path), labels=["a", "b", "c"])


@pytest.mark.parametrize("bad, message", [
    ([], "empty"), ([0, 0], "every class count is 0"), ([-1, 2], "non-negative"), ([1.5, 2], "whole"),
])
def test_bad_counts(bad, message):
    with pytest.raises(ValueError, match=message):
        class_weights(bad, "inverse")


def test_unknown_scheme_and_normalisation():
    with pytest.raises(ValueError, match="neither a scheme"):
        class_weights(COUNTS, "inverted")
    with pytest.raises(ValueError, match="weight normalization 'mean' is not one of sample_mean, none"):
        class_weights(COUNTS, "inverse", normalize="mean")
