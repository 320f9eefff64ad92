"""Which training budget should `train` default to? Learning rates (encoder and head) and epochs,
swept on every benchmark set with everything else at `train`'s defaults.

    python benchmarks/budget.py [--seeds 0] [--configs NAME,...] [--sets NAME,...]   # resumes: finished runs are kept

Each run is `weighted-bert train --model MiniLM-L6 (packaged) --data-dir SET` plus the
config's flags and `--seed`, nothing else: the recipe, the decision fitted on dev, the
batch size, warmup, length and the checkpoint choice are `train`'s own. The sets:

* `clinc_lt_100`, `clinc_lt_10`: CLINC150-LT at imbalance factors 100 and 10
  (`benchmarks/defaults.py`'s construction, tail order = the seed), official val and test
  (balanced) as dev and test;
* `debian_role`: single-label with natural frequencies in every split (11 classes, 1,599 to
  3 training rows, `benchmarks/defaults.py`);
* `debian_tags`: multi-label, 256 tags, natural frequencies (../shared/data/debian_tags);
* `clinc_compositional`: multi-label, 147 CLINC intents joined one to three a text
  (`benchmarks/multilabel_data.py`).

Reported: test macro-F1 as `train` writes it (run_summary.json: at the kept decision or
thresholds), dev macro-F1 at the chosen checkpoint, epochs run and minutes, mean over seeds.
The rule for a default: the config with the best mean over the sets of its test macro-F1
behind the best config on each set (a config that is close everywhere beats one that wins
on one set and fails another). Writes benchmarks/results/budget.md and budget.json.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.defaults import build, build_natural  # noqa: E402
from benchmarks.multilabel_data import build_clinc_compositional  # noqa: E402
from weighted_bert.cli import main  # noqa: E402
from weighted_bert.config import MULTI_LABEL_HEAD_LEARNING_RATE  # noqa: E402
from weighted_bert.demo import demo_model_dir  # noqa: E402

# The budget settings this benchmark varies on purpose (tests/test_benchmarks.py): the sweep that
# chooses them
STUDIES = ("learning_rate", "head_learning_rate", "epochs", "early_stopping_patience")

SHARED = HERE.parent.parent / "shared" / "data"
SETS = ("clinc_lt_100", "clinc_lt_10", "debian_role", "debian_tags", "clinc_compositional")
MULTI_LABEL_SETS = ("debian_tags", "clinc_compositional")
# name: train flags, named "encoder lr / head lr / epochs" by their values (so that a result keeps its
# meaning when the defaults move; "=" a head at the encoder's rate, "<=10es2" at most 10 epochs
# with early stopping after 2 evaluations without a better dev score). In the order they run.
FIXED = {"early_stopping_patience": None}  # every epoch runs
CONFIGS = {
    "2e-4/3e-2/3": {"learning_rate": 2e-4, "head_learning_rate": 3e-2, "epochs": 3, **FIXED},  # the benchmarks' so far
    "5e-5/=/3": {"learning_rate": 5e-5, "head_learning_rate": None, "epochs": 3, **FIXED},  # train's defaults so far
    "5e-5/3e-2/3": {"learning_rate": 5e-5, "head_learning_rate": 3e-2, "epochs": 3, **FIXED},
    "1e-4/1e-2/3": {"learning_rate": 1e-4, "head_learning_rate": 1e-2, "epochs": 3, **FIXED},
    "1e-4/1e-2/<=10es2": {"learning_rate": 1e-4, "head_learning_rate": 1e-2, "epochs": 10,
                          "early_stopping_patience": 2},
    "1e-4/3e-2/<=10es2": {"learning_rate": 1e-4, "head_learning_rate": 3e-2, "epochs": 10,
                          "early_stopping_patience": 2},
    "5e-5/3e-3/3": {"learning_rate": 5e-5, "head_learning_rate": 3e-3, "epochs": 3, **FIXED},
    "2e-4/=/3": {"learning_rate": 2e-4, "head_learning_rate": None, "epochs": 3, **FIXED},
    "2e-4/3e-3/3": {"learning_rate": 2e-4, "head_learning_rate": 3e-3, "epochs": 3, **FIXED},
}


def data_folder(name: str, runs: Path, seed: int) -> Path:
    """SET's folder of train/dev/test files (built once; the CLINC-LT tail order is the seed)."""
    if name == "debian_tags":
        return SHARED / "debian_tags"
    if name == "clinc_compositional":
        return build_clinc_compositional(runs / "data" / name)
    folder = runs / "data" / f"{name}_{seed}"
    if not (folder / "test_data.txt").is_file():
        files = (build(folder / "built", int(name.rsplit("_", 1)[1]), seed) if name.startswith("clinc_lt_")
                 else build_natural(folder / "built", name, seed))
        world = "natural" if name == "debian_role" else "balanced"
        (folder / "train_data.txt").write_bytes(files["train"].read_bytes())
        (folder / "dev_data.txt").write_bytes(files[f"{world}_dev"].read_bytes())
        (folder / "test_data.txt").write_bytes(files[f"{world}_test"].read_bytes())
    return folder


def train(run: Path, data: Path, flags: dict, seed: int) -> dict:
    summary = run / "run_summary.json"
    if not summary.is_file():
        settings = [f"--{k.replace('_', '-')}={v}" for k, v in {**flags, "seed": seed}.items()]
        assert main(["train", "--model", demo_model_dir(), "--data-dir", str(data), "--output-dir", str(run),
                     "--overwrite-output-dir", "--no-progress", "--logging-steps", "100", *settings]) == 0
    result = json.loads(summary.read_text())
    epochs = max((e.get("epoch", 0) for e in _log(run)), default=float("nan"))  # the epochs that ran
    return {"test_macro_f1": result["test"]["macro_f1"], "dev_macro_f1": result["eval"].get("macro_f1"),
            "minutes": result["seconds"] / 60, "epochs_run": epochs}


def _log(run: Path) -> list[dict]:
    path = run / "training_log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def summarise(scores: dict, sets: list[str], configs: list[str], seeds: list[int]) -> tuple[list[str], dict]:
    mean = {}
    for s in sets:
        for c in configs:
            rows = [scores[f"{s}/{c}/{seed}"] for seed in seeds if f"{s}/{c}/{seed}" in scores]
            if rows:
                mean[s, c] = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]} | {"seeds": len(rows)}
    complete = [c for c in configs if all((s, c) in mean for s in sets)]
    best = {s: max(mean[s, c]["test_macro_f1"] for c in complete) for s in sets} if complete else {}
    behind = {c: float(np.mean([mean[s, c]["test_macro_f1"] - best[s] for s in sets])) for c in complete}
    lines = ["| config (seeds) | " + " | ".join(sets) + " | mean behind the best | minutes (all sets) |",
             "|---|" + "---:|" * (len(sets) + 2)]
    for c in sorted((c for c in configs if any((s, c) in mean for s in sets)), key=lambda c: -behind.get(c, -1)):
        cells = [(f"{mean[s, c]['test_macro_f1']:.3f} ({mean[s, c]['epochs_run']:.0f} ep)" if (s, c) in mean else "")
                 for s in sets]
        minutes = sum(mean[s, c]["minutes"] for s in sets if (s, c) in mean)
        ran = sorted({mean[s, c]["seeds"] for s in sets if (s, c) in mean})
        name = f"`{c}` ({ran[0]}{f'-{ran[-1]}' if len(ran) > 1 else ''})"  # seeds per set: fewest-most
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {behind[c]:+.3f} | {minutes:.0f} |" if c in behind
                     else f"| {name} | " + " | ".join(cells) + f" | | {minutes:.0f} |")
    winner = max(behind, key=behind.get) if behind else None
    by_task = {}
    for task, members in (("single-label", [s for s in sets if s not in MULTI_LABEL_SETS]),
                          ("multi-label", [s for s in sets if s in MULTI_LABEL_SETS])):
        ran = [c for c in configs if members and all((s, c) in mean for s in members)]
        if ran:
            gap = {c: float(np.mean([mean[s, c]["test_macro_f1"] - best[s] for s in members])) for c in ran}
            chosen = max(gap, key=gap.get)
            by_task[task] = {"winner": chosen, "sets": {s: mean[s, chosen]["test_macro_f1"] - best[s]
                                                        for s in members}}
    return lines, {"winner": winner, "flags": CONFIGS.get(winner), "behind_the_best": behind, "by_task": by_task,
                   "means": {f"{s}/{c}": v for (s, c), v in mean.items()}}


def main_(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--configs", default=",".join(CONFIGS), help="names of CONFIGS, comma-separated")
    parser.add_argument("--runs", default=str(HERE / "runs" / "budget"))
    parser.add_argument("--output", default=str(HERE / "results" / "budget.md"))
    parser.add_argument("--table-only", action="store_true", help="train nothing: the table of the finished runs "
                        "(each config over the seeds it ran)")
    args = parser.parse_args(argv)
    seeds, sets, configs = [int(s) for s in args.seeds.split(",")], args.sets.split(","), args.configs.split(",")
    unknown = [c for c in configs if c not in CONFIGS] + [s for s in sets if s not in SETS]
    if unknown:
        parser.error(f"unknown config or set: {unknown}")
    runs = Path(args.runs)
    cache = runs / "scores.json"
    runs.mkdir(parents=True, exist_ok=True)
    scores = json.loads(cache.read_text()) if cache.is_file() else {}
    for seed in [] if args.table_only else seeds:
        for config in configs:  # every set once before the next config: an interrupted sweep still compares
            for name in sets:
                key = f"{name}/{config}/{seed}"
                if key not in scores:
                    slug = config.replace("/", "_").replace("<=", "le").replace("=", "same")
                    scores[key] = train(runs / name / slug / str(seed), data_folder(name, runs, seed),
                                        CONFIGS[config], seed)
                    cache.write_text(json.dumps(scores, indent=1))
                    print(f"{key}: {scores[key]}", flush=True)
    lines, summary = summarise(scores, sets, configs, seeds)
    command = " ".join(["python benchmarks/budget.py", *map(shlex.quote, sys.argv[1:] if argv is None else argv)])
    text = ["# Training budget: learning rates and epochs", "",
            (f"Made by `{command}` from the finished runs of earlier sweeps (each config over the seeds it ran)"
             if args.table_only else f"Measured by `{command}`") + " on this 2-core CPU machine, MiniLM-L6. "
            + " ".join(__doc__.split("\n\n")[2].split()), "",
            "Test macro-F1 as `train` writes it (mean over the seeds each config ran; epochs run in brackets, "
            "their mean; minutes: wall time of training and scoring, summed over the sets, with other work "
            "beside some runs):", "", *lines, "",
            f"**Best over the sets: {summary['winner']}.**", "",
            *[f"Best over the {task} sets: **{found['winner']}**; each set behind its best: "
              + ", ".join(f"{s} {gap:+.3f}" for s, gap in found["sets"].items()) + "."
              for task, found in summary["by_task"].items()], "",
            "`train`'s defaults: the single-label winner; a multi-label task trains its head at "
            f"{MULTI_LABEL_HEAD_LEARNING_RATE:g} (weighted_bert/config.py), the multi-label winner's.", ""]
    Path(args.output).write_text("\n".join(text))
    Path(args.output).with_suffix(".json").write_text(json.dumps(summary, indent=1))
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main_())
