"""A run's pictures and its ``report.html``, from the files the run saved (no model needed).

Inputs, all in the run folder: ``label_map.json``, the class counts
(``class_weights.json``), the settings (``model/weighted_bert.json``, optional) and a
predictions file with gold labels: ``predictions.tsv`` (test) or
``eval_predictions.tsv`` (dev). Outputs next to them: ``per_class_f1.png``,
``confusion_matrix.png``, ``top_confusions.tsv``, ``reliability.png`` and
``report.html`` (one self-contained page: images embedded, no network).
"""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path

import numpy as np

from ..data.delimited import any_field_size
from ..errors import DataFormatError, check_choice
from ..files import atomic_write_bytes, atomic_write_text, read_json_object
from ..labels import LabelMap
from ..metrics import full_metrics, reliability_bins
from ..page import SCRIPT, STYLE
from ..page import embed as _embed
from ..page import fmt as _fmt
from ..plots import (
    confusion_matrix_png,
    coverage_accuracy_png,
    per_class_f1_png,
    precision_recall_png,
    reliability_png,
    top_confusions,
)
from ..run_folder import (
    CALIBRATION,
    CALIBRATION_RELIABILITY,
    CLASS_WEIGHTS,
    CONFUSION_MATRIX,
    COVERAGE_ACCURACY,
    LABEL_MAP,
    MODEL,
    PER_CLASS_F1,
    PICTURES,
    PRECISION_RECALL,
    PREDICTIONS,
    RELIABILITY,
    REPORT,
    RESULTS_PREFIX,
    TEST_RESULTS,
    TOP_CONFUSIONS,
    TrainingInfo,
    results_files,
)
from ..shot_groups import FEW_THRESHOLD, MANY_THRESHOLD

SPLIT_FILES = PREDICTIONS
HEADLINE = ("accuracy", "macro_f1", "balanced_accuracy", "weighted_f1", "macro_precision", "macro_recall",
            "mcc", "ece", "nll", "brier", "macro_average_precision", "macro_auroc", "many_shot_accuracy",
            "medium_shot_accuracy", "few_shot_accuracy", "loss")
WEAKEST_CURVES = 5  # precision-recall curves drawn: the classes with the lowest average precision


def read_predictions(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle, any_field_size(path.stat().st_size):
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if rows and "gold_label" not in rows[0]:
        raise DataFormatError(path, 1, "has no gold_label column; a report needs labelled predictions")
    return rows


def _pick_split(run_dir: Path, split: str) -> str | None:
    if split != "auto":
        return split
    for candidate in ("test", "dev"):
        path = run_dir / SPLIT_FILES[candidate]
        if path.is_file():
            with open(path, encoding="utf-8") as handle:
                if "gold_label" in handle.readline().rstrip("\n").split("\t"):
                    return candidate
    return None


def _load_json(path: Path) -> dict:
    return read_json_object(path, "the run's own file, which the report reads") if path.is_file() else {}


def single_label_report(run_dir, *, split: str = "auto", many_threshold: int | None = None,
                        few_threshold: int | None = None, examples_per_pair: int = 3) -> Path | None:
    """Write the pictures and ``report.html`` for a single-label ``run_dir`` (the entry for any
    run: :func:`weighted_bert.tasks.build_report`); return the page's path, or None when the run
    has no labelled predictions to report on."""
    run_dir = Path(run_dir)
    split = _pick_split(run_dir, split)
    if split is None:
        return None
    check_choice("split", split, tuple(SPLIT_FILES))
    predictions_path = run_dir / SPLIT_FILES[split]
    if not predictions_path.is_file():
        raise DataFormatError(predictions_path, None, f"does not exist; the run saved no {split} predictions")
    label_map = LabelMap.load(run_dir / LABEL_MAP)
    info = TrainingInfo.read(run_dir / MODEL)
    settings = info.settings
    many = many_threshold if many_threshold is not None else settings.get("many_threshold", MANY_THRESHOLD)
    few = few_threshold if few_threshold is not None else settings.get("few_threshold", FEW_THRESHOLD)
    counts = _load_json(run_dir / CLASS_WEIGHTS).get("class_counts") or info.class_counts
    rows = read_predictions(predictions_path)
    label2id = label_map.label2id
    try:
        y_true = np.array([label2id[r["gold_label"]] for r in rows], dtype=int)
        y_pred = np.array([label2id[r["predicted_label"]] for r in rows], dtype=int)
    except KeyError as err:
        raise DataFormatError(predictions_path, None, f"has label {err.args[0]!r}, not in label_map.json") from None
    confidence = np.array([float(r["probability"]) for r in rows])
    probabilities = _probabilities(run_dir, split, len(rows), len(label_map))
    metrics = full_metrics(y_true, y_pred, label_map.labels, confidence=confidence, train_counts=counts,
                           many_threshold=many, few_threshold=few, probabilities=probabilities)
    saved = _load_json(run_dir / results_files(split)[1])
    if f"{RESULTS_PREFIX[split]}_loss" in saved:
        metrics["loss"] = saved[f"{RESULTS_PREFIX[split]}_loss"]

    support = {row["label"]: row["support"] for row in metrics["per_class"]}
    pictures = {
        PER_CLASS_F1: per_class_f1_png(metrics["per_class"], many_threshold=many, few_threshold=few)
        if counts else None,
        CONFUSION_MATRIX: confusion_matrix_png(metrics["confusions"], support, label_map.labels),
        RELIABILITY: reliability_png(reliability_bins(confidence, y_true == y_pred), metrics["ece"]),
        CALIBRATION_RELIABILITY: _calibration_png(run_dir / MODEL / CALIBRATION, len(label_map)),
        COVERAGE_ACCURACY: coverage_accuracy_png(confidence, y_true == y_pred),
        PRECISION_RECALL: _weakest_curves(y_true, probabilities, label_map.labels)
        if probabilities is not None else None,
    }
    for name, png in pictures.items():
        if png is not None:
            atomic_write_bytes(run_dir / name, png)
        else:  # a picture of an earlier report (or calibration) that no longer holds
            (run_dir / name).unlink(missing_ok=True)
    confused = top_confusions(metrics["confusions"], support, limit=50)
    _write_top_confusions(run_dir / TOP_CONFUSIONS, confused)
    examples = _confusion_examples(rows, confused[:15], examples_per_pair)
    page = render_html(run_dir=run_dir, split=split, metrics=metrics, info=info, confused=confused[:15],
                       examples=examples, many=many, few=few)
    atomic_write_text(run_dir / REPORT, page)
    return run_dir / REPORT


def _probabilities(run_dir: Path, split: str, rows: int, k: int) -> np.ndarray | None:
    """The test split's class probabilities (``test_results.tsv``), when they match its predictions."""
    path = run_dir / TEST_RESULTS
    if split != "test" or not path.is_file():
        return None
    try:
        table = np.loadtxt(path, delimiter="\t", ndmin=2, dtype=np.float64)
    except ValueError:
        return None  # not the file train writes: the report goes on without threshold-free scores
    return table if table.shape == (rows, k) else None


def _weakest_curves(y_true: np.ndarray, probabilities: np.ndarray, labels) -> bytes | None:
    from sklearn.metrics import average_precision_score, precision_recall_curve

    scored = []
    for c in np.unique(y_true):
        positive = y_true == c
        scored.append((average_precision_score(positive, probabilities[:, c]), int(c)))
    curves = []
    for ap, c in sorted(scored)[:WEAKEST_CURVES]:
        precision, recall, _ = precision_recall_curve(y_true == c, probabilities[:, c])
        curves.append({"label": labels[c], "precision": precision[::-1], "recall": recall[::-1], "ap": ap})
    return precision_recall_png(curves)


def _calibration_png(path: Path, k: int) -> bytes | None:
    """Dev reliability before and after the temperature ``calibrate`` fitted (held out), when it fitted one."""
    if not path.is_file():
        return None
    from ..calibration import Calibration

    report = Calibration.read(path, k).temperature_report
    if not report or "bins_after" not in report:  # none fitted, or too few dev errors to fit one
        return None
    return reliability_png(report["bins_after"], report["ece_after"], before=report["bins_before"],
                           before_ece=report["ece_before"],
                           title=f"Dev, temperature {report.get('temperature', 1):.3g} (cross-fitted)")


def _write_top_confusions(path: Path, confused: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(["gold_label", "predicted_label", "count", "share_of_gold"])
    for c in confused:
        writer.writerow([c["gold"], c["predicted"], c["count"], f"{c['share_of_gold']:.4f}"])
    atomic_write_text(path, buffer.getvalue())


def _confusion_examples(rows: list[dict], confused: list[dict], limit: int) -> dict:
    wanted = {(c["gold"], c["predicted"]): [] for c in confused}
    for r in rows:
        key = (r["gold_label"], r["predicted_label"])
        if key in wanted and len(wanted[key]) < limit:
            wanted[key].append(r["text"] + (f" ‖ {r['text_b']}" if r.get("text_b") else ""))
    return wanted


def render_html(*, run_dir: Path, split: str, metrics: dict, info: TrainingInfo, confused: list[dict],
                examples: dict, many: int, few: int) -> str:
    e = html.escape
    settings = info.settings
    shown_settings = {k: settings[k] for k in ("model", "loss", "class_weights", "weight_normalization",
                                               "loss_reduction", "learning_rate", "head_learning_rate", "epochs",
                                               "max_steps", "batch_size", "max_seq_length", "warmup_ratio", "seed",
                                               "precision") if k in settings}
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>weighted-bert report: "
             f"{e(run_dir.name)}</title><style>{STYLE}</style></head><body>",
             f"<h1>weighted-bert report: {e(run_dir.name)}</h1>",
             f"<p>Scores on the <b>{'test' if split == 'test' else 'dev'}</b> set "
             f"({sum(r['support'] for r in metrics['per_class'])} examples, {len(metrics['per_class'])} classes). "
             f"Shot groups by training count: many &gt; {many}, few &lt; {few}, medium between.</p>",
             "<h2>Headline metrics</h2><table class='metrics'><tbody>"]
    parts += [f"<tr><td>{e(k)}</td><td class='num'>{_fmt(metrics[k])}</td></tr>" for k in HEADLINE if k in metrics]
    parts.append("</tbody></table>")
    if shown_settings:
        parts.append("<h2>Settings</h2><table class='settings'><tbody>")
        parts += [f"<tr><td>{e(k)}</td><td>{e('—' if v is None else str(v))}</td></tr>"
                  for k, v in shown_settings.items()]
        parts.append("</tbody></table>")
    parts.append("<h2>Pictures</h2><div class='pictures'>")
    for name in PICTURES:
        src = _embed(run_dir / name)
        if src:
            parts.append(f"<figure><img src='{src}' alt='{e(name)}'><figcaption>{e(name)}</figcaption></figure>")
    parts.append("</div>")
    has_counts = bool(metrics["per_class"]) and "train_count" in metrics["per_class"][0]
    columns = [("label", False)] + ([("train count", True), ("shot", False)] if has_counts else []) + [
        ("support", True), ("precision", True), ("recall", True), ("F1", True)]
    parts.append("<h2>Per class</h2><p>Click a column to sort.</p><table id='per-class'><thead><tr>")
    parts += [f"<th class='sortable' onclick='sortTable(this,{str(num).lower()})'>{e(name)}</th>"
              for name, num in columns]
    parts.append("</tr></thead><tbody>")
    for row in metrics["per_class"]:
        cells = [f"<td>{e(row['label'])}</td>"]
        if has_counts:
            cells += [f"<td class='num'>{row['train_count']}</td>",
                      f"<td class='shot-{row['shot_group']}'>{row['shot_group']}</td>"]
        cells += [f"<td class='num'>{row['support']}</td>"] + [
            f"<td class='num' data-value='{row[k]}'>{row[k]:.3f}</td>" for k in ("precision", "recall", "f1")]
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    parts.append("<h2>Most-confused pairs</h2>")
    if confused:
        parts.append("<table id='confusions'><thead><tr><th>gold</th><th>predicted as</th><th>count</th>"
                     "<th>share of gold</th><th>examples</th></tr></thead><tbody>")
        for c in confused:
            texts = "<br>".join(f"<span class='ex'>{e(t)}</span>" for t in examples.get((c["gold"], c["predicted"]), []))
            parts.append(f"<tr><td>{e(c['gold'])}</td><td>{e(c['predicted'])}</td><td class='num'>{c['count']}</td>"
                         f"<td class='num'>{c['share_of_gold']:.2f}</td><td>{texts}</td></tr>")
        parts.append("</tbody></table><p>All pairs: <code>top_confusions.tsv</code>.</p>")
    else:
        parts.append("<p>No confusions: every example was classified correctly.</p>")
    parts.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(parts)
