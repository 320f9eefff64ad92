"""Scoring at scale: the same answers on every engine, memory flat in the input, the engines' overhead.

    python benchmarks/scale.py              # about 30 minutes on 2 CPU cores (a first call trains two models)
    python benchmarks/scale.py --quick      # a smoke run: 4,500 lines in chunks of 1,000; memory at 20k/50k/100k

Equality and overhead: the packaged MiniLM-L6 trained by `weighted-bert train` at the
defaults on CLINC150-LT (../shared/data/clinc150/data_full.json as benchmarks/defaults.py
builds it, imbalance factor 100; the demo's length 64 and seed), then CLINC150's 4,500
in-scope test texts ten times over (45,000 lines) scored by `weighted-bert predict` at its
defaults (chunks of 10,000 rows, 2,000 on an engine) with ``--probabilities``, each a fresh
process on the same 2 cores, one after the other:

  (a) plain `predict` (the local engine: this process, torch's threads on every core);
  (b) ``--shard 0/2`` then ``--shard 1/2``, each into its own output;
  (c) ``--engine ray`` (a local Ray, one single-threaded worker a CPU);
  (d) ``--engine spark`` (``local[*]``, one single-threaded worker a CPU);
  (e) plain `predict` with the engines' chunks of 2,000 rows, for what the chunk size does.

Each output must equal (a): the same rows and labels in the input's order (the shards' put
back in chunk order), probabilities within 1e-6. Throughput is rows / wall seconds of the
whole process (start-up, the engine's start and the model's load included); the overhead
is (a)'s throughput over the engine's.

Memory: a 2-layer, 64-wide BERT (MiniLM's vocabulary, random weights) trained one epoch on
CLINC150's 15,000 training rows, 150 classes, so that millions of lines take minutes; the
lines are CLINC150 texts with their words shuffled. `predict` with ``--probabilities`` (150
numbers a line) on the first 200,000, 1,000,000 and 2,000,000 lines; peak resident memory
of the process (ru_maxrss). What grows with the input is the streaming's, not the model's,
so a small model measures it. A bigger model adds its own constant.

Writes benchmarks/results/scale.md and scale.json; models and inputs are kept in
benchmarks/runs/scale/ (a second call reuses them).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402

from benchmarks.defaults import CLINC, build  # noqa: E402
from weighted_bert.demo import SETTINGS, demo_model_dir  # noqa: E402
from weighted_bert.files import atomic_write_text  # noqa: E402
from weighted_bert.streaming import CHUNK_ROWS  # noqa: E402

STUDIES = ("epochs",)  # the memory model trains one epoch: it is a vehicle for the streaming, not measured
RUNS = HERE / "runs" / "scale"
ENV = {"RAY_USAGE_STATS_ENABLED": "0", "SPARK_LOCAL_IP": "127.0.0.1",
       "PYSPARK_SUBMIT_ARGS": "--conf spark.ui.enabled=false pyspark-shell", "TOKENIZERS_PARALLELISM": "false"}
TOLERANCE = 1e-6
OVERHEAD_LIMIT = 0.15  # the bar: an engine at most 15% slower than plain predict on the same cores


def command(*args) -> list[str]:
    return [sys.executable, "-m", "weighted_bert", *map(str, args)]


def timed(args: list[str], log: Path) -> dict:
    """Run ``args`` in a fresh process; wall seconds and its peak resident memory (MB)."""
    wrapper = ("import json, resource, subprocess, sys, time; t = time.perf_counter(); "
               "code = subprocess.call(sys.argv[2:], stdout=open(sys.argv[1], 'a'), stderr=subprocess.STDOUT); "
               "print(json.dumps({'code': code, 'seconds': time.perf_counter() - t, "
               "'peak_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))")
    done = subprocess.run([sys.executable, "-c", wrapper, str(log), *args], capture_output=True, text=True,
                          env={**os.environ, **ENV}, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["code"] != 0:
        raise SystemExit(f"failed ({result['code']}): {' '.join(args)}; see {log}")
    return result


def trained(run: Path, args: list, log: Path) -> Path:
    if not (run / "model" / "config.json").is_file():
        print(f"training {run.name} ...", flush=True)
        timed(command("train", *args, "--output-dir", run, "--overwrite-output-dir"), log)
    return run


def minilm(folder: Path) -> Path:
    data = folder / "clinc150_lt"
    if not (data / "train_data.txt").is_file():
        files = build(data, 100, 0)
        (data / "dev_data.txt").write_text(files["balanced_dev"].read_text(encoding="utf-8"), encoding="utf-8")
    return trained(folder / "minilm", ["--model", demo_model_dir(), "--data-dir", data,
                                       "--max-seq-length", SETTINGS["max_seq_length"], "--seed", SETTINGS["seed"],
                                       "--no-progress"], folder / "minilm.log")


def tiny(folder: Path) -> Path:
    """A 2-layer BERT with MiniLM's vocabulary, trained one epoch on CLINC150 (150 classes)."""
    base, data = folder / "tiny_bert", folder / "clinc150"
    if not (base / "config.json").is_file():
        import torch
        from transformers import AutoTokenizer, BertConfig, BertModel

        tokenizer = AutoTokenizer.from_pretrained(demo_model_dir())
        config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=64, num_hidden_layers=2,
                            num_attention_heads=2, intermediate_size=128, max_position_embeddings=128)
        torch.manual_seed(0)
        BertModel(config).save_pretrained(base)
        tokenizer.save_pretrained(base)
    if not (data / "train_data.txt").is_file():
        data.mkdir(parents=True, exist_ok=True)
        full = json.loads(CLINC.read_text(encoding="utf-8"))
        for name, split in (("train_data.txt", "train"), ("dev_data.txt", "val")):
            (data / name).write_text("".join(f"{t}\t{label}\n" for t, label in full[split]), encoding="utf-8")
    return trained(folder / "tiny", ["--model", base, "--data-dir", data, "--epochs", 1, "--max-seq-length", 32,
                                     "--no-progress"], folder / "tiny.log")


def texts_file(path: Path, lines: int, *, shuffled: bool, seed: int = 0) -> Path:
    """CLINC150's in-scope test texts repeated to ``lines`` lines (``shuffled``: each text's
    words in a random order, so that lines differ)."""
    if path.is_file() and sum(1 for _ in path.open("rb")) == lines:
        return path
    texts = [t for t, _ in json.loads(CLINC.read_text(encoding="utf-8"))["test"]]
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for i in range(lines):
            text = texts[i % len(texts)]
            if shuffled:
                words = text.split()
                rng.shuffle(words)
                text = " ".join(words)
            out.write(text + "\n")
    return path


def read_predictions(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def by_chunk(rows: list, shards: list[list], count: int, chunk_rows: int) -> list:
    """The shards' rows put back in the input's order (shard I holds chunks I, I + N, ...)."""
    chunks = [[s[k:k + chunk_rows] for k in range(0, len(s), chunk_rows)] for s in shards]
    out, index = [], 0
    while len(out) < rows:
        shard, position = index % count, index // count
        out += chunks[shard][position]
        index += 1
    return out


def equality(model: Path, data: Path, folder: Path, chunk_rows: int | None) -> dict:
    """``chunk_rows`` None: each engine's default."""
    folder.mkdir(parents=True, exist_ok=True)
    common = ["predict", "--model", model, "--data", data, "--overwrite"]
    common += ["--chunk-rows", chunk_rows] if chunk_rows else []
    runs, outputs = {}, {}

    def go(name, *extra, output=None):
        output = output or name
        shutil.rmtree(folder / f"{output}.tsv.parts", ignore_errors=True)  # an interrupted benchmark's
        print(f"  {name} ...", flush=True)
        runs[name] = timed(command(*common, "--output", folder / f"{output}.tsv", "--probabilities",
                                   folder / f"{output}_p.tsv", *extra), folder / f"{output}.log")
        print(f"    {runs[name]['seconds']:.1f} s", flush=True)

    go("plain")
    for i in range(2):
        go(f"shard {i}/2", "--shard", f"{i}/2", output=f"shard{i}")
    go("ray", "--engine", "ray")
    go("spark", "--engine", "spark")
    go("plain, the engines' chunks", "--chunk-rows", CHUNK_ROWS["ray"], output="plain_small_chunks")
    reference = read_predictions(folder / "plain.tsv")
    probabilities = np.loadtxt(folder / "plain_p.tsv", dtype=np.float64)
    rows = len(reference)
    shards = [read_predictions(folder / f"shard{i}.tsv") for i in range(2)]
    shard_p = [list(np.loadtxt(folder / f"shard{i}_p.tsv")) for i in range(2)]
    local = chunk_rows or CHUNK_ROWS["local"]
    outputs["shards"] = (by_chunk(rows, shards, 2, local), np.array(by_chunk(rows, shard_p, 2, local)))
    for engine in ("ray", "spark", "plain_small_chunks"):
        outputs[engine] = (read_predictions(folder / f"{engine}.tsv"), np.loadtxt(folder / f"{engine}_p.tsv"))
    checks = {}
    for name, (predicted, p) in outputs.items():
        checks[name] = {"rows": len(predicted),
                        "same_texts": [r["text"] for r in predicted] == [r["text"] for r in reference],
                        "same_labels": [r["predicted_label"] for r in predicted] ==
                                       [r["predicted_label"] for r in reference],
                        "max_probability_difference": float(np.abs(p - probabilities).max())}
    seconds = {"plain": runs["plain"]["seconds"], "shards": runs["shard 0/2"]["seconds"] + runs["shard 1/2"]["seconds"],
               "ray": runs["ray"]["seconds"], "spark": runs["spark"]["seconds"],
               "plain_small_chunks": runs["plain, the engines' chunks"]["seconds"]}
    return {"rows": rows, "chunk_rows": chunk_rows or CHUNK_ROWS, "runs": runs, "checks": checks, "seconds": seconds,
            "rows_per_second": {k: rows / v for k, v in seconds.items()},
            "overhead": {k: seconds[k] / seconds["plain"] - 1 for k in seconds if k != "plain"}}


def memory(model: Path, folder: Path, sizes: list[int]) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    source = texts_file(folder / f"lines_{max(sizes)}.txt", max(sizes), shuffled=True)
    out = {}
    for size in sizes:
        data = folder / f"lines_{size}.txt"
        if size != max(sizes) and not (data.is_file() and sum(1 for _ in data.open("rb")) == size):
            with source.open("rb") as src, data.open("wb") as dst:
                for _, line in zip(range(size), src):
                    dst.write(line)
        shutil.rmtree(folder / f"out_{size}.tsv.parts", ignore_errors=True)  # an interrupted benchmark's
        print(f"  memory: {size:,} lines ...", flush=True)
        run = timed(command("predict", "--model", model, "--data", data, "--output", folder / f"out_{size}.tsv",
                            "--probabilities", folder / f"out_{size}_p.tsv", "--overwrite"), folder / f"{size}.log")
        written = sum(1 for _ in (folder / f"out_{size}.tsv").open("rb")) - 1
        out[size] = {**run, "rows_written": written, "rows_per_second": size / run["seconds"]}
        print(f"    {run['seconds']:.1f} s, peak {run['peak_mb']:.0f} MB", flush=True)
        for name in (f"out_{size}.tsv", f"out_{size}_p.tsv"):
            (folder / name).unlink()  # gigabytes of probabilities; the row count is kept
    return out


def plan(result: dict) -> list[str]:
    """100 million texts on N machines, from the measured rates."""
    eq = result["equality"]
    per_core = eq["rows_per_second"]["plain"] / result["cores"]
    lines = [f"Measured here: plain `predict` answers {eq['rows_per_second']['plain']:.0f} texts/s on "
             f"{result['cores']} cores with this MiniLM-L6 (about {per_core:.0f} a core), the engines "
             f"{eq['rows_per_second']['ray']:.0f} (Ray) and {eq['rows_per_second']['spark']:.0f} (Spark); "
             f"memory does not grow with the input (table above: a process peaks at about "
             f"{max(m['peak_mb'] for m in result['memory'].values()):.0f} MB with a 2-layer model, torch's "
             "import included; a larger model adds its own size).", "",
             "| machines (16 cores each) | hours for 100M texts at the measured rate a core |", "|---:|---:|"]
    for machines in (1, 10, 50, 100):
        lines.append(f"| {machines} | {1e8 / (per_core * 16 * machines) / 3600:.1f} |")
    lines += ["", "How: split the input into files of a few million lines (or one file and `--shard I/N`), then either "
              "a job array of N tasks each running `predict --shard I/N --resume` (Slurm: `--array=0-<N-1>`, "
              "`$SLURM_ARRAY_TASK_ID` as I; no coordination, a killed task resumes from its committed chunks), or "
              "one `predict --engine ray|spark` on the cluster users already run (the driver reads the input and "
              "ships chunks of 2,000 rows, ~0.2 MB each, so it is not the bottleneck below several thousand texts/s "
              "a machine; the output is written by the driver). With a GPU a worker, the rate a worker rises by "
              "the GPU's factor and `--batch-size` should grow with it; the plan's arithmetic is the same."]
    return lines


def render(result: dict) -> str:
    eq, mem = result["equality"], result["memory"]
    lines = ["# Scoring at scale: engines, shards and memory", "",
             "Generated by `python benchmarks/scale.py`" + (" --quick" if result["quick"] else "") +
             f" on {result['cores']} CPU cores ({result['date']}).", "",
             f"## Equality and throughput: {eq['rows']:,} lines, chunks of "
             + (f"{eq['chunk_rows']:,} rows" if isinstance(eq["chunk_rows"], int) else
                f"{eq['chunk_rows']['local']:,} rows ({eq['chunk_rows']['ray']:,} on an engine)"), "",
             "| run | rows | same texts | same labels | max probability difference | seconds | texts/s | "
             "overhead against plain |", "|---|---:|---|---|---:|---:|---:|---:|",
             f"| plain predict | {eq['rows']:,} | - | - | - | {eq['seconds']['plain']:.1f} | "
             f"{eq['rows_per_second']['plain']:.0f} | - |"]
    for name, label in (("shards", "--shard 0/2 + 1/2"), ("ray", "--engine ray"), ("spark", "--engine spark"),
                        ("plain_small_chunks", f"plain, --chunk-rows {CHUNK_ROWS['ray']:,}")):
        c = eq["checks"][name]
        lines.append(f"| {label} | {c['rows']:,} | {c['same_texts']} | {c['same_labels']} | "
                     f"{c['max_probability_difference']:.1e} | {eq['seconds'][name]:.1f} | "
                     f"{eq['rows_per_second'][name]:.0f} | {eq['overhead'][name]:+.1%} |")
    equal = all(c["same_texts"] and c["same_labels"] and c["max_probability_difference"] <= TOLERANCE
                for c in eq["checks"].values())
    worst = max(eq["overhead"][k] for k in ("ray", "spark"))
    lines += ["", f"Every output equals plain predict's (labels identical, probabilities within {TOLERANCE:g}): "
              f"**{equal}**. The engines' largest overhead: **{worst:+.1%}** (the bar: at most "
              f"{OVERHEAD_LIMIT:.0%}). The shards ran one after the other here; on two machines they take the "
              "longer of the two.", "",
              "## Memory: streaming predict with probabilities (150 classes)", "",
              "| lines | seconds | texts/s | peak resident memory (MB) |", "|---:|---:|---:|---:|"]
    for size, m in mem.items():
        lines.append(f"| {int(size):,} | {m['seconds']:.1f} | {m['rows_per_second']:.0f} | {m['peak_mb']:.0f} |")
    peaks = [m["peak_mb"] for m in mem.values()]
    lines += ["", f"Peak memory from the smallest to the largest input: {peaks[0]:.0f} -> {peaks[-1]:.0f} MB "
              f"({peaks[-1] / peaks[0] - 1:+.1%}); below 1.5 GB: **{max(peaks) < 1536}**.", "",
              "## A plan for 100 million texts", "", *plan(result), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4,500 lines; memory at 20k, 50k, 100k lines")
    args = parser.parse_args(argv)
    RUNS.mkdir(parents=True, exist_ok=True)
    started = time.time()
    model = minilm(RUNS)
    rows = 4_500 if args.quick else 45_000
    data = texts_file(RUNS / f"clinc_test_{rows}.txt", rows, shuffled=False)
    print(f"equality and throughput on {rows:,} lines", flush=True)
    result = {"quick": args.quick, "cores": len(os.sched_getaffinity(0)), "date": time.strftime("%Y-%m-%d"),
              "equality": equality(model, data, RUNS / f"equality_{rows}", 1_000 if args.quick else None)}
    sizes = [20_000, 50_000, 100_000] if args.quick else [200_000, 1_000_000, 2_000_000]
    result["memory"] = memory(tiny(RUNS), RUNS / "memory", sizes)
    result["minutes"] = (time.time() - started) / 60
    name = "scale_quick" if args.quick else "scale"
    atomic_write_text(HERE / "results" / f"{name}.json", json.dumps(result, indent=1) + "\n")
    atomic_write_text(HERE / "results" / f"{name}.md", render(result))
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
