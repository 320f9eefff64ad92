"""``weighted-bert compare``: several training recipes on one data set, one budget, one set
of seeds, and a leaderboard.

A recipe is ``LOSS[:CLASS_WEIGHTS[:NORMALIZATION]]`` on the command line
(``ce``, ``weighted_ce:inverse``, ``weighted_ce:balanced:none``; multi-label: ``bce``,
``asymmetric``, ...), or any set of
``weighted-bert train`` options in a JSON/YAML sweep file::

    {"recipes": {"ce": {"loss": "ce"},
                 "seed_method": {"loss": "weighted_ce", "class_weights": "inverse",
                                 "weight_normalization": "none"}},
     "seeds": [1, 2, 3],
     "settings": {"epochs": 3, "learning_rate": 2e-4}}

The leaderboard also gives each recipe's difference in macro-F1 to the first recipe with
its paired bootstrap interval, per seed and pooled (:mod:`weighted_bert.paired`).

Each run goes to ``OUTPUT/<recipe>/seed<N>/``. A run whose ``run_summary.json`` exists is
finished and is not run again, so an interrupted sweep resumes where it stopped; a run
folder without it is incomplete and is run again from the start.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np

from .config import RunConfig
from .errors import SettingError, UserError
from .files import atomic_write_bytes, atomic_write_text
from .log import get_logger
from .loss_settings import unread_loss_settings
from .paired import paired_differences, paired_markdown
from .run_folder import COMPARE_PLAN, RUN_FILES, RUN_SUMMARY
from .settings import check_values, read_settings_file
from .training.resume import differences, planned_fingerprint
from .training.runner import run

log = get_logger(__name__)

COLUMNS = ("accuracy", "macro_f1", "balanced_accuracy", "many_shot_accuracy", "medium_shot_accuracy",
           "few_shot_accuracy", "micro_f1", "samples_f1", "map", "few_shot_macro_f1", "macro_f1_at_0.5", "nll", "ece",
           "seconds")  # a column shows when some run has it: multi-label runs have micro_f1 ... macro_f1_at_0.5
LOWER_IS_BETTER = {"nll", "ece", "seconds"}


def parse_recipe(spec: str) -> tuple[str, dict]:
    """``"weighted_ce:balanced:none"`` -> ``("weighted_ce:balanced:none", {...})``, each part
    checked by the settings schema."""
    parts = spec.strip().split(":")
    if not parts[0] or len(parts) > 3:
        raise UserError(f"recipe {spec!r}: expected LOSS[:CLASS_WEIGHTS[:NORMALIZATION]], e.g. weighted_ce:inverse")
    options = dict(zip(("loss", "class_weights", "weight_normalization"), parts))
    return spec.strip(), check_values(RunConfig, options, where=f"recipe {spec.strip()!r}")


def load_sweep(path) -> dict:
    """A sweep file (JSON, or YAML with PyYAML installed) as ``{recipes, seeds, settings}``,
    every setting checked by the schema before anything runs."""
    data = read_settings_file(path)
    if "recipes" not in data:
        raise UserError(f"{path}: expected an object with 'recipes' (and optionally 'seeds', 'settings')")
    unknown = sorted(set(data) - {"recipes", "seeds", "settings"})
    if unknown:
        raise UserError(f"{path}: unknown key(s) {', '.join(unknown)}; expected recipes, seeds, settings")
    recipes = data["recipes"]
    if isinstance(recipes, list):
        recipes = dict(parse_recipe(r) if isinstance(r, str) else (r.get("name"), r) for r in recipes)
    if not isinstance(recipes, dict) or not recipes or not all(isinstance(o, dict) for o in recipes.values()):
        raise UserError(f"{path}: 'recipes' must map each recipe's name to its settings")
    seeds = data.get("seeds")
    if seeds is not None:
        if not isinstance(seeds, list) or not seeds:
            raise UserError(f"{path}: 'seeds' must be a list of whole numbers")
        seeds = [check_values(RunConfig, {"seed": s}, where=str(path))["seed"] for s in seeds]
    checked = {n: check_values(RunConfig, {k: v for k, v in o.items() if k != "name"}, where=f"{path}: recipe {n!r}")
               for n, o in recipes.items()}
    settings = check_values(RunConfig, data.get("settings") or {}, where=f"{path}: settings")
    return {"recipes": checked, "seeds": seeds, "settings": settings}


MAX_FOLDER_NAME = 100  # bytes; file systems allow 255 a name, and the run's own files go below it


def _folder_name(recipe: str) -> str:
    """A recipe's folder in the sweep: letters, digits and ``_.=-`` only, never ``.``-led
    (so never ``..``), so that every run stays inside the sweep's folder."""
    name = re.sub(r"[^A-Za-z0-9_.=-]+", "_", recipe)
    return "_" + name if not name or name.startswith(".") else name


def _plan(model: str, output: Path, recipes: dict[str, dict], seeds: list[int], settings: dict) -> list:
    """Every run of the sweep as (recipe, seed, folder, RunConfig), all checked before the first starts."""
    folders: dict[str, str] = {}
    plan = []
    for name, options in recipes.items():
        folder_name = _folder_name(name)
        if len(folder_name.encode()) > MAX_FOLDER_NAME:
            raise UserError(f"recipe name {name[:40]!r}... is {len(name)} characters; its folder name may be at "
                            f"most {MAX_FOLDER_NAME}: give the recipe a shorter name")
        if folder_name in folders:
            raise UserError(f"recipes {folders[folder_name]!r} and {name!r} would share the folder "
                            f"{output / folder_name}; rename one")
        folders[folder_name] = name
        loss = options.get("loss", settings.get("loss", RunConfig.__dataclass_fields__["loss"].default))
        unread = unread_loss_settings(loss, options)
        if unread:
            raise UserError(f"recipe {name!r}: {', '.join(unread)} {'is' if len(unread) == 1 else 'are'} not read by "
                            f"loss {loss}; the recipe would run without {'it' if len(unread) == 1 else 'them'}")
        for seed in seeds:
            folder = output / folder_name / f"seed{seed}"
            try:
                config = RunConfig(model=model, output_dir=str(folder), **{**settings, **options, "seed": seed})
            except SettingError as err:
                raise err.at(f"recipe {name!r}") from None
            plan.append((name, seed, folder, config))
    return plan


def remove_incomplete(folder: Path) -> None:
    """Remove an earlier, unfinished run, and only that: a folder holding anything a run
    does not write is someone's, and stays."""
    foreign = sorted(p.name for p in folder.iterdir()
                     if p.name not in RUN_FILES and not p.name.startswith((".model.partial", ".weighted-bert")))
    if foreign:
        raise UserError(f"{folder}: holds files a run does not write ({', '.join(foreign[:5])}); it is not removed. "
                        "Move them, or choose another --output-dir")
    shutil.rmtree(folder)


def check_finished(folder: Path, planned: dict, what: str) -> None:
    """A finished run is kept only when it ran the plan: the same settings and data (runs of
    an earlier version, without the plan on record, are kept as they are)."""
    path = folder / COMPARE_PLAN
    if not path.is_file():
        return
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        previous = {}
    differ = differences(planned, previous)
    if differ:
        raise UserError(f"{folder}: {what} finished earlier with other settings or data ({', '.join(differ)}); "
                        "its results would stand beside runs of this plan. Choose another --output-dir, or remove "
                        "that folder to run it again")


def run_compare(*, model: str, output_dir, recipes: dict[str, dict], seeds: list[int], settings: dict) -> list[dict]:
    """Run every (recipe, seed) not finished yet, then write the leaderboard files."""
    output = Path(output_dir)
    plan = _plan(model, output, recipes, seeds, settings)
    output.mkdir(parents=True, exist_ok=True)
    for name, seed, folder, config in plan:
        planned = planned_fingerprint(config)
        if (folder / RUN_SUMMARY).is_file():
            check_finished(folder, planned, f"{name} seed {seed}")
            log.info(f"[compare] {name} seed {seed}: finished earlier, kept")
            continue
        if folder.exists():
            log.info(f"[compare] {name} seed {seed}: incomplete earlier run, starting it again")
            remove_incomplete(folder)
        log.info(f"[compare] {name} seed {seed}: running")
        folder.mkdir(parents=True)
        atomic_write_text(folder / COMPARE_PLAN, json.dumps(planned, indent=1) + "\n")
        run(config)
    rows = leaderboard(output, recipes, seeds)
    write_leaderboard(output, rows, paired_differences(output, {n: _folder_name(n) for n in recipes}, seeds))
    return rows


def _split_metrics(summary: dict) -> dict:
    scores = summary.get("test") or summary.get("eval") or {}
    return {**scores, "seconds": summary.get("seconds"), "still_improving": summary.get("still_improving")}


def leaderboard(output: Path, recipes, seeds) -> list[dict]:
    rows = []
    for name in recipes:
        per_seed = []
        for seed in seeds:
            path = output / _folder_name(name) / f"seed{seed}" / RUN_SUMMARY
            if path.is_file():
                per_seed.append(_split_metrics(json.loads(path.read_text(encoding="utf-8"))))
        rows.append(aggregate(name, per_seed))
    return rows


def aggregate(recipe: str, per_seed: list[dict]) -> dict:
    """One leaderboard row: mean and sample standard deviation (0 for one seed) of each column,
    and how many of the runs ended with dev still rising (``run_summary.json``'s ``still_improving``)."""
    row = {"recipe": recipe, "seeds": len(per_seed), "still_improving": sum(bool(s.get("still_improving"))
                                                                             for s in per_seed)}
    for column in COLUMNS:
        values = [s[column] for s in per_seed if s.get(column) is not None]
        if values:
            row[f"{column}_mean"] = float(np.mean(values))
            row[f"{column}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return row


def _best(rows: list[dict], column: str):
    values = [r[f"{column}_mean"] for r in rows if f"{column}_mean" in r]
    if not values:
        return None
    return min(values) if column in LOWER_IS_BETTER else max(values)


def write_leaderboard(output: Path, rows: list[dict], paired: list[dict] | None = None) -> None:
    """``leaderboard.csv``, ``leaderboard.md`` (with the paired differences to the first recipe,
    :mod:`weighted_bert.paired`, when there are any) and ``leaderboard.png``."""
    columns = [c for c in COLUMNS if any(f"{c}_mean" in r for r in rows)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["recipe", "seeds"] + [f"{c}_{s}" for c in columns for s in ("mean", "std")]
                    + ["still_improving"])
    for r in rows:
        writer.writerow([r["recipe"], r["seeds"]] + [
            "" if f"{c}_{s}" not in r else f"{r[f'{c}_{s}']:.6g}" for c in columns for s in ("mean", "std")]
            + [r.get("still_improving", 0)])
    atomic_write_text(output / "leaderboard.csv", buffer.getvalue())

    best = {c: _best(rows, c) for c in columns}
    lines = ["| recipe | seeds | " + " | ".join(c.replace("_", " ") for c in columns) + " |",
             "|---|---:|" + "---:|" * len(columns)]
    for r in rows:
        cells = []
        for c in columns:
            if f"{c}_mean" not in r:
                cells.append("")
                continue
            digits = 1 if c == "seconds" else 4
            cell = f"{r[f'{c}_mean']:.{digits}f} ± {r[f'{c}_std']:.{digits}f}"
            cells.append(f"**{cell}**" if r[f"{c}_mean"] == best[c] else cell)
        lines.append(f"| {r['recipe']} | {r['seeds']} | " + " | ".join(cells) + " |")
    note = ("\nMean ± standard deviation over seeds; the best mean of each column is in bold "
            "(lowest for nll, ece and seconds). Scores are on the test set when it has labels, else dev.\n")
    learning = [f"{r['recipe']} {r['still_improving']} of {r['seeds']} runs" for r in rows if r.get("still_improving")]
    if learning:  # a short budget favours the recipes that learn fastest, not the best ones
        note += (f"\nStill learning when the budget ran out: {', '.join(learning)} (the dev metric that picks "
                 "the checkpoint was best at the last evaluation and still rising). A longer budget may change the "
                 "order: a short one favours the recipes that learn fastest.\n")
    atomic_write_text(output / "leaderboard.md", "\n".join(lines) + "\n" + note + paired_markdown(paired or []))
    png = leaderboard_png(rows)
    if png is not None:
        atomic_write_bytes(output / "leaderboard.png", png)


def leaderboard_png(rows: list[dict]) -> bytes | None:
    rows = [r for r in rows if "macro_f1_mean" in r and "accuracy_mean" in r]
    if not rows:
        return None
    from .plots import png_bytes, pyplot

    plt = pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 5))
    for r in rows:
        ax.errorbar(r["accuracy_mean"], r["macro_f1_mean"], xerr=r["accuracy_std"], yerr=r["macro_f1_std"],
                    fmt="o", capsize=3)
        ax.annotate(r["recipe"], (r["accuracy_mean"], r["macro_f1_mean"]), fontsize=8, xytext=(4, 4),
                    textcoords="offset points")
    ax.set(xlabel="accuracy", ylabel="macro-F1", title="Macro-F1 against accuracy (mean ± sd over seeds)")
    ax.grid(alpha=0.3)
    names = [r["recipe"] for r in rows]
    few = [r.get("few_shot_accuracy_mean", 0) for r in rows]
    few_sd = [r.get("few_shot_accuracy_std", 0) for r in rows]
    bx.barh(range(len(rows)), few, xerr=few_sd, color="#d62728", alpha=0.8, capsize=3)
    bx.set_yticks(range(len(rows)), names, fontsize=8)
    bx.set(xlabel="few-shot accuracy", title="Few-shot classes", xlim=(0, 1))
    bx.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return png_bytes(fig)


def print_leaderboard(output: Path) -> None:
    sys.stdout.write((output / "leaderboard.md").read_text(encoding="utf-8"))
