"""The Hugging Face ``Trainer`` with our loss, sampler, head learning rate and speed log.

:class:`WeightedTrainer` overrides only what it must (sentence-transformers' habit):
``compute_loss``, the training sampler, the optimizer's parameter groups and the log line.
:func:`training_args` turns a :class:`~weighted_bert.config.RunConfig` into the
``TrainingArguments`` it runs with.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from transformers import Trainer, TrainerCallback, TrainingArguments

from ..config import PRECISIONS, RunConfig
from ..errors import RunError, check_choice
from ..log import get_logger
from ..losses import CosineClassifier
from ..outputs import outputs_of
from ..sampling.samplers import ClassAwareSampler, LengthGroupedSampler
from ..speed import automatic_precision, model_flops_per_token, peak_flops, remeasure_peak
from .documents import join_windows
from .resume import world_size

log = get_logger(__name__)


class NonFiniteLoss(RunError):
    """Training produced a NaN or infinite loss."""


class WeightedTrainer(Trainer):
    """``Trainer`` whose loss is our ``(logits, labels) -> scalar`` module.

    Only ``compute_loss`` is overridden. The loss is a per-batch mean, so the Trainer
    divides it by the gradient-accumulation steps itself.
    """

    def __init__(self, *args, loss_fn: torch.nn.Module, head_learning_rate: float | None = None,
                 sampling: str = "random", skip_nonfinite: bool = False, train_source: str = "training",
                 length_grouping: bool = False, window_aggregation: str = "mean", eval_precision: str = "fp32",
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.eval_precision = eval_precision  # dev at each evaluation; fp32's logits are kept for the final results
        self.length_grouping = length_grouping
        self.window_aggregation = window_aggregation  # long documents' windows so joined: dev's, whole training ones
        self._tokens = 0  # real (unpadded) training tokens since the last log line
        self.seconds = {"evaluation": 0.0, "checkpoints": 0.0}  # spent inside train(): weighted_bert.training.stages
        self.eval_logits: dict[int, np.ndarray] = {}  # step -> dev logits: the best evaluation's and the last
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
        if getattr(self.train_dataset, "starts", None) is not None and not self.train_dataset.whole:
            self.add_callback(_WindowTurns(self.train_dataset))

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
            logs = {**logs, "tokens_per_second": round(rate, 1), **self._mfu(rate)}
        if "loss" in logs:
            self._tokens, self._since = 0, time.perf_counter()
        super().log(logs, *args, **kwargs)

    def _mfu(self, rate: float) -> dict:
        """``mfu`` against this machine's best measured peak; above 1 the peak is measured
        again, and an MFU still above 1 comes with ``mfu_peak_in_doubt`` (said once)."""
        dtype = "bfloat16" if self.args.bf16 else "float16" if self.args.fp16 else "float32"
        device = str(self.args.device)
        flops = rate * model_flops_per_token(self.model, self.train_dataset.mean_length())
        mfu = flops / peak_flops(dtype, device)
        if mfu > 1:
            mfu = flops / remeasure_peak(dtype, device)
        if mfu <= 1:
            return {"mfu": round(mfu, 4)}
        if not getattr(self, "_said_doubt", False):
            self._said_doubt = True
            log.warning(f"MFU {mfu:.2f} is above 1: the measured {dtype} peak ({peak_flops(dtype, device) / 1e9:.0f} "
                        "GFLOP/s) is in doubt (measured while the machine was busy?)")
        return {"mfu": round(mfu, 4), "mfu_peak_in_doubt": True}

    def evaluate(self, *args, **kwargs):
        start = time.perf_counter()
        metrics = super().evaluate(*args, **kwargs)
        self.seconds["evaluation"] += time.perf_counter() - start
        self._tokens, self._since = 0, time.perf_counter()  # evaluation time is not training speed
        return metrics

    def evaluation_loop(self, dataloader, description, prediction_loss_only=None, ignore_keys=None,
                        metric_key_prefix="eval"):
        """Evaluation through our prediction path (length-sorted batches, in ``eval_precision``:
        see :func:`~weighted_bert.prediction.predict_logits`), measured about 3x faster on CPU
        than the Trainer's loop; in fp32 the numbers ``predict`` gives, and the logits are kept,
        so the best model's dev set is not scored again after training (bf16's are not: the
        final results are fp32's). Datasets other than ours take the Trainer's loop."""
        from transformers.trainer_utils import EvalLoopOutput, EvalPrediction

        from ..prediction import EncodedDataset, predict_logits
        from ..windows.reading import aggregate

        dataset = dataloader.dataset
        if not isinstance(dataset, EncodedDataset) or dataset.labels is None:
            return super().evaluation_loop(dataloader, description, prediction_loss_only, ignore_keys,
                                           metric_key_prefix)
        with _class_forward(self.accelerator.unwrap_model(self.model)) as model:
            window_logits = predict_logits(model, self.processing_class, dataset.encodings,
                                           batch_size=self.args.eval_batch_size, precision=self.eval_precision)
        labels = dataset.labels
        logits = window_logits if dataset.starts is None else aggregate(
            window_logits, dataset.starts, self.window_aggregation, outputs_of(labels.ndim == 2))
        metrics = self.compute_metrics(EvalPrediction(predictions=logits, label_ids=labels)) \
            if self.compute_metrics is not None else {}
        with torch.no_grad():
            target = torch.from_numpy(labels).to(self.args.device)
            metrics["loss"] = float(self.loss_fn(torch.from_numpy(logits).to(self.args.device), target))
        best = self.state.best_global_step
        self.eval_logits = {step: kept for step, kept in self.eval_logits.items() if step == best}
        if self.eval_precision == "fp32":
            self.eval_logits[self.state.global_step] = window_logits
        return EvalLoopOutput(predictions=logits, label_ids=labels, num_samples=len(labels),
                              metrics={f"{metric_key_prefix}_{k}": v for k, v in metrics.items()})

    def best_eval_logits(self) -> np.ndarray | None:
        """Dev logits of the model training ended with (the best evaluation's, when the best
        checkpoint was loaded), a row a window, or None when that evaluation is not in memory
        (a resumed run, or one evaluated in bf16)."""
        loaded_best = self.args.load_best_model_at_end and self.state.best_model_checkpoint is not None
        return self.eval_logits.get(self.state.best_global_step if loaded_best else self.state.global_step)

    def _save_checkpoint(self, *args, **kwargs):
        start = time.perf_counter()
        super()._save_checkpoint(*args, **kwargs)
        self.seconds["checkpoints"] += time.perf_counter() - start
        self._tokens, self._since = 0, time.perf_counter()

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
        counts = inputs.pop("window_counts", None)  # whole documents: the loss on each document's joined logits
        outputs = model(**inputs)
        logits = outputs.logits if counts is None else join_windows(outputs.logits, counts, self.window_aggregation,
                                                                    outputs_of(labels.ndim == 2))
        loss = self.loss_fn(logits, labels)
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


@contextmanager
def _class_forward(model):
    """``model`` running its class's ``forward``: accelerate wraps a mixed-precision model's
    forward in autocast as an instance attribute (measured: bf16 autocast scores about 1.7x
    slower than fp32 on a CPU, recasting the weights each call); put back afterwards."""
    wrapped = model.__dict__.pop("forward", None)
    try:
        yield model
    finally:
        if wrapped is not None:
            model.forward = wrapped


class _WindowTurns(TrainerCallback):
    """Each epoch a long training document gives its next window (see EncodedDataset)."""

    def __init__(self, dataset):
        self.dataset = dataset

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.dataset.set_epoch(math.floor(state.epoch + 1e-6))


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


def mixed_precision(choice: str, device: str | None = None) -> str:
    """The precision training runs in: ``choice``, where ``auto`` is
    :func:`~weighted_bert.speed.automatic_precision`'s."""
    check_choice("precision", choice, PRECISIONS)
    return automatic_precision(device=device) if choice == "auto" else choice


def evaluation_precision(choice: str, training: str) -> str:
    """The precision dev is scored in during training: ``choice``, where ``auto`` is bf16 when
    ``training`` (the resolved training precision) is bf16, else fp32."""
    return ("bf16" if training == "bf16" else "fp32") if choice == "auto" else choice


MIN_LAST_GAIN = 0.01  # relative to the previous evaluation's value


def still_improving(log_history: list[dict], metric: str) -> str | None:
    """A line for the log when the dev ``metric`` was best at the last evaluation and had
    improved on the one before by at least ``MIN_LAST_GAIN`` of its value (lower is better
    for ``nll``): the run ended while learning, and a longer budget may pay. None otherwise."""
    values = [entry[f"eval_{metric}"] for entry in log_history if f"eval_{metric}" in entry]
    if len(values) < 2:
        return None
    sign = -1.0 if metric == "nll" else 1.0
    previous, last = values[-2], values[-1]
    best_at_end = sign * last >= max(sign * v for v in values)
    if not best_at_end or sign * (last - previous) < MIN_LAST_GAIN * abs(previous):
        return None
    return (f"dev {metric} was still improving at the last evaluation ({previous:.3f} -> {last:.3f}, the best of "
            "the run): the model had not finished learning; more --epochs may help (--early-stopping-patience "
            "still ends the run once dev stops improving)")


def training_args(config: RunConfig, checkpoint_dir: Path, has_dev: bool, steps_per_epoch: int) -> TrainingArguments:
    precision = mixed_precision(config.precision)
    if config.max_steps > 0:
        total_steps = config.max_steps
    else:
        total_steps = math.ceil(steps_per_epoch * config.epochs)
    every_eval, every_save = config.eval_steps or config.save_steps, config.save_steps or config.eval_steps
    strategy = "steps" if every_eval else "epoch"
    # Several processes (torchrun, accelerate launch) on machines without a GPU: accelerate
    # only sets up CPU data parallelism (gloo) when told to use the CPU.
    cpu_ddp = world_size() > 1 and not torch.cuda.is_available()
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
        save_steps=every_save or 500,
        eval_steps=every_eval,
        save_total_limit=1,  # and the best one
        load_best_model_at_end=has_dev,
        metric_for_best_model=config.metric_for_best_model if has_dev else None,
        greater_is_better=config.metric_for_best_model != "nll",
        logging_strategy="steps",
        logging_steps=config.logging_steps,
        report_to=trackers(config)[0] or "none",
        run_name=config.run_name or Path(config.output_dir).name,
        dataloader_pin_memory=torch.cuda.is_available(),
        disable_tqdm=not config.progress,
        dataloader_num_workers=0,
        optim="adamw_torch_fused",  # one kernel for all parameters: measured faster on CPU too
        use_cpu=cpu_ddp or (precision == "bf16" and not torch.cuda.is_available()),  # CPU autocast
        ddp_backend="gloo" if cpu_ddp else None,
        remove_unused_columns=False,  # keep example_line: it names the lines of a batch whose loss is not finite
    )


def trackers(config: RunConfig) -> tuple[list[str], bool]:
    """(the trackers the Trainer reports to, whether we write TensorBoard ourselves). Our
    TensorBoard goes to ``OUTPUT/tensorboard`` (the Trainer's default is inside the
    checkpoints folder, removed after the run). A tracker whose package is missing stops the
    run now, not after training; ``all`` takes those installed."""
    import importlib.util

    packages = {"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb"}
    if config.report_to == "none":
        return [], False
    wanted = list(packages) if config.report_to == "all" else [config.report_to]
    installed = [t for t in wanted if importlib.util.find_spec(packages[t]) is not None]
    if config.report_to != "all" and not installed:
        raise RunError(f"--report-to {config.report_to} needs the {packages[config.report_to]} package: "
                       f"pip install {packages[config.report_to]}")
    return [t for t in installed if t != "tensorboard"], "tensorboard" in installed


def tensorboard_callback(output: Path):
    from transformers.integrations import TensorBoardCallback

    callback = TensorBoardCallback()
    callback.logging_dir = str(output)  # where TENSORBOARD_LOGGING_DIR would put it
    return callback


def use_cosine_head(model, scale: float) -> None:
    """Swap a BERT-style linear head for LDAM's cosine head (same ``classifier.weight``)."""
    head = getattr(model, "classifier", None)
    if not isinstance(head, torch.nn.Linear):
        raise RunError(f"the ldam loss needs a model with one linear classifier head (BERT-style); "
                       f"{type(model).__name__} has {type(head).__name__}")
    cosine = CosineClassifier(head.in_features, head.out_features, scale).to(head.weight.device)
    model.classifier = cosine
