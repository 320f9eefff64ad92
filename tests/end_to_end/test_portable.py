"""The model folder is the product: weighted-bert predict, transformers' pipeline, plain
AutoModelForSequenceClassification and the ONNX export give the same answers on it, for a
calibrated model and for an LDAM model."""

import csv
import shutil

import numpy as np
import pytest
import torch

from weighted_bert.calibration import Calibration, log_prior_from_counts
from weighted_bert.cli import main
from weighted_bert.inference import keep_calibration
from weighted_bert.model_folder import load_fine_tuned

FLAGS = ["--epochs", "6", "--learning-rate", "3e-3", "--batch-size", "8", "--no-progress", "--seed", "7",
         "--precision", "fp32"]


def texts_of(path):
    return [line.split("\t")[0] for line in path.read_text().splitlines()]


def probabilities(path):
    return np.array(list(csv.reader(open(path), delimiter="\t")), dtype=float)


def answers_everywhere(run, toy_data_dir, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    test = toy_data_dir / "test_data.txt"
    texts = texts_of(test)
    model_dir = run / "model"
    assert main(["predict", "--model", str(run), "--data", str(test), "--output", str(tmp_path / "p.tsv"),
                 "--probabilities", str(tmp_path / "ours.tsv")]) == 0
    ours = probabilities(tmp_path / "ours.tsv")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    with torch.inference_mode():
        plain = model(**tokenizer(texts, padding=True, truncation=True, return_tensors="pt")).logits.softmax(-1).numpy()
    classify = pipeline("text-classification", model=str(model_dir), top_k=None, truncation=True)
    label_order = [model.config.id2label[i] for i in range(model.config.num_labels)]
    piped = np.array([[{d["label"]: d["score"] for d in row}[label] for label in label_order]
                      for row in classify(texts)])
    results = {"ours": ours, "plain": plain, "pipeline": piped}
    if pytest.importorskip("onnxruntime") and pytest.importorskip("onnxscript"):
        assert main(["export", "--model", str(run)]) == 0
        assert main(["predict", "--model", str(run), "--data", str(test), "--output", str(tmp_path / "q.tsv"),
                     "--probabilities", str(tmp_path / "onnx.tsv"), "--backend", "onnx"]) == 0
        results["onnx"] = probabilities(tmp_path / "onnx.tsv")
    return results


def assert_same(results):
    reference = results["ours"]
    for name, probs in results.items():
        assert probs.shape == reference.shape, name
        assert (probs.argmax(1) == reference.argmax(1)).all(), name
        np.testing.assert_allclose(probs, reference, atol=1e-4, err_msg=name)


def test_a_calibrated_model_answers_alike_everywhere(trained_run, toy_data_dir, tmp_path):
    run = shutil.copytree(trained_run, tmp_path / "run")
    fine_tuned = load_fine_tuned(run)
    before = probabilities(run / "test_results.tsv")
    log_prior = list(log_prior_from_counts(fine_tuned.info.class_counts))
    first = Calibration(tau=0.7, temperature=0.6, log_prior=log_prior, accepted=True)
    keep_calibration(fine_tuned, first)
    # A second calibration replaces the first in the weights (it is not added to it)
    calibration = Calibration(tau=1.2, biases=[0.4, -0.3, 0.9], temperature=2.5, log_prior=log_prior, accepted=True)
    keep_calibration(load_fine_tuned(run), calibration)
    assert load_fine_tuned(run).calibration.folded_into == "classifier"
    results = answers_everywhere(run, toy_data_dir, tmp_path)
    raw_logits = np.log(before)  # the same up to a constant per row
    expected = np.exp(calibration.apply(raw_logits))
    np.testing.assert_allclose(results["ours"], expected / expected.sum(1, keepdims=True), atol=1e-4)
    assert_same(results)
    assert np.abs(results["ours"] - before).max() > 1e-2  # the calibration changed the answers
    # --no-calibration takes the folded adjustment out again, exactly
    assert main(["predict", "--model", str(run), "--data", str(toy_data_dir / "test_data.txt"), "--output",
                 str(tmp_path / "r.tsv"), "--probabilities", str(tmp_path / "raw.tsv"), "--no-calibration"]) == 0
    np.testing.assert_allclose(probabilities(tmp_path / "raw.tsv"), before, atol=1e-5)


def test_an_ldam_model_answers_alike_everywhere(tiny_bert, toy_data_dir, tmp_path):
    run = tmp_path / "ldam"
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir", str(run),
                 "--loss", "ldam", "--ldam-scale", "10", *FLAGS]) == 0
    results = answers_everywhere(run, toy_data_dir, tmp_path)
    results["run"] = probabilities(run / "test_results.tsv")  # what the run itself wrote
    assert_same(results)


def test_the_tokenizer_truncates_where_training_did(trained_run):
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(trained_run / "model").model_max_length == 64  # 128, cut to 64 positions
