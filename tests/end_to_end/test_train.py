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


def test_the_decision_is_fitted_to_the_target_prior_after_training(tiny_bert, toy_data_dir, tmp_path, capsys):
    """A briefly trained model (it errs on dev): train fits temperature and the decision for
    --target-prior on dev, folds what it keeps into the model, and scores test with it, so
    the run's test_results.tsv equals what `predict` answers from the saved folder."""
    import json

    import numpy as np
    from helpers import TRAIN_FLAGS

    out = tmp_path / "out"
    flags = [f for f in TRAIN_FLAGS if f not in ("--epochs", "12")]
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir", str(out),
                 "--recipe", "class_balanced", "--max-steps", "4", "--learning-rate", "1e-3",
                 "--target-prior", "train", *flags[2:]]) == 0
    said = capsys.readouterr().err
    assert "recipe class_balanced: loss ce" in said and "sampling class_balanced; target prior train" in said
    assert "target prior train: temperature" in said
    saved = json.loads((out / "model" / "calibration.json").read_text())
    assert saved["objective"] == "accuracy" and saved["objective_settings"]["target_prior"] == "train"
    # the flat sampler's lean to the rare class is shifted back to the training prior (with its gain on dev)
    assert saved["accepted"] and saved["dev_after"] > saved["dev_before"] and saved["folded_into"] == "classifier"
    assert main(["predict", "--model", str(out), "--data", str(toy_data_dir / "test_data.txt"), "--output",
                 str(tmp_path / "p.tsv"), "--probabilities", str(tmp_path / "probs.tsv")]) == 0
    np.testing.assert_allclose(np.loadtxt(tmp_path / "probs.tsv"), np.loadtxt(out / "test_results.tsv"), atol=1e-5)


def test_the_seed_recipe_fits_nothing_after_training(tiny_bert, toy_data_dir, tmp_path, capsys):
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir",
                 str(tmp_path / "out"), "--recipe", "seed", "--max-steps", "2", "--no-progress",
                 "--precision", "fp32"]) == 0
    said = capsys.readouterr().err
    assert "recipe seed: loss weighted_ce, class weights inverse, weight normalization none" in said
    assert "target prior none" in said and not (tmp_path / "out" / "model" / "calibration.json").exists()


def test_dev_is_scored_once_and_its_results_are_the_saved_models(tiny_bert, toy_data_dir, tmp_path, monkeypatch):
    """Training keeps its best evaluation's dev logits (scored in fp32 even under bf16
    autocast), so dev is not scored again after training, and the result files hold what the
    saved model gives on dev."""
    from helpers import TRAIN_FLAGS

    from weighted_bert.classifier import Classifier
    from weighted_bert.data import read_dataset
    from weighted_bert.model_folder import load_fine_tuned
    from weighted_bert.prediction import softmax
    from weighted_bert.training import final_scores as run_results
    from weighted_bert.training.trainer import still_improving

    scored = []
    split_logits = run_results.split_logits

    def counting(config, classifier, dataset, **options):
        scored.append(Path(dataset.path).name)
        return split_logits(config, classifier, dataset, **options)

    monkeypatch.setattr(run_results, "split_logits", counting)
    out = tmp_path / "run"
    flags = [f for f in TRAIN_FLAGS if f not in ("--precision", "fp32", "--epochs", "12")]
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir", str(out),
                 "--epochs", "4", "--precision", "bf16", *flags]) == 0
    assert scored == ["test_data.txt"]
    evaluations = [json.loads(line) for line in (out / "training_log.jsonl").read_text().splitlines()
                   if "eval_macro_f1" in line]
    assert len(evaluations) == 4
    dev = read_dataset(toy_data_dir / "dev_data.txt", labels="required")
    fresh = softmax(Classifier(load_fine_tuned(out), batch_size=64).logits(dev))
    written = np.array([row[2] for row in read_tsv(out / "eval_predictions.tsv")[1:]], dtype=float)
    np.testing.assert_allclose(written, fresh.max(axis=1), atol=1e-5)
    results = json.loads((out / "eval_results.json").read_text())
    assert results["eval_macro_f1"] == max(e["eval_macro_f1"] for e in evaluations)  # the best one kept
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["still_improving"] == still_improving(evaluations, "macro_f1")  # the log's hint, on record
    stages = summary["stages"]
    assert stages["evaluation"] > 0 and "start-up" not in stages  # in-process: no start-up of its own
    assert sum(stages.values()) == pytest.approx(json.loads((out / "run_summary.json").read_text())["seconds"],
                                                 abs=0.01)  # the stages, with "other", are the run's wall time
    assert 0 <= stages["other"] < 0.5 * sum(stages.values())
