"""The commands that score a file with a fine-tuned model: ``evaluate``, ``predict`` and
``calibrate`` read the file the way the model was trained and answer through
:class:`~weighted_bert.classifier.Classifier`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .classifier import Classifier, load_model
from .data import Dataset, parse_dataset, parse_lines, read_dataset
from .errors import RunError, UserError
from .log import get_logger
from .model_folder import FineTuned
from .run_folder import CALIBRATION, EVALUATION_FILES
from .scoring_config import ScoreConfig
from .streaming.run import read_options, stream_predict
from .tasks import task_of

log = get_logger(__name__)


def read_texts(fine_tuned: FineTuned, path, *, labels: str, config: ScoreConfig | None = None) -> Dataset:
    """A data file (``-``: standard input) read the way the model was trained (single
    texts or pairs), with ``labels`` "required" or "optional"."""
    config = config or ScoreConfig(model=fine_tuned.path, data=str(path))
    options = read_options(fine_tuned, config, labels=labels)
    if str(path) == "-":  # lines of text: a tab is part of the text (pairs: text_a<TAB>text_b)
        if fine_tuned.info.pair:
            return parse_dataset(sys.stdin.buffer.read(), "<stdin>", **{**options, "labels": "none"})
        return parse_lines(sys.stdin.buffer.read(), "<stdin>")
    return read_dataset(path, **options)


def scoring_loss(fine_tuned: FineTuned):
    """The model's training objective, to report ``eval_loss`` (None without class counts)."""
    from .losses import get_loss

    counts = fine_tuned.info.class_counts
    if not counts:
        return None
    name, options = fine_tuned.info.scoring_loss(fine_tuned.label_map)
    return get_loss(name, counts, **options)


def evaluate(config: ScoreConfig, output_dir=None, *, overwrite: bool = False) -> dict:
    """Metrics of the model on a labelled file (with its calibration's decision rule; when the
    calibration changes the logits, also ``nll_uncalibrated`` and ``ece_uncalibrated``); with
    ``output_dir``, the result files too, where none is in the way unless ``overwrite``."""
    if output_dir and not overwrite:
        there = [name for name in EVALUATION_FILES if (Path(output_dir) / name).exists()]
        if there:
            raise UserError(f"{output_dir}: already holds {', '.join(there)}, which evaluate would replace (in a "
                            "training run's folder they are its dev results); choose another --output-dir, or "
                            "pass --overwrite")
    classifier = Classifier.from_config(config)
    fine_tuned = classifier.fine_tuned
    task_of(fine_tuned.multi_label).check_answer_options(fine_tuned.path, config.top_k, config.at_least_one)
    dataset = read_texts(fine_tuned, config.data, labels="required", config=config)
    return task_of(fine_tuned.multi_label).evaluate(classifier, dataset, loss_fn=scoring_loss(fine_tuned),
                                                    output_dir=output_dir, top_k=config.top_k,
                                                    at_least_one=config.at_least_one)


def predict(config, output=None, probabilities=None) -> int:
    """``predictions.tsv`` (or Parquet) for a file (``-``: standard output) and, when asked, the
    seed's ``test_results.tsv``, read, scored and written a chunk at a time
    (:mod:`weighted_bert.streaming`); returns the rows written. ``config``: a
    :class:`~weighted_bert.scoring_config.PredictConfig` (a ``ScoreConfig`` with ``output``
    and ``probabilities`` given here is taken as one). The calibration's decision rule chooses
    the label (an abstention: its label; the probabilities are written still)."""
    from .scoring_config import PredictConfig

    if not isinstance(config, PredictConfig):
        values = {f: getattr(config, f) for f in config.__dataclass_fields__}
        config = PredictConfig(**values, output=str(output), probabilities=probabilities, overwrite=True)
    _distinct_paths({"--data": config.data, "--output": config.output, "--probabilities": config.probabilities})
    return stream_predict(config)


def _distinct_paths(paths: dict) -> None:
    """No output may be an input or another output: writing it would destroy what was there."""
    seen: dict[Path, str] = {}
    for flag, path in paths.items():
        if not path or str(path) == "-":
            continue
        real = Path(path).resolve()
        if real in seen:
            raise UserError(f"{path}: {flag} would write over {seen[real]} (the same file); choose another path")
        seen[real] = flag


def calibrate_model(config):
    """Fit a calibration on a labelled dev file (see :mod:`weighted_bert.calibration`, settings
    :class:`~weighted_bert.config.CalibrateConfig`) and save it with the model when anything is
    kept. Returns the :class:`~weighted_bert.calibration.Calibration` and the file's path."""
    from .calibration import calibrate
    from .calibration.inputs import build_objective

    classifier = Classifier.load(config.model, backend=config.backend, batch_size=config.batch_size,
                                 precision=config.precision, calibration=False)
    fine_tuned = classifier.fine_tuned
    fine_tuned.outputs.refuse_label_sets(
        f"{fine_tuned.path}: a multi-label model; its decision is its per-label thresholds, fitted on dev by train "
        "(--thresholds per_label|global|none); calibrate is for single-label models")
    counts = fine_tuned.info.class_counts
    labels = fine_tuned.label_map.labels
    if not counts:
        raise RunError(f"{fine_tuned.path}: no training class counts (weighted_bert.json); calibration needs the prior")
    if config.abstain_label in labels:
        raise UserError(f"--abstain-label {config.abstain_label!r} is one of the model's labels; choose another")
    dataset = read_texts(fine_tuned, config.data, labels="required", config=config)
    y = np.asarray(fine_tuned.label_map.encode(dataset))
    objective = build_objective(config.objective, labels, train_counts=counts, dev_labels=y,
                                target_prior=config.target_prior or "dev", costs=config.costs,
                                target_class=config.target_class, min_precision=config.min_precision)
    logits = classifier.logits(dataset)
    result = calibrate(logits, y, counts, objective=objective, per_class_bias=config.per_class_bias,
                       temperature=config.temperature, abstain_threshold=config.abstain, coverage=config.coverage,
                       abstain_label=config.abstain_label, keep=config.keep)
    result.objective_settings = {k: v for k, v in (("target_prior", config.target_prior or "dev"
                                                    if config.objective in ("accuracy", "cost") else None),
                                                   ("costs", config.costs), ("class", config.target_class),
                                                   ("min_precision", config.min_precision)) if v is not None}
    target = Path(fine_tuned.path) / CALIBRATION
    if result.keeps_anything:
        keep_calibration(fine_tuned, result)
    return result, target


def calibrate_command(config) -> list[str]:
    """``weighted-bert calibrate``: fit, save what is kept, refresh the model folder's card and
    its run's report; return the lines to print."""
    from .model_card import refresh_model_folder

    result, target = calibrate_model(config)
    lines = result.summary()
    if not result.keeps_anything:
        return lines + ["nothing kept (" + result.rule + "); nothing changed"
                        + (f", {target} left as it was" if target.exists() else "")]
    if result.folded_into:
        lines.append(f"wrote {target}; the logits are folded into {result.folded_into}: every runtime computes them "
                     "(--no-calibration leaves them out of ours)")
    else:
        lines.append(f"wrote {target}; predict and evaluate apply it (--no-calibration to turn it off)")
    if result.decision_rule:
        lines.append(f"{result.decision_rule}: applied by weighted-bert's predict, evaluate, serve and Python API")
    page = refresh_model_folder(target.parent)
    if page:
        lines.append(f"report (with the dev reliability before and after): {page}")
    return lines


def keep_calibration(fine_tuned: FineTuned, calibration) -> None:
    """Save ``calibration`` with the model: folded into its weights where that is exact (then
    transformers, ONNX and serving engines answer as ``predict`` does), and recorded in
    ``calibration.json``; where it cannot be folded, the file says why and only
    weighted-bert's own commands apply it."""
    from .export import export_onnx, onnx_path
    from .model_folder import fold_calibration

    if fine_tuned.model.__class__.__name__ == "OnnxClassifier":
        fine_tuned = load_model(fine_tuned.path, backend="torch")  # the weights that are folded into are PyTorch's
    exported = {b: onnx_path(fine_tuned.path, b).is_file() for b in ("onnx", "onnx-int8")}
    reason = fold_calibration(fine_tuned, calibration)  # removes an export of the weights before
    calibration.not_folded_because = reason
    if reason:
        log.warning(f"{fine_tuned.path}: the calibration is not folded into the weights ({reason}); "
                    "weighted-bert's own commands apply it, other runtimes will not")
    calibration.write(Path(fine_tuned.path) / CALIBRATION)
    if exported["onnx"] and not reason:  # the folder keeps an export of its weights as they now are
        export_onnx(load_model(fine_tuned.path, backend="torch"), quantize="int8" if exported["onnx-int8"] else None)
