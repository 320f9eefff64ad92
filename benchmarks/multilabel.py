"""Multi-label recipes on long-tailed tags: which loss, and what fitted thresholds add.

    python benchmarks/multilabel.py [--seeds 0,1,2] [--epochs N]   # resumes: finished runs are kept
    python benchmarks/multilabel.py --data clinc_compositional   # the other set

Data: ../shared/data/debian_tags (Debian package descriptions and their debtags, 256 tags
with 10 to 1,985 training rows, natural frequencies in every split); the official
train/dev/test files. Each recipe (a `--recipe` preset) trains MiniLM-L6 (packaged) with
`train`'s budget (learning rates, epochs, stopping) at length 32 (the
descriptions are short: p99 11 words; 64 for clinc_compositional), the
best dev epoch kept by macro-F1, then the thresholds fitted on dev as `train` does
(`--thresholds per_label`, noise guard on). The other data set is built from
../shared/data/clinc150 by `benchmarks/multilabel_data.py`.
Each run is scored on test twice, from its own files: every label at 0.5, and at the
thresholds `train` kept. Reported: macro-F1, micro-F1, mAP and the tail labels' macro-F1
(labels with fewer than 20 training rows, the few-shot group), mean +- sd over seeds, and
the difference to `bce` at 0.5, paired by seed. Writes benchmarks/results/multilabel.md
and multilabel.json, which names the recommended recipe by the rule below (a held-out set:
holdout_DATA.md, which says how the recipes chosen elsewhere do there).

Rule (chosen on dev alone, so that the test columns are data the choice did not see): the
recipe whose held-out dev macro-F1 at its kept thresholds (dev at 0.5, plus the
thresholds' cross-fitted gain when kept), averaged over seeds, is highest. Per-label
thresholds fitted for each label's F1 trade micro-F1 for macro-F1; the table shows both.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.multilabel_data import build_clinc_compositional  # noqa: E402
from weighted_bert.cli import main  # noqa: E402
from weighted_bert.config import MULTI_LABEL_METRICS, RunConfig  # noqa: E402
from weighted_bert.data import read_dataset  # noqa: E402
from weighted_bert.demo import SETTINGS, demo_model_dir  # noqa: E402
from weighted_bert.labels import LabelMap  # noqa: E402
from weighted_bert.multilabel.metrics import multilabel_metrics  # noqa: E402
from weighted_bert.multilabel.thresholds import Thresholds  # noqa: E402
from weighted_bert.recipes import MULTI_LABEL_RECIPE  # noqa: E402
from weighted_bert.run_folder import MODEL, THRESHOLDS, TRAINING_INFO  # noqa: E402
from weighted_bert.settings import default_of  # noqa: E402

# The budget settings this benchmark varies on purpose (tests/test_benchmarks.py): --epochs: the
# recipes at another budget
STUDIES = ("epochs",)

SHARED = HERE.parent.parent / "shared" / "data"
DATA = SHARED / "debian_tags"
BUILDERS = {"clinc_compositional": build_clinc_compositional}
# Kept out of every choice (the default recipe, the recommendations): their results go to
# results/holdout_DATA.md, which the default's rule (tests/test_config.py) does not read.
HELD_OUT: tuple[str, ...] = ()  # none yet: see docs/multilabel.md, "On data no choice saw"


RECIPES = ["bce", "bce_pos_weight", "sigmoid_focal", "asymmetric", "distribution_balanced", "cb_ntr",
           "distribution_balanced_no_focal", "cb_ntr_no_focal"]
BASELINE = "bce"
KEYS = ("macro_f1", "micro_f1", "map", "few_shot_macro_f1")
NAMES = {"macro_f1": "macro-F1", "micro_f1": "micro-F1", "map": "mAP", "few_shot_macro_f1": "tail macro-F1"}


MAX_LENGTH = {"debian_tags": 32, "clinc_compositional": 64}  # p99 of each set's lengths, in tokens


def train(run: Path, data: Path, recipe: str, seed: int, epochs: float, max_length: int, select: str | None) -> float:
    started = time.perf_counter()
    shutil.rmtree(run, ignore_errors=True)
    settings = {**SETTINGS, "epochs": epochs, "max_seq_length": max_length, "seed": seed,
                **({"metric_for_best_model": select} if select else {})}
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in settings.items()]
    assert main(["train", "--model", demo_model_dir(), "--data-dir", str(data), "--output-dir", str(run),
                 "--recipe", recipe, "--no-progress", "--logging-steps", "100", *flags]) == 0
    return time.perf_counter() - started


def refit(run: Path, data: Path) -> None:
    """Fit a finished run's thresholds on dev again, as `train` does after training."""
    from weighted_bert.classifier import Classifier
    from weighted_bert.model_folder import load_fine_tuned
    from weighted_bert.settings import build
    from weighted_bert.training.decisions import fit_decision

    classifier = load_fine_tuned(run / MODEL)
    config = build(RunConfig, {k: v for k, v in classifier.info.settings.items()})
    dev = read_dataset(data / "dev.jsonl")
    raw_dev = Classifier(classifier, batch_size=config.eval_batch_size, calibration=False).logits(dev)
    fit_decision(config, classifier, dev, run, raw_dev)


def score(run: Path, data: Path) -> dict:
    """Test scores of a finished run, from its files: at 0.5 and at its kept thresholds."""
    info = json.loads((run / MODEL / TRAINING_INFO).read_text())
    label_map = LabelMap(tuple(info["labels"]))
    y = label_map.multi_hot(read_dataset(data / "test.jsonl"))
    table = np.loadtxt(run / "test_results.tsv", delimiter="\t", skiprows=1, ndmin=2)
    kept = Thresholds.read(run / MODEL / THRESHOLDS, label_map.labels)
    out = {}
    for name, values in (("0.5", np.full(len(label_map), 0.5)), ("kept", np.asarray(kept.values))):
        m = multilabel_metrics(y, table >= values[None, :], table, train_counts=info["class_counts"])
        out[name] = {k: m.get(k) for k in KEYS}
    out["thresholds_kept"] = kept.accepted
    out["dev_gain"] = kept.held_out_gain
    # dev macro-F1 at the kept thresholds, held out: at 0.5, plus the cross-fitted gain when they were kept
    out["dev_macro_f1_held_out"] = kept.dev_before + (kept.held_out_gain if kept.accepted else 0.0)
    return out


def summarise(scores: dict, seeds: list[int], recipes: list[str]) -> tuple[str, dict]:
    rows = []
    for recipe in recipes:
        for decision in ("0.5", "kept"):
            per_seed = [scores[f"{recipe}/{s}"][decision] for s in seeds if f"{recipe}/{s}" in scores]
            if not per_seed:
                continue
            base = [scores[f"{BASELINE}/{s}"]["0.5"] for s in seeds if f"{recipe}/{s}" in scores
                    and f"{BASELINE}/{s}" in scores]
            stats = {k: (float(np.mean([p[k] for p in per_seed])), float(np.std([p[k] for p in per_seed])))
                     for k in KEYS}
            diff = [p["macro_f1"] - b["macro_f1"] for p, b in zip(per_seed, base)]
            kept = sum(scores[f"{recipe}/{s}"]["thresholds_kept"] for s in seeds if f"{recipe}/{s}" in scores)
            dev = [scores[f"{recipe}/{s}"]["dev_macro_f1_held_out"] for s in seeds if f"{recipe}/{s}" in scores]
            rows.append({"recipe": recipe, "decision": decision, "seeds": len(per_seed), "stats": stats,
                         "dev_macro_f1_held_out": float(np.mean(dev)),
                         "macro_f1_vs_bce_at_0.5": (float(np.mean(diff)), float(min(diff)), float(max(diff)))
                         if len(diff) == len(per_seed) else None, "thresholds_kept": kept})
    eligible = [r for r in rows if r["decision"] == "kept"]
    winner = max(eligible, key=lambda r: r["dev_macro_f1_held_out"]) if eligible else None
    lines = ["| recipe | thresholds | " + " | ".join(f"test {NAMES[k]}" for k in KEYS)
             + " | test macro-F1 vs bce at 0.5 (min, max) | thresholds kept | dev macro-F1, held out |",
             "|---|---|" + "---:|" * (len(KEYS) + 3)]
    for r in sorted(rows, key=lambda r: -r["stats"]["macro_f1"][0]):
        diff = r["macro_f1_vs_bce_at_0.5"]
        lines.append(f"| {r['recipe']} | {'0.5' if r['decision'] == '0.5' else 'fitted on dev'} | "
                     + " | ".join(f"{r['stats'][k][0]:.3f} ± {r['stats'][k][1]:.3f}" for k in KEYS)
                     + (f" | {diff[0]:+.3f} ({diff[1]:+.3f}, {diff[2]:+.3f})" if diff else " | ")
                     + (f" | {r['thresholds_kept']}/{r['seeds']}" if r["decision"] == "kept" else " | ")
                     + (f" | {r['dev_macro_f1_held_out']:.3f} |" if r["decision"] == "kept" else " | |"))
    return "\n".join(lines), {"rows": rows, "winner": winner["recipe"] if winner else None,
                              "rule": "best mean dev macro-F1 at the kept thresholds, held out (dev at 0.5 plus "
                                      "the cross-fitted gain of the thresholds when kept); test plays no part"}


def held_out_lines(summary: dict) -> list[str]:
    """What a held-out set says: how the recipes chosen elsewhere do here, against bce at 0.5."""
    lines = ["Held out: nothing was chosen on this set. Test macro-F1 at the kept thresholds against `bce` "
             "at 0.5, paired by seed:", ""]
    recommended = json.loads((HERE / "results" / "multilabel.json").read_text())["winner"]  # debian_tags, 3 epochs
    for recipe, why in ((MULTI_LABEL_RECIPE, "the multi-label default"), (recommended, "recommended on "
                        "debian_tags at 3 epochs"), (summary["winner"], "best held-out dev macro-F1 here")):
        row = next((r for r in summary["rows"] if r["recipe"] == recipe and r["decision"] == "kept"), None)
        if row and row["macro_f1_vs_bce_at_0.5"]:
            mean, low, high = row["macro_f1_vs_bce_at_0.5"]
            lines.append(f"- `{recipe}` ({why}): {mean:+.3f} ({low:+.3f} to {high:+.3f})")
    return lines


def main_(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=float, default=default_of(RunConfig, "epochs"), help="default: train's")
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--data", default="debian_tags", choices=("debian_tags", *BUILDERS))
    parser.add_argument("--runs", default=None, help="default: benchmarks/runs/multilabel[_DATA]")
    parser.add_argument("--output", default=None, help="default: benchmarks/results/multilabel[_DATA].md (and .json); "
                        "give another budget its own --runs and --output")
    parser.add_argument("--select", default=None, choices=MULTI_LABEL_METRICS, help="the dev score that picks "
                        "each run's checkpoint (train's --metric-for-best-model, e.g. map); default: train's")
    parser.add_argument("--rescore", action="store_true", help="score the finished runs again from their files")
    parser.add_argument("--refit", action="store_true", help="with --rescore: fit each run's thresholds again on dev "
                        "as `train` now does (the models stay), then score")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    suffix = "" if args.data == "debian_tags" else f"_{args.data}"
    runs = Path(args.runs or HERE / "runs" / f"multilabel{suffix}")
    runs.mkdir(parents=True, exist_ok=True)
    data = DATA if args.data == "debian_tags" else BUILDERS[args.data](runs / "data")
    cache = runs / "scores.json"
    scores = json.loads(cache.read_text()) if cache.is_file() else {}
    for seed in seeds:  # every recipe once before the next seed: an interrupted run still compares all
        for recipe in args.recipes.split(","):
            key = f"{recipe}/{seed}"
            if key in scores and scores[key].get("epochs") == args.epochs and scores[key].get("select") == args.select:
                if args.rescore:
                    if args.refit:
                        refit(runs / recipe / str(seed), data)
                    scores[key] = {**scores[key], **score(runs / recipe / str(seed), data)}
                    cache.write_text(json.dumps(scores, indent=1))
                continue
            seconds = train(runs / recipe / str(seed), data, recipe, seed, args.epochs, MAX_LENGTH[args.data],
                            args.select)
            scores[key] = {**score(runs / recipe / str(seed), data), "seconds": seconds, "epochs": args.epochs,
                           "select": args.select}
            cache.write_text(json.dumps(scores, indent=1))
            print(f"{key}: {seconds:.0f} s, {scores[key]['kept']}", flush=True)
    table, summary = summarise(scores, seeds, args.recipes.split(","))
    minutes = sum(v["seconds"] for v in scores.values()) / 60
    held_out = args.data in HELD_OUT
    default_output = f"holdout_{args.data}.md" if held_out else f"multilabel{suffix}.md"
    output = Path(args.output or HERE / "results" / default_output)
    command = " ".join(["python benchmarks/multilabel.py", *map(shlex.quote, sys.argv[1:] if argv is None else argv)])
    about = __doc__.split(chr(10) + chr(10))[2] if not suffix else " ".join(BUILDERS[args.data].__doc__.split())
    if args.data == "clinc_compositional":
        about = about.split(": ", 1)[1]  # what follows "...not chosen on:"
    about = about[0].upper() + about[1:]
    if args.select:
        about += f" Here each run's checkpoint is the best dev epoch by {args.select}, not by macro-F1."
    text = [f"# Multi-label recipes on {args.data}", "",
            f"Measured by `{command}` on this "
            f"2-core CPU machine ({minutes:.0f} min of training and scoring in all). {about}",
            "", table, "", *(held_out_lines(summary) if held_out else
                             [f"Rule: {summary['rule']}.", "", f"**Recommended: {summary['winner']}.**"]), ""]
    output.write_text("\n".join(text))
    output.with_suffix(".json").write_text(json.dumps(summary, indent=1))
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main_())
