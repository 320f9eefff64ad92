"""Class-aware samplers: class frequencies over many draws, and disjoint shares per process."""

import numpy as np
import pytest

from weighted_bert.sampling.samplers import ClassAwareSampler, LengthGroupedSampler, class_probabilities

# 100 examples of class 0, 10 of class 1, 1 of class 2
LABELS = [0] * 100 + [1] * 10 + [2]


def class_frequencies(sampler):
    drawn = np.asarray(LABELS)[list(sampler)]
    return np.bincount(drawn, minlength=3) / len(drawn)


@pytest.mark.parametrize("mode, expected", [
    ("class_balanced", [1 / 3, 1 / 3, 1 / 3]),
    # sqrt(100), sqrt(10), sqrt(1) = 10, 3.1623, 1 over 14.1623
    ("sqrt", [10 / 14.1623, 3.1623 / 14.1623, 1 / 14.1623]),
])
def test_class_frequencies_match_the_target(mode, expected):
    np.testing.assert_allclose(class_probabilities([100, 10, 1], mode), expected, atol=1e-4)
    # 60,000 draws: the standard error of a frequency is at most 0.002; tolerance 0.01 is 5 of them
    sampler = ClassAwareSampler(LABELS, mode, seed=3, num_samples=60_000)
    np.testing.assert_allclose(class_frequencies(sampler), expected, atol=0.01)


def test_within_a_class_examples_are_uniform():
    sampler = ClassAwareSampler(LABELS, "class_balanced", seed=1, num_samples=60_000)
    drawn = np.asarray(list(sampler))
    class_0 = np.bincount(drawn[drawn < 100], minlength=100)
    assert class_0.min() > 100 and class_0.max() < 300  # about 200 each
    assert (drawn == 110).mean() == pytest.approx(1 / 3, abs=0.01)  # the single class-2 example


def test_two_ranks_share_an_epoch_without_overlap():
    full = ClassAwareSampler(LABELS, "sqrt", seed=5).epoch_indices()
    ranks = [ClassAwareSampler(LABELS, "sqrt", seed=5, rank=r, world_size=2) for r in (0, 1)]
    shares = [list(s) for s in ranks]
    assert len(shares[0]) + len(shares[1]) == len(full) == len(LABELS)
    assert [len(s) for s in ranks] == [len(x) for x in shares] == [56, 55]
    # each position of the epoch's draws goes to exactly one rank
    merged = np.empty(len(full), dtype=np.int64)
    merged[0::2], merged[1::2] = shares
    np.testing.assert_array_equal(merged, full)


def test_epochs_differ_and_repeat_with_the_seed():
    a, b = ClassAwareSampler(LABELS, "class_balanced", seed=7), ClassAwareSampler(LABELS, "class_balanced", seed=7)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    b.set_epoch(1)
    assert list(a) == list(b)


def test_bad_arguments():
    with pytest.raises(ValueError, match="sampling 'oversample' is not one of class_balanced, sqrt"):
        ClassAwareSampler(LABELS, "oversample")
    with pytest.raises(ValueError, match="rank 2"):
        ClassAwareSampler(LABELS, "sqrt", rank=2, world_size=2)


def test_length_grouped_sampler():
    lengths = np.random.default_rng(0).integers(3, 60, size=1000)
    sampler = LengthGroupedSampler(lengths, batch_size=8, seed=3, mega_factor=10)
    first = list(sampler)
    assert sorted(first) == list(range(1000))  # each example once
    assert lengths[first[0]] == lengths.max()  # the longest batch first
    batches = np.array([lengths[first[i:i + 8]] for i in range(0, 1000, 8)])
    random_batches = np.array([lengths[i:i + 8] for i in range(0, 1000, 8)])
    spread = (batches.max(1) - batches.min(1)).mean()
    random_spread = (random_batches.max(1) - random_batches.min(1)).mean()
    assert spread < random_spread / 4  # batches of similar length: little padding
    assert list(sampler) == first  # same epoch, same order
    sampler.set_epoch(1)
    assert list(sampler) != first


def test_multi_label_class_aware_sampling_draws_a_label_then_a_row_carrying_it():
    import numpy as np

    from weighted_bert.sampling.samplers import ClassAwareSampler

    # label 0 on rows 0-7, label 1 on rows 7-8 (row 7 carries both), row 9 has no label
    y = np.zeros((10, 2))
    y[:8, 0] = 1
    y[7:9, 1] = 1
    sampler = ClassAwareSampler(y, "class_balanced", seed=0, num_samples=20000)
    drawn = np.bincount(sampler.epoch_indices(), minlength=10)
    assert drawn[9] == 0
    # label 1 half the time, split between rows 7 and 8; label 0 half the time over 8 rows
    assert drawn[8] / 20000 == pytest.approx(0.25, abs=0.02)
    assert drawn[7] / 20000 == pytest.approx(0.25 + 0.5 / 8, abs=0.02)
    assert drawn[0] / 20000 == pytest.approx(0.5 / 8, abs=0.01)
