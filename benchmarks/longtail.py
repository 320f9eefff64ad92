"""Long-tail benchmark: every recipe on CLINC150-LT with the packaged MiniLM, one budget.

    python benchmarks/longtail.py            # 3 seeds; resumes: finished runs are kept

Runs `weighted-bert compare` over the recipes below (`train`'s budget, the demo's length
and seeds for all), then fits post-hoc calibration on dev for each `ce` run
and scores it on test. Writes benchmarks/results/longtail.md and .csv: test accuracy,
macro-F1, many/medium/few-shot accuracy (training count > 60, 20-60, < 20; flags),
mean and standard deviation over seeds, and wall time per run. The runs themselves
(models included) stay in --runs-dir, outside git.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from weighted_bert.calibration import calibrate  # noqa: E402
from weighted_bert.classifier import Classifier  # noqa: E402
from weighted_bert.compare import aggregate, leaderboard, run_compare  # noqa: E402
from weighted_bert.data import read_dataset  # noqa: E402
from weighted_bert.demo import SETTINGS, demo_data_dir, demo_model_dir  # noqa: E402
from weighted_bert.metrics import full_metrics  # noqa: E402
from weighted_bert.model_folder import load_fine_tuned  # noqa: E402
from weighted_bert.prediction import softmax  # noqa: E402

# The budget settings this benchmark varies on purpose (tests/test_benchmarks.py): --epochs: the
# recipes at another budget
STUDIES = ("epochs",)

RECIPES = {
    "ce": {"loss": "ce"},
    "seed (weighted_ce, inverse, no normalisation)": {"loss": "weighted_ce", "class_weights": "inverse",
                                                     "weight_normalization": "none", "loss_reduction": "mean"},
    "weighted_ce, balanced, sample_mean": {"loss": "weighted_ce", "class_weights": "balanced",
                                          "weight_normalization": "sample_mean"},
    "focal (gamma 2)": {"loss": "focal"},
    "dice (alpha 0.1, smoothing 1)": {"loss": "dice"},
    "ldam + drw (from 80%)": {"loss": "ldam", "drw_start": 0.8},
    "logit_adjusted (tau 1)": {"loss": "logit_adjusted"},
    "balanced_softmax": {"loss": "balanced_softmax"},
    "ce + class_balanced sampling": {"loss": "ce", "sampling": "class_balanced"},
}
CALIBRATED = "ce + post-hoc calibration (tau on dev)"


def calibrated_rows(runs: Path, seeds, many: int, few: int) -> dict:
    """For each finished ce run: fit tau on dev, score test with it (whether or not the
    noise rule would keep it, so the row shows what the adjustment does)."""
    data = demo_data_dir()
    scores = []
    for seed in seeds:
        run = runs / "ce" / f"seed{seed}"
        if not (run / "run_summary.json").is_file():
            continue
        started = time.perf_counter()
        model = load_fine_tuned(run)
        counts = model.info.class_counts
        dev = read_dataset(data / "dev_data.txt")
        test = read_dataset(data / "test_data.txt")
        raw = Classifier(model, batch_size=128, calibration=False)
        dev_logits = raw.logits(dev)
        result = calibrate(dev_logits, np.asarray(model.label_map.encode(dev)), counts)
        test_logits = result.apply(raw.logits(test))
        probabilities = softmax(test_logits)
        metrics = full_metrics(model.label_map.encode(test), probabilities.argmax(1), model.label_map.labels,
                               confidence=probabilities.max(1), train_counts=counts, many_threshold=many,
                               few_threshold=few)
        summary = json.loads((run / "run_summary.json").read_text())
        metrics["seconds"] = summary["seconds"] + time.perf_counter() - started
        metrics["tau"], metrics["kept_by_noise_rule"] = result.tau, result.accepted
        scores.append(metrics)
        print(f"[longtail] calibrated ce seed {seed}: tau {result.tau}, kept {result.accepted}, "
              f"test macro-F1 {metrics['macro_f1']:.4f}", file=sys.stderr)
    row = aggregate(CALIBRATED, scores)
    row["taus"] = [s["tau"] for s in scores]
    return row


def write_results(rows: list[dict], settings: dict, seeds, out: Path) -> str:
    columns = [("accuracy", "test accuracy"), ("macro_f1", "test macro-F1"), ("many_shot_accuracy", "many-shot acc"),
               ("medium_shot_accuracy", "medium-shot acc"), ("few_shot_accuracy", "few-shot acc"),
               ("seconds", "seconds / run")]
    best = {c: max((r[f"{c}_mean"] for r in rows if f"{c}_mean" in r), default=None)
            for c, _ in columns if c != "seconds"}
    lines = ["| method | seeds | " + " | ".join(name for _, name in columns) + " |",
             "|---|---:|" + "---:|" * len(columns)]
    for r in rows:
        cells = []
        for c, _ in columns:
            if f"{c}_mean" not in r:
                cells.append("")
                continue
            digits = 0 if c == "seconds" else 4
            cell = f"{r[f'{c}_mean']:.{digits}f} ± {r[f'{c}_std']:.{digits}f}"
            cells.append(f"**{cell}**" if best.get(c) is not None and r[f"{c}_mean"] == best[c] else cell)
        lines.append(f"| {r['recipe']} | {r['seeds']} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    header = (f"# Long-tail benchmark: CLINC150-LT, packaged MiniLM-L6\n\n"
              f"Command: `python benchmarks/longtail.py` (seeds {', '.join(map(str, seeds))}). "
              f"Budget for every method: `train`'s, with {json.dumps(settings)}.\n"
              "Test set: 4,500 balanced utterances, 150 intents; shot groups by training count "
              f"(many > {settings['many_threshold']}, few < {settings['few_threshold']}). "
              "Mean ± standard deviation over seeds; best mean in bold.\n\n")
    (out / "longtail.md").write_text(header + table + "\n", encoding="utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["method", "seeds"] + [f"{c}_{s}" for c, _ in columns for s in ("mean", "std")])
    for r in rows:
        writer.writerow([r["recipe"], r["seeds"]] + [f"{r.get(f'{c}_{s}', float('nan')):.6g}" for c, _ in columns
                                                     for s in ("mean", "std")])
    (out / "longtail.csv").write_text(buffer.getvalue(), encoding="utf-8")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--epochs", type=float, default=None, help="another budget than train's")
    parser.add_argument("--runs-dir", default=str(HERE / "runs" / "longtail"))
    parser.add_argument("--results-dir", default=str(HERE / "results"))
    parser.add_argument("--many-threshold", type=int, default=60)
    parser.add_argument("--few-threshold", type=int, default=20)
    parser.add_argument("--recipes", help="comma-separated subset of the recipe names (default: all)")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    recipes = RECIPES if not args.recipes else {k: RECIPES[k] for k in args.recipes.split(",")}
    settings = {k: v for k, v in SETTINGS.items() if k != "seed"} | {"many_threshold": args.many_threshold,
                                                                     "few_threshold": args.few_threshold}
    if args.epochs is not None:
        settings["epochs"] = args.epochs
    runs = Path(args.runs_dir)
    run_compare(model=demo_model_dir(), output_dir=runs, recipes=recipes, seeds=seeds,
                settings={**settings, "data_dir": str(demo_data_dir()), "progress": False})
    rows = leaderboard(runs, recipes, seeds)
    if "ce" in recipes:
        rows.append(calibrated_rows(runs, seeds, args.many_threshold, args.few_threshold))
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    print(write_results(rows, settings, seeds, out))


if __name__ == "__main__":
    main()
