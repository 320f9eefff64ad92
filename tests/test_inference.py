"""Scoring a trained model: the evaluate and predict commands, files and standard input."""

import csv
import io
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


def test_evaluate_never_replaces_a_runs_results_or_a_users_files_unasked(trained_run, toy_data_dir, tmp_path,
                                                                          capsys):
    import shutil

    run = shutil.copytree(trained_run, tmp_path / "run")
    before = (run / "eval_results.json").read_bytes(), (run / "classification_report.txt").read_bytes()
    test = ["--model", str(run), "--data", str(toy_data_dir / "test_data.txt")]
    assert main(["evaluate", *test, "--output-dir", str(run)]) == 2
    err = capsys.readouterr().err
    assert f"error: {run}: already holds eval_results.txt, eval_results.json, classification_report.txt" in err
    assert "--overwrite" in err
    assert ((run / "eval_results.json").read_bytes(), (run / "classification_report.txt").read_bytes()) == before
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "eval_results.txt").write_text("my own notes\n")
    assert main(["evaluate", *test, "--output-dir", str(mine)]) == 2
    assert (mine / "eval_results.txt").read_text() == "my own notes\n"
    assert main(["evaluate", *test, "--output-dir", str(mine), "--overwrite"]) == 0
    assert "eval_accuracy = " in (mine / "eval_results.txt").read_text()


def test_predict_reads_standard_input(trained_run):
    result = subprocess.run([sys.executable, "-m", "weighted_bert", "predict", "--model-dir", str(trained_run),
                             "--input", "-", "--output", "-"], input="the storm and rain today\n",
                            capture_output=True, text=True, cwd=REPO, check=True)
    header, row = result.stdout.splitlines()
    assert header == "text\tpredicted_label\tprobability"
    assert row.split("\t")[:2] == ["the storm and rain today", "weather"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a device that is always full)")
def test_predict_onto_a_full_disk_is_an_error_not_a_short_file(trained_run, toy_data_dir):
    """Onto a full disk, `predict --output -` wrote part of the lines, said nothing and exited 0."""
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "weighted_bert", "predict", "--model-dir", str(trained_run),
                                 "--data", str(toy_data_dir / "test_data.txt"), "--output", "-"], stdout=full,
                                stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "writing the predictions to standard output failed" in errors[0], result.stderr
    assert "Traceback" not in result.stderr


def read_tsv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle, delimiter="\t"))


def test_a_folder_without_a_trained_head_is_refused(tiny_bert, toy_data_dir, tmp_path, capsys):
    """A pretrained encoder (or a run written over its model) gets a random head from
    transformers: scoring with it would be noise, so it is refused."""
    for command in (["predict", "--output", str(tmp_path / "p.tsv")], ["evaluate"]):
        assert main([command[0], "--model", str(tiny_bert), "--data", str(toy_data_dir / "dev_data.txt"),
                     *command[1:]]) == 2
        err = capsys.readouterr().err
        assert "has no trained classification head (classifier.bias, classifier.weight" in err
    assert not (tmp_path / "p.tsv").exists()


@pytest.mark.parametrize("clash", ["output", "probabilities", "both"])
def test_predict_never_writes_over_its_input_or_another_output(trained_run, toy_data_dir, tmp_path, capsys, clash):
    data = tmp_path / "in.txt"
    data.write_text((toy_data_dir / "test_data.txt").read_text())
    before = data.read_bytes()
    output = data if clash == "output" else tmp_path / "p.tsv"
    probabilities = {"output": tmp_path / "q.tsv", "probabilities": data, "both": output}[clash]
    assert main(["predict", "--model", str(trained_run), "--data", str(data), "--output", str(output),
                 "--probabilities", str(probabilities)]) == 2
    assert "would write over" in capsys.readouterr().err
    assert data.read_bytes() == before


def test_predict_from_standard_input_keeps_tabs_in_the_text(trained_run):
    result = subprocess.run([sys.executable, "-m", "weighted_bert", "predict", "--model", str(trained_run),
                             "--data", "-", "--output", "-"], input="goal match\tteam\nstock market\n",
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout), delimiter="\t"))
    assert rows[0] == ["text", "predicted_label", "probability"]
    assert [r[0] for r in rows[1:]] == ["goal match\tteam", "stock market"]


def test_evaluate_prints_the_headline_numbers_only(trained_run, toy_data_dir, capsys):
    assert main(["evaluate", "--model", str(trained_run), "--data", str(toy_data_dir / "dev_data.txt")]) == 0
    out = capsys.readouterr().out
    assert "eval_accuracy = " in out and "eval_macro_f1 = " in out
    assert "confusion" not in out and "per_class" not in out


def test_predict_for_another_target_prior_is_the_bayes_shift(trained_run, toy_data_dir, tmp_path, capsys):
    """p_new(c|x) is proportional to p(c|x) * new(c) / old(c), old the prior the decision was fitted for,
    or with no decision kept, the prior the training recipe answers for in theory."""
    import json
    import shutil

    import numpy as np

    from weighted_bert.calibration import Calibration, log_prior_from_counts
    from weighted_bert.cli import main
    from weighted_bert.inference import keep_calibration
    from weighted_bert.model_folder import load_fine_tuned

    run = shutil.copytree(trained_run, tmp_path / "run")
    test = toy_data_dir / "test_data.txt"

    def probabilities(*flags):
        out = tmp_path / "probs.tsv"
        assert main(["predict", "--model", str(run), "--data", str(test), "--output", str(tmp_path / "p.tsv"),
                     "--overwrite", "--probabilities", str(out), *flags]) == 0
        return np.loadtxt(out)

    fine_tuned = load_fine_tuned(run)
    log_train = log_prior_from_counts(fine_tuned.info.class_counts)
    # no decision kept: the seed's inverse weights answer for a uniform prior, in theory
    keep_calibration(fine_tuned, Calibration(log_prior=list(log_train), accepted=False))
    flat = probabilities()
    expected = flat * np.exp(log_train)
    np.testing.assert_allclose(probabilities("--target-prior", "train"), expected / expected.sum(1, keepdims=True),
                               atol=1e-5)
    assert "the answers moved from the prior loss weighted_ce with random sampling trains for" in \
        capsys.readouterr().err
    # a kept decision for macro-F1 moved the answers by an amount no prior describes
    keep_calibration(fine_tuned, Calibration(log_prior=list(log_train), tau=0.5, accepted=True))
    assert main(["predict", "--model", str(run), "--data", str(test), "--output", "-", "--target-prior",
                 "uniform"]) == 2
    assert "a decision fitted for macro_f1, which no prior describes" in capsys.readouterr().err
    old = np.log([0.6, 0.3, 0.1])
    keep_calibration(fine_tuned, Calibration(log_prior=list(log_prior_from_counts(fine_tuned.info.class_counts)),
                                             target_log_prior=list(old), tau=1.0, accepted=True))
    before = probabilities()
    # read without the calibration, the raw answers carry the recipe's prior, not the decision's
    from weighted_bert.classifier import Classifier

    raw = Classifier(load_fine_tuned(run), calibration=False)
    uniform = Classifier(load_fine_tuned(run), calibration=False, target_prior="uniform")
    np.testing.assert_allclose(uniform.shift, 0, atol=1e-6)  # inverse weights answer for uniform; not log(1/3) - old
    texts = [line.split("\t")[0] for line in test.read_text().splitlines()[:5]]
    np.testing.assert_allclose(uniform.predict_proba(texts), raw.predict_proba(texts), atol=1e-6)
    prior = tmp_path / "prior.json"
    prior.write_text(json.dumps({"finance": 0.1, "sport": 0.1, "weather": 0.8}))
    after = probabilities("--target-prior", str(prior))
    expected = before * np.array([0.1, 0.1, 0.8]) / np.exp(old)
    np.testing.assert_allclose(after, expected / expected.sum(1, keepdims=True), atol=1e-5)
    import httpx  # the server answers for the same prior
    from helpers import start_server, stop_server

    process, address = start_server(run, "--target-prior", str(prior))
    try:
        text = test.read_text().splitlines()[0].split("\t")[0]
        answer = httpx.post(f"http://{address}/predict", json={"inputs": text}).json()[0]
        scores = {d["label"]: d["score"] for d in answer}
        np.testing.assert_allclose([scores[k] for k in ("finance", "sport", "weather")], after[0], atol=1e-5)
    finally:
        stop_server(process)
    assert main(["predict", "--model", str(run), "--data", str(test), "--output", "-", "--target-prior", "dev"]) == 2
    assert "is neither train, uniform nor an existing JSON file" in capsys.readouterr().err
