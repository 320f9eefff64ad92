"""A multi-label run's ``report.html``, from the files it saved: the headline metrics, the
per-label F1 against training count (``per_class_f1.png``), the labels missed most, the
thresholds, and a sortable per-label table."""

from __future__ import annotations

import html
from pathlib import Path

from ..files import atomic_write_bytes, atomic_write_text, read_json_object
from ..multilabel.results import read_per_label
from ..page import SCRIPT, STYLE
from ..page import embed as _embed
from ..page import fmt as _fmt
from ..plots import per_class_f1_png
from ..run_folder import CLASSIFICATION_REPORT, MODEL, PER_CLASS_F1, REPORT, THRESHOLDS, TrainingInfo, results_files

HEADLINE = ("micro_f1", "macro_f1", "samples_f1", "map", "lrap", "hamming_loss", "subset_accuracy",
            "macro_f1_at_0.5", "micro_f1_at_0.5", "many_shot_macro_f1", "medium_shot_macro_f1", "few_shot_macro_f1",
            "nll", "loss")
MOST_MISSED = 15


def build_ml_report(run_dir, split: str = "auto") -> Path | None:
    """``report.html`` for a multi-label ``run_dir`` (the entry for any run:
    :func:`weighted_bert.tasks.build_report`); None when the run saved no scored split."""
    run_dir = Path(run_dir)
    splits = ["test", "dev"] if split == "auto" else [split]
    split = next((s for s in splits if (run_dir / results_files(s)[1]).is_file()
                  and (run_dir / CLASSIFICATION_REPORT[s]).is_file()), None)
    if split is None:
        return None
    prefix = "test_" if split == "test" else "eval_"
    saved = read_json_object(run_dir / results_files(split)[1], "the run's own results")
    metrics = {k.removeprefix(prefix): v for k, v in saved.items()}
    rows = read_per_label(run_dir / CLASSIFICATION_REPORT[split])
    info = TrainingInfo.read(run_dir / MODEL)
    settings = info.settings
    many, few = settings.get("many_threshold", 60), settings.get("few_threshold", 20)
    per_class = [{"label": r["label"], "train_count": int(r["train_count"]), "support": int(r["support"]),
                  "f1": r["f1"], "shot_group": r["group"]} for r in rows if r["train_count"] is not None]
    png = per_class_f1_png(per_class, many_threshold=many, few_threshold=few) if per_class else None
    if png:
        atomic_write_bytes(run_dir / PER_CLASS_F1, png)
    thresholds = read_json_object(run_dir / MODEL / THRESHOLDS, "the thresholds train writes") \
        if (run_dir / MODEL / THRESHOLDS).is_file() else None
    e = html.escape
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>weighted-bert report: "
             f"{e(run_dir.name)}</title><style>{STYLE}</style></head><body>",
             f"<h1>weighted-bert report: {e(run_dir.name)}</h1>",
             f"<p>Multi-label scores on the <b>{split}</b> set ({metrics.get('num_examples', '?')} rows, "
             f"{len(rows)} labels), at the model's thresholds. Groups by training count: many &gt; {many}, "
             f"few &lt; {few}.</p><h2>Headline metrics</h2><table class='metrics'><tbody>"]
    parts += [f"<tr><td>{e(k)}</td><td class='num'>{_fmt(metrics[k])}</td></tr>" for k in HEADLINE if k in metrics]
    parts.append("</tbody></table>")
    src = _embed(run_dir / PER_CLASS_F1)
    if src:
        parts.append(f"<h2>Pictures</h2><div class='pictures'><figure><img src='{src}' alt='{PER_CLASS_F1}'>"
                     f"<figcaption>per-label F1 against training count</figcaption></figure></div>")
    missed = sorted(rows, key=lambda r: -(r["support"] or 0) * (1 - (r["recall"] or 0)))[:MOST_MISSED]
    parts.append("<h2>Most-missed labels</h2><table id='missed'><thead><tr><th>label</th><th>train count</th>"
                 "<th>gold rows</th><th>missed</th><th>recall</th><th>precision</th></tr></thead><tbody>")
    for r in missed:
        lost = round((r["support"] or 0) * (1 - (r["recall"] or 0)))
        parts.append(f"<tr><td>{e(r['label'])}</td><td class='num'>{_fmt(int(r['train_count'] or 0))}</td>"
                     f"<td class='num'>{int(r['support'] or 0)}</td><td class='num'>{lost}</td>"
                     f"<td class='num'>{_fmt(r['recall'])}</td><td class='num'>{_fmt(r['precision'])}</td></tr>")
    parts.append("</tbody></table>")
    if thresholds:
        kept = "kept" if thresholds.get("accepted") else "not kept (within noise): 0.5 is used"
        gain = thresholds.get("held_out_gain")
        shrink = thresholds.get("shrink")
        pulled = (f" Each label's F1-best cut is pulled toward one shared cut (the best for all labels' macro-F1): "
                  f"in logit space, a label with n dev positives keeping n / (n + {shrink:g}) of its own."
                  if isinstance(shrink, (int, float)) else "")
        parts.append(f"<h2>Thresholds</h2><p>Mode <b>{e(str(thresholds.get('mode')))}</b>, fitted on dev: {kept}"
                     + (f"; held-out gain {gain:+.4f}" if isinstance(gain, float) else "") + f".{pulled}</p>")
        parts.append("<table id='thresholds'><thead><tr><th>label</th><th>in force</th><th>fitted</th></tr></thead>"
                     "<tbody>")
        fitted = thresholds.get("fitted") or [None] * len(thresholds["labels"])
        for label, value, found in zip(thresholds["labels"], thresholds["values"], fitted):
            parts.append(f"<tr><td>{e(label)}</td><td class='num'>{value:.3f}</td>"
                         f"<td class='num'>{'—' if found is None else f'{found:.3f}'}</td></tr>")
        parts.append("</tbody></table>")
    columns = ("label", "train_count", "group", "support", "precision", "recall", "f1", "average_precision",
               "threshold")
    parts.append("<h2>Per label</h2><p>Click a column to sort.</p><table id='per-label'><thead><tr>")
    parts += [f"<th class='sortable' onclick='sortTable(this,{str(c not in ('label', 'group')).lower()})'>"
              f"{e(c.replace('_', ' '))}</th>" for c in columns]
    parts.append("</tr></thead><tbody>")
    for r in rows:
        parts.append("<tr>" + "".join(f"<td>{e(str(r[c]))}</td>" if c in ("label", "group") else
                                      f"<td class='num'>{'—' if r[c] is None else _fmt(r[c])}</td>"
                                      for c in columns) + "</tr>")
    parts.append(f"</tbody></table><script>{SCRIPT}</script></body></html>")
    atomic_write_text(run_dir / REPORT, "\n".join(parts))
    return run_dir / REPORT
