"""One model, four ways to ask it: `predict`, `evaluate`, the Python API and `serve` answer
through the same Classifier, so they give the same probabilities (to 1e-6) and the same
labels, for a single-label and a multi-label model alike; and one text a model cannot take
fails only the request that sent it."""

import asyncio
import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

import weighted_bert
from weighted_bert.cli import main
from weighted_bert.data import read_dataset
from weighted_bert.errors import UserError
from weighted_bert.labels import SET_SEPARATOR

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def multi_label_run(tmp_path_factory, tiny_bert, toy_multilabel_dir):
    from helpers import TRAIN_FLAGS

    output = tmp_path_factory.mktemp("answers_ml") / "out"
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_multilabel_dir), "--output-dir",
                 str(output), "--recipe", "bce", *TRAIN_FLAGS]) == 0
    return output


def read_rows(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle, delimiter="\t"))


@pytest.mark.parametrize("kind", ["single-label", "multi-label"])
def test_predict_evaluate_api_and_serve_give_the_same_answers(kind, request, tmp_path):
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("uvicorn")
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers import start_server, stop_server

    multi = kind == "multi-label"
    run = request.getfixturevalue("multi_label_run" if multi else "trained_run")
    data = request.getfixturevalue("toy_multilabel_dir" if multi else "toy_data_dir")
    test = data / ("test.jsonl" if multi else "test_data.txt")
    dataset = read_dataset(test)
    texts = [e.text for e in dataset.examples]

    # predict: probabilities and labels from the files it writes
    assert main(["predict", "--model", str(run), "--data", str(test), "--output", str(tmp_path / "p.tsv"),
                 "--probabilities", str(tmp_path / "probs.tsv"), "--precision", "fp32"]) == 0
    probability_rows = read_rows(tmp_path / "probs.tsv")
    labels = probability_rows[0] if multi else list(weighted_bert.load(run).labels)
    from_predict = np.array(probability_rows[1:] if multi else probability_rows, dtype=float)
    said = [row[1] for row in read_rows(tmp_path / "p.tsv")[1:]]
    predict_labels = [s.split(SET_SEPARATOR) if s else [] for s in said] if multi else said

    # the Python API
    api = weighted_bert.load(run)
    assert api.labels == labels
    np.testing.assert_allclose(api.predict_proba(texts), from_predict, atol=1e-6)
    assert api.predict(texts) == predict_labels

    # serve: a real process, over HTTP
    process, address = start_server(run)
    try:
        answer = httpx.post(f"http://{address}/predict", json={"inputs": texts}, timeout=120)
        assert answer.status_code == 200, answer.text
        served = np.array([[dict((d["label"], d["score"]) for d in row)[label] for label in labels]
                           for row in answer.json()])
        np.testing.assert_allclose(served, from_predict, atol=1e-6)
        served_labels = (json.loads(answer.headers["X-Decisions"]) if multi else
                         [row[0]["label"] for row in answer.json()])  # no decision rule: the top label
        assert served_labels == predict_labels
    finally:
        stop_server(process)

    # evaluate: its scores are those of predict's answers
    assert main(["evaluate", "--model", str(run), "--data", str(test), "--output-dir", str(tmp_path / "eval"),
                 "--precision", "fp32"]) == 0
    results = json.loads((tmp_path / "eval" / "eval_results.json").read_text())
    if multi:
        gold = np.array([[label in e.label for label in labels] for e in dataset.examples])
        chosen = np.array([[label in row for label in labels] for row in predict_labels])
        seen = [j for j in range(len(labels)) if gold[:, j].any()]
        assert results["eval_micro_f1"] == pytest.approx(f1_score(gold, chosen, average="micro"), abs=1e-6)
        assert results["eval_macro_f1"] == pytest.approx(f1_score(gold, chosen, average="macro", labels=seen,
                                                                  zero_division=0), abs=1e-6)
    else:
        gold = [e.label for e in dataset.examples]
        assert results["eval_accuracy"] == pytest.approx(accuracy_score(gold, predict_labels), abs=1e-6)


def test_a_text_the_model_cannot_take_is_a_user_error_naming_it(trained_run):
    classifier = weighted_bert.load(trained_run)
    with pytest.raises(UserError, match="text 1: the text cannot be encoded as UTF-8"):
        classifier.predict(["the match was good", "\ud800 hello"])


def test_one_bad_request_does_not_fail_the_others_in_its_batch(trained_run):
    """Four requests in one batch, one of them with a lone surrogate: three answers and one
    clear error (the batch is answered again request by request)."""
    from weighted_bert.classifier import Classifier
    from weighted_bert.serve.batcher import Batcher

    classifier = Classifier.load(trained_run, batch_size=8)
    runs = []

    def answer(texts):
        runs.append(len(texts))
        return classifier.answer(texts, measure_truncation=True)

    async def scenario():
        batcher = Batcher(answer, max_batch_size=64, max_wait_ms=200)
        batcher.start()
        try:
            return await asyncio.gather(*(batcher.submit(t) for t in (["the goal"], ["the rain"], ["\ud800 hi"],
                                                                         ["the loan"])), return_exceptions=True)
        finally:
            await batcher.stop()

    results = asyncio.run(scenario())
    assert isinstance(results[2], UserError) and "text 0" in str(results[2])
    good = [r for i, r in enumerate(results) if i != 2]
    assert all(r.probabilities.shape == (1, len(classifier.labels)) for r in good)
    assert [r.labels for r in good] == [classifier.predict([t]) for t in ("the goal", "the rain", "the loan")]
    assert runs[0] == 4  # one batch first, then each request alone
