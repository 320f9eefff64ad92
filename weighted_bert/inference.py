"""Scoring a fine-tuned model: load it (PyTorch or its ONNX export), read the texts, and
get logits with the saved calibration applied. ``train`` (for dev and test), ``evaluate``,
``predict`` and ``calibrate`` all score through here.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from pathlib import Path

import numpy as np

from .data import DEFAULT_SEPARATOR, Dataset, parse_dataset, parse_lines, read_dataset
from .errors import RunError, UserError
from .log import get_logger
from .prediction import encode_examples, predict_logits
from .run_folder import CALIBRATION
from .saved_model import FineTuned, load_fine_tuned
from .scoring_config import ScoreConfig

log = get_logger(__name__)


def load_classifier(model, *, backend: str = "torch", **load_options) -> FineTuned:
    """A fine-tuned model folder; with ``backend`` ``onnx`` or ``onnx-int8`` its ONNX export
    (written by ``weighted-bert export``) runs in place of the PyTorch model."""
    fine_tuned = load_fine_tuned(model, weights=backend == "torch", **load_options)
    if backend == "torch":
        return fine_tuned
    from .export import OnnxClassifier, onnx_path

    path = onnx_path(fine_tuned.path, backend)
    if not path.is_file():
        raise RunError(f"{path}: no such ONNX model; write it first with `weighted-bert export --model "
                       f"{model}{' --quantize int8' if backend == 'onnx-int8' else ''}`")
    onnx = OnnxClassifier(path, len(fine_tuned.label_map))
    onnx.config = fine_tuned.model.config  # labels, problem type, position limit
    return dataclasses.replace(fine_tuned, model=onnx)


def read_texts(fine_tuned: FineTuned, path, *, labels: str, config: ScoreConfig | None = None) -> Dataset:
    """A data file (``-``: standard input) read the way the model was trained (single
    texts or pairs), with ``labels`` "required" or "optional"."""
    config = config or ScoreConfig(model=fine_tuned.path, data=str(path))
    options = dict(labels=labels, pair=fine_tuned.info.pair, columns=config.columns(), on_bad_line=config.on_bad_line,
                   multi_label=fine_tuned.multi_label)
    if fine_tuned.multi_label:  # label sets split as in training, unless told otherwise
        options["label_separator"] = (config.label_separator or fine_tuned.info.settings.get("label_separator")
                                      or DEFAULT_SEPARATOR)
    if str(path) == "-":  # lines of text: a tab is part of the text (pairs: text_a<TAB>text_b)
        if fine_tuned.info.pair:
            return parse_dataset(sys.stdin.buffer.read(), "<stdin>", **{**options, "labels": "none"})
        return parse_lines(sys.stdin.buffer.read(), "<stdin>")
    return read_dataset(path, **options)


def logits_of(model, tokenizer, dataset: Dataset, *, max_seq_length: int, batch_size: int,
              precision: str = "fp32") -> np.ndarray:
    """Raw logits for every example of ``dataset``, in file order."""
    encodings = encode_examples(tokenizer, dataset.examples, max_seq_length)
    return predict_logits(model, tokenizer, encodings, batch_size=batch_size, precision=precision)


def score(fine_tuned: FineTuned, dataset: Dataset, *, batch_size: int, precision: str = "fp32",
          calibration: bool = True, target_prior: str | None = None) -> np.ndarray:
    """Logits of ``dataset`` at the model's training length, calibrated unless told not to
    (and moved to ``target_prior`` when given: :meth:`FineTuned.retarget`)."""
    raw = logits_of(fine_tuned.model, fine_tuned.tokenizer, dataset, max_seq_length=fine_tuned.max_seq_length,
                    batch_size=batch_size, precision=precision)
    logits = fine_tuned.logits(raw, use_calibration=calibration)
    return fine_tuned.retarget(logits, target_prior) if target_prior else logits


def scoring_loss(fine_tuned: FineTuned):
    """The model's training objective, to report ``eval_loss`` (None without class counts)."""
    from .losses import get_loss

    counts = fine_tuned.info.class_counts
    if not counts:
        return None
    name, options = fine_tuned.info.scoring_loss(fine_tuned.label_map)
    return get_loss(name, counts, **options)


def _load(config: ScoreConfig) -> FineTuned:
    return load_classifier(config.model, backend=config.backend)


def evaluate(config: ScoreConfig, output_dir=None) -> dict:
    """Metrics of the model on a labelled file (with its calibration's decision rule; when the
    calibration changes the logits, also ``nll_uncalibrated`` and ``ece_uncalibrated``); with
    ``output_dir``, the result files too."""
    from .calibration.temperature import ece, nll
    from .evaluation import metrics_from_logits, write_evaluation

    fine_tuned = _load(config)
    _decision_options(fine_tuned, config)
    dataset = read_texts(fine_tuned, config.data, labels="required", config=config)
    logits = score(fine_tuned, dataset, batch_size=config.batch_size, precision=config.precision,
                   calibration=config.calibration)
    loss_fn, counts = scoring_loss(fine_tuned), fine_tuned.info.class_counts
    if fine_tuned.multi_label:
        from .multilabel import results

        if output_dir:
            return results.write_evaluation(output_dir, logits, dataset, fine_tuned.label_map, loss_fn=loss_fn,
                                            train_counts=counts, thresholds=fine_tuned.thresholds, top_k=config.top_k,
                                            at_least_one=config.at_least_one)
        return results.evaluation_metrics(logits, fine_tuned.label_map.multi_hot(dataset), fine_tuned.thresholds,
                                          loss_fn=loss_fn, train_counts=counts, top_k=config.top_k,
                                          at_least_one=config.at_least_one)
    calibration = fine_tuned.calibration if config.calibration else None
    extra = {}
    if calibration is not None and calibration.changes_logits:
        raw, y = calibration.remove(logits), fine_tuned.label_map.encode(dataset)
        extra = {"nll_uncalibrated": nll(raw, y), "ece_uncalibrated": ece(raw, y)}
    if config.target_prior:
        logits = fine_tuned.retarget(logits, config.target_prior)
    if output_dir:
        return write_evaluation(output_dir, logits, dataset, fine_tuned.label_map, loss_fn=loss_fn,
                                train_counts=counts, calibration=calibration, extra=extra)
    return {**metrics_from_logits(logits, fine_tuned.label_map.encode(dataset), loss_fn=loss_fn, train_counts=counts,
                                  calibration=calibration), **extra}


def predict(config: ScoreConfig, output, probabilities=None) -> int:
    """``predictions.tsv`` for a file (``-``: standard output) and, when asked, the seed's
    ``test_results.tsv``; returns the number of lines predicted. The calibration's decision
    rule chooses the label (an abstention: its label; the probabilities are written still)."""
    from .reports import write_predictions, write_test_results

    _distinct_paths({"--data": config.data, "--output": output, "--probabilities": probabilities})
    fine_tuned = _load(config)
    _decision_options(fine_tuned, config)
    dataset = read_texts(fine_tuned, config.data, labels="optional", config=config)
    probs = fine_tuned.probabilities(score(fine_tuned, dataset, batch_size=config.batch_size,
                                           precision=config.precision, calibration=config.calibration,
                                           target_prior=config.target_prior))
    if fine_tuned.multi_label:
        from .multilabel import results

        if probabilities:
            results.write_test_results(probabilities, fine_tuned.label_map.labels, probs)
        chosen = fine_tuned.decide_sets(probs, top_k=config.top_k, at_least_one=config.at_least_one)

        def write(path):
            results.write_predictions(path, dataset.examples, probs, chosen, fine_tuned.label_map.labels)
    else:
        if probabilities:
            write_test_results(probabilities, probs)
        decided = fine_tuned.decide(probs, use_calibration=config.calibration)
        labels = [fine_tuned.label_of(i) for i in decided]

        def write(path):
            write_predictions(path, dataset.examples, probs, labels, decided)
    if str(output) == "-":
        with tempfile.TemporaryDirectory() as tmp:
            write(Path(tmp) / "p.tsv")
            sys.stdout.write((Path(tmp) / "p.tsv").read_text(encoding="utf-8"))
    else:
        write(output)
    return len(dataset)


def _decision_options(fine_tuned: FineTuned, config: ScoreConfig) -> None:
    if not fine_tuned.multi_label and (config.top_k is not None or config.at_least_one):
        raise UserError(f"{fine_tuned.path}: --top-k and --at-least-one are for multi-label models; this one gives "
                        "one label a text")


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

    fine_tuned = _load(config)
    if fine_tuned.multi_label:
        raise UserError(f"{fine_tuned.path}: a multi-label model; its decision is its per-label thresholds, fitted "
                        "on dev by train (--thresholds per_label|global|none); calibrate is for single-label models")
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
    logits = score(fine_tuned, dataset, batch_size=config.batch_size, precision=config.precision, calibration=False)
    result = calibrate(logits, y, counts, objective=objective, per_class_bias=config.per_class_bias,
                       temperature=config.temperature, abstain_threshold=config.abstain, coverage=config.coverage,
                       abstain_label=config.abstain_label)
    result.objective_settings = {k: v for k, v in (("target_prior", config.target_prior or "dev"
                                                    if config.objective in ("accuracy", "cost") else None),
                                                   ("costs", config.costs), ("class", config.target_class),
                                                   ("min_precision", config.min_precision)) if v is not None}
    target = Path(fine_tuned.path) / CALIBRATION
    if result.accepted or result.changes_logits or result.abstain_threshold is not None:
        keep_calibration(fine_tuned, result)
    return result, target


def keep_calibration(fine_tuned: FineTuned, calibration) -> None:
    """Save ``calibration`` with the model: folded into its weights where that is exact (then
    transformers, ONNX and serving engines answer as ``predict`` does), and recorded in
    ``calibration.json``; where it cannot be folded, the file says why and only
    weighted-bert's own commands apply it."""
    from .saved_model import fold_calibration

    if fine_tuned.model.__class__.__name__ == "OnnxClassifier":
        fine_tuned = load_classifier(fine_tuned.path)  # the weights that are folded into are PyTorch's
    reason = fold_calibration(fine_tuned, calibration)
    calibration.not_folded_because = reason
    if reason:
        log.warning(f"{fine_tuned.path}: the calibration is not folded into the weights ({reason}); "
                    "weighted-bert's own commands apply it, other runtimes will not")
    calibration.write(Path(fine_tuned.path) / CALIBRATION)
