"""The end of a ``train`` run: dev and test scored by the final model, the result files,
the prediction files, the report and the model card.

Dev is not scored again when training kept the logits of the evaluation whose model it
ended with (:meth:`~weighted_bert.training.trainer.WeightedTrainer.best_eval_logits`): the same
model, batches and dtype (fp32) give the same numbers. Evaluations in bf16 (``--eval-precision``)
keep none: the final dev and test results are fp32's.
"""

from __future__ import annotations

from pathlib import Path

from ..classifier import Classifier
from ..log import get_logger
from ..model_folder import FineTuned
from ..run_folder import LABEL_MAP, MODEL, TEST_RESULTS
from ..tasks import task_of
from .stages import Stages

log = get_logger(__name__)


def split_logits(config, classifier: FineTuned, dataset, *, calibration: bool):
    """``dataset``'s logits by the final model, at the run's evaluation batch size."""
    return Classifier(classifier, batch_size=config.eval_batch_size, calibration=calibration).logits(dataset)


def score_splits(config, classifier: FineTuned, loss_fn, dev, test, output: Path, result, stages: Stages,
                 raw_dev=None) -> None:
    """Dev and test scored by the final model (dev from ``raw_dev``, its uncalibrated logits,
    when given): result files, prediction files and the report; metrics into ``result``."""
    from ..tasks import build_report

    shots = dict(many_threshold=config.many_threshold, few_threshold=config.few_threshold,
                 loss_fn=loss_fn, train_counts=classifier.info.class_counts)
    label_map = classifier.label_map
    write_evaluation, write_prediction_files = task_of(classifier.multi_label).result_writers(classifier)

    def logits(dataset, split):
        with stages(f"scoring {split}"):
            if split == "dev" and raw_dev is not None:
                calibration = classifier.calibration  # what the model kept, folded in or not
                use = calibration is not None and config.calibration
                return calibration.apply(raw_dev).astype(raw_dev.dtype) if use else raw_dev
            return split_logits(config, classifier, dataset, calibration=config.calibration)

    if dev is not None:
        dev_logits = logits(dev, "dev")
        with stages("result files"):
            result.eval_metrics = write_evaluation(output, dev_logits, dev, label_map, split="dev",
                                                   extra={"global_step": result.global_step}, **shots)
            write_prediction_files(output, dev_logits, dev, label_map, split="dev")
        log.info("dev: " + summary(result.eval_metrics))
    if test is not None:
        test_logits = logits(test, "test")
        with stages("result files"):
            write_prediction_files(output, test_logits, test, label_map, split="test")
            if test.has_labels:
                result.test_metrics = write_evaluation(output, test_logits, test, label_map, split="test", **shots)
        if test.has_labels:
            log.info("test: " + summary(result.test_metrics))
        log.info(f"wrote {output / TEST_RESULTS} and predictions.tsv ({len(test)} lines)")
    if not (output / LABEL_MAP).is_file():
        label_map.save(output / LABEL_MAP)
    with stages("report"):
        if dev is not None or (test is not None and test.has_labels):
            report = build_report(output)
            if report is not None:
                log.info(f"report: {report}")
        if config.do_train:
            from ..model_card import write_model_card

            write_model_card(output / MODEL)


def scalars(metrics: dict | None) -> dict | None:
    return None if metrics is None else {k: v for k, v in metrics.items() if isinstance(v, (int, float))}


def summary(metrics: dict) -> str:
    keys = ("accuracy", "macro_f1", "few_shot_accuracy", "loss") if "accuracy" in metrics else \
        ("micro_f1", "macro_f1", "map", "few_shot_macro_f1", "loss")  # single-label (micro-F1 is accuracy) or multi
    return ", ".join(f"{k} {metrics[k]:.4f}" for k in keys if k in metrics)
