"""The run folder: the name of every file a run writes, and the record of ``weighted_bert.json``.

A ``train`` output folder holds ``model/`` (a plain Hugging Face folder plus
``label_map.json``, ``weighted_bert.json`` and, after ``calibrate``, ``calibration.json``)
(multi-label: ``thresholds.json``) and the result files named below. Modules that write or read one of them take its name
from here; :mod:`weighted_bert.model_folder` saves and loads ``model/``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from .files import atomic_write_text, read_json_object
from .labels import LabelMap
from .loss_settings import LOSS_SETTINGS

MODEL = "model"
LABEL_MAP = "label_map.json"  # in the run folder and in model/
TRAINING_INFO = "weighted_bert.json"  # in model/: TrainingInfo
CALIBRATION = "calibration.json"  # in model/: calibration.Calibration
THRESHOLDS = "thresholds.json"  # in model/, multi-label: multilabel.thresholds.Thresholds
INT8_CHECK = "int8_check.json"  # in model/onnx/: quantization_audit.Int8Check
CLASS_WEIGHTS = "class_weights.json"
TRAINING_LOG = "training_log.jsonl"
TRAINING_CURVES = "training_curves.png"
TEST_RESULTS = "test_results.tsv"  # the seed's: class probabilities, no header
PREDICTIONS = {"test": "predictions.tsv", "dev": "eval_predictions.tsv"}
RESULTS_PREFIX = {"dev": "eval", "test": "test"}  # eval_results.txt/.json, test_results.txt/.json
CLASSIFICATION_REPORT = {"dev": "classification_report.txt", "test": "test_classification_report.txt"}
PER_CLASS_F1, CONFUSION_MATRIX, RELIABILITY = "per_class_f1.png", "confusion_matrix.png", "reliability.png"
COVERAGE_ACCURACY, PRECISION_RECALL = "coverage_accuracy.png", "precision_recall.png"
CALIBRATION_RELIABILITY = "reliability_calibration.png"  # dev, before and after `calibrate`'s temperature
PICTURES = (TRAINING_CURVES, PER_CLASS_F1, CONFUSION_MATRIX, RELIABILITY, CALIBRATION_RELIABILITY, COVERAGE_ACCURACY,
            PRECISION_RECALL)
TOP_CONFUSIONS = "top_confusions.tsv"
EXCLUDED_ROWS = "excluded_rows.tsv"  # train --exclude: the rows left out (label_audit.issues_file writes it)
RELABELLED_ROWS = "relabelled_rows.tsv"  # train --relabel: the rows given another label (the same module writes it)
REPORT = "report.html"
TENSORBOARD = "tensorboard"  # event files, with --report-to tensorboard
MODEL_CARD = "README.md"  # in model/: the model card the Hub shows
RUN_SUMMARY = "run_summary.json"  # written last: a finished run
CHECKPOINTS = "checkpoints"
RUN_SETTINGS = "run_settings.json"  # in checkpoints/: what a resumed run must match
LOCK = ".weighted-bert.lock"  # held by the run using the folder
COMPARE_PLAN = ".weighted-bert-plan.json"  # compare: the settings and data a run was started for
# What marks a folder as holding another run's results.
RESULT_FILES = (MODEL, "eval_results.txt", TEST_RESULTS, PREDICTIONS["test"], RUN_SUMMARY)


def results_files(split: str) -> tuple[str, str]:
    """(``.txt``, ``.json``) results of ``split`` (dev: the seed's ``eval_results.txt``)."""
    prefix = RESULTS_PREFIX[split]
    return f"{prefix}_results.txt", f"{prefix}_results.json"


# What `evaluate --output-dir` writes: the names of a run's dev results
EVALUATION_FILES = (*results_files("dev"), CLASSIFICATION_REPORT["dev"])

# Every file and folder a run writes in its output folder: what --overwrite-output-dir clears,
# and all that may be in a folder that compare removes as an incomplete run.
RUN_FILES = (MODEL, LABEL_MAP, CLASS_WEIGHTS, TRAINING_LOG, TEST_RESULTS, *PREDICTIONS.values(),
             *results_files("dev"), *results_files("test"), *CLASSIFICATION_REPORT.values(), *PICTURES,
             TOP_CONFUSIONS, EXCLUDED_ROWS, RELABELLED_ROWS, REPORT, RUN_SUMMARY, CHECKPOINTS, TENSORBOARD, LOCK)


def clear_run_files(folder) -> list[str]:
    """Remove every file a run writes (and nothing else) from ``folder``; returns their names."""
    import shutil

    removed = []
    for name in RUN_FILES:
        path = Path(folder) / name
        if name != LOCK and (path.exists() or path.is_symlink()):
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
            removed.append(name)
    return removed


@dataclass
class TrainingInfo:
    """``model/weighted_bert.json``: how the saved model was trained. Every field may be
    missing in a folder from elsewhere; then it is scored with plain cross-entropy."""

    loss: str = "ce"
    loss_options: dict = field(default_factory=dict)  # every setting the loss reads, as used
    class_counts: list[int] | None = None  # training examples per class, in label order
    max_seq_length: int | None = None  # the training truncation
    pair: bool | None = None  # sentence pairs
    labels: list[str] | None = None
    settings: dict = field(default_factory=dict)  # the whole RunConfig
    head: dict | None = None  # {"type": "cosine", "scale": s}: an ldam head saved as a linear layer
    multi_label: bool = False  # label sets, sigmoid outputs (class_counts: rows carrying each label)
    num_examples: int | None = None  # training rows (multi-label: a label's negatives are the rest)
    windows: dict | None = None  # long texts: stride, max_windows, aggregation (+ dev's score of each rule)
    stage2: dict | None = None  # --stage2: the method folded into the last linear layer, and what it chose

    @classmethod
    def read(cls, folder) -> TrainingInfo:
        path = Path(folder) / TRAINING_INFO
        if not path.is_file():
            return cls()
        data = read_json_object(path, "the record weighted-bert train writes")
        return cls(**{k: v for k, v in data.items() if k in {f.name for f in dataclasses.fields(cls)}})

    def write(self, folder) -> None:
        atomic_write_text(Path(folder) / TRAINING_INFO,
                          json.dumps(dataclasses.asdict(self), ensure_ascii=False, indent=2) + "\n")

    def scoring_loss(self, label_map: LabelMap) -> tuple[str, dict]:
        """The loss to score the model with (the seed's ``eval_loss``): its training loss,
        or plain cross-entropy when the folder does not say."""
        if not self.class_counts:
            return "ce", {}
        options = dict(self.loss_options)
        if "labels" in LOSS_SETTINGS.get(self.loss, ()):
            options["labels"] = list(label_map.labels)
        return self.loss, options
