"""Simulated labelling: does `weighted-bert suggest` grow the rare classes faster than picking at random?

    python benchmarks/suggest.py [--seeds 0,1,2] [--strategies balanced-uncertainty,random] [--rounds 3] [--jobs 2]

Data: CLINC150-LT's training set (../shared/data/clinc150_lt, 3,251 rows, 100 down to 1 a
class) is what is labelled at the start; the pool is the rest of CLINC150's in-scope
training rows (../shared/data/clinc150/data_full.json, 15,000 rows, less those of the
LT set: 11,749), their labels hidden. Each round, `weighted-bert suggest --budget 100` picks
from what is left of the pool with the last round's model (``--train``: the rows labelled
so far), the picks join the training set with their true labels, and `weighted-bert train`
trains a new model from the packaged MiniLM-L6 at the defaults (the demo's length 64 and
scoring batch, ``--seed s``). Dev and test are CLINC150-LT's (balanced).

Measured after each round, per strategy, on the balanced test: few-shot accuracy (the
intents with under 20 rows in the starting set) and macro-F1; and the share of the picks
whose true intent is few-shot. Paired by seed with random: mean difference and a 95% t
interval over seeds. ``--jobs`` chains (a seed and a strategy) run side by side, each with
one thread.

Writes benchmarks/results/suggest.md and suggest.json; runs are kept in
benchmarks/runs/suggest/ (a second call resumes).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from weighted_bert.demo import SETTINGS, demo_model_dir  # noqa: E402
from weighted_bert.files import atomic_write_text  # noqa: E402
from weighted_bert.paired import seed_interval  # noqa: E402
from weighted_bert.shot_groups import FEW_THRESHOLD  # noqa: E402
from weighted_bert.suggestions import STRATEGIES  # noqa: E402

STUDIES = ()  # suggest's and train's defaults, nothing else
SHARED = HERE.parent.parent / "shared" / "data"
LT = SHARED / "clinc150_lt"
RUNS = HERE / "runs" / "suggest"
RESULTS = HERE / "results"
BUDGET = 100


def read_rows(path: Path) -> list[tuple[str, str]]:
    return [tuple(line.split("\t")) for line in path.read_text(encoding="utf-8").splitlines() if line]


def pool_rows() -> list[tuple[str, str]]:
    """CLINC150's in-scope training rows not in the LT training set, in file order."""
    full = json.loads((SHARED / "clinc150" / "data_full.json").read_text(encoding="utf-8"))["train"]
    taken = Counter(read_rows(LT / "train_data.txt"))
    out = []
    for text, label in full:
        if taken[(text, label)]:
            taken[(text, label)] -= 1
            continue
        out.append((text, label))
    return out


def write_rows(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "".join(f"{t}\t{y}\n" for t, y in rows))


def settings(seed: int) -> list[str]:
    return [f"--{k.replace('_', '-')}={v}" for k, v in {**SETTINGS, "seed": seed}.items()] + ["--no-progress"]


def train(folder: Path, data: Path, seed: int) -> None:
    from weighted_bert.cli import main

    if (folder / "run_summary.json").is_file():
        return
    for name in ("dev_data.txt", "test_data.txt"):
        if not (data / name).is_file():
            (data / name).write_bytes((LT / name).read_bytes())
    assert main(["train", "--model", demo_model_dir(), "--data-dir", str(data), "--output-dir", str(folder),
                 "--overwrite-output-dir", *settings(seed)]) == 0


def chain(seed: int, strategy: str, rounds: int) -> None:
    """One seed and strategy: ``rounds`` rounds of picking, labelling and training."""
    from weighted_bert.cli import main

    start = RUNS / f"seed{seed}" / "round0"
    if not (start / "data" / "train_data.txt").is_file():
        write_rows(start / "data" / "train_data.txt", read_rows(LT / "train_data.txt"))
    train(start / "run", start / "data", seed)
    pool = pool_rows()
    picked: list[int] = []
    previous = start
    for r in range(1, rounds + 1):
        here = RUNS / f"seed{seed}" / strategy / f"round{r}"
        here.mkdir(parents=True, exist_ok=True)
        left = [i for i in range(len(pool)) if i not in set(picked)]
        picks_file = here / "picks.tsv"
        if not picks_file.is_file():
            (here / "pool.txt").write_text("".join(f"{pool[i][0]}\n" for i in left), encoding="utf-8")
            assert main(["suggest", "--model", str(previous / "run"), "--pool", str(here / "pool.txt"), "--budget",
                         str(BUDGET), "--strategy", strategy, "--seed", str(seed), "--train",
                         str(previous / "data" / "train_data.txt"), "--output", str(here / ".picks.tsv"),
                         "--batch-size", "128"]) == 0
            (here / ".picks.tsv").replace(picks_file)
        with picks_file.open(encoding="utf-8", newline="") as handle:
            now = [left[int(p["line"]) - 1] for p in csv.DictReader(handle, delimiter="\t")]
        picked += now
        if not (here / "data" / "train_data.txt").is_file():
            write_rows(here / "data" / "train_data.txt", read_rows(previous / "data" / "train_data.txt")
                       + [pool[i] for i in now])
        atomic_write_text(here / "picked.json", json.dumps(now))
        train(here / "run", here / "data", seed)
        previous = here


def run_chains(seeds, strategies, rounds: int, jobs: int) -> None:
    todo = [(s, strategy) for s in seeds for strategy in strategies]
    for s in seeds:  # the starting model once a seed, before its chains share it
        start = RUNS / f"seed{s}" / "round0"
        if not (start / "run" / "run_summary.json").is_file():
            write_rows(start / "data" / "train_data.txt", read_rows(LT / "train_data.txt"))
    running = []
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"} if jobs > 1 else None
    started_round0 = set()
    while todo or running:
        for item in list(running):
            (s, strategy), process = item
            if process.poll() is not None:
                running.remove(item)
                if process.returncode:
                    raise SystemExit(f"seed {s} {strategy} failed; see {RUNS / f'seed{s}' / f'{strategy}.log'}")
                print(f"[suggest benchmark] done seed {s} {strategy}", flush=True)
        while todo and len(running) < jobs:
            s, strategy = todo[0]
            ready = (RUNS / f"seed{s}" / "round0" / "run" / "run_summary.json").is_file()
            if not ready and s in started_round0:
                break  # its first chain trains the starting model; wait for it
            todo.pop(0)
            started_round0.add(s)
            log = (RUNS / f"seed{s}" / f"{strategy}.log").open("w")
            print(f"[suggest benchmark] start seed {s} {strategy}", flush=True)
            running.append(((s, strategy), subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--chain", f"{s}:{strategy}", "--rounds", str(rounds)],
                stdout=log, stderr=subprocess.STDOUT, env=env)))
        time.sleep(5)


def scores(run: Path, few: set[str]) -> dict | None:
    path = run / "predictions.tsv"
    if not (run / "run_summary.json").is_file():
        return None
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    gold = [r["gold_label"] for r in rows]
    predicted = [r["predicted_label"] for r in rows]
    few_rows = [g == p for g, p in zip(gold, predicted) if g in few]
    summary = json.loads((run / "run_summary.json").read_text())
    return {"few_shot_accuracy": float(np.mean(few_rows)), "macro_f1": summary["test"]["macro_f1"],
            "accuracy": summary["test"]["accuracy"], "minutes": summary["seconds"] / 60}


def collect(seeds, strategies, rounds: int) -> dict:
    counts = Counter(y for _, y in read_rows(LT / "train_data.txt"))
    few = {c for c, n in counts.items() if n < FEW_THRESHOLD}
    pool = pool_rows()
    out = {}
    for s in seeds:
        start = scores(RUNS / f"seed{s}" / "round0" / "run", few)
        for strategy in strategies:
            rows = [{"round": 0, **(start or {}), "few_shot_picks": None}]
            for r in range(1, rounds + 1):
                here = RUNS / f"seed{s}" / strategy / f"round{r}"
                got = scores(here / "run", few)
                if got is None:
                    break
                picked = json.loads((here / "picked.json").read_text())
                rows.append({"round": r, **got, "few_shot_picks": float(np.mean([pool[i][1] in few for i in picked]))})
            out.setdefault(strategy, {})[str(s)] = rows
    return out


def render(results: dict, rounds: int, command: str, seconds: float) -> str:
    lines = ["# Simulated labelling on CLINC150-LT: `suggest` against random picks", "",
             f"Measured by `{command}` on this 2-core CPU machine ({seconds / 60:.0f} min of this call; runs kept from "
             "earlier calls are read, not run again). See the module's docstring. Mean over seeds (their number in "
             "brackets).", "",
             "| strategy | round | seeds | few-shot accuracy | macro-F1 | share of picks few-shot |",
             "|---|---:|---:|---:|---:|---:|"]
    for strategy, per_seed in results.items():
        for r in range(rounds + 1):
            rows = [seq[r] for seq in per_seed.values() if len(seq) > r and "macro_f1" in seq[r]]
            if not rows:
                continue
            picks = [x["few_shot_picks"] for x in rows if x["few_shot_picks"] is not None]
            lines.append(f"| {strategy} | {r} | {len(rows)} | {np.mean([x['few_shot_accuracy'] for x in rows]):.3f} | "
                         f"{np.mean([x['macro_f1'] for x in rows]):.3f} | "
                         f"{f'{np.mean(picks):.2f}' if picks else '—'} |")
    if "random" in results:
        lines += ["", "Paired by seed with `random` (same seed, same round): difference, mean (95% t interval):", "",
                  "| strategy | round | seeds | few-shot accuracy | macro-F1 |", "|---|---:|---:|---|---|"]
        for strategy, per_seed in results.items():
            if strategy == "random":
                continue
            for r in range(1, rounds + 1):
                pairs = [(seq[r], results["random"][s][r]) for s, seq in per_seed.items()
                         if len(seq) > r and s in results["random"] and len(results["random"][s]) > r]
                if not pairs:
                    continue
                few = [a["few_shot_accuracy"] - b["few_shot_accuracy"] for a, b in pairs]
                f1 = [a["macro_f1"] - b["macro_f1"] for a, b in pairs]
                lines.append(f"| {strategy} | {r} | {len(pairs)} | {seed_interval(few)} | {seed_interval(f1)} |")
    return "\n".join(lines) + "\n"


def run_benchmark(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--strategies", default="balanced-uncertainty,random")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument("--chain", help=argparse.SUPPRESS)  # SEED:STRATEGY, one chain in this process
    args = parser.parse_args(argv)
    if args.chain:
        seed, strategy = args.chain.split(":")
        chain(int(seed), strategy, args.rounds)
        return 0
    seeds = [int(s) for s in args.seeds.split(",")]
    strategies = [s for s in args.strategies.split(",") if s]
    if set(strategies) - set(STRATEGIES):
        parser.error(f"--strategies: expected some of {', '.join(STRATEGIES)}")
    started = time.perf_counter()
    if not args.table_only:
        run_chains(seeds, strategies, args.rounds, args.jobs)
    results = collect(seeds, strategies, args.rounds)
    command = ("python benchmarks/suggest.py " + shlex.join(argv if argv is not None else sys.argv[1:])).strip()
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / "suggest.json", json.dumps({"command": command, "results": results}, indent=1) + "\n")
    atomic_write_text(RESULTS / "suggest.md", render(results, args.rounds, command, time.perf_counter() - started))
    print((RESULTS / "suggest.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(run_benchmark())
