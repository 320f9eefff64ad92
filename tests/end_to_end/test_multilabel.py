"""A multi-label run end to end on the toy tag task: the command line, the files a user
reads (checked against scikit-learn), transformers' pipeline, predict/evaluate, the Python
API, the seed's entry point and a real serve process."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score

from weighted_bert.cli import main
from weighted_bert.data import read_dataset
from weighted_bert.labels import LabelMap
from weighted_bert.multilabel.threshold_fit import SHRINK
from weighted_bert.multilabel.thresholds import Thresholds
from weighted_bert.outputs import LABEL_SET

ROOT = Path(__file__).resolve().parents[2]


def flags():
    from helpers import TRAIN_FLAGS

    return TRAIN_FLAGS


@pytest.fixture(scope="module")
def ml_run(tmp_path_factory, tiny_bert, toy_multilabel_dir):
    output = tmp_path_factory.mktemp("ml") / "out"
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_multilabel_dir), "--output-dir",
                 str(output), "--recipe", "bce", *flags()]) == 0  # bce: what the 64-wide toy model learns best
    return output


def gold(path):
    data = read_dataset(path)
    return data, LabelMap(("finance", "sport", "weather")).multi_hot(data)


def test_the_model_folder_is_a_multi_label_transformers_model(ml_run):
    config = json.loads((ml_run / "model" / "config.json").read_text())
    assert config["problem_type"] == "multi_label_classification"
    info = json.loads((ml_run / "model" / "weighted_bert.json").read_text())
    assert info["multi_label"] and info["loss"] == "bce" and info["num_examples"] == 160
    thresholds = Thresholds.read(ml_run / "model" / "thresholds.json", config["id2label"].values())
    assert thresholds.mode == "per_label" and thresholds.fitted is not None and thresholds.shrink == SHRINK


def test_result_files_hold_what_scikit_learn_computes(ml_run, toy_multilabel_dir):
    data, y = gold(toy_multilabel_dir / "test.jsonl")
    lines = (ml_run / "test_results.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["finance", "sport", "weather"] and len(lines) == 1 + len(data)
    scores = np.loadtxt(ml_run / "test_results.tsv", delimiter="\t", skiprows=1)
    values = json.loads((ml_run / "model" / "thresholds.json").read_text())["values"]
    pred = scores >= np.asarray(values)[None, :]
    results = json.loads((ml_run / "test_results.json").read_text())
    seen = np.flatnonzero((y.sum(0) + pred.sum(0)) > 0)
    assert results["test_macro_f1"] == pytest.approx(f1_score(y, pred, average="macro", labels=seen,
                                                              zero_division=0), abs=1e-6)
    assert results["test_micro_f1"] == pytest.approx(f1_score(y, pred, average="micro"), abs=1e-6)
    assert results["test_micro_f1"] > 0.6  # the toy task is learnt
    rows = (ml_run / "predictions.tsv").read_text().splitlines()
    assert rows[0].split("\t") == ["text", "predicted_labels", "probabilities", "gold_labels"]
    names = np.array(["finance", "sport", "weather"])
    for line, example, row in zip(rows[1:], data.examples, pred):
        text, predicted, _, gold_labels = line.split("\t")
        assert text == example.text and gold_labels == ";".join(example.label)
        assert set(filter(None, predicted.split(";"))) == set(names[row])
    report = (ml_run / "report.html").read_text()
    assert "Most-missed labels" in report and "Thresholds" in report and (ml_run / "per_class_f1.png").is_file()
    assert f"keeping n / (n + {SHRINK}) of its own" in report  # how per_label placed them
    card = (ml_run / "model" / "README.md").read_text()
    assert "multi-label text classifier" in card and "| thresholds | per_label" in card


def test_pipeline_and_our_predict_agree(ml_run, toy_multilabel_dir):
    from transformers import pipeline

    import weighted_bert

    texts = [e.text for e in read_dataset(toy_multilabel_dir / "test.jsonl").examples[:8]]
    ours = weighted_bert.load(ml_run).predict_proba(texts)
    answers = pipeline("text-classification", model=str(ml_run / "model"), top_k=None)(texts)
    theirs = np.array([[{a["label"]: a["score"] for a in row}[label] for label in ("finance", "sport", "weather")]
                       for row in answers])
    assert ours == pytest.approx(theirs, abs=1e-5)
    sets = weighted_bert.load(ml_run).predict(texts, top_k=1, at_least_one=True)
    assert all(len(s) == 1 for s in sets)


def test_predict_and_evaluate_commands(ml_run, toy_multilabel_dir, tmp_path, capsys):
    assert main(["predict", "--model", str(ml_run), "--data", str(toy_multilabel_dir / "test.jsonl"), "--output",
                 str(tmp_path / "p.tsv"), "--top-k", "1"]) == 0
    rows = [line.split("\t") for line in (tmp_path / "p.tsv").read_text().splitlines()[1:]]
    assert all(len(list(filter(None, r[1].split(";")))) <= 1 for r in rows)
    capsys.readouterr()
    assert main(["evaluate", "--model", str(ml_run), "--data", str(toy_multilabel_dir / "test.jsonl")]) == 0
    out = capsys.readouterr().out
    saved = json.loads((ml_run / "test_results.json").read_text())
    assert f"eval_macro_f1 = {saved['test_macro_f1']}" in out
    assert main(["calibrate", "--model", str(ml_run), "--data", str(toy_multilabel_dir / "dev.jsonl")]) == 2
    assert "calibrate is for single-label models" in capsys.readouterr().err


def test_python_api_with_label_lists_in_memory(tiny_bert, tmp_path):
    import weighted_bert

    rows = [("stock market price", ["finance"]), ("goal match team", ["sport"]),
            ("stock goal shares match", ["finance", "sport"]), ("the a very news", [])] * 10
    result = weighted_bert.train(rows, model=str(tiny_bert), output_dir=tmp_path / "api", dev=rows[:12],
                                 epochs=3, learning_rate=3e-3, batch_size=8, progress=False, precision="fp32")
    assert result.label_map.labels == ("finance", "sport")
    predicted = weighted_bert.load(tmp_path / "api").predict(["stock price", "goal team"])
    assert all(isinstance(p, list) for p in predicted)


def test_the_seed_entry_point_with_multi_label(tiny_bert, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rows = ["stock market\tfinance", "goal match\tsport", "stock goal\tfinance|sport", "the news\t"] * 8
    for name in ("train_data.txt", "dev_data.txt", "test_data.txt"):
        (data / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(ROOT / "run_classifier_weighted_loss.py"), "--task_name=weightedloss",
                           "--do_train=true", "--do_eval=true", "--do_predict=true", f"--data_dir={data}",
                           f"--init_checkpoint={tiny_bert}", f"--output_dir={tmp_path / 'out'}",
                           "--max_seq_length=16", "--num_train_epochs=2", "--weighted_loss=true",
                           "--multi_label=true", "--label_separator=|", "--precision=fp32"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    info = json.loads((tmp_path / "out" / "model" / "weighted_bert.json").read_text())
    assert info["loss"] == "bce" and info["loss_options"]["pos_weight"] == "inverse" and info["multi_label"]
    assert (tmp_path / "out" / "test_results.tsv").read_text().splitlines()[0] == "finance\tsport"


def test_serve_answers_label_sets(ml_run, toy_multilabel_dir):
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("uvicorn")
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers import start_server, stop_server

    import weighted_bert

    process, address = start_server(ml_run)
    try:
        texts = [e.text for e in read_dataset(toy_multilabel_dir / "test.jsonl").examples[:5]]
        answer = httpx.post(f"http://{address}/predict", json={"inputs": texts}, timeout=60)
        assert answer.status_code == 200, answer.text
        assert json.loads(answer.headers["X-Decisions"]) == weighted_bert.load(ml_run).predict(texts)
        info = httpx.get(f"http://{address}/info", timeout=30).json()
        assert info["multi_label"] and set(info["thresholds"]) == {"finance", "sport", "weather"}
    finally:
        stop_server(process)


def test_a_long_text_is_read_in_windows_label_by_label(ml_run):
    """Multi-label aggregation is per label: mean of each label's logits over the windows, or
    its highest (max); the answer's probabilities are their sigmoids."""
    import numpy as np

    import weighted_bert
    from weighted_bert.prediction import sigmoid
    from weighted_bert.windows.reading import aggregate

    text = " ".join(["the big news today was about it"] * 20 + ["a goal for the team"] + ["and we saw it"] * 20)
    for rule in ("mean", "max"):
        classifier = weighted_bert.load(ml_run, window_aggregation=rule, max_windows=16)
        logits, windows = classifier.with_options(calibration=False).window_logits([text])
        assert windows.counts[0] > 2  # the tiny model reads 64 tokens a window
        expected = aggregate(logits, windows.starts, rule, LABEL_SET)[0]
        if rule == "max":
            np.testing.assert_allclose(expected, logits.max(axis=0), rtol=1e-6)
        assert classifier.fine_tuned.calibration is None  # a multi-label model decides by its thresholds
        np.testing.assert_allclose(classifier.predict_proba([text])[0], sigmoid(expected[None])[0], atol=1e-6)


def test_the_int8_check_scores_label_sets_at_the_thresholds(ml_run, toy_multilabel_dir, tmp_path, capsys):
    """`export --quantize int8` on a multi-label model checks it as `evaluate` scores it: the labels at the
    model's thresholds, per label, on the run's dev file."""
    import shutil

    pytest.importorskip("onnxruntime")
    run = shutil.copytree(ml_run, tmp_path / "run")
    assert main(["export", "--model-dir", str(run), "--quantize", "int8"]) == 0
    assert f"int8 against fp32 on {toy_multilabel_dir / 'dev.jsonl'} (60 texts, " in capsys.readouterr().out
    check = json.loads((run / "model" / "onnx" / "int8_check.json").read_text())
    assert list(check["fp32"]) == ["micro_f1", "macro_f1", "few_shot_macro_f1"]
    for backend, key in (("onnx", "fp32"), ("onnx-int8", "int8")):
        assert main(["evaluate", "--model", str(run), "--data", str(toy_multilabel_dir / "dev.jsonl"),
                     "--backend", backend]) == 0
        printed = capsys.readouterr().out
        for metric in check[key]:
            assert f"eval_{metric} = {check[key][metric]}" in printed
    assert {r["label"] for r in check["most_lost"]} <= {"finance", "sport", "weather"}
