"""Serving under load: `weighted-bert serve` against the offline `predict` path and a naive
pipeline-per-request server, on the CLINC150-LT test set (4,500 lines).

    python benchmarks/serve.py [--model RUN_DIR] [--clients 64]

Without --model, a MiniLM is trained briefly on CLINC150-LT with the demo's settings
(quality does not matter here, only speed and exactness) into benchmarks/runs/serve_model.
For each backend (torch, onnx, onnx-int8): the offline throughput in this process (the same
scorer the server runs, batches of 128), then the server in its own process with 64
concurrent clients sending one text per request over HTTP (httpx), checking every answer
against the offline answer. Then the naive server. Writes benchmarks/results/serve.md.

The client is aiohttp (C parser): httpx's pure-Python client topped out at about 140
requests/s on this machine while the server answered 8,600 health checks a second to
aiohttp, so httpx would have measured itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402
from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector  # noqa: E402

from weighted_bert.config import RunConfig  # noqa: E402
from weighted_bert.data import read_dataset  # noqa: E402
from weighted_bert.demo import SETTINGS, demo_data_dir, demo_model_dir  # noqa: E402

# The budget settings this benchmark varies on purpose (tests/test_benchmarks.py): a model to serve:
# the server's speed is measured, not the answers' quality
STUDIES = ("max_steps",)

BACKENDS = ("torch", "onnx", "onnx-int8")


def model_folder(args) -> Path:
    if args.model:
        return Path(args.model)
    run = HERE / "runs" / "serve_model"
    if not (run / "run_summary.json").is_file():
        from weighted_bert.training.runner import run as train

        train(RunConfig(model=demo_model_dir(), output_dir=str(run), data_dir=str(demo_data_dir()), loss="ce",
                        overwrite_output_dir=True, progress=False, do_predict=False,
                        **{**SETTINGS, "max_steps": 150}))
    return run


def ensure_exports(run: Path) -> None:
    from weighted_bert.export import export_onnx
    from weighted_bert.model_folder import load_fine_tuned

    if not (run / "model" / "onnx" / "model.int8.onnx").is_file():
        export_onnx(load_fine_tuned(run), quantize="int8")


def offline(run: Path, backend: str, texts: list[str]) -> tuple[float, np.ndarray, list[str]]:
    from weighted_bert.classifier import Classifier
    from weighted_bert.scoring_config import ServeConfig
    from weighted_bert.serve.runner import _precision

    classifier = Classifier.load(str(run), backend=backend, batch_size=128,
                                 precision=_precision(ServeConfig(model=str(run), backend=backend)))
    fine_tuned = classifier.fine_tuned
    classifier.answer(texts[:64], measure_truncation=True)  # warm up
    started = time.perf_counter()
    probabilities = classifier.answer(texts, measure_truncation=True).probabilities
    seconds = time.perf_counter() - started
    return len(texts) / seconds, probabilities, list(fine_tuned.label_map.labels)


def start(command: list[str]) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    if "http://" not in line:
        process.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return process, "http://" + line.split("http://", 1)[1].split()[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def load(url: str, texts: list[str], expected: np.ndarray | None, labels: list[str], clients: int) -> dict:
    """64 clients, one text a request. The answers are kept as bytes and checked after the clock
    stops (parsing 150 scores an answer would load the CPU the server shares), each against the
    offline probabilities: a differing top label on a near-tie is rounding; an answer far from its
    text's offline probabilities would be another text's (swapped) or lost."""
    latencies, bodies = [], {}
    next_index = iter(range(len(texts)))
    async with ClientSession(connector=TCPConnector(limit=clients), timeout=ClientTimeout(total=300)) as session:
        async def one_client():
            for i in next_index:
                started = time.perf_counter()
                try:
                    async with session.post(f"{url}/predict", json={"inputs": texts[i]}) as answer:
                        bodies[i] = await answer.read() if answer.status == 200 else None
                except ClientError:
                    bodies[i] = None
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        wall = time.perf_counter() - started
    errors = sum(body is None for body in bodies.values()) + len(texts) - len(bodies)
    flipped = swapped = 0
    if expected is not None:
        for i, body in bodies.items():
            if body is None:
                continue
            scores = {d["label"]: d["score"] for d in json.loads(body)[0]}
            got = np.array([scores[label] for label in labels])
            flipped += int(got.argmax() != expected[i].argmax())
            swapped += int(np.abs(got - expected[i]).max() > 0.1)
    q = statistics.quantiles(latencies, n=100)
    return {"throughput": len(texts) / wall, "p50": q[49], "p95": q[94], "p99": q[98], "errors": errors,
            "flipped": flipped, "swapped": swapped}


def mean_batch(url: str) -> float:
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{url}/metrics", timeout=30).text  # the server under test, on loopback
    for family in text_string_to_metric_families(text):
        if family.name == "weighted_bert_batch_texts":
            values = {s.name: s.value for s in family.samples if not s.labels.get("le")}
            return values["weighted_bert_batch_texts_sum"] / max(values["weighted_bert_batch_texts_count"], 1)
    return float("nan")


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a trained run folder (default: train one briefly)")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--lines", type=int, default=None, help="use only the first N test lines")
    args = parser.parse_args()
    run = model_folder(args)
    ensure_exports(run)
    texts = [e.text for e in read_dataset(demo_data_dir() / "test_data.txt").examples][:args.lines]
    rows = []
    for backend in BACKENDS:
        rate, expected, labels = offline(run, backend, texts)
        process, url = start([sys.executable, "-m", "weighted_bert", "serve", "--model", str(run), "--port", "0",
                              "--backend", backend, "--max-wait-ms", str(args.max_wait_ms)])
        result = asyncio.run(load(url, texts, expected, labels, args.clients))
        batch = mean_batch(url)
        code = stop(process)
        rows.append({"server": f"weighted-bert serve --backend {backend}", "offline": rate, "batch": batch,
                     "batch_ms": 1000 * batch / rate, "exit": code, **result})
        print(rows[-1], flush=True)
    port = free_port()
    process, url = start([sys.executable, str(HERE / "naive_server.py"), str(run / "model"), str(port)])
    naive = asyncio.run(load(url, texts, None, [], args.clients))  # its own pipeline: answers not compared
    stop(process)
    rows.append({"server": "naive: FastAPI + transformers.pipeline per request", "offline": float("nan"),
                 "batch": 1.0, "batch_ms": float("nan"), "exit": 0, **naive, "flipped": "-", "swapped": "-"})
    print(rows[-1], flush=True)
    write(rows, args, len(texts))


def write(rows: list[dict], args, lines: int) -> None:
    naive = rows[-1]["throughput"]
    out = ["# Serving under load", "",
           f"`python benchmarks/serve.py` on this machine ({lines} CLINC150-LT test lines, {args.clients} concurrent "
           f"clients, one text per request, --max-wait-ms {args.max_wait_ms}; server and clients share the CPU).", "",
           "| server | requests/s | offline lines/s (same backend) | server / offline | server / naive | p50 ms "
           "| p95 ms | p99 ms | mean batch | p99 bound: wait + 2 batches, ms | errors | swapped or lost | top label "
           "differs (rounding) | exit |", "|---|" + "---:|" * 13]
    for r in rows:
        bound = args.max_wait_ms + 2 * r["batch_ms"]
        out.append(f"| {r['server']} | {r['throughput']:.0f} | {r['offline']:.0f} | "
                   f"{r['throughput'] / r['offline']:.2f} | {r['throughput'] / naive:.2f} | {1000 * r['p50']:.0f} | "
                   f"{1000 * r['p95']:.0f} | {1000 * r['p99']:.0f} | {r['batch']:.1f} | {bound:.0f} | {r['errors']} | "
                   f"{r['swapped']} | {r['flipped']} | {r['exit']} |")
    out += ["", "Offline: the server's own scorer in one process on all lines at once (batches of 128), the same "
            "precision as the server (`--precision auto`: bf16 on this CPU). Swapped or lost: an answer whose "
            "probabilities differ from its own text's offline ones by more than 0.1 (another text's answer, or "
            "none). Top label differs: the same text, a near-tie decided the other way by rounding in a batch of "
            "another shape. onnx-int8 is ONNX Runtime's dynamic quantisation, which scales the activations over the "
            "whole batch, so a text's answer depends on the texts it is batched with: its differences are that, "
            "not swapped answers (the exact backends, where the batch cannot change an answer, show none). The naive "
            "server's answers come from its own pipeline and are not compared; its errors are its own (one pipeline "
            "called from many threads at once). A batch's "
            "time is estimated as mean batch size / offline lines per second; exit: the server's status after "
            "SIGTERM."]
    (HERE / "results" / "serve.md").write_text("\n".join(out) + "\n", encoding="utf-8")
    print("\n".join(out))


if __name__ == "__main__":
    main()
