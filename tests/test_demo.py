"""The demo's natural-frequency test: the test set subsampled to the training frequencies."""

from weighted_bert.data import Dataset, Example
from weighted_bert.demo import RECIPES, natural_sample


def test_natural_sample_keeps_the_training_frequencies_in_file_order():
    rows = [Example(f"t{i}", None, label, i + 1) for i, label in enumerate(["a", "b", "c"] * 30)]  # 30 a class
    sample = natural_sample(Dataset("test.txt", rows), {"a": 100, "b": 50, "c": 2})
    labels = [e.label for e in sample.examples]
    assert (labels.count("a"), labels.count("b"), labels.count("c")) == (30, 15, 1)  # round(30 * n / 100)
    assert [e.line for e in sample.examples] == sorted(e.line for e in sample.examples)
    assert natural_sample(Dataset("test.txt", rows), {"a": 100, "b": 50, "c": 2}).examples == sample.examples


def test_the_demo_sets_the_seed_against_the_defaults():
    assert RECIPES == {"seed": {"recipe": "seed"}, "default": {}}
