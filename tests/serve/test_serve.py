"""weighted-bert serve, started as a real process on a free port and spoken to over HTTP:
answers equal to `weighted-bert predict` under concurrent requests, a 4xx for every bad
request with the server staying healthy, Prometheus metrics, and SIGTERM draining."""

import csv
import json
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from helpers import start_server, stop_server  # noqa: E402

from weighted_bert.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def server(trained_run):
    process, address = start_server(trained_run, "--max-wait-ms", "20", "--max-inputs", "8", "--max-body-mb", "0.01")
    yield f"http://{address}"
    stop_server(process)


def test_answers_equal_predict_under_concurrent_requests(server, trained_run, toy_data_dir, tmp_path):
    test = toy_data_dir / "test_data.txt"
    assert main(["predict", "--model", str(trained_run), "--data", str(test), "--output", str(tmp_path / "p.tsv"),
                 "--probabilities", str(tmp_path / "probs.tsv")]) == 0
    expected = np.array(list(csv.reader(open(tmp_path / "probs.tsv"), delimiter="\t")), dtype=float)
    labels = httpx.get(f"{server}/info").json()["labels"]
    texts = [line.split("\t")[0] for line in test.read_text().splitlines()]

    def one(i):
        answer = httpx.post(f"{server}/predict", json={"inputs": texts[i]}, timeout=60)
        assert answer.status_code == 200, answer.text
        return i, answer.json()[0]

    with ThreadPoolExecutor(16) as pool:  # one text a request, many at once: batched together
        answers = dict(pool.map(one, range(len(texts))))
    for i, scores in answers.items():
        got = np.array([{d["label"]: d["score"] for d in scores}[label] for label in labels])
        np.testing.assert_allclose(got, expected[i], atol=1e-5)
        assert scores[0]["label"] == labels[expected[i].argmax()]
        assert [d["score"] for d in scores] == sorted((d["score"] for d in scores), reverse=True)
    several = httpx.post(f"{server}/predict", json={"inputs": texts[:5], "parameters": {"top_k": 1}}).json()
    assert [row[0]["label"] for row in several] == [labels[j] for j in expected[:5].argmax(1)]
    assert all(len(row) == 1 for row in several)


@pytest.mark.parametrize("body, status, message", [
    (b"not json", 400, "not valid JSON"),
    (b'{"text": "hello"}', 422, 'expected a JSON object with "inputs"'),
    (b'{"inputs": 3}', 422, '"inputs" is int'),
    (b'{"inputs": []}', 422, "empty list"),
    (b'{"inputs": ["fine", null]}', 422, '"inputs"[1] is NoneType'),
    (json.dumps({"inputs": ["x"] * 9}).encode(), 413, "at most 8 a request"),
    (json.dumps({"inputs": "x" * 20_000}).encode(), 413, "at most 10000"),
    (b'{"inputs": "fine", "parameters": {"top_k": 0}}', 422, "top_k"),
])
def test_a_bad_request_is_a_4xx_and_the_server_keeps_serving(server, body, status, message):
    answer = httpx.post(f"{server}/predict", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == status and message in answer.json()["error"], answer.text
    assert httpx.get(f"{server}/health").json() == {"status": "ok"}
    assert httpx.post(f"{server}/predict", json={"inputs": "goal match"}).status_code == 200


def test_a_text_over_the_training_length_is_cut_and_said(server):
    answer = httpx.post(f"{server}/predict", json={"inputs": ["goal " * 200, "goal match"]})
    assert answer.status_code == 200 and answer.headers["x-truncated-inputs"] == "0"
    assert "x-windows" not in answer.headers  # the model reads one window (train's default)


def test_a_long_text_is_read_in_windows_when_asked_and_one_past_them_is_cut(trained_run):
    # the model's window is 64 tokens; with --max-windows 16 each window reads 62 - 16 text tokens further on
    process, address = start_server(trained_run, "--max-windows", "16")
    try:
        answer = httpx.post(f"http://{address}/predict", json={"inputs": ["goal " * 200, "goal match", "goal " * 1000]})
        info = httpx.get(f"http://{address}/info").json()
    finally:
        stop_server(process)
    assert answer.status_code == 200 and answer.headers["x-truncated-inputs"] == "2"
    assert answer.headers["x-windows"] == "4,1,16"
    assert info["windows"] == {"stride": 16, "max_windows": 16, "aggregation": "mean"}


def test_info_metrics_and_the_openapi_page(server):
    from prometheus_client.parser import text_string_to_metric_families

    info = httpx.get(f"{server}/info").json()
    assert info["labels"] == ["finance", "sport", "weather"] and info["max_length"] == 64
    httpx.post(f"{server}/predict", json={"inputs": ["goal", "stock"]})
    families = {f.name: f for f in text_string_to_metric_families(httpx.get(f"{server}/metrics").text)}
    assert {"weighted_bert_requests", "weighted_bert_texts", "weighted_bert_request_seconds",
            "weighted_bert_queue_seconds", "weighted_bert_batch_texts"} <= set(families)
    ok = [s.value for s in families["weighted_bert_requests"].samples
          if s.name.endswith("_total") and s.labels.get("status") == "200"]
    assert ok and ok[0] >= 1
    assert "/predict" in httpx.get(f"{server}/openapi.json").json()["paths"]
    assert httpx.get(f"{server}/docs").status_code == 200


def test_sigterm_drains(trained_run):
    process, address = start_server(trained_run, "--max-wait-ms", "1500")  # a request waits 1.5 s for company
    url = f"http://{address}"
    first = {}

    def slow():
        first["answer"] = httpx.post(f"{url}/predict", json={"inputs": "goal match"}, timeout=60)

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.4)
    process.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    late = httpx.post(f"{url}/predict", json={"inputs": "stock"}, timeout=60)
    assert late.status_code == 503 and "shutting down" in late.json()["error"]
    thread.join(timeout=60)
    assert first["answer"].status_code == 200 and first["answer"].json()[0][0]["label"] == "sport"
    assert process.wait(timeout=30) == 0


def test_workers_share_the_port_and_the_threads(trained_run):
    process, address = start_server(trained_run, "--workers", "2")
    try:
        pids = set()
        for _ in range(20):
            answer = httpx.get(f"http://{address}/info", headers={"connection": "close"})
            pids.add(answer.json()["pid"])
        assert len(pids) >= 1 and process.pid not in pids
        assert httpx.post(f"http://{address}/predict", json={"inputs": "stock bank"}).json()[0][0]["label"] == "finance"
    finally:
        process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


@pytest.mark.parametrize("body, status, problem", [
    (b"[" * 200_000, 400, "nested too deeply"),
    (b'{"inputs": "a", "parameters": []}', 422, '"parameters" must be an object'),
    (b'{"inputs": "a", "parameters": 0}', 422, '"parameters" must be an object'),
    (b'{"inputs": "a", "parameters": false}', 422, '"parameters" must be an object'),
    (b'{"inputs": "a", "parameters": ""}', 422, '"parameters" must be an object'),
])
def test_a_hostile_body_is_a_clear_4xx(body, status, problem):
    """Deep nesting was a RecursionError (a plain-text 500); falsy non-objects as parameters passed."""
    from weighted_bert.scoring_config import ServeConfig
    from weighted_bert.serve.app import BadRequest, _parse

    with pytest.raises(BadRequest) as caught:
        _parse(body, ServeConfig(model="m"))
    assert caught.value.status == status and problem in str(caught.value)
    texts, top_k = _parse(b'{"inputs": "a", "parameters": null}', ServeConfig(model="m"))
    assert texts == ["a"] and top_k is None
