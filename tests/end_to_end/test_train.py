"""Train a tiny BERT for real on a separable imbalanced task and check the files a user reads."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from weighted_bert.cli import main

REPO = Path(__file__).resolve().parents[2]


def read_tsv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle, delimiter="\t"))


def test_every_output_file_is_written(trained_run):
    for name in ("eval_results.txt", "eval_results.json", "classification_report.txt", "test_results.tsv",
                 "predictions.tsv", "label_map.json", "class_weights.json", "training_curves.png",
                 "model/config.json", "model/model.safetensors", "model/label_map.json"):
        assert (trained_run / name).is_file(), name
    assert (trained_run / "training_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (trained_run / "checkpoints").exists()


def test_model_learned_the_task(trained_run):
    results = json.loads((trained_run / "eval_results.json").read_text())
    assert results["eval_accuracy"] >= 0.8  # chance is 1/3
    assert results["eval_macro_f1"] >= 0.75
    text = (trained_run / "eval_results.txt").read_text()
    for key in ("eval_accuracy", "eval_loss", "eval_macro_f1", "eval_macro_precision", "eval_macro_recall",
                "eval_weighted_f1"):
        assert f"{key} = " in text
    report = (trained_run / "classification_report.txt").read_text()
    assert all(label in report for label in ("sport", "finance", "weather"))


def test_accuracy_recomputed_from_test_results_matches_report(trained_run, toy_data_dir):
    labels = json.loads((trained_run / "label_map.json").read_text())["labels"]
    assert labels == ["finance", "sport", "weather"]  # sorted
    rows = read_tsv(trained_run / "test_results.tsv")
    gold = [line.split("\t")[1] for line in (toy_data_dir / "test_data.txt").read_text().splitlines()]
    assert len(rows) == len(gold) == 36
    probabilities = np.array(rows, dtype=float)
    assert probabilities.shape == (36, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    accuracy = np.mean([labels[k] == y for k, y in zip(probabilities.argmax(axis=1), gold)])
    reported = json.loads((trained_run / "test_results.json").read_text())["test_accuracy"]
    assert accuracy == pytest.approx(reported)
    assert accuracy >= 0.8
    predictions = read_tsv(trained_run / "predictions.tsv")
    assert predictions[0] == ["text", "predicted_label", "probability", "gold_label"]
    assert [row[3] for row in predictions[1:]] == gold


def test_class_weights_file(trained_run):
    weights = json.loads((trained_run / "class_weights.json").read_text())
    assert weights["class_counts"] == [32, 96, 10]  # finance, sport, weather
    # inverse with sample_mean: w_c = (N / n_c) * N / (K N) = N / (K n_c) = 138 / (3 n_c)
    assert weights["weights"]["weather"] == pytest.approx(138 / 30)
    assert weights["weights"]["sport"] == pytest.approx(138 / 288)


def test_refuses_to_overwrite_a_previous_run(trained_run, tiny_bert, toy_data_dir, capsys):
    before = (trained_run / "eval_results.txt").read_text()
    code = main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir",
                 str(trained_run), "--max-steps", "1"])
    assert code == 2
    assert "holds another run's results" in capsys.readouterr().err
    assert (trained_run / "eval_results.txt").read_text() == before
