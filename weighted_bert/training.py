"""Training: the Hugging Face ``Trainer`` with our loss, and the whole train/eval/predict run.

``run(RunConfig(...))`` is what ``weighted-bert train`` and the seed's
``run_classifier_weighted_loss.py`` both call.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import (
    DataCollatorWithPadding,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    set_seed,
)

from .data import Columns, Dataset, find_data_files, read_dataset
from .evaluation import (
    metrics_from_logits,
    run_split,
    write_evaluation,
    write_prediction_files,
)
from .io import atomic_write_bytes, atomic_write_text
from .labels import LabelMap, build_label_map
from .losses import CosineClassifier, get_loss, loss_options
from .metrics import FEW_THRESHOLD, MANY_THRESHOLD
from .model import TRAINING_INFO, load_fine_tuned, load_for_training
from .plots import training_curves_png
from .prediction import EncodedDataset, encode_examples
from .reports import write_json
from .run_report import build_report
from .sampling import ClassAwareSampler, LengthGroupedSampler
from .speed import cpu_supports_bf16, matmul_peak_flops, model_flops_per_token
from .weights import SCHEMES

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
RESULT_FILES = ("model", "eval_results.txt", "test_results.tsv", "predictions.tsv", "run_summary.json")
CHECKPOINTS = "checkpoints"
RUN_SETTINGS = "run_settings.json"  # in checkpoints/: what a resumed run must match
# Settings that change nothing the training computes: a rerun may differ in these and still resume.
NOT_TRAINING = ("output_dir", "progress", "overwrite_output_dir", "keep_checkpoints", "resume", "logging_steps",
                "eval_batch_size", "do_predict", "test_file", "calibration", "many_threshold", "few_threshold")


class RunError(RuntimeError):
    """A run that cannot go ahead; the message says why and what to change."""


class NonFiniteLoss(RunError):
    """Training produced a NaN or infinite loss."""


class WeightedTrainer(Trainer):
    """``Trainer`` whose loss is our ``(logits, labels) -> scalar`` module.

    Only ``compute_loss`` is overridden. The loss is a per-batch mean, so the Trainer
    divides it by the gradient-accumulation steps itself.
    """

    def __init__(self, *args, loss_fn: torch.nn.Module, head_learning_rate: float | None = None,
                 sampling: str = "random", skip_nonfinite: bool = False, train_source: str = "training",
                 length_grouping: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.length_grouping = length_grouping
        self._tokens = 0  # real (unpadded) training tokens since the last log line
        self._since = None
        self.skip_nonfinite = skip_nonfinite
        self.skipped_nonfinite = 0
        self.train_source = train_source
        self.loss_fn = loss_fn.to(self.args.device)
        self.head_learning_rate = head_learning_rate
        self.sampling = sampling
        self.model_accepts_loss_kwargs = False
        self.loss_is_scaled_for_ga = False
        if hasattr(loss_fn, "on_progress"):
            self.add_callback(_LossProgress(loss_fn))

    def _get_train_sampler(self, *args, **kwargs):
        if self.sampling == "random" and self.length_grouping:
            return LengthGroupedSampler(self.train_dataset.lengths(),
                                        self.args.train_batch_size * self.args.gradient_accumulation_steps,
                                        seed=self.args.seed)
        if self.sampling == "random":
            return super()._get_train_sampler(*args, **kwargs)
        return ClassAwareSampler(self.train_dataset.labels, self.sampling, seed=self.args.seed)

    def log(self, logs: dict, *args, **kwargs) -> None:
        """The Trainer's log line, with real tokens per second and MFU beside the loss
        (nanoGPT's habit): model FLOPs of the unpadded tokens over the measured matrix-
        multiply peak of this device in the training dtype (see :mod:`weighted_bert.speed`)."""
        now = time.perf_counter()
        tokens = int(self._tokens)
        if "loss" in logs and self._since is not None and now > self._since and tokens:
            rate = tokens / (now - self._since)
            dtype = "bfloat16" if self.args.bf16 else "float16" if self.args.fp16 else "float32"
            peak = matmul_peak_flops(dtype, self.args.device.type)
            flops = model_flops_per_token(self.model, self.train_dataset.mean_length())
            logs = {**logs, "tokens_per_second": round(rate, 1), "mfu": round(rate * flops / peak, 4)}
        if "loss" in logs:
            self._tokens, self._since = 0, time.perf_counter()
        super().log(logs, *args, **kwargs)

    def evaluate(self, *args, **kwargs):
        metrics = super().evaluate(*args, **kwargs)
        self._tokens, self._since = 0, time.perf_counter()  # evaluation time is not training speed
        return metrics

    def create_optimizer(self, *args, **kwargs):
        """The Trainer's optimizer, with the classification head (every parameter outside
        the pretrained encoder) in groups of its own at ``head_learning_rate``. A freshly
        initialised head learns many classes far faster at a higher rate than the encoder
        can take."""
        optimizer = super().create_optimizer(*args, **kwargs)
        if self.head_learning_rate is None:
            return optimizer
        return head_groups(optimizer, self.model, self.head_learning_rate)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs.pop("labels")
        lines = inputs.pop("example_line", None)
        if model.training and "attention_mask" in inputs:
            # A device tensor, read only at log time: no host sync each step on a GPU.
            self._tokens = self._tokens + inputs["attention_mask"].sum()
            if self._since is None:
                self._since = time.perf_counter()
        outputs = model(**inputs)
        loss = self.loss_fn(outputs.logits, labels)
        if model.training and not torch.isfinite(loss):
            loss = self._non_finite(loss, lines)
        return (loss, outputs) if return_outputs else loss

    def _non_finite(self, loss, lines):
        """Stop, naming the step and the batch's lines; or, with ``skip_nonfinite``, give
        this step no gradient and count it."""
        where = "" if lines is None else f" on the batch of {self.train_source} lines {sorted(lines.tolist())}"
        if not self.skip_nonfinite:
            raise NonFiniteLoss(f"the loss is {loss.item()} at optimizer step {self.state.global_step + 1}{where}; "
                                "stopped; the last complete checkpoint stays in checkpoints/; "
                                "--skip-nonfinite skips such steps instead")
        self.skipped_nonfinite += 1
        return torch.zeros((), device=loss.device, requires_grad=True)


def head_groups(optimizer, model, head_learning_rate: float):
    """Split each parameter group of a fresh ``optimizer`` into the encoder's parameters and
    the head's (every parameter outside ``model.base_model_prefix``), the head's at
    ``head_learning_rate``."""
    prefix = model.base_model_prefix + "."
    head = {id(p) for name, p in model.named_parameters() if not name.startswith(prefix)}
    groups = []
    for group in optimizer.param_groups:
        for is_head in (False, True):
            params = [p for p in group["params"] if (id(p) in head) == is_head]
            if params:
                groups.append({**group, "params": params, "lr": head_learning_rate if is_head else group["lr"]})
    optimizer.param_groups.clear()  # no step taken yet, so there is no state to move
    for group in groups:
        optimizer.add_param_group(group)
    return optimizer


class _LossProgress(TrainerCallback):
    """Tells a loss how far training has got (deferred re-weighting switches on with it)."""

    def __init__(self, loss_fn):
        self.loss_fn = loss_fn

    def on_step_begin(self, args, state, control, **kwargs):
        self.loss_fn.on_progress(state.global_step / max(state.max_steps, 1))


@dataclass
class RunConfig:
    """Everything one ``train`` run needs; the CLI flags map one to one onto these fields."""

    model: str
    output_dir: str
    data_dir: str | None = None
    train_file: str | None = None
    dev_file: str | None = None
    test_file: str | None = None
    text_column: str = "text"
    text_pair_column: str | None = None
    label_column: str = "label"
    labels: list[str] | None = None
    label_order: str = "sorted"
    do_train: bool = True
    do_eval: bool | None = None  # None: when a dev file is found
    do_predict: bool | None = None  # None: when a test file is found
    loss: str = "weighted_ce"
    class_weights: str | None = None  # None: the loss's default (inverse for weighted_ce, none for focal)
    weight_normalization: str = "sample_mean"
    loss_reduction: str = "mean"
    class_weight_beta: float = 0.9999
    label_smoothing: float = 0.0
    focal_gamma: float = 2.0
    dice_alpha: float = 0.1
    dice_smoothing: float = 1.0
    la_tau: float = 1.0
    ldam_max_margin: float = 0.5
    ldam_scale: float = 30.0
    drw_start: float | None = None
    sampling: str = "random"
    length_grouping: bool = True  # with random sampling: batches of similar length (less padding)
    calibration: bool = True  # apply a saved calibration.json when evaluating a fine-tuned model
    skip_nonfinite: bool = False  # skip (and count) optimizer steps whose loss is NaN or infinite
    batch_size: int = 32
    eval_batch_size: int = 64
    learning_rate: float = 5e-5
    head_learning_rate: float | None = None  # None: the same as learning_rate
    epochs: float = 3.0
    max_steps: int = -1
    gradient_accumulation_steps: int = 1
    weight_decay: float = 0.01
    max_seq_length: int = 128
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    seed: int = 42
    precision: str = "auto"
    logging_steps: int = 10
    on_bad_line: str = "error"
    overwrite_output_dir: bool = False
    keep_checkpoints: bool = False
    save_steps: int | None = None  # None: a checkpoint each epoch
    resume: bool = False  # True: a complete checkpoint must be there to resume from (rerunning resumes anyway)
    trust_remote_code: bool = False
    vocab_file: str | None = None  # a WordPiece vocabulary, for models without a tokenizer of their own
    do_lower_case: bool | None = None  # with vocab_file; None: True, as Google's BERT
    bert_config_file: str | None = None  # a TensorFlow checkpoint's bert_config.json
    many_threshold: int = MANY_THRESHOLD
    few_threshold: int = FEW_THRESHOLD
    progress: bool = True
    extra_loss_options: dict = field(default_factory=dict)

    def loss_kwargs(self, labels) -> dict:
        """The options of ``self.loss`` set in this config (see ``losses.loss_options``);
        an option left at None takes the loss's own default."""
        wanted = loss_options(self.loss)
        values = {**dataclasses.asdict(self), "labels": list(labels), **self.extra_loss_options}
        return {name: values[name] for name in wanted if values.get(name) is not None}

    def effective_loss_options(self, labels) -> dict:
        """Every option of the loss with the value it runs with (for the saved files)."""
        options = {**loss_options(self.loss), **self.loss_kwargs(labels)}
        options.pop("labels", None)
        return options


@dataclass
class RunResult:
    output_dir: str
    label_map: LabelMap
    train_counts: list[int] | None
    eval_metrics: dict | None = None
    test_metrics: dict | None = None
    global_step: int = 0


def _log(message: str) -> None:
    print(f"[weighted-bert] {message}", file=sys.stderr, flush=True)


def mixed_precision(choice: str, device: str | None = None) -> str:
    """``auto``: bf16 on GPUs that have it, fp16 (with loss scaling) on older GPUs, bf16
    autocast on CPUs with native bf16 (AVX512-BF16 or AMX), fp32 elsewhere."""
    if choice not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {choice!r}")
    if choice != "auto":
        return choice
    if torch.cuda.is_available() and device != "cpu":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if cpu_supports_bf16() else "fp32"


def _read_splits(config: RunConfig, pair: bool | None = None):
    files = find_data_files(config.data_dir, train=config.train_file, dev=config.dev_file,
                            test=config.test_file)
    where = f"in {config.data_dir}" if config.data_dir else "(no --data-dir)"
    do_eval = files.dev is not None if config.do_eval is None else config.do_eval
    do_predict = files.test is not None if config.do_predict is None else config.do_predict
    for wanted, path, split, flag in ((config.do_train, files.train, "training", "--train"),
                                      (do_eval, files.dev, "dev", "--dev"),
                                      (do_predict, files.test, "test", "--test")):
        if wanted and path is None:
            raise RunError(f"no {split} file {where}: expected {split.replace('ing', '')}_data.txt there, "
                           f"or name it with {flag}")
    columns = Columns(config.text_column, config.text_pair_column, config.label_column)
    read = dict(columns=columns, on_bad_line=config.on_bad_line)
    train = read_dataset(files.train, labels="required", pair=pair, **read) if config.do_train else None
    if train is not None:
        pair = train.is_pair
    dev = read_dataset(files.dev, labels="required", pair=pair, **read) if do_eval else None
    test = read_dataset(files.test, labels="optional", pair=pair, **read) if do_predict else None
    for dataset in (train, dev, test):
        if dataset is not None and dataset.skipped:
            _log(f"{dataset.path}: skipped {len(dataset.skipped)} bad line(s), used {len(dataset)}")
    return train, dev, test


def _check_output_dir(config: RunConfig) -> Path:
    output = Path(config.output_dir)
    if output.exists() and not output.is_dir():
        raise RunError(f"{output}: exists and is not a folder; expected an output folder")
    if config.do_train and not config.overwrite_output_dir:
        existing = [name for name in RESULT_FILES if (output / name).exists()]
        unfinished = not (output / "run_summary.json").exists() and complete_checkpoints(output / CHECKPOINTS)
        if existing and not unfinished:
            raise RunError(f"{output}: holds another run's results ({', '.join(existing)}); "
                           "choose a new --output-dir or pass --overwrite-output-dir")
    try:
        output.mkdir(parents=True, exist_ok=True)
        probe = output / f".weighted-bert-write-test-{_rank()}"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise RunError(f"{output}: cannot write there ({err.strerror})") from None
    return output


def _rank() -> int:
    """This process's rank under torchrun/accelerate (0 when not distributed)."""
    return int(os.environ.get("RANK", "0"))


def _world_size() -> int:
    """How many processes train together (``--batch-size`` is per process)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def complete_checkpoints(folder: Path) -> list[Path]:
    """The Trainer's checkpoints in ``folder`` that were written to the end, oldest first.

    The Trainer writes ``trainer_state.json`` after the weights, optimizer, scheduler and
    RNG states, so a checkpoint whose state file parses and names its own step was not
    cut short by a killed process."""
    found = []
    for path in Path(folder).glob("checkpoint-*"):
        step = path.name.removeprefix("checkpoint-")
        if not step.isdigit():
            continue
        try:
            state = json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if state.get("global_step") == int(step) and (path / "optimizer.pt").is_file():
            found.append((int(step), path))
    return [path for _, path in sorted(found)]


def _fingerprint(config: RunConfig, train: Dataset, dev: Dataset | None) -> dict:
    """What a run computes from: its settings and the bytes of its training and dev files."""
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k not in NOT_TRAINING}
    files = {split: hashlib.sha256(Path(data.path).read_bytes()).hexdigest()
             for split, data in (("train", train), ("dev", dev)) if data is not None and Path(data.path).is_file()}
    return {"settings": settings, "files_sha256": files}


def _resume_point(config: RunConfig, output: Path, fingerprint: dict) -> str | None:
    """The checkpoint to resume from, or None to start afresh (clearing old checkpoints).

    A folder holding checkpoints of an unfinished run with the same settings and data
    resumes from its last complete checkpoint; with other settings the run stops rather
    than mix two runs; ``--overwrite-output-dir`` starts afresh."""
    folder = output / CHECKPOINTS
    found = [] if config.overwrite_output_dir and not config.resume else complete_checkpoints(folder)
    if not found:
        if config.resume:
            raise RunError(f"{folder}: no complete checkpoint to resume from")
        if _rank() == 0:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            atomic_write_text(folder / RUN_SETTINGS, json.dumps(fingerprint, indent=2, default=str) + "\n")
        return None
    try:
        previous = json.loads((folder / RUN_SETTINGS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        previous = {}
    saved = json.loads(json.dumps(fingerprint, default=str))
    if previous != saved:
        differ = sorted({k for k in {**saved.get("settings", {}), **previous.get("settings", {})}
                         if saved["settings"].get(k) != previous.get("settings", {}).get(k)}
                        | {f"{k} file" for k in ("train", "dev")
                           if saved["files_sha256"].get(k) != previous.get("files_sha256", {}).get(k)})
        raise RunError(f"{folder}: holds checkpoints of an unfinished run with other settings or data "
                       f"({', '.join(differ) or 'unreadable run_settings.json'}); rerun with the same ones to "
                       "resume, or pass --overwrite-output-dir to start afresh")
    return str(found[-1])


def _check_disk(model, output: Path, has_dev: bool) -> None:
    """Stop now, not after an hour, when the disk cannot hold the checkpoints: each holds
    the weights and AdamW's two moments; the best and the last are kept, and a new one is
    written before an old one is removed."""
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    checkpoint = 3 * weights
    need = checkpoint * (3 if has_dev else 2) + weights
    free = shutil.disk_usage(output).free
    if free < need:
        raise RunError(f"{output}: {free / 1e9:.2f} GB free on its disk; this run needs about {need / 1e9:.2f} GB "
                       f"(checkpoints of {checkpoint / 1e9:.2f} GB each and the final model); free some space "
                       "or choose another --output-dir")


def _training_args(config: RunConfig, checkpoint_dir: Path, has_dev: bool, steps_per_epoch: int) -> TrainingArguments:
    precision = mixed_precision(config.precision)
    if config.max_steps > 0:
        total_steps = config.max_steps
    else:
        total_steps = math.ceil(steps_per_epoch * config.epochs)
    strategy = "steps" if config.save_steps else "epoch"
    # Several processes (torchrun, accelerate launch) on machines without a GPU: accelerate
    # only sets up CPU data parallelism (gloo) when told to use the CPU.
    cpu_ddp = _world_size() > 1 and not torch.cuda.is_available()
    return TrainingArguments(
        output_dir=str(checkpoint_dir),
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        learning_rate=config.learning_rate,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        weight_decay=config.weight_decay,
        warmup_steps=int(round(config.warmup_ratio * total_steps)),
        lr_scheduler_type="linear",
        max_grad_norm=config.max_grad_norm,
        seed=config.seed,
        data_seed=config.seed,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        eval_strategy=strategy if has_dev else "no",
        save_strategy=strategy,
        save_steps=config.save_steps or 500,
        eval_steps=config.save_steps,
        save_total_limit=1,  # and the best one
        load_best_model_at_end=has_dev,
        metric_for_best_model="macro_f1" if has_dev else None,
        greater_is_better=True,
        logging_strategy="steps",
        logging_steps=config.logging_steps,
        report_to="none",
        dataloader_pin_memory=torch.cuda.is_available(),
        disable_tqdm=not config.progress,
        dataloader_num_workers=0,
        optim="adamw_torch_fused",  # one kernel for all parameters: measured faster on CPU too
        use_cpu=cpu_ddp or (precision == "bf16" and not torch.cuda.is_available()),  # CPU autocast
        ddp_backend="gloo" if cpu_ddp else None,
        remove_unused_columns=False,  # keep example_line: it names the lines of a batch whose loss is not finite
    )


def run(config: RunConfig) -> RunResult:
    """Train (optionally), evaluate on dev and predict on test, writing the result files.

    ``run_summary.json`` is written last: its presence marks a finished run."""
    started = time.perf_counter()
    fine_tuned = None if config.do_train else load_fine_tuned(
        config.model, trust_remote_code=config.trust_remote_code, vocab_file=config.vocab_file,
        do_lower_case=config.do_lower_case, bert_config_file=config.bert_config_file, labels=config.labels)
    train, dev, test = _read_splits(config, pair=fine_tuned.info.get("pair") if fine_tuned else None)
    output = _check_output_dir(config)
    set_seed(config.seed)

    if config.do_train:
        label_map = build_label_map(train, explicit=config.labels, order=config.label_order)
        train_counts = label_map.counts(train)
        model, tokenizer = load_for_training(config.model, label_map, vocab_file=config.vocab_file,
                                             do_lower_case=config.do_lower_case,
                                             bert_config_file=config.bert_config_file,
                                             trust_remote_code=config.trust_remote_code)
        loss_name, loss_kwargs = config.loss, config.loss_kwargs(label_map.labels)
        max_seq_length = config.max_seq_length
    else:
        model, tokenizer, label_map = fine_tuned.model, fine_tuned.tokenizer, fine_tuned.label_map
        if config.labels and list(config.labels) != list(label_map.labels):
            raise RunError(f"--labels {','.join(config.labels)} differs from the model's labels "
                           f"{','.join(label_map.labels)}")
        info = fine_tuned.info
        train_counts = info.get("class_counts")
        loss_name, loss_kwargs = saved_loss(info, label_map)
        max_seq_length = info.get("max_seq_length", config.max_seq_length)
    limit = getattr(model.config, "max_position_embeddings", None)
    if limit and max_seq_length > limit:
        _log(f"--max-seq-length {max_seq_length} is longer than the model's {limit} positions; using {limit}")
        max_seq_length = limit
        config = dataclasses.replace(config, max_seq_length=limit)
    loss_fn = get_loss(loss_name, train_counts or [1] * len(label_map), **loss_kwargs)
    if config.do_train and getattr(loss_fn, "requires_cosine_head", False):
        use_cosine_head(model, loss_fn.scale)
    dev_ids = label_map.encode(dev) if dev is not None else None
    if test is not None and test.has_labels:
        label_map.encode(test)  # unknown test labels stop the run now, not after training

    result = RunResult(str(output), label_map, train_counts)
    if config.do_train:
        _check_disk(model, output, dev is not None)
        resume_from = _resume_point(config, output, _fingerprint(config, train, dev))
        trainer = _train(config, model, tokenizer, loss_fn, label_map, train, dev, dev_ids, output, resume_from)
        result.global_step = trainer.state.global_step
        if not trainer.is_world_process_zero():
            return result  # process 0 evaluates and writes every file
        # Mixed precision wraps the model's forward in autocast; scoring below runs as asked.
        model = trainer.model = trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)
        _save_model(trainer, tokenizer, label_map, train_counts, loss_fn, config, output, pair=train.is_pair)
        atomic_write_text(output / "training_log.jsonl", "".join(
            json.dumps(entry) + "\n" for entry in trainer.state.log_history))
        curves = training_curves_png(trainer.state.log_history)
        if curves is not None:
            atomic_write_bytes(output / "training_curves.png", curves)

    shots = dict(many_threshold=config.many_threshold, few_threshold=config.few_threshold)

    def split_logits(dataset):
        logits = run_split(model, tokenizer, dataset, label_map, max_seq_length=max_seq_length,
                           batch_size=config.eval_batch_size)
        if fine_tuned is None:
            return logits
        return fine_tuned.logits(logits, use_calibration=config.calibration, log=_log)

    if dev is not None:
        logits = split_logits(dev)
        result.eval_metrics = write_evaluation(output, logits, dev, label_map, loss_fn=loss_fn,
                                               train_counts=train_counts, extra={"global_step": result.global_step},
                                               **shots)
        write_prediction_files(output, logits, dev, label_map, split="dev")
        _log("dev: " + _summary(result.eval_metrics))
    if test is not None:
        logits = split_logits(test)
        write_prediction_files(output, logits, test, label_map)
        if test.has_labels:
            result.test_metrics = write_evaluation(output, logits, test, label_map, prefix="test",
                                                   loss_fn=loss_fn, train_counts=train_counts, **shots)
            _log("test: " + _summary(result.test_metrics))
        _log(f"wrote {output / 'test_results.tsv'} and predictions.tsv ({len(test)} lines)")
    if not (output / "label_map.json").is_file():
        label_map.save(output / "label_map.json")
    if dev is not None or (test is not None and test.has_labels):
        report = build_report(output)
        if report is not None:
            _log(f"report: {report}")
    write_json(output / "run_summary.json", {
        "global_step": result.global_step, "seconds": time.perf_counter() - started,
        "eval": _scalars(result.eval_metrics), "test": _scalars(result.test_metrics),
        "settings": dataclasses.asdict(config)})
    if config.do_train and not config.keep_checkpoints:
        shutil.rmtree(output / CHECKPOINTS, ignore_errors=True)  # only now: a run killed before this resumes
    return result


def _scalars(metrics: dict | None) -> dict | None:
    return None if metrics is None else {k: v for k, v in metrics.items() if isinstance(v, (int, float))}


def saved_loss(info: dict, label_map: LabelMap) -> tuple[str, dict]:
    """The loss a saved model was trained with, to score it the same way; plain
    cross-entropy when the folder does not say (a model from elsewhere)."""
    if not info.get("class_counts"):
        return "ce", {}
    name, options = info.get("loss", "ce"), dict(info.get("loss_options", {}))
    if "labels" in loss_options(name):
        options["labels"] = list(label_map.labels)
    return name, options


def use_cosine_head(model, scale: float) -> None:
    """Swap a BERT-style linear head for LDAM's cosine head (same ``classifier.weight``)."""
    head = getattr(model, "classifier", None)
    if not isinstance(head, torch.nn.Linear):
        raise RunError(f"the ldam loss needs a model with one linear classifier head (BERT-style); "
                       f"{type(model).__name__} has {type(head).__name__}")
    cosine = CosineClassifier(head.in_features, head.out_features, scale).to(head.weight.device)
    model.classifier = cosine


@contextlib.contextmanager
def plain_head(model):
    """While saving: a cosine head as the linear layer ``scale * normalise(W) x`` (bias 0),
    so the folder loads in plain transformers with the same predicted class (the
    probabilities differ by the feature norm); ``load_fine_tuned`` restores the cosine head
    from ``weighted_bert.json``."""
    head = getattr(model, "classifier", None)
    if not isinstance(head, CosineClassifier):
        yield None
        return
    linear = torch.nn.Linear(head.weight.shape[1], head.weight.shape[0]).to(head.weight.device)
    with torch.no_grad():
        linear.weight.copy_(head.scale * torch.nn.functional.normalize(head.weight, dim=-1))
        linear.bias.zero_()
    model.classifier = linear
    try:
        yield {"type": "cosine", "scale": head.scale}
    finally:
        model.classifier = head


def _summary(metrics: dict) -> str:
    keys = ("accuracy", "macro_f1", "few_shot_accuracy", "loss")
    return ", ".join(f"{k} {metrics[k]:.4f}" for k in keys if k in metrics)


def _train(config, model, tokenizer, loss_fn, label_map, train: Dataset, dev: Dataset | None, dev_ids,
           output: Path, resume_from: str | None = None) -> Trainer:
    train_ids = label_map.encode(train)
    train_set = EncodedDataset(encode_examples(tokenizer, train.examples, config.max_seq_length,
                                               progress=config.progress), train_ids,
                               lines=[e.line for e in train.examples])
    dev_set = (EncodedDataset(encode_examples(tokenizer, dev.examples, config.max_seq_length), dev_ids)
               if dev is not None else None)
    global_batch = config.batch_size * _world_size() * config.gradient_accumulation_steps
    steps_per_epoch = max(1, math.ceil(len(train_set) / global_batch))
    checkpoint_dir = output / CHECKPOINTS
    args = _training_args(config, checkpoint_dir, dev is not None, steps_per_epoch)

    def compute_metrics(prediction):
        return metrics_from_logits(prediction.predictions, prediction.label_ids)

    trainer = WeightedTrainer(model=model, args=args, train_dataset=train_set, eval_dataset=dev_set,
                              data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer,
                              compute_metrics=compute_metrics if dev is not None else None, loss_fn=loss_fn,
                              head_learning_rate=config.head_learning_rate, sampling=config.sampling,
                              skip_nonfinite=config.skip_nonfinite, train_source=train.path,
                              length_grouping=config.length_grouping)
    _log(f"training on {len(train_set)} examples, {len(label_map)} classes, loss {config.loss}, "
         f"precision {mixed_precision(config.precision)}")
    if resume_from:
        _log(f"resuming from {resume_from} (a run of the same settings and data was stopped there)")
    trainer.train(resume_from_checkpoint=resume_from)
    if trainer.skipped_nonfinite:
        _log(f"skipped {trainer.skipped_nonfinite} optimizer step(s) with a non-finite loss")
    return trainer


def _save_model(trainer, tokenizer, label_map: LabelMap, train_counts, loss_fn, config: RunConfig,
                output: Path, *, pair: bool) -> None:
    model_dir = output / "model"
    staging = output / ".model.partial"
    shutil.rmtree(staging, ignore_errors=True)
    with plain_head(trainer.model) as head:
        trainer.save_model(str(staging))
    (staging / "training_args.bin").unlink(missing_ok=True)  # a pickle; the settings are in weighted_bert.json
    tokenizer.save_pretrained(str(staging))
    label_map.save(staging / "label_map.json")
    loss_kwargs = config.effective_loss_options(label_map.labels)
    scheme = loss_kwargs.get("class_weights")
    if isinstance(scheme, str) and scheme not in SCHEMES:  # a JSON file: keep its numbers, not its path
        loss_kwargs["class_weights"] = json.loads(Path(scheme).read_text(encoding="utf-8"))
    info = {"loss": config.loss, "loss_options": loss_kwargs, "class_counts": train_counts,
            "max_seq_length": config.max_seq_length, "pair": pair, "labels": list(label_map.labels),
            "settings": dataclasses.asdict(config), **({"head": head} if head else {})}
    atomic_write_text(staging / TRAINING_INFO, json.dumps(info, ensure_ascii=False, indent=2) + "\n")
    if model_dir.exists():
        shutil.rmtree(model_dir)
    staging.rename(model_dir)
    label_map.save(output / "label_map.json")
    weights = next((w for w in (getattr(loss_fn, name, None) for name in ("weight", "alpha"))
                    if isinstance(w, torch.Tensor)), None)  # weighted_ce's weights, focal's alpha
    write_json(output / "class_weights.json", {
        "loss": config.loss,
        **loss_kwargs,
        "labels": list(label_map.labels),
        "class_counts": train_counts,
        "weights": dict(zip(label_map.labels, weights.tolist())) if weights is not None
        else dict.fromkeys(label_map.labels, 1.0),
    })
