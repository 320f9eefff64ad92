"""Scoring a trained model: the evaluate and predict commands, files and standard input."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from weighted_bert.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_predict_and_evaluate_commands(trained_run, toy_data_dir, tmp_path, capsys):
    out = tmp_path / "p.tsv"
    assert main(["predict", "--model-dir", str(trained_run), "--input", str(toy_data_dir / "test_data.txt"),
                 "--output", str(out), "--probabilities", str(tmp_path / "probs.tsv")]) == 0
    assert read_tsv(out) == read_tsv(trained_run / "predictions.tsv")
    np.testing.assert_allclose(np.array(read_tsv(tmp_path / "probs.tsv"), dtype=float),
                               np.array(read_tsv(trained_run / "test_results.tsv"), dtype=float), atol=1e-6)
    assert main(["evaluate", "--model-dir", str(trained_run / "model"), "--data",
                 str(toy_data_dir / "dev_data.txt"), "--output-dir", str(tmp_path / "ev")]) == 0
    printed = capsys.readouterr().out
    assert "eval_accuracy = " in printed
    ours = json.loads((tmp_path / "ev" / "eval_results.json").read_text())
    original = json.loads((trained_run / "eval_results.json").read_text())
    for key in ("eval_accuracy", "eval_macro_f1", "eval_loss"):
        assert ours[key] == pytest.approx(original[key], abs=1e-6)


def test_predict_reads_standard_input(trained_run):
    result = subprocess.run([sys.executable, "-m", "weighted_bert", "predict", "--model-dir", str(trained_run),
                             "--input", "-", "--output", "-"], input="the storm and rain today\n",
                            capture_output=True, text=True, cwd=REPO, check=True)
    header, row = result.stdout.splitlines()
    assert header == "text\tpredicted_label\tprobability"
    assert row.split("\t")[:2] == ["the storm and rain today", "weather"]


def read_tsv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle, delimiter="\t"))
