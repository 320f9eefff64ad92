"""``compare``'s paired bootstrap: is a recipe's macro-F1 really different from the first
recipe's, beyond what the particular test rows happen to favour?

For each other recipe and each seed, the test rows (``predictions.tsv``, else dev's
``eval_predictions.tsv``) are resampled with replacement ``SAMPLES`` times; each resample
scores both recipes' predictions of the same rows, so the spread is that of the
difference, paired (Koehn, EMNLP 2004; Dror et al., ACL 2018). The 95% interval is the
2.5th to 97.5th percentile of the resampled differences. Pooled: the same row resamples
for every seed, the difference averaged over the seeds both recipes ran, so the interval
holds the seed-to-seed spread too. Multi-label runs are compared on their predicted label
sets the same way.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .data.delimited import any_field_size
from .labels import SET_SEPARATOR
from .multilabel.metrics import macro_f1
from .run_folder import PREDICTIONS

SAMPLES = 1000
LEVEL = 0.95


def read_decisions(run: Path) -> tuple[str, list[set], list[set]] | None:
    """(split, gold sets, predicted sets) of a finished run (single-label: one-label sets),
    or None when it saved no labelled predictions."""
    for split in ("test", "dev"):
        path = run / PREDICTIONS[split]
        if not path.is_file():
            continue
        with open(path, encoding="utf-8", newline="") as handle, any_field_size(path.stat().st_size):
            rows = list(csv.DictReader(handle, delimiter="\t"))
        if not rows or not ({"gold_label", "gold_labels"} & set(rows[0])):
            continue
        if "gold_labels" in rows[0]:
            sets = [[set(filter(None, r[key].split(SET_SEPARATOR))) for r in rows]
                    for key in ("gold_labels", "predicted_labels")]
        else:
            sets = [[{r[key]} for r in rows] for key in ("gold_label", "predicted_label")]
        return split, sets[0], sets[1]
    return None


def matrices(*set_lists: list[set]) -> list[np.ndarray]:
    """0/1 matrices (rows x labels) of lists of label sets, over the union of their labels."""
    labels = sorted(set().union(*(s for sets in set_lists for s in sets)))
    index = {label: j for j, label in enumerate(labels)}
    out = []
    for sets in set_lists:
        m = np.zeros((len(sets), len(labels)), dtype=bool)
        for i, row in enumerate(sets):
            m[i, [index[x] for x in row]] = True
        out.append(m)
    return out


def paired_differences(output: Path, folders: dict[str, str], seeds: list[int], *, samples: int = SAMPLES,
                       seed: int = 0) -> list[dict]:
    """One row per recipe after the first: the macro-F1 difference to the first, per seed and
    pooled, each with its paired-bootstrap interval. ``folders``: recipe -> its folder name."""
    names = list(folders)
    loaded = {(name, s): found for name in names for s in seeds
              if (found := read_decisions(output / folders[name] / f"seed{s}")) is not None}
    rows = []
    base = names[0] if names else None
    for name in names[1:]:
        pairs = [s for s in seeds if (base, s) in loaded and (name, s) in loaded
                 and loaded[base, s][1] == loaded[name, s][1]]  # the same rows, the same gold sets
        if not pairs:
            continue
        n = len(loaded[base, pairs[0]][1])
        draws = np.random.default_rng(seed).integers(0, n, size=(samples, n))
        pooled, point = np.zeros(samples), 0.0
        row = {"recipe": name, "against": base, "split": loaded[base, pairs[0]][0], "per_seed": {}}
        for s in pairs:
            gold, p_base, p_other = matrices(loaded[base, s][1], loaded[base, s][2], loaded[name, s][2])
            diff = macro_f1(gold, p_other) - macro_f1(gold, p_base)
            resampled = np.array([macro_f1(gold[d], p_other[d]) - macro_f1(gold[d], p_base[d]) for d in draws])
            pooled += resampled / len(pairs)
            point += diff / len(pairs)
            row["per_seed"][s] = (diff, *_interval(resampled))
        row["pooled"] = (point, *_interval(pooled))
        rows.append(row)
    return rows


def _interval(values: np.ndarray) -> tuple[float, float]:
    tail = (1 - LEVEL) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))


def paired_markdown(rows: list[dict]) -> str:
    if not rows:
        return ""
    lines = [f"\nDifference in macro-F1 to `{rows[0]['against']}` on the {rows[0]['split']} rows, with its "
             f"{LEVEL:.0%} paired bootstrap interval ({SAMPLES} resamples of the rows; pooled: averaged over the "
             "seeds on the same resamples). An interval that holds 0 is no evidence of a difference.\n",
             "| recipe | pooled | " + " | ".join(f"seed {s}" for s in rows[0]["per_seed"]) + " |",
             "|---|---:|" + "---:|" * len(rows[0]["per_seed"])]
    for r in rows:
        cells = [_cell(r["pooled"])] + [_cell(r["per_seed"].get(s)) for s in rows[0]["per_seed"]]
        lines.append(f"| {r['recipe']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    if value is None:
        return ""
    diff, low, high = value
    return f"{diff:+.4f} [{low:+.4f}, {high:+.4f}]"


def seed_interval(differences, *, digits: int = 3) -> str:
    """Paired differences over seeds as ``mean (low, high)``: the 95% Student-t interval of
    their mean ("one seed" for one; "—" for none), what the benchmarks report per seed."""
    values = [float(d) for d in differences]
    if not values:
        return "—"
    mean = float(np.mean(values))
    if len(values) < 2:
        return f"{mean:+.{digits}f} (one seed)"
    from scipy import stats

    half = stats.t.ppf(0.5 + LEVEL / 2, len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values))
    return f"{mean:+.{digits}f} ({mean - half:+.{digits}f}, {mean + half:+.{digits}f})"
