"""How hard per-label thresholds lean on the shared one: the pull, measured on trained models.

    python benchmarks/thresholds.py   # after benchmarks/multilabel.py: it reads those runs

For every finished run of `benchmarks/multilabel.py` under benchmarks/runs/multilabel*
(each data set and budget there), the model's sigmoid probabilities on dev (predicted once
and cached beside the run, `dev_scores.npz`) and on test (the run's own `test_results.tsv`,
as `benchmarks/multilabel.py` scores it). Then per-label
thresholds are fitted on the whole of dev with each pull k of `--thresholds per_label`
(a label with n dev positives gets n / (n + k) of its own F1-best cut in logit space and
the rest of the shared cut, the one best for the macro-F1 of all labels): k = 0 (each label
its own cut), 5, 10, 20 (the default, `SHRINK`), 50, and infinity (every label at the shared
cut); 0.5 beside them. No noise guard: the thresholds as fitted, scored on test. Reported:
test macro-F1 per data set, budget and recipe, mean over seeds, and each pull's mean
difference to k = 0, paired by run, over all runs. Writes benchmarks/results/thresholds.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import weighted_bert  # noqa: E402
from weighted_bert.data import read_dataset  # noqa: E402
from weighted_bert.labels import LabelMap  # noqa: E402
from weighted_bert.multilabel.metrics import macro_f1  # noqa: E402
from weighted_bert.multilabel.threshold_fit import SHRINK, fit_values  # noqa: E402
from weighted_bert.run_folder import MODEL, RUN_SUMMARY, TEST_RESULTS, TRAINING_INFO  # noqa: E402

# The budget settings this benchmark varies on purpose (tests/test_benchmarks.py): reads each run's
# epochs to name its row; trains nothing
STUDIES = ("epochs",)

PULLS = (0, 5, 10, 20, 50, np.inf)
CACHE = "dev_scores.npz"


def scores_of(run: Path) -> dict:
    """Dev probabilities (predicted once, cached beside the run) and test probabilities (the
    run's test_results.tsv), with their gold."""
    info = json.loads((run / MODEL / TRAINING_INFO).read_text())
    data = Path(info["settings"]["data_dir"])
    data = data if data.is_absolute() else HERE.parent / data
    label_map = LabelMap(tuple(info["labels"]))
    arrays = {"test_y": label_map.multi_hot(read_dataset(data / "test.jsonl")),
              "test_p": np.loadtxt(run / TEST_RESULTS, delimiter="\t", skiprows=1, ndmin=2),
              "epochs": info["settings"]["epochs"]}
    if not (run / CACHE).is_file():
        dev = read_dataset(data / "dev.jsonl")
        np.savez_compressed(run / CACHE, dev_y=label_map.multi_hot(dev),
                            dev_p=weighted_bert.load(run).predict_proba([e.text for e in dev.examples]))
    return {**arrays, **np.load(run / CACHE)}


def pull_name(k: float) -> str:
    return "shared only" if np.isinf(k) else f"k = {k:g}" + (" (default)" if k == SHRINK else "")


def main() -> int:
    rows, diffs = [], {k: [] for k in PULLS}
    for bench in sorted(p for p in (HERE / "runs").glob("multilabel*") if p.is_dir()):
        for recipe in sorted(p for p in bench.iterdir() if p.is_dir() and p.name != "data"):
            runs = sorted(r for r in recipe.iterdir() if (r / RUN_SUMMARY).is_file())
            if not runs:
                continue
            per_run = []
            for run in runs:
                s = scores_of(run)
                dev_y, test_y = s["dev_y"].astype(bool), s["test_y"].astype(bool)
                half = macro_f1(test_y, s["test_p"] >= 0.5)
                fitted = [macro_f1(test_y, s["test_p"] >= fit_values(s["dev_p"], dev_y, "per_label", k)[None, :])
                          for k in PULLS]
                per_run.append([half, *fitted])
                for k, f in zip(PULLS, fitted):
                    diffs[k].append(f - fitted[0])
                print(f"{bench.name} {recipe.name} {run.name}: " + " ".join(f"{v:.3f}" for v in per_run[-1]), flush=True)
            epochs = s["epochs"]
            data = "clinc_compositional" if "clinc_compositional" in bench.name else "debian_tags"
            rows.append((f"{data}, {epochs:g} epochs", recipe.name, len(runs), np.mean(per_run, axis=0)))
    header = "| runs (data, budget) | recipe | seeds | 0.5 | " + " | ".join(pull_name(k) for k in PULLS) + " |"
    lines = [header, "|---|---|---:|" + "---:|" * (len(PULLS) + 1)]
    for bench, recipe, n, means in rows:
        lines.append(f"| {bench} | {recipe} | {n} | " + " | ".join(f"{v:.3f}" for v in means) + " |")
    lines.append(f"| **mean difference to k = 0, paired by run** ({len(diffs[0])} runs) | | | | "
                 + " | ".join(f"{np.mean(diffs[k]):+.4f}" for k in PULLS) + " |")
    text = ["# Per-label thresholds: how hard to pull toward the shared cut", "",
            "Measured by `python benchmarks/thresholds.py` on this 2-core CPU machine, on the models "
            "`benchmarks/multilabel.py` trained. " + __doc__.split("\n\n")[2].replace("\n", " "), "",
            "Test macro-F1 at the thresholds fitted on dev, mean over seeds:", "", *lines, ""]
    (HERE / "results" / "thresholds.md").write_text("\n".join(text))
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
