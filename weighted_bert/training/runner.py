"""A whole ``train`` run: read the data, build labels, model and loss, train, save, score
dev and test, write the result files and the report.

``run(RunConfig(...))`` is what ``weighted-bert train``, ``compare``, ``demo`` and the
seed's ``run_classifier_weighted_loss.py`` call. The stages live in their own modules:
settings in :mod:`~weighted_bert.config`, the ``Trainer`` in :mod:`~weighted_bert.training.trainer`,
output-folder safety and resuming in :mod:`~weighted_bert.training.resume`, the saved model in
:mod:`~weighted_bert.model_folder`, scoring in :mod:`~weighted_bert.inference`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import pickle
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import RunConfig
from ..data import Dataset, find_data_files, read_in_order
from ..errors import RunError
from ..files import atomic_write_bytes, atomic_write_text, write_json
from ..labels import LabelMap
from ..log import get_logger
from ..model_folder import FineTuned, load_fine_tuned, save_fine_tuned
from ..run_folder import (
    CHECKPOINTS,
    CLASS_WEIGHTS,
    EXCLUDED_ROWS,
    MODEL,
    RELABELLED_ROWS,
    RUN_SUMMARY,
    TENSORBOARD,
    TRAINING_CURVES,
    TRAINING_LOG,
    TrainingInfo,
)
from ..settings import was_given
from ..tasks import task_of
from ..weights import SCHEMES
from .decisions import fit_decision, target_prior
from .final_scores import scalars, score_splits
from .resume import check_disk, fingerprint, output_folder, resume_point, world_size
from .stages import Stages
from .window_choice import settle_windows

log = get_logger(__name__)

__all__ = ["RunConfig", "RunError", "RunResult", "run"]


@dataclass
class RunResult:
    output_dir: str
    label_map: LabelMap
    train_counts: list[int] | None
    eval_metrics: dict | None = None
    test_metrics: dict | None = None
    global_step: int = 0
    stages: dict | None = None  # seconds per stage (see weighted_bert.training.stages)
    still_improving: str | None = None  # the warning when dev was still rising at the last evaluation


def run(config: RunConfig, stages: Stages | None = None) -> RunResult:
    """Train (optionally), evaluate on dev and predict on test, writing the result files.

    ``stages`` may come with time spent before the run (the command line's start-up);
    ``run_summary.json`` is written last: its presence marks a finished run."""
    started = time.perf_counter()
    stages = stages or Stages()
    with stages("model"):
        loaded = None if config.do_train else load_fine_tuned(
            config.model, trust_remote_code=config.trust_remote_code, vocab_file=config.vocab_file,
            do_lower_case=config.do_lower_case, bert_config_file=config.bert_config_file, labels=config.labels)
    with stages("data"):
        train, dev, test = read_splits(config, loaded)
        acted_on = None  # (the run's file, the rows, the label_issues.tsv that named them)
        if train is not None and config.exclude:
            from ..label_audit.issues_file import exclude_rows

            train, rows = exclude_rows(train, config.exclude, config.exclude_top)
            acted_on = (EXCLUDED_ROWS, rows, config.exclude)
            log.info(f"{train.path}: left out {len(rows)} row(s) that {config.exclude} names; "
                     f"training on {len(train)}")
        if train is not None and config.relabel:
            from ..label_audit.issues_file import relabel_rows
            from ..outputs import outputs_of

            outputs_of(train.multi_label).refuse_label_sets(
                f"{train.path}: the labels are lists (multi-label); --relabel gives a row the one label the audit "
                "suggests, which is for single-label data")
            train, rows = relabel_rows(train, config.relabel)
            acted_on = (RELABELLED_ROWS, rows, config.relabel)
            log.info(f"{train.path}: gave {len(rows)} row(s) the label {config.relabel} suggests")
        if train is not None:
            config = label_task(config, train)
    with output_folder(config) as output:
        if acted_on is not None:
            from ..label_audit.issues_file import write_acted_on

            name, rows, source = acted_on
            write_acted_on(output / name, rows, source)
        return _run(config, loaded, train, dev, test, output, started, stages)


def _run(config: RunConfig, loaded, train, dev, test, output: Path, started: float, stages: Stages) -> RunResult:
    with stages("imports"):  # torch and transformers, when this process has not loaded them yet
        if config.do_train:
            from .trainer import trackers

            trackers(config)  # a tracker that is not installed stops the run before the model loads
        _seed(config.seed)
    with stages("model"):
        classifier = _new_classifier(config, train) if config.do_train else _given_classifier(config, loaded)
    config = _fit_length(config, classifier)
    loss_fn = _loss(config, classifier)
    for dataset in (dev, test):
        if dataset is not None and dataset.has_labels:  # unknown labels stop the run now, not after training
            _targets(classifier, dataset)
    result = RunResult(str(output), classifier.label_map, classifier.info.class_counts)
    if config.do_train:
        trainer = _train(config, classifier, loss_fn, train, dev, output, stages)
        result.global_step = trainer.state.global_step
        if not trainer.is_world_process_zero():
            return result  # process 0 evaluates and writes every file
        if dev is not None:
            from .trainer import still_improving

            result.still_improving = still_improving(trainer.state.log_history, config.metric_for_best_model)
            if result.still_improving:
                log.warning(result.still_improving)
        with stages("saving"):
            _save(config, trainer, classifier, loss_fn, output, train, dev)
        with stages("decision"):
            # dev's raw logits, once: the window rule and the decision fit on them, dev's results are scored from them
            raw_dev = settle_windows(config, classifier, trainer, dev, output)
            classifier = fit_decision(config, classifier, dev, output, raw_dev)
        if config.export_onnx:
            with stages("export"):
                export_saved(output / MODEL)
    else:
        raw_dev = None
    score_splits(config, classifier, loss_fn, dev, test, output, result, stages, raw_dev)
    seconds = time.perf_counter() - started
    stages.add("other", seconds - sum(s for name, s in stages.seconds.items() if name != "start-up"))
    result.stages = stages.rounded()
    log.info(f"wall time by stage: {stages.text()}")
    write_json(output / RUN_SUMMARY, {
        "global_step": result.global_step, "seconds": seconds, "stages": result.stages,
        "eval": scalars(result.eval_metrics), "test": scalars(result.test_metrics),
        "still_improving": result.still_improving, "settings": dataclasses.asdict(config)})
    if config.do_train and not config.keep_checkpoints:
        shutil.rmtree(output / CHECKPOINTS, ignore_errors=True)  # only now: a run killed before this resumes
    return result


def read_splits(config: RunConfig, loaded: FineTuned | None = None):
    """(train, dev, test) datasets, each None when not wanted; a wanted split without a file stops the run.
    Dev and test are read as the training file turned out (single or multi-label, texts or pairs), or
    as the ``loaded`` model was trained when there is no training file."""
    files = find_data_files(config.data_dir, train=config.train_file, dev=config.dev_file, test=config.test_file)
    where = f"in {config.data_dir}" if config.data_dir else "(no --data-dir)"
    do_eval = files.dev is not None if config.do_eval is None else config.do_eval
    do_predict = files.test is not None if config.do_predict is None else config.do_predict
    for wanted, path, split, flag in ((config.do_train, files.train, "training", "--train"),
                                      (do_eval, files.dev, "dev", "--dev"),
                                      (do_predict, files.test, "test", "--test")):
        if wanted and path is None:
            raise RunError(f"no {split} file {where}: expected {split.replace('ing', '')}_data.txt there, "
                           f"or name it with {flag}")
    train, dev, test = read_in_order(
        ((files.train if config.do_train else None, "required"), (files.dev if do_eval else None, "required"),
         (files.test if do_predict else None, "optional")),
        pair=None if loaded is None else loaded.info.pair, multi_label=(loaded or config).multi_label,
        columns=config.columns(), on_bad_line=config.on_bad_line, label_separator=config.label_separator)
    for dataset in (train, dev, test):
        if dataset is not None and dataset.skipped:
            log.info(f"{dataset.path}: skipped {len(dataset.skipped)} bad line(s), used {len(dataset)}")
    return train, dev, test


def _new_classifier(config: RunConfig, train: Dataset) -> FineTuned:
    """The pretrained model with a fresh head for the training labels, and what it will be saved with."""
    from ..model import load_for_training

    label_map = task_of(config.multi_label).training_label_map(train, explicit=config.labels, order=config.label_order)
    model, tokenizer = load_for_training(config.model, label_map, vocab_file=config.vocab_file,
                                         do_lower_case=config.do_lower_case, bert_config_file=config.bert_config_file,
                                         trust_remote_code=config.trust_remote_code,
                                         multi_label=bool(config.multi_label))
    info = TrainingInfo(loss=config.loss, loss_options=config.loss_settings(label_map.labels),
                        class_counts=label_map.counts(train), max_seq_length=config.max_seq_length,
                        pair=train.is_pair, labels=list(label_map.labels), multi_label=bool(config.multi_label),
                        num_examples=len(train))
    task_of(config.multi_label).start_head(model, info.class_counts, info.num_examples)
    return FineTuned(config.output_dir, model, tokenizer, label_map, info)


def _given_classifier(config: RunConfig, loaded: FineTuned) -> FineTuned:
    if config.labels and list(config.labels) != list(loaded.label_map.labels):
        raise RunError(f"--labels {','.join(config.labels)} differs from the model's labels "
                       f"{','.join(loaded.label_map.labels)}")
    return loaded


def _fit_length(config: RunConfig, classifier: FineTuned) -> RunConfig:
    """``--max-seq-length`` cut to the model's positions, saying so."""
    limit = getattr(classifier.model.config, "max_position_embeddings", None)
    length = classifier.max_seq_length if not config.do_train else config.max_seq_length
    if limit and length > limit:
        log.info(f"--max-seq-length {length} is longer than the model's {limit} positions; using {limit}")
        classifier.info.max_seq_length = limit
        return config.replace(max_seq_length=limit)
    return config


def _loss(config: RunConfig, classifier: FineTuned):
    """The training objective: trained with when training, reported as ``eval_loss`` always."""
    from ..losses import get_loss
    from .trainer import use_cosine_head

    info = classifier.info
    name, options = info.scoring_loss(classifier.label_map)
    loss_fn = get_loss(name, info.class_counts or [1] * len(classifier.label_map), num_examples=info.num_examples,
                       **options)
    if config.do_train and getattr(loss_fn, "requires_cosine_head", False):
        use_cosine_head(classifier.model, loss_fn.scale)  # LDAM is defined on a cosine head
    return loss_fn


def _train(config: RunConfig, classifier: FineTuned, loss_fn, train: Dataset, dev: Dataset | None, output: Path,
           stages: Stages):
    from transformers import DataCollatorWithPadding

    from ..prediction import EncodedDataset
    from ..windows.reading import encode_windows
    from .documents import DocumentCollator
    from .trainer import (
        WeightedTrainer,
        evaluation_precision,
        mixed_precision,
        tensorboard_callback,
        trackers,
        training_args,
    )

    model, tokenizer, label_map = classifier.model, classifier.tokenizer, classifier.label_map
    check_disk(model, output, dev is not None)
    resume_from = resume_point(config, output, fingerprint(config, train, dev))
    plan = config.window_plan()
    with stages("tokenising"):
        windows = encode_windows(tokenizer, train.examples, config.max_seq_length, plan, progress=config.progress)
        train_set = EncodedDataset(windows.encodings, _targets(classifier, train),
                                   lines=[e.line for e in train.examples], starts=windows.starts, seed=config.seed,
                                   whole=config.window_training == "documents")
        _say_windows(train.path, windows, plan)
        if dev is not None:
            windows = encode_windows(tokenizer, dev.examples, config.max_seq_length, plan)
            dev_set = EncodedDataset(windows.encodings, _targets(classifier, dev), starts=windows.starts)
            _say_windows(dev.path, windows, plan)
        else:
            dev_set = None
    global_batch = config.batch_size * world_size() * config.gradient_accumulation_steps
    steps_per_epoch = max(1, math.ceil(len(train_set) / global_batch))
    args = training_args(config, output / CHECKPOINTS, dev is not None, steps_per_epoch)

    task = task_of(classifier.multi_label)

    def compute_metrics(prediction):  # each evaluation: what --metric-for-best-model can name
        return task.epoch_metrics(prediction.predictions, prediction.label_ids,
                                  train_counts=classifier.info.class_counts, many_threshold=config.many_threshold,
                                  few_threshold=config.few_threshold)

    trainer = WeightedTrainer(model=model, args=args, train_dataset=train_set, eval_dataset=dev_set,
                              data_collator=DocumentCollator(tokenizer) if train_set.whole
                              else DataCollatorWithPadding(tokenizer), processing_class=tokenizer,
                              compute_metrics=compute_metrics if dev is not None else None, loss_fn=loss_fn,
                              head_learning_rate=config.head_learning_rate, sampling=config.sampling,
                              skip_nonfinite=config.skip_nonfinite, train_source=train.path,
                              length_grouping=config.length_grouping, window_aggregation=plan.aggregation,
                              eval_precision=evaluation_precision(config.eval_precision,
                                                                  mixed_precision(config.precision)))
    if config.early_stopping_patience and dev is not None:
        from transformers import EarlyStoppingCallback

        trainer.add_callback(EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience))
    elif config.early_stopping_patience and was_given(config, "early_stopping_patience"):
        log.warning("--early-stopping-patience needs a dev set to watch; training runs its whole budget")
    elif dev is None:
        log.info(f"no dev set: all {config.epochs:g} epochs run (with a dev file, training stops once dev stops "
                 "improving, and the best epoch is kept)")
    if trackers(config)[1]:
        trainer.add_callback(tensorboard_callback(output / TENSORBOARD))
    decision = task.decision_text(config, target_prior(config, dev))
    log.info(f"training on {len(train_set)} examples, {len(label_map)} {task.noun}"
             f", {config.recipe_text()}; {decision}; precision {mixed_precision(config.precision)}")
    if resume_from:
        log.info(f"resuming from {resume_from} (a run of the same settings and data was stopped there)")
    try:
        with stages("training"):
            trainer.train(resume_from_checkpoint=resume_from)
    except pickle.UnpicklingError as err:
        if not resume_from:
            raise
        raise RunError(f"{resume_from}: refused to load it: a checkpoint file holds objects other than tensors "
                       f"({str(err).splitlines()[0][:120]}); nothing in it was run. Delete the checkpoint folder, "
                       "or pass --overwrite-output-dir to start afresh") from None
    stages.carve("training", trainer.seconds)
    if trainer.skipped_nonfinite:
        log.info(f"skipped {trainer.skipped_nonfinite} optimizer step(s) with a non-finite loss")
    return trainer


def _save(config: RunConfig, trainer, classifier: FineTuned, loss_fn, output: Path, train, dev) -> None:
    """The model folder (after the second stage, when asked), the class weights, the training
    log and its curves."""
    import torch

    from ..plots import training_curves_png

    # Mixed precision wraps the model's forward in autocast; scoring after this runs as asked.
    classifier.model = trainer.model = trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)
    info, label_map = classifier.info, classifier.label_map
    info.windows = config.window_plan().record()  # how the model reads long texts (the rule: dev's, later)
    if config.max_windows > 1:
        info.windows["training"] = config.window_training
    if config.stage2 != "none":
        from .stage2 import fit_stage2

        info.stage2 = fit_stage2(config, classifier, train, dev)
        trainer.eval_logits = {}  # dev's logits from training are not the model's any more
    options = {k: v for k, v in info.loss_options.items() if k != "labels"}
    scheme = options.get("class_weights")
    if isinstance(scheme, str) and scheme not in SCHEMES:  # a JSON file: keep its numbers, not its path
        options["class_weights"] = json.loads(Path(scheme).read_text(encoding="utf-8"))
    info.loss_options, info.max_seq_length = options, config.max_seq_length
    info.settings = dataclasses.asdict(config)
    save_fine_tuned(trainer.save_model, trainer.model, classifier.tokenizer, label_map, info, output)
    weights = next((w for w in (getattr(loss_fn, name, None) for name in ("weight", "alpha", "pos_weight"))
                    if isinstance(w, torch.Tensor)), None)  # weighted_ce's weights, focal's alpha, bce's pos_weight
    write_json(output / CLASS_WEIGHTS, {
        "loss": config.loss, **options, "labels": list(label_map.labels), "class_counts": info.class_counts,
        "weights": dict(zip(label_map.labels, weights.tolist())) if weights is not None
        else dict.fromkeys(label_map.labels, 1.0)})
    atomic_write_text(output / TRAINING_LOG, "".join(json.dumps(e) + "\n" for e in trainer.state.log_history))
    curves = training_curves_png(trainer.state.log_history)
    if curves is not None:
        atomic_write_bytes(output / TRAINING_CURVES, curves)


def export_saved(model_dir: Path) -> None:
    """The ONNX graph of the saved weights (calibration folded in), which ``--backend auto``
    answers through; a model the exporter cannot take is said, and answers with torch."""
    from ..export import export_onnx

    try:
        export_onnx(load_fine_tuned(model_dir))
    except Exception as err:  # an architecture the exporter cannot trace, onnxscript missing: the run stands
        log.warning(f"{model_dir}: no ONNX export ({type(err).__name__}: {err}); predict, evaluate and serve answer "
                    "with torch (--no-export-onnx skips the export)")


def label_task(config: RunConfig, train: Dataset) -> RunConfig:
    """The run's settings for the task its training file holds (said when it was detected)."""
    task = task_of(train.multi_label)
    task.check_training_data(train, config.label_separator)
    settled = config.with_task(train.multi_label)
    task.say_detected(train, settled, given=config.multi_label)
    return settled


def _targets(classifier: FineTuned, dataset: Dataset):
    """Class ids, or (multi-label) the 0/1 matrix of label sets."""
    return task_of(classifier.multi_label).targets(classifier.label_map, dataset)


def _say_windows(path, windows, plan) -> None:
    from ..windows.reading import summary

    said = summary(windows, plan)
    if said:
        log.info(f"{path}: {said}")


def _seed(seed: int) -> None:
    from transformers import set_seed

    set_seed(seed)
