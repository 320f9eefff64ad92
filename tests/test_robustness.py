"""A non-finite loss stops the run naming the step and the lines (or is skipped and counted),
and two runs with the same seed give the same metrics to the last digit."""

import json

import torch

from weighted_bert.cli import main
from weighted_bert.losses import CrossEntropyLoss, register_loss


class NaNOnWeather(CrossEntropyLoss):
    """Cross-entropy that turns NaN on any training batch holding class 2 (weather)."""

    def forward(self, logits, labels):
        loss = super().forward(logits, labels)
        return loss * float("nan") if self.training and (labels == 2).any() else loss


@register_loss("test_nan_on_weather")
def _build(class_counts):
    return NaNOnWeather()


def train(tmp_path, tiny_bert, toy_data_dir, name, *flags):
    return main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir",
                 str(tmp_path / name), "--batch-size", "8", "--no-progress", "--seed", "3", *flags])


def test_nonfinite_loss_stops_with_step_and_lines(tmp_path, tiny_bert, toy_data_dir, capsys):
    assert train(tmp_path, tiny_bert, toy_data_dir, "nan", "--loss", "test_nan_on_weather", "--epochs", "1") == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: the loss is nan at optimizer step ")
    assert "train_data.txt lines [" in error and "--skip-nonfinite" in error
    assert not (tmp_path / "nan" / "model").exists()


def test_skip_nonfinite_counts_the_skipped_steps(tmp_path, tiny_bert, toy_data_dir, capsys):
    assert train(tmp_path, tiny_bert, toy_data_dir, "skip", "--loss", "test_nan_on_weather", "--epochs", "1",
                 "--skip-nonfinite") == 0
    assert "with a non-finite loss" in capsys.readouterr().err
    assert all(torch.isfinite(p).all() for p in
               __import__("transformers").AutoModelForSequenceClassification.from_pretrained(
                   tmp_path / "skip" / "model").parameters())


def test_same_seed_same_metrics_to_the_last_digit(tmp_path, tiny_bert, toy_data_dir):
    flags = ("--epochs", "2", "--learning-rate", "3e-3", "--sampling", "class_balanced")
    assert train(tmp_path, tiny_bert, toy_data_dir, "a", *flags) == 0
    assert train(tmp_path, tiny_bert, toy_data_dir, "b", *flags) == 0
    first, second = (json.loads((tmp_path / n / "eval_results.json").read_text()) for n in "ab")
    assert first == second
    assert (tmp_path / "a" / "test_results.tsv").read_text() == (tmp_path / "b" / "test_results.tsv").read_text()
