"""A non-finite loss stops the run naming the step and the lines (or is skipped and counted),
and two runs with the same seed give the same metrics to the last digit."""

import json

from weighted_bert.cli import main


def train(tmp_path, tiny_bert, toy_data_dir, name, *flags):
    return main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir",
                 str(tmp_path / name), "--batch-size", "8", "--no-progress", "--seed", "3", *flags])


def test_same_seed_same_metrics_to_the_last_digit(tmp_path, tiny_bert, toy_data_dir):
    flags = ("--epochs", "2", "--learning-rate", "3e-3", "--sampling", "class_balanced")
    assert train(tmp_path, tiny_bert, toy_data_dir, "a", *flags) == 0
    assert train(tmp_path, tiny_bert, toy_data_dir, "b", *flags) == 0
    first, second = (json.loads((tmp_path / n / "eval_results.json").read_text()) for n in "ab")
    assert first == second
    assert (tmp_path / "a" / "test_results.tsv").read_text() == (tmp_path / "b" / "test_results.tsv").read_text()
