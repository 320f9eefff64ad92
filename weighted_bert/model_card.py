"""The model card: ``model/README.md``, what a receiver of the folder (or a Hub page) reads.

Written with ``huggingface_hub``'s card tools: YAML metadata the Hub reads (library,
``pipeline_tag``, language, base model, metrics as ``model-index`` results), then the task
and labels, the recipe, the headline results, the per-class table with the weakest
classes first, what the model is bad at, and how to use it. ``train`` writes it; ``report``,
``calibrate`` and ``evaluate --update-card`` write it again.
"""

from __future__ import annotations

import json
from pathlib import Path

from .files import atomic_write_text
from .labels import LabelMap
from .model import is_hub_name
from .run_folder import (
    CALIBRATION,
    CLASSIFICATION_REPORT,
    LABEL_MAP,
    MODEL,
    MODEL_CARD,
    THRESHOLDS,
    TrainingInfo,
    results_files,
)

WEAK_F1 = 0.5  # classes below this F1 are listed as ones the model is bad at
HEADLINE = (("accuracy", "Accuracy"), ("macro_f1", "Macro F1"), ("balanced_accuracy", "Balanced accuracy"),
            ("few_shot_accuracy", "Few-shot accuracy"), ("medium_shot_accuracy", "Medium-shot accuracy"),
            ("many_shot_accuracy", "Many-shot accuracy"), ("ece", "ECE"),
            # multi-label
            ("micro_f1", "Micro F1"), ("samples_f1", "Samples F1"), ("map", "mAP"),
            ("few_shot_macro_f1", "Few-shot macro F1"), ("many_shot_macro_f1", "Many-shot macro F1"))


def saved_results(run_dir: Path) -> tuple[dict, str] | None:
    """The run's test results when it scored a labelled test set, else its dev results:
    (metrics without the prefix, split)."""
    for split in ("test", "dev"):
        path = run_dir / results_files(split)[1]
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            prefix = "test_" if split == "test" else "eval_"
            return {k.removeprefix(prefix): v for k, v in data.items()}, split
    return None


def refresh_model_folder(model_dir) -> Path | None:
    """After a command changed a model folder (``calibrate``): its card written again and, when
    it is the model of a training run, the run's ``report.html`` too; returns the page (None
    without one)."""
    from .tasks import build_report

    card = write_model_card(model_dir)
    run_dir = card.parent.parent
    if card.parent.name == MODEL and (run_dir / LABEL_MAP).is_file():
        return build_report(run_dir)
    return None


def write_model_card(model_dir, *, metrics: dict | None = None, split: str | None = None,
                     data_name: str | None = None) -> Path:
    """Write ``README.md`` into the model folder. ``metrics`` (``metrics.full_metrics``
    keys) default to the run's saved test, else dev, results."""
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file() and (model_dir / MODEL / "config.json").is_file():
        model_dir = model_dir / MODEL
    run_dir = model_dir.parent
    info = TrainingInfo.read(model_dir)
    labels = list(LabelMap.load(model_dir / LABEL_MAP).labels) if (model_dir / LABEL_MAP).is_file() else info.labels
    if metrics is None:
        found = saved_results(run_dir)
        metrics, split = found if found else (None, None)
    if metrics and split in CLASSIFICATION_REPORT:  # a run's split (not `evaluate --update-card`'s file)
        from .tasks import task_of  # the metrics' scikit-learn: only when a card is written

        metrics = task_of(info.multi_label).card_metrics(metrics, run_dir / CLASSIFICATION_REPORT[split])
    settings = info.settings
    data_name = data_name or _data_name(settings, split)
    base = settings.get("model")
    hub_base = base if base and is_hub_name(str(base)) and not Path(str(base)).exists() else None
    results = [EvalResult(task_type="text-classification", dataset_type="custom", dataset_name=data_name,
                          dataset_split=split, metric_type=key, metric_value=round(float(metrics[key]), 4),
                          metric_name=name)
               for key, name in HEADLINE if metrics and isinstance(metrics.get(key), (int, float))]
    data = ModelCardData(library_name="transformers", pipeline_tag="text-classification",
                         language=settings.get("language"), base_model=hub_base, model_name=model_dir.parent.name,
                         tags=["weighted-bert", "text-classification", "imbalanced-classification"],
                         metrics=[key for key, _ in HEADLINE if metrics and key in metrics] or None,
                         eval_results=results or None)
    card = ModelCard(f"---\n{data.to_yaml()}\n---\n" + _text(model_dir, info, labels, metrics, split, data_name,
                                                             base))
    path = model_dir / MODEL_CARD
    atomic_write_text(path, str(card))
    return path


def _data_name(settings: dict, split: str | None) -> str:
    key = {"test": "test_file", "dev": "dev_file"}.get(split or "")
    named = settings.get(key) if key else None
    if named:
        return Path(named).name
    return Path(settings.get("data_dir") or "data").name + (f" ({split})" if split else "")


def _text(model_dir: Path, info: TrainingInfo, labels, metrics, split, data_name, base) -> str:
    from .tasks import task_of  # the metrics' scikit-learn: only when a card is written

    counts = info.class_counts or []
    parts = [f"# {md_text(model_dir.parent.name)}", ""]
    task = task_of(info.multi_label)
    parts.append(f"A {task.kind} for {len(labels or [])} {task.noun}, fine-tuned with "
                 "weighted-bert for imbalanced labels" + (f" from `{base}`" if base else "") + ".")
    if counts:
        parts.append(task.describe_data(counts, info.num_examples))
    parts += ["", "## Labels", "", ", ".join(md_text(x) for x in (labels or [])[:100])
              + (f", ... ({len(labels)} in all)" if labels and len(labels) > 100 else ""), ""]
    parts += ["## Recipe", "", "| setting | value |", "|---|---|"]
    parts += [f"| {k} | {v} |" for k, v in _recipe(model_dir, info)]
    if metrics:
        parts += ["", f"## Results ({split or 'evaluation'} set: {data_name})", "",
                  "| " + " | ".join(name for key, name in HEADLINE if key in metrics) + " |",
                  "|" + "---:|" * sum(1 for key, _ in HEADLINE if key in metrics),
                  "| " + " | ".join(f"{metrics[key]:.4f}" for key, _ in HEADLINE if key in metrics) + " |"]
        parts += _per_class(metrics) + _weak_spots(metrics)
    parts += ["", "## How to use", "", "`MODEL` is this folder, or its Hub repository's name.", "",
              "```python", "from transformers import pipeline", "",
              'classify = pipeline("text-classification", model="MODEL", top_k=None)',
              'classify(["some text to label"])  # every label with its probability, highest first', "```", ""]
    parts += task.usage_note()
    parts += ["With weighted-bert (the same answers, batched by length; or served over HTTP):", "", "```bash",
              "weighted-bert predict --model MODEL --data texts.txt --output predictions.tsv",
              "weighted-bert serve --model MODEL --port 8080", "```", ""]
    return "\n".join(parts)


MARKDOWN_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "&#124;"), ("`", "&#96;"))


def md_text(value) -> str:
    """``value`` as literal text in Markdown, in a table cell or running text: a label or a
    folder name is data, so nothing in it may open a tag, a column, a code span or emphasis.
    HTML's characters, the pipe and backticks become entities; backslashes, asterisks and
    brackets (a link) are backslash-escaped; a tab or line break is shown as a backslash and
    a letter (a break would end the table row)."""
    text = str(value).replace("\\", "\\\\")
    text = text.replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")
    for char, entity in MARKDOWN_ENTITIES:
        text = text.replace(char, entity)
    for char in "*[]":
        text = text.replace(char, "\\" + char)
    return text


def _recipe(model_dir: Path, info: TrainingInfo) -> list[tuple[str, str]]:
    settings = info.settings
    rows = [("loss", info.loss)]
    rows += [(k.replace("_", " "), md_text(json.dumps(v, ensure_ascii=False)) if isinstance(v, dict) else v)
             for k, v in info.loss_options.items() if k != "labels"]  # a dict is by label: the user's text
    rows += [(k.replace("_", " "), settings[k]) for k in ("sampling", "epochs", "max_steps", "batch_size",
                                                          "learning_rate", "head_learning_rate", "max_seq_length",
                                                          "precision", "seed") if settings.get(k) is not None]
    if (model_dir / CALIBRATION).is_file():
        rows += _calibration_rows(model_dir / CALIBRATION, len(info.class_counts or info.labels or ()))
    if (model_dir / THRESHOLDS).is_file():
        data = json.loads((model_dir / THRESHOLDS).read_text(encoding="utf-8"))
        rows.append(("thresholds", f"{data.get('mode')}, fitted on dev, " + (
            "kept" if data.get("accepted") else "not kept (within noise): 0.5")))
    if info.head:
        rows.append(("head", f"LDAM cosine head (scale {info.head.get('scale')}) saved as its linear form"))
    if info.stage2:
        chose = f", tau {info.stage2['tau']:g} chosen on dev" if "tau" in info.stage2 else ""
        rows.append(("second stage", f"{info.stage2['method']}{chose}, folded into the last linear layer"))
    if info.windows and info.windows.get("max_windows", 1) > 1:
        w = info.windows
        rows.append(("long texts", f"read in windows of max seq length tokens, stride {w['stride']}, at most "
                     f"{w['max_windows']}, joined by {w['aggregation']}"
                     + (f" (chosen by {w['chosen_by']})" if w.get("chosen_by") else "")
                     + (f"; trained on {w['training']}" if w.get("training") else "")
                     + "; other runtimes read the first window only"))
    return [(str(k), str(v)) for k, v in rows]


def _calibration_rows(path: Path, num_labels: int) -> list[tuple[str, str]]:
    from .calibration import Calibration

    c = Calibration.read(path, num_labels) if num_labels else Calibration.from_dict(json.loads(path.read_text()))
    where = f"folded into `{c.folded_into}`" if c.folded_into else "applied by weighted-bert only"
    logits = ["z" if c.temperature == 1 else f"z / {c.temperature:.4g}"]
    logits += [f"- {c.tau} log(train prior)"] if c.tau else []
    logits += ["+ log(target prior)"] if c.target_log_prior is not None else []
    logits += ["+ per-class biases"] if c.biases is not None else []
    rows = [("calibration", f"{' '.join(logits)}, fitted on dev for {c.objective}, {where}")]
    if c.decision_rule:
        rows.append(("decision", f"{c.decision_rule}, applied by weighted-bert (predict, evaluate, serve, Python "
                     "API) only"))
    return rows


def _per_class(metrics: dict) -> list[str]:
    rows = sorted(metrics.get("per_class", []), key=lambda r: (r["f1"], r.get("train_count", 0), r["label"]))
    if not rows:
        return []
    lines = ["", "## Per class (weakest first)", "",
             "| label | training examples | shot group | precision | recall | F1 | support |",
             "|---|---:|---|---:|---:|---:|---:|"]
    lines += [f"| {md_text(r['label'])} | {r.get('train_count', '')} | {r.get('shot_group', '')} | {r['precision']:.4f} | "
              f"{r['recall']:.4f} | {r['f1']:.4f} | {r['support']} |" for r in rows]
    return lines


def _weak_spots(metrics: dict) -> list[str]:
    weak = [r for r in metrics.get("per_class", []) if r["support"] and r["f1"] < WEAK_F1]
    pairs = metrics.get("confusions", [])[:10]
    lines = ["", "## What it is bad at", ""]
    lines.append(f"Classes with F1 under {WEAK_F1}: " + (", ".join(f"{md_text(r['label'])} ({r['f1']:.2f})" for r in
                 sorted(weak, key=lambda r: r["f1"])) if weak else "none."))
    if pairs:
        lines += ["", "Most-confused pairs (gold → predicted, examples): "
                  + "; ".join(f"{md_text(p['gold'])} → {md_text(p['predicted'])} ({p['count']})" for p in pairs)
                  + "."]
    return lines
