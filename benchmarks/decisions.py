"""Decisions benchmark: what `calibrate` and the int8 check change, on CLINC150-LT.

    python benchmarks/decisions.py            # trains two models (or reuses them), ~15 min on 2 cores

Two models, MiniLM at `train`'s budget: `ce`, and `ce + class_balanced`
sampling. Two worlds, each with its own dev (where everything is fitted) and test:

* balanced: CLINC150-LT's official dev and test (every intent alike);
* natural: dev and test subsampled to the training frequencies (intent i keeps
  round(size * n_i / 100) of its rows, at least none), as a deployed model meets them.

For each model and world, fitted on that world's dev, scored on its test:
ECE and NLL before and after temperature scaling; the expected cost of argmax and of the
`cost` objective under a cost matrix where missing a few-shot intent (fewer than 20
training rows) costs 5 and any other error 1; accuracy at full coverage and at the
threshold fitted for 90% coverage; and the `accuracy` objective with the target prior
stated (`train`, fitted on the balanced dev, scored on the natural test). Then the int8
check of `export --quantize int8` on the balanced dev. Writes benchmarks/results/decisions.md.
Everything goes through the package's own functions (the same code as the commands).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from weighted_bert.calibration import calibrate, log_prior_from_counts, make_objective  # noqa: E402
from weighted_bert.calibration.objectives import importance_weights  # noqa: E402
from weighted_bert.calibration.temperature import ece, nll  # noqa: E402
from weighted_bert.classifier import Classifier  # noqa: E402
from weighted_bert.cli import main  # noqa: E402
from weighted_bert.data import Dataset, read_dataset  # noqa: E402
from weighted_bert.demo import SETTINGS, demo_data_dir, demo_model_dir  # noqa: E402
from weighted_bert.metrics import classification_metrics  # noqa: E402
from weighted_bert.model_folder import load_fine_tuned  # noqa: E402
from weighted_bert.prediction import softmax  # noqa: E402

STUDIES = ()  # the budget settings varied on purpose: none (tests/test_benchmarks.py)

MODELS = {"ce": ["--loss", "ce"], "ce + class_balanced": ["--loss", "ce", "--sampling", "class_balanced"]}
FEW = 20  # training rows below which an intent is few-shot (the package's default)
MISS_FEW_COST = 5.0


def natural(dataset: Dataset, counts: dict, rng) -> Dataset:
    """``dataset`` subsampled per label to the training frequencies (the largest class keeps all)."""
    top = max(counts.values())
    by_label: dict[str, list] = {}
    for example in dataset.examples:
        by_label.setdefault(example.label, []).append(example)
    kept = []
    for label, examples in by_label.items():
        n = int(round(len(examples) * counts[label] / top))
        kept += [examples[i] for i in sorted(rng.choice(len(examples), n, replace=False))]
    kept.sort(key=lambda e: e.line)
    return Dataset(dataset.path, kept)


def train(runs: Path) -> dict:
    data, made = demo_data_dir(), {}
    for name, flags in MODELS.items():
        out = runs / name.replace(" + ", "_")
        if not (out / "model" / "model.safetensors").is_file():
            settings = [f"--{k.replace('_', '-')}={v}" for k, v in SETTINGS.items()]
            started = time.perf_counter()
            assert main(["train", "--model", demo_model_dir(), "--data-dir", str(data), "--output-dir", str(out),
                         "--overwrite-output-dir", "--no-progress", *settings, *flags]) == 0
            print(f"[decisions] trained {name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        made[name] = out
    return made


def row_for(model_dir: Path, splits: dict, rng) -> dict:
    model = load_fine_tuned(model_dir / "model")
    counts = model.info.class_counts
    labels = model.label_map.labels
    raw = Classifier(model, batch_size=128, calibration=False)
    logits = {name: raw.logits(ds) for name, ds in splits.items()}
    y = {name: np.asarray(model.label_map.encode(ds)) for name, ds in splits.items()}
    few = np.asarray(counts) < FEW
    costs = np.where(few[:, None], MISS_FEW_COST, 1.0) * (1 - np.eye(len(labels)))
    out = {}
    for world in ("balanced", "natural"):
        dev, test = f"{world}_dev", f"{world}_test"
        zd, yd, zt, yt = logits[dev], y[dev], logits[test], y[test]
        base = calibrate(zd, yd, counts)  # temperature (+ the macro_f1 decision, reported apart)
        scaled = zt / base.temperature
        r = {"temperature": base.temperature, "ece_before": ece(zt, yt), "ece_after": ece(scaled, yt),
             "nll_before": nll(zt, yt), "nll_after": nll(scaled, yt),
             "dev_ece_before": base.temperature_report["ece_before"],
             "dev_ece_after": base.temperature_report["ece_after"]}
        log_dev = log_prior_from_counts(np.bincount(yd, minlength=len(labels)))
        cost_objective = make_objective("cost", len(labels), class_weights=importance_weights(log_dev, yd, len(labels)),
                                   costs=costs, target_log_prior=log_dev)
        result = calibrate(zd, yd, counts, objective=cost_objective)
        kept, fitted = result.accepted, result.as_fitted(cost_objective)
        decided = fitted.decide(softmax(fitted.apply(zt)))  # applied even where the guard did not keep it
        r.update(cost_argmax=float(costs[yt, zt.argmax(1)].mean()), cost_fitted=float(costs[yt, decided].mean()),
                 cost_kept=kept, cost_accuracy=float((decided == yt).mean()))
        abstain = calibrate(zd, yd, counts, coverage=0.9)
        p = softmax(abstain.apply(zt))
        chosen = abstain.decide(p)
        answered = chosen >= 0
        r.update(full_accuracy=float((zt.argmax(1) == yt).mean()), coverage=float(answered.mean()),
                 answered_accuracy=float((chosen[answered] == yt[answered]).mean()),
                 macro_f1=classification_metrics(yt, zt.argmax(1))["macro_f1"])
        out[world] = r
    # the deployment prior stated, fitted on the balanced dev, met on the natural test
    log_train = log_prior_from_counts(counts)
    yd, zd = y["balanced_dev"], logits["balanced_dev"]
    objective = make_objective("accuracy", len(labels), class_weights=importance_weights(log_train, yd, len(labels)),
                          target_log_prior=log_train)
    prior = calibrate(zd, yd, counts, objective=objective)
    zt, yt = logits["natural_test"], y["natural_test"]
    adjusted = prior.as_fitted(objective).apply(zt).argmax(1)  # applied even where the guard did not keep it
    out["target_prior"] = {"accuracy_before": float((zt.argmax(1) == yt).mean()),
                           "accuracy_after": float((adjusted == yt).mean()), "tau": prior.fitted_tau,
                           "kept": prior.accepted, "held_out_gain": prior.held_out_gain}
    return out


def int8_check(model_dir: Path, dev: Path, scratch: Path) -> dict:
    copy = scratch / "int8" / model_dir.name
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(model_dir / "model", copy)
    started = time.perf_counter()
    assert main(["export", "--model", str(copy), "--quantize", "int8", "--check-data", str(dev)]) == 0
    check = json.loads((copy / "onnx" / "int8_check.json").read_text())
    check["seconds"] = time.perf_counter() - started
    return check


def _per_world(rows: dict, cells) -> list[str]:
    return [f"| {name} | {world} | {cells(r[world])} |" for name, r in rows.items() for world in ("balanced", "natural")]


def render(rows: dict, checks: dict, sizes: dict, seconds: float) -> str:
    lines = ["# Decisions: temperature, costs, abstaining, target prior, int8", "",
             "Measured by `python benchmarks/decisions.py` on this 2-core CPU machine "
             f"({seconds / 60:.0f} min in all), MiniLM-L6 (packaged), CLINC150-LT at `train`'s budget "
             f"(length 64, seed 42). One seed: the differences below are within one model, "
             "paired on the same texts. Everything is fitted on the world's dev and scored on its test. "
             f"Split sizes: {', '.join(f'{k} {v}' for k, v in sizes.items())}.", "",
             "## Temperature scaling (test)", "",
             "| model | world | T | ECE before | ECE after | NLL before | NLL after | dev ECE before → after "
             "(cross-fitted) |", "|---|---|---:|---:|---:|---:|---:|---|"]
    lines += _per_world(rows, lambda w: f"{w['temperature']:.3f} | {w['ece_before']:.4f} | {w['ece_after']:.4f} | "
                        f"{w['nll_before']:.4f} | {w['nll_after']:.4f} | {w['dev_ece_before']:.4f} → "
                        f"{w['dev_ece_after']:.4f}")
    lines += ["", f"## Expected cost (test): missing a few-shot intent costs {MISS_FEW_COST:g}, other errors 1", "",
              "| model | world | argmax | cost objective (fitted, applied) | kept by the noise guard | accuracy with the "
              "cost rule |",
              "|---|---|---:|---:|---|---:|"]
    lines += _per_world(rows, lambda w: f"{w['cost_argmax']:.4f} | {w['cost_fitted']:.4f} | "
                        f"{'yes' if w['cost_kept'] else 'no'} | {w['cost_accuracy']:.4f}")
    lines += ["", "## Abstaining: threshold fitted on dev for 90% coverage (test)", "",
              "| model | world | accuracy, all answered | coverage reached | accuracy on the answered |",
              "|---|---|---:|---:|---:|"]
    lines += _per_world(rows, lambda w: f"{w['full_accuracy']:.4f} | {w['coverage']:.3f} | "
                        f"{w['answered_accuracy']:.4f}")
    lines += ["", "## Target prior stated (`--objective accuracy --target-prior train`): fitted on the balanced dev, "
              "scored on the natural test", "",
              "| model | accuracy before | accuracy with the fitted shift | fitted tau | kept | dev held-out gain |",
              "|---|---:|---:|---:|---|---:|"]
    for name, r in rows.items():
        t = r["target_prior"]
        lines.append(f"| {name} | {t['accuracy_before']:.4f} | {t['accuracy_after']:.4f} | {t['tau']} | "
                     f"{'yes' if t['kept'] else 'no'} | {t['held_out_gain']:+.4f} |")
    lines += ["", "## int8 check (`export --quantize int8`, on the balanced dev)", "",
              "| model | macro-F1 fp32 → int8 | few-shot accuracy fp32 → int8 | predictions changed | "
              "classes that lose most F1 |", "|---|---|---|---:|---|"]
    for name, c in checks.items():
        lost = ", ".join(f"{r['label']} {r['change']:+.3f} ({r['train_count']})" for r in c["most_lost"])
        few = c["fp32"].get("few_shot_accuracy"), c["int8"].get("few_shot_accuracy")
        lines.append(f"| {name} | {c['fp32']['macro_f1']:.4f} → {c['int8']['macro_f1']:.4f} | "
                     f"{few[0]:.4f} → {few[1]:.4f} | {c['changed_predictions']} / {c['examples']} | {lost} |")
    return "\n".join(lines) + "\n"


def main_benchmark(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs-dir", default=str(HERE / "runs" / "decisions"))
    parser.add_argument("--output", default=str(HERE / "results" / "decisions.md"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    runs = Path(args.runs_dir)
    models = train(runs)
    data = demo_data_dir()
    train_counts: dict = {}
    for example in read_dataset(data / "train_data.txt").examples:
        train_counts[example.label] = train_counts.get(example.label, 0) + 1
    rng = np.random.default_rng(0)
    splits = {"balanced_dev": read_dataset(data / "dev_data.txt"), "balanced_test": read_dataset(data / "test_data.txt")}
    splits["natural_dev"] = natural(splits["balanced_dev"], train_counts, rng)
    splits["natural_test"] = natural(splits["balanced_test"], train_counts, rng)
    rows = {name: row_for(folder, splits, rng) for name, folder in models.items()}
    checks = {name: int8_check(folder, data / "dev_data.txt", runs) for name, folder in models.items()}
    text = render(rows, checks, {k: len(v) for k, v in splits.items()}, time.perf_counter() - started)
    Path(args.output).write_text(text, encoding="utf-8")
    (Path(args.output).with_suffix(".json")).write_text(json.dumps({"rows": rows, "int8": checks}, indent=2))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main_benchmark())
