"""Dev scored in bf16 during training: does it keep the answers, and what does it save?

    python benchmarks/eval_precision.py            # finished runs are kept

`train` scores dev at each evaluation (what picks the best checkpoint and stops early) in
`--eval-precision`: `auto` (the default) is bf16 where training runs in bf16, as `--precision
auto` chooses on a CPU whose bf16 matrix multiply measures faster than fp32. The final dev and
test results are fp32's either way. Each data set is trained twice at `train`'s defaults on
the packaged MiniLM-L6, the same seed, once with `--eval-precision fp32` and once with the
default; training itself is the same both times (bf16 here), so the two runs differ only in
how their evaluations were scored. Compared: the best evaluation's step and the step training
stopped at (must be equal), each evaluation's dev metric (the largest difference), the final
dev and test results, and the seconds spent evaluating.

Data: CLINC150-LT as packaged (single-label, 150 classes) and debian_tags (multi-label).
Writes benchmarks/results/eval_precision.md and .json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from weighted_bert.cli import main as cli  # noqa: E402
from weighted_bert.demo import demo_model_dir  # noqa: E402
from weighted_bert.files import atomic_write_text  # noqa: E402

DATA = HERE.parent.parent / "shared" / "data"
SETS = {"clinc150_lt": DATA / "clinc150_lt", "debian_tags": DATA / "debian_tags"}
MODES = ("fp32", "auto")
METRIC = "macro_f1"  # train's --metric-for-best-model
STUDIES = ()  # the budget is train's; what varies is the precision dev is scored in


def train(data: Path, output: Path, mode: str, seed: int) -> None:
    if (output / "run_summary.json").is_file():
        return
    assert cli(["train", "--model", demo_model_dir(), "--data-dir", str(data), "--output-dir", str(output),
                "--overwrite-output-dir", "--no-progress", "--seed", str(seed), "--eval-precision", mode]) == 0


def read(output: Path) -> dict:
    log = [json.loads(line) for line in (output / "training_log.jsonl").read_text().splitlines()]
    evaluations = {e["step"]: e[f"eval_{METRIC}"] for e in log if f"eval_{METRIC}" in e}
    best = max(evaluations, key=lambda step: (evaluations[step], -step))
    summary = json.loads((output / "run_summary.json").read_text())
    return {"evaluations": evaluations, "best_step": best, "global_step": summary["global_step"],
            "dev": summary["eval"], "test": summary["test"], "seconds": summary["seconds"],
            "evaluation_seconds": summary["stages"].get("evaluation")}


def compare(runs: dict) -> dict:
    exact, fast = runs["fp32"], runs["auto"]
    shared = sorted(set(exact["evaluations"]) & set(fast["evaluations"]))
    keys = [k for k in exact["dev"] if isinstance(exact["dev"][k], (int, float)) and k in fast["dev"]]
    return {"same_best_step": exact["best_step"] == fast["best_step"],
            "same_global_step": exact["global_step"] == fast["global_step"],
            "evaluations": len(shared),
            "largest_evaluation_difference": max(abs(exact["evaluations"][s] - fast["evaluations"][s])
                                                 for s in shared),
            "largest_dev_result_difference": max(abs(exact["dev"][k] - fast["dev"][k]) for k in keys),
            "largest_test_result_difference": max(abs(exact["test"][k] - fast["test"][k]) for k in exact["test"]
                                                  if isinstance(exact["test"][k], (int, float)) and k in fast["test"]),
            "evaluation_seconds": {"fp32": exact["evaluation_seconds"], "auto": fast["evaluation_seconds"]},
            "seconds": {"fp32": exact["seconds"], "auto": fast["seconds"]}}


def table(results: dict, command: str) -> str:
    lines = ["# Dev scored in bf16 during training", "",
             f"Measured by `{command}` on this 2-core CPU machine (training precision as `--precision auto` chose "
             "it), the packaged MiniLM-L6 at `train`'s defaults, one seed; each set trained with "
             "`--eval-precision fp32` and with the default (`auto`). See the module's docstring.", "",
             "| data set | training precision | evaluations | same best checkpoint | same stopping step | "
             f"largest difference of an evaluation's dev {METRIC} | largest difference of a final result "
             "(dev, test) | evaluating, fp32 -> auto | whole run, fp32 -> auto |",
             "|---|---|---:|---|---|---:|---:|---:|---:|"]
    for name, row in results["sets"].items():
        c = row["comparison"]
        ev, whole = c["evaluation_seconds"], c["seconds"]
        lines.append(f"| {name} | {results['training_precision']} | {c['evaluations']} | "
                     f"{'yes' if c['same_best_step'] else 'no'} | {'yes' if c['same_global_step'] else 'no'} | "
                     f"{c['largest_evaluation_difference']:.4f} | {c['largest_dev_result_difference']:.2g}, "
                     f"{c['largest_test_result_difference']:.2g} | {ev['fp32']:.1f} -> {ev['auto']:.1f} s "
                     f"({ev['fp32'] / ev['auto']:.2f}x) | {whole['fp32']:.0f} -> {whole['auto']:.0f} s "
                     f"({whole['fp32'] / whole['auto']:.2f}x) |")
    lines += ["", f"{results['minutes']:.0f} minutes in all.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", default=str(HERE / "runs" / "eval_precision"))
    parser.add_argument("--output", default=str(HERE / "results" / "eval_precision.md"))
    args = parser.parse_args()
    started = time.perf_counter()
    from weighted_bert.training.trainer import mixed_precision

    results = {"training_precision": mixed_precision("auto"), "sets": {}}
    for name in args.sets.split(","):
        runs = {}
        for mode in MODES:  # fp32 first, then the default
            output = Path(args.runs) / f"{name}_{mode}_seed{args.seed}"
            train(SETS[name], output, mode, args.seed)
            runs[mode] = read(output)
        results["sets"][name] = {"runs": runs, "comparison": compare(runs)}
    results["minutes"] = (time.perf_counter() - started) / 60
    command = "python benchmarks/eval_precision.py" + ("" if args.sets == ",".join(SETS) else f" --sets {args.sets}")
    output = Path(args.output)
    atomic_write_text(output.with_suffix(".json"), json.dumps(results, indent=1) + "\n")
    atomic_write_text(output, table(results, command))
    print(output.read_text())


if __name__ == "__main__":
    main()
