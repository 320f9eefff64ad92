"""The commands that score a file with a fine-tuned model: ``evaluate``, ``predict`` and
``calibrate`` read the file the way the model was trained and answer through
:class:`~weighted_bert.classifier.Classifier`.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from .classifier import Classifier, load_model
from .data import DEFAULT_SEPARATOR, Dataset, parse_dataset, parse_lines, read_dataset
from .errors import RunError, UserError
from .log import get_logger
from .run_folder import CALIBRATION
from .saved_model import FineTuned
from .scoring_config import ScoreConfig

log = get_logger(__name__)


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


def scoring_loss(fine_tuned: FineTuned):
    """The model's training objective, to report ``eval_loss`` (None without class counts)."""
    from .losses import get_loss

    counts = fine_tuned.info.class_counts
    if not counts:
        return None
    name, options = fine_tuned.info.scoring_loss(fine_tuned.label_map)
    return get_loss(name, counts, **options)


def evaluate(config: ScoreConfig, output_dir=None) -> dict:
    """Metrics of the model on a labelled file (with its calibration's decision rule; when the
    calibration changes the logits, also ``nll_uncalibrated`` and ``ece_uncalibrated``); with
    ``output_dir``, the result files too."""
    from .calibration.temperature import ece, nll
    from .evaluation import metrics_from_logits, write_evaluation

    classifier = Classifier.from_config(config)
    fine_tuned = classifier.fine_tuned
    _decision_options(fine_tuned, config)
    dataset = read_texts(fine_tuned, config.data, labels="required", config=config)
    logits = classifier.with_options(target_prior=None).logits(dataset)  # shifted below, after the uncalibrated NLL
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
    logits = classifier.shifted(logits)
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
    classifier = Classifier.from_config(config)
    fine_tuned = classifier.fine_tuned
    _decision_options(fine_tuned, config)
    dataset = read_texts(fine_tuned, config.data, labels="optional", config=config)
    answers = classifier.answer(dataset, top_k=config.top_k, at_least_one=config.at_least_one)
    probs = answers.probabilities
    if fine_tuned.multi_label:
        from .multilabel import results

        if probabilities:
            results.write_test_results(probabilities, fine_tuned.label_map.labels, probs)

        def write(path):
            results.write_predictions(path, dataset.examples, probs, answers.decided, fine_tuned.label_map.labels)
    else:
        if probabilities:
            write_test_results(probabilities, probs)

        def write(path):
            write_predictions(path, dataset.examples, probs, answers.labels, answers.decided)
    if str(output) == "-":
        with tempfile.TemporaryDirectory() as tmp:
            write(Path(tmp) / "p.tsv")
            _to_stdout(Path(tmp) / "p.tsv")
    else:
        write(output)
    return len(dataset)


def _to_stdout(path: Path, chunk: int = 1 << 16) -> None:
    """``path``'s bytes to standard output, in chunks, each write checked: a full disk or a
    closed pipe is an error, never a silently short file (text-mode stdout can drop a short write)."""
    sys.stdout.flush()
    out = sys.stdout.buffer
    try:
        with open(path, "rb") as handle:
            while block := handle.read(chunk):
                view = memoryview(block)
                while view:
                    written = out.write(view)
                    if written is None or written <= 0:
                        raise OSError("standard output took no bytes")
                    view = view[written:]
        out.flush()
    except OSError as err:
        raise RunError(f"writing the predictions to standard output failed ({err.strerror or err}); the output "
                       "is incomplete") from None


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

    classifier = Classifier.load(config.model, backend=config.backend, batch_size=config.batch_size,
                                 precision=config.precision, calibration=False)
    fine_tuned = classifier.fine_tuned
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
    logits = classifier.logits(dataset)
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
        fine_tuned = load_model(fine_tuned.path)  # the weights that are folded into are PyTorch's
    reason = fold_calibration(fine_tuned, calibration)
    calibration.not_folded_because = reason
    if reason:
        log.warning(f"{fine_tuned.path}: the calibration is not folded into the weights ({reason}); "
                    "weighted-bert's own commands apply it, other runtimes will not")
    calibration.write(Path(fine_tuned.path) / CALIBRATION)
