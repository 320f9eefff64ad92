"""``compare --auto --budget-minutes N``: spend a time budget finding the recipe and learning
rate for the user's own data, by successive halving (Jamieson & Talwalkar, AISTATS 2016).

Every candidate (the measured recipes of the task, each at each of ``LEARNING_RATES``)
trains ``FIRST_STEPS`` optimizer steps and is scored on dev; the better half goes on to a
rung of twice the steps, and so on, while the next rung fits in what is left of the
budget (its cost estimated from the seconds a step took so far). The winner is the best
on dev at the last rung; only then is the test file scored, once, by that model. Test
never takes part in a choice. Everything lands in ``OUTPUT/auto/``: a folder per rung
and candidate, ``auto.md`` with every rung's dev scores, and ``winner/`` with the winner's
dev and test results.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

from .config import DataSettings, RunConfig
from .errors import UserError
from .files import atomic_write_text, write_json
from .log import get_logger
from .tasks import task_of

log = get_logger(__name__)

LEARNING_RATES = (2e-5, 5e-5, 1e-4)  # BERT's range, and higher for small encoders
FIRST_STEPS = 20  # the first rung: enough to rank the hopeless candidates out
METRIC = "macro_f1"
# what the winner's scoring run takes from the settings: where the data is and how it is read
SCORING_SETTINGS = {f.name for f in dataclasses.fields(DataSettings)} | {"data_dir", "train_file", "dev_file",
                                                                          "test_file", "eval_batch_size"}


def candidates(task) -> list[tuple[str, float]]:
    """Every recipe ``task`` (a :mod:`weighted_bert.tasks` object) compares, at each learning rate."""
    return [(recipe, lr) for recipe in task.compare_recipes for lr in LEARNING_RATES]


def auto_compare(*, model: str, output_dir, settings: dict, budget_minutes: float, seed: int) -> dict:
    """Run the successive halving and score the winner on test; returns the summary written
    to ``auto.json``."""
    from .run_folder import MODEL
    from .training.runner import export_saved, read_splits, run

    output = Path(output_dir) / "auto"
    probe = RunConfig(model=model, output_dir=str(output), **{**settings, "seed": seed})
    train, dev, test = read_splits(probe)
    if dev is None:
        raise UserError("compare --auto chooses on dev: give a dev file (--dev, or dev_data.txt in --data-dir)")
    pool = candidates(task_of(train.multi_label))
    deadline = time.perf_counter() + budget_minutes * 60
    steps, rung, spent_steps, spent_seconds, rungs = FIRST_STEPS, 0, 0, 0.0, []
    while True:
        scored = []
        for recipe, lr in pool:
            folder = output / f"rung{rung}" / f"{recipe}_lr{lr:g}"
            config = RunConfig(model=model, output_dir=str(folder), **{
                **settings, "recipe": recipe, "learning_rate": lr, "max_steps": steps, "seed": seed,
                "do_predict": False, "overwrite_output_dir": True, "progress": False, "export_onnx": False})
            started = time.perf_counter()
            result = run(config)
            spent_seconds += time.perf_counter() - started
            spent_steps += steps
            scored.append({"recipe": recipe, "learning_rate": lr, "steps": steps, "folder": str(folder),
                           "dev": (result.eval_metrics or {}).get(METRIC, 0.0)})
        scored.sort(key=lambda r: -r["dev"])
        rungs.append(scored)
        log.info(f"[auto] rung {rung} ({steps} steps): best {scored[0]['recipe']} at lr {scored[0]['learning_rate']:g},"
                 f" dev {METRIC} {scored[0]['dev']:.4f}")
        keep = scored[:math.ceil(len(scored) / 2)]
        per_step = spent_seconds / spent_steps
        next_cost = len(keep) * steps * 2 * per_step
        if len(scored) == 1 or time.perf_counter() + next_cost > deadline:
            break
        pool = [(r["recipe"], r["learning_rate"]) for r in keep]
        steps, rung = steps * 2, rung + 1
    best = rungs[-1][0]
    if probe.export_onnx:  # the winner's folder only, as train would have written it
        export_saved(Path(best["folder"]) / MODEL)
    final = RunConfig(model=best["folder"], output_dir=str(output / "winner"), **{
        **{k: v for k, v in settings.items() if k in SCORING_SETTINGS},
        "do_train": False, "overwrite_output_dir": True, "progress": False})
    scored_test = run(final.replace(do_predict=test is not None))
    summary = {"winner": {k: best[k] for k in ("recipe", "learning_rate", "steps", "dev")},
               "test": scored_test.test_metrics, "rungs": rungs, "budget_minutes": budget_minutes,
               "minutes_spent": round(spent_seconds / 60, 2), "metric": METRIC}
    write_json(output / "auto.json", summary)
    atomic_write_text(output / "auto.md", markdown(summary))
    return summary


def markdown(summary: dict) -> str:
    w = summary["winner"]
    lines = [f"# compare --auto: {w['recipe']} at learning rate {w['learning_rate']:g}", "",
             f"Successive halving within {summary['budget_minutes']:g} minutes ({summary['minutes_spent']:g} spent "
             f"training); chosen on dev {summary['metric']}.", ""]
    test = summary.get("test")
    if test:
        lines += [f"The winner's test score, computed once after the choice: {summary['metric']} "
                  f"{test.get(summary['metric'], float('nan')):.4f}.", ""]
    for i, rung in enumerate(summary["rungs"]):
        lines += [f"## Rung {i}: {rung[0]['steps']} steps", "", f"| recipe | learning rate | dev {summary['metric']} |",
                  "|---|---:|---:|"]
        lines += [f"| {r['recipe']} | {r['learning_rate']:g} | {r['dev']:.4f} |" for r in rung]
        lines.append("")
    return "\n".join(lines)
