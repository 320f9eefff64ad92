"""What int8 quantisation costs, class by class: ``export --quantize int8`` scores the fp32
and the int8 ONNX models on a labelled file and writes ``onnx/int8_check.json``.

Compression is known to hurt the rarest classes first while the averages barely move
(Hooker et al., "What Do Compressed Deep Neural Networks Forget?", 2019), so the check
reports the change in macro-F1 and few-shot accuracy (a multi-label model: micro- and macro-F1
and few-shot macro-F1, its labels decided at its thresholds), the five classes (labels)
whose F1 drops most (with their training counts), and warns for every one that loses more
than ``--max-f1-drop``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .data.splits import find_data_files
from .files import write_json
from .log import get_logger
from .run_folder import INT8_CHECK

log = get_logger(__name__)
SHOWN = 5  # the classes that lose most, listed


@dataclass
class Int8Check:
    data: str
    examples: int
    fp32: dict  # the task's compared_metrics the run has (accuracy, macro_f1, few_shot_accuracy; multi-label:
    # micro_f1, macro_f1, few_shot_macro_f1)
    int8: dict
    changed_predictions: int
    most_lost: list[dict]  # label, train_count, support, f1_fp32, f1_int8, change
    over_limit: list[str]
    max_f1_drop: float

    def summary(self) -> str:
        change = {k: self.int8[k] - self.fp32[k] for k in self.fp32 if self.int8.get(k) is not None}
        lines = [f"int8 against fp32 on {self.data} ({self.examples} texts, {self.changed_predictions} predictions "
                 "changed): " + ", ".join(f"{k} {self.fp32[k]:.4f} -> {self.int8[k]:.4f} ({change[k]:+.4f})"
                                          for k in change)]
        if self.most_lost:
            lines.append("classes that lose most F1: " + ", ".join(
                f"{r['label']} {r['change']:+.3f}" + (f" ({r['train_count']} training)" if r.get("train_count")
                                                      is not None else "") for r in self.most_lost))
        return "\n".join(lines)


def check_file(fine_tuned, given: str | None) -> str | None:
    """``given``, else the dev file of the run that trained the model, when it is still there."""
    if given:
        return given
    settings = fine_tuned.info.settings or {}
    try:
        files = find_data_files(settings.get("data_dir"), dev=settings.get("dev_file"))
    except Exception:  # the run's data moved: the check is skipped, and said
        return None
    return str(files.dev) if files.dev is not None and Path(files.dev).is_file() else None


def audit_int8(fine_tuned, config) -> Int8Check | None:
    """Score fp32 and int8 ONNX on the check file, each answer as the task gives it (the top
    class; a multi-label model's labels at its thresholds); write and return the comparison
    (None when there is no labelled file to check on)."""
    import dataclasses

    from .classifier import Classifier
    from .export import OnnxClassifier, onnx_path
    from .inference import read_texts
    from .tasks import task_of

    path = check_file(fine_tuned, config.check_data)
    if path is None:
        log.warning("the int8 model was not checked: no labelled file (the run's dev file is not where training "
                    "read it); name one with --check-data")
        return None
    task = task_of(fine_tuned.multi_label)
    dataset = read_texts(fine_tuned, path, labels="required")
    results = {}
    for backend in ("onnx", "onnx-int8"):
        model = OnnxClassifier(onnx_path(fine_tuned.path, backend), len(fine_tuned.label_map))
        logits = Classifier(dataclasses.replace(fine_tuned, model=model), batch_size=config.batch_size).logits(dataset)
        results[backend] = task.compared_answers(fine_tuned, logits, dataset)
    (pred32, m32), (pred8, m8) = results["onnx"], results["onnx-int8"]
    keys = [key for key in task.compared_metrics if key in m32]
    rows = []
    for a, b in zip(m32["per_class"], m8["per_class"]):
        if a["support"]:
            rows.append({"label": a["label"], "train_count": a.get("train_count"), "support": a["support"],
                         "f1_fp32": a["f1"], "f1_int8": b["f1"], "change": b["f1"] - a["f1"]})
    rows.sort(key=lambda r: (r["change"], r["label"]))
    over = [r["label"] for r in rows if r["change"] < -config.max_f1_drop]
    changed = (np.asarray(pred32) != np.asarray(pred8)).reshape(len(dataset), -1).any(axis=1)
    check = Int8Check(data=str(path), examples=len(dataset), fp32={key: m32[key] for key in keys},
                      int8={key: m8.get(key) for key in keys}, changed_predictions=int(changed.sum()),
                      most_lost=[r for r in rows[:SHOWN] if r["change"] < 0], over_limit=over,
                      max_f1_drop=config.max_f1_drop)
    write_json(onnx_path(fine_tuned.path, "onnx").parent / INT8_CHECK, asdict(check))
    if over:
        log.warning(f"int8 costs {len(over)} class(es) more than {config.max_f1_drop} F1 on {path}: "
                    + ", ".join(over[:10]) + ("..." if len(over) > 10 else "")
                    + "; keep the fp32 model (--backend onnx) if these classes matter")
    return check
