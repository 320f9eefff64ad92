"""Every setting of a run, once: its default, its help text and its check.

:class:`RunConfig` is what ``weighted-bert train`` runs; its fields give the ``train`` and
``compare`` flags, the seed script's flags (types included), ``train --config run.yaml``
and sweep files. The commands that use a trained model have theirs in
:mod:`weighted_bert.scoring_config`. A value is checked when the object is made,
before any data or model is read. The one-line comment by a default says why it is what
it is (nanoGPT's ``train.py`` habit).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import ClassVar

from .data.readers import ON_BAD_LINE, Columns
from .errors import SettingError
from .labels import LABEL_ORDERS
from .loss_settings import LOSS_SETTINGS, MULTI_LABEL_LOSSES, LossSettings, unread_loss_settings
from .multilabel import THRESHOLD_MODES
from .recipes import MULTI_LABEL_RECIPE, RECIPES
from .sampling import SAMPLINGS
from .settings import at_least, between, remember_given, resolved_copy, setting, validate, was_given
from .shot_groups import FEW_THRESHOLD, MANY_THRESHOLD
from .stage2 import STAGES
from .windows import (
    AGGREGATIONS,
    DOCUMENT_RULE,
    MAX_WINDOWS,
    WINDOW_CHOICE,
    WINDOW_TRAINING,
    WINDOW_TRAININGS,
    WindowPlan,
    check_windows,
    default_stride,
)

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
SCORING_PRECISIONS = ("fp32", "bf16")
BACKENDS = ("auto", "torch", "onnx", "onnx-int8", "openvino")  # auto: export.resolve_backend
BEST_MODEL_METRICS = ("macro_f1", "balanced_accuracy", "few_shot_accuracy", "accuracy", "nll", "micro_f1", "map")
MULTI_LABEL_METRICS = ("macro_f1", "micro_f1", "map", "nll")  # what a multi-label dev evaluation has
TRACKERS = ("none", "tensorboard", "mlflow", "wandb", "all")
TARGET_PRIORS = ("dev", "train", "uniform", "none")  # or a JSON file of label -> frequency; none: train only


def _prior_name_or_file(value: str) -> str | None:
    if value in TARGET_PRIORS or Path(value).is_file():
        return None
    return f"is neither one of {', '.join(TARGET_PRIORS)} nor an existing JSON file of label -> frequency"


def _off_or_positive(value: int) -> str | None:
    return None if value == -1 or value >= 1 else "is not -1 (off) or a whole number >= 1"


@dataclass(kw_only=True)
class DataSettings:
    """How data files are read (shared by training and scoring)."""

    text_column: str = setting("text", "column/key of the text in TSV, CSV or JSONL files", group="data")
    text_pair_column: str | None = setting(None, "column/key of the second text for sentence-pair tasks",
                                           group="data", default_text="none: single sentences")
    label_column: str = setting("label", "column/key of the label", group="data")
    label_separator: str | None = setting(None, "multi-label TSV/CSV/.txt files: the character between the labels "
                                          "of a row in the label field (a JSONL file gives a list)", group="data",
                                          check=lambda v: None if v and v.strip() and "\t" not in v and "\n" not in v
                                          else "is empty, blank, or holds a tab or a line end",
                                          default_text=", when the task is multi-label")
    on_bad_line: str = setting("error", "a malformed line stops the run (error) or is skipped and counted "
                               "(skip; warn also names it)", choices=ON_BAD_LINE, group="data")

    def columns(self) -> Columns:
        return Columns(self.text_column, self.text_pair_column, self.label_column)


# A multi-label task's head learning rate when none is given. benchmarks/budget.py, 3 seeds each:
# at 3e-2 against 1e-2, clinc_compositional +3.7 points of test macro-F1 (0.743 against 0.706),
# debian_tags -0.5 (0.373 against 0.379); single-label sets lose at 3e-2 (CLINC150-LT -3.1, debian_role -6.2).
MULTI_LABEL_HEAD_LEARNING_RATE = 3e-2


@dataclass(kw_only=True)
class RunConfig(DataSettings, LossSettings):
    """Everything one ``train`` run needs."""

    GROUP_ORDER: ClassVar = ("model and output", "data", "labels", "what to run", "loss", "sampling",
                             "optimisation", "long documents", "run", "evaluation")

    model: str = setting(help="Hugging Face model folder, a train output folder, a Google TensorFlow "
                         "checkpoint, or a hub name", aliases=("model-name-or-path",), seed=("init_checkpoint",),
                         group="model and output")
    output_dir: str = setting(help="folder for the model and result files", group="model and output")
    data_dir: str | None = setting(None, "folder with train_data.txt, dev_data.txt, test_data.txt (the seed's "
                                   "names) or train/dev/test.{txt,tsv,csv,jsonl}", group="data")
    train_file: str | None = setting(None, "training file (overrides --data-dir)", flag="train",
                                     aliases=("train-file",), group="data")
    dev_file: str | None = setting(None, "dev file (overrides --data-dir)", flag="dev",
                                   aliases=("dev-file", "validation-file"), group="data")
    test_file: str | None = setting(None, "test file, labels optional (overrides --data-dir)", flag="test",
                                    aliases=("test-file",), group="data")
    exclude: str | None = setting(None, "leave out the training rows that `weighted-bert audit`'s label_issues.tsv "
                                  "flags (checked against the training file; the rows left out are written to "
                                  "excluded_rows.tsv)", group="data", default_text="keep every row")
    exclude_top: int | None = setting(None, "with --exclude: leave out the N rows with the lowest label quality "
                                      "instead of the flagged ones", check=at_least(1), group="data")
    relabel: str | None = setting(None, "give the training rows that `weighted-bert audit`'s label_issues.tsv flags "
                                  "the label it suggests, for a list a person has reviewed (checked against the "
                                  "training file; the rows changed are written to relabelled_rows.tsv)", group="data",
                                  default_text="keep every label")
    labels: list[str] | None = setting(None, "comma-separated label order (the columns of test_results.tsv)",
                                       group="labels", default_text="from the training data")
    multi_label: bool | None = setting(None, "each text has a set of labels (none, one or several): sigmoid "
                                       "outputs, a multi-label loss and per-label thresholds", group="labels",
                                       default_text="when the training file's labels are JSONL lists, or "
                                       "--label-separator is given")
    label_order: str = setting("sorted", "order of labels read from training data, unless numeric or --labels",
                               choices=LABEL_ORDERS, group="labels")  # sorted: the same map whatever the line order
    do_train: bool = setting(True, "train; --no-do-train evaluates/predicts with --model as is", group="what to run")
    do_eval: bool | None = setting(None, "evaluate on dev", group="what to run",
                                   default_text="when a dev file is found")
    do_predict: bool | None = setting(None, "predict the test file", group="what to run",
                                      default_text="when a test file is found")
    target_prior: str | None = setting(None, "the class frequencies the model will meet, for which the decision is "
                                       "fitted on dev after training (temperature and a logit shift, kept only when "
                                       "they beat noise; see calibrate): dev (dev's own), train, uniform (every "
                                       "class alike), a JSON file label -> frequency, or none (fit nothing)",
                                       check=_prior_name_or_file, group="evaluation",
                                       default_text="dev when there is a dev set, else none")
    stage2: str = setting("none", "after training, fit the classifier again on the encoder's features: tau_norm "
                          "(class rows over their norm^tau, tau on dev), crt (retrained class-balanced), lws (a "
                          "learned scale a class); folded into the model", choices=STAGES, group="sampling")
    sampling: str = setting("random", "random, class_balanced (each class equally likely) or sqrt (class "
                            "probability proportional to sqrt(n_c))", choices=SAMPLINGS, group="sampling")
    length_grouping: bool = setting(True, "with random sampling, batch examples of similar length so that little "
                                    "is padded", group="sampling")
    batch_size: int = setting(32, "training batch size per device", check=at_least(1),
                              aliases=("per-device-train-batch-size",), seed=("train_batch_size",),
                              group="optimisation")
    eval_batch_size: int = setting(64, "evaluation/prediction batch size", check=at_least(1),
                                   aliases=("per-device-eval-batch-size",),
                                   seed=("eval_batch_size", "predict_batch_size"), group="optimisation")
    # The budget (both learning rates, epochs, early stopping) is the best over the five benchmark
    # sets of benchmarks/budget.py (results/budget.md). A new head is a linear layer that learns
    # from scratch: at the encoder's rate it barely moves (macro-F1 0.14 against 0.79 on CLINC150-LT).
    # A multi-label head (one sigmoid a label, most of its targets 0) wants a higher rate: see
    # MULTI_LABEL_HEAD_LEARNING_RATE.
    learning_rate: float = setting(1e-4, "peak AdamW learning rate of the encoder", check=at_least(0, strict=True),
                                   group="optimisation")
    head_learning_rate: float | None = setting(1e-2, "peak learning rate of the new classification head (none: "
                                               "--learning-rate)", check=at_least(0, strict=True),
                                               group="optimisation", default_text="1e-2; a multi-label task "
                                               f"{MULTI_LABEL_HEAD_LEARNING_RATE:g}")
    epochs: float = setting(10.0, "training epochs; with a dev set, at most (see --early-stopping-patience)",
                            check=at_least(0, strict=True), aliases=("num-train-epochs",),
                            seed=("num_train_epochs",), group="optimisation")
    max_steps: int = setting(-1, "stop after this many optimizer steps (overrides --epochs); -1: off",
                             check=_off_or_positive, group="optimisation")
    gradient_accumulation_steps: int = setting(1, "batches per optimizer step", check=at_least(1),
                                               group="optimisation")
    weight_decay: float = setting(0.01, "AdamW weight decay", check=at_least(0), group="optimisation")  # BERT's
    max_seq_length: int = setting(128, "truncate inputs to this many tokens", check=at_least(2),
                                  group="optimisation")  # the seed's train.sh
    stride: int | None = setting(None, "a text longer than --max-seq-length is read in windows that share this many "
                                 "tokens with their neighbour", check=at_least(0), group="long documents",
                                 default_text="a quarter of --max-seq-length")
    max_windows: int = setting(MAX_WINDOWS, "windows a text is read in at most (what lies beyond is cut, and "
                               "reported); 1: truncate at --max-seq-length; more: see `stats`", check=at_least(1),
                               group="long documents")  # why 1: weighted_bert/windows/__init__.py
    window_aggregation: str = setting(WINDOW_CHOICE, "how a long text's windows answer together: mean (of the "
                                      "logits), max (per class, of the probabilities), first (the first window's), "
                                      "logsumexp (per class, a smooth max of the logits), or auto (the one that "
                                      "scores best on dev's long texts; when it has none, mean, or logsumexp after "
                                      "--window-training documents)", choices=(WINDOW_CHOICE, *AGGREGATIONS),
                                      group="long documents")
    window_training: str = setting(WINDOW_TRAINING, "how training reads a long text: turns (each epoch one of its "
                                   "windows, in turn, taught the text's label) or documents (all its windows in one "
                                   "step, the loss on their joined logits: the model learns which windows carry the "
                                   "evidence; an epoch costs every window, a batch holds up to --batch-size x "
                                   "--max-windows windows)", choices=WINDOW_TRAININGS, group="long documents")
    warmup_ratio: float = setting(0.1, "fraction of steps with linear warmup", check=between(0, 1),
                                  seed=("warmup_proportion",), group="optimisation")  # the seed's warmup_proportion
    max_grad_norm: float = setting(1.0, "gradient clipping norm", check=at_least(0, strict=True),
                                   group="optimisation")  # BERT's
    seed: int = setting(42, "random seed", check=at_least(0), group="optimisation")
    precision: str = setting("auto", "auto: bf16 on GPUs that have it, fp16 on older GPUs, bf16 autocast on CPUs "
                             "where it measures faster than fp32, fp32 otherwise", choices=PRECISIONS,
                             group="optimisation")
    eval_precision: str = setting("auto", "the precision dev is scored in at each evaluation during training (what "
                                  "picks the best checkpoint and stops early): auto: bf16 where training runs in "
                                  "bf16, else fp32; the final dev and test results are scored in fp32 either way",
                                  choices=("auto", *SCORING_PRECISIONS), group="optimisation")
    logging_steps: int = setting(10, "log the training loss every N steps", check=at_least(1), group="optimisation")
    overwrite_output_dir: bool = setting(False, "allow writing over another run's results in --output-dir")
    keep_checkpoints: bool = setting(False, "keep the checkpoints folder after a finished run")
    export_onnx: bool = setting(True, "after training, also write model/onnx/model.onnx (checked against PyTorch): "
                                "predict, evaluate, serve and weighted_bert.load answer through it by default (the "
                                "same answers, a start without torch); costs an export (about 8 s for MiniLM-L6) and "
                                "a second copy of the weights on disk", group="model and output")
    save_steps: int | None = setting(None, "write a resumable checkpoint (and score dev) every N optimizer steps",
                                     check=at_least(1), seed=("save_checkpoints_steps",), default_text="each epoch")
    resume: bool = setting(False, "resume from the last complete checkpoint in --output-dir, and fail if there is "
                           "none (rerunning the same command resumes anyway)")
    skip_nonfinite: bool = setting(False, "skip (and count) steps whose loss is NaN or infinite instead of stopping")
    trust_remote_code: bool = setting(False, "allow model folders that ship their own Python code",
                                      group="model and output")
    vocab_file: str | None = setting(None, "WordPiece vocab.txt, for a model without a tokenizer of its own (a "
                                     "Google TensorFlow folder has one)", group="model and output")
    do_lower_case: bool | None = setting(None, "lower-case with --vocab-file", group="model and output",
                                         default_text="yes, as Google's BERT")
    bert_config_file: str | None = setting(None, "bert_config.json of a TensorFlow checkpoint not beside it",
                                           group="model and output")
    language: str | None = setting(None, "language of the texts (ISO 639-1 code: en, zh, ...), for the model card",
                                   group="model and output", default_text="not stated")
    many_threshold: int = setting(MANY_THRESHOLD, "classes with more training examples are many-shot",
                                  check=at_least(0), group="evaluation")  # why: weighted_bert/shot_groups.py
    few_threshold: int = setting(FEW_THRESHOLD, "classes with fewer training examples are few-shot", check=at_least(0),
                                 group="evaluation")
    thresholds: str = setting("per_label", "multi-label: decision thresholds fitted on dev after training, to "
                              "maximise each label's F1 (per_label: its own cut pulled toward one shared macro-F1 cut, "
                              "the harder the fewer dev positives it has) or micro-F1 (global); kept only when they "
                              "beat 0.5 beyond noise",
                              choices=THRESHOLD_MODES, group="evaluation")
    calibration: bool = setting(True, "apply a model folder's calibration.json (from `weighted-bert calibrate`) "
                                "when scoring a fine-tuned model", group="evaluation")
    metric_for_best_model: str = setting("macro_f1", "the dev score that picks the final checkpoint (the best "
                                         "evaluation's) and that early stopping watches; nll: lowest is best",
                                         choices=BEST_MODEL_METRICS, group="evaluation")  # long tail: every class
    early_stopping_patience: int | None = setting(2, "stop after this many evaluations in a row without a "
                                                  "better --metric-for-best-model (none: every epoch runs); needs "
                                                  "a dev set", check=at_least(1), group="evaluation")
    eval_steps: int | None = setting(None, "score dev every N optimizer steps", check=at_least(1), group="evaluation",
                                     default_text="each epoch, or every --save-steps")
    progress: bool = setting(True, "progress bars")
    report_to: str = setting("none", "follow the run in a tracker (the loss, learning rate, tokens/s and MFU "
                             "every --logging-steps, dev metrics each evaluation); tensorboard writes to "
                             "OUTPUT/tensorboard", choices=TRACKERS)
    run_name: str | None = setting(None, "the run's name in the tracker", default_text="the output folder's name")

    def __post_init__(self):
        remember_given(self)
        self._apply_recipe()
        validate(self)
        self._settle_task()
        check_windows(self.max_seq_length, self.window_plan().stride, self.max_windows)
        if self.stride is not None and self.max_windows == 1:
            raise SettingError("stride", self.stride, "is the overlap of windows; it needs --max-windows above 1 "
                               "(1, the default, truncates)")
        if was_given(self, "window_training") and self.max_windows == 1:
            raise SettingError("window_training", self.window_training, "is how training reads texts longer than "
                               "one window; it needs --max-windows above 1 (1, the default, truncates)")
        if self.exclude_top is not None and self.exclude is None:
            raise SettingError("exclude_top", self.exclude_top, "chooses rows of the --exclude file; give --exclude "
                               "label_issues.tsv too")
        if self.exclude is not None and self.relabel is not None:
            raise SettingError("relabel", self.relabel, "and --exclude both act on the audited rows; give one of "
                               "them")
        if self.few_threshold > self.many_threshold:
            raise SettingError("few_threshold", self.few_threshold, f"is above many_threshold {self.many_threshold}")
        if self.eval_steps and self.save_steps and self.save_steps % self.eval_steps:
            raise SettingError("save_steps", self.save_steps, f"is not a multiple of eval_steps {self.eval_steps} "
                               "(the best checkpoint must be one that was scored)")
        if self.class_weights is not None and "class_weights" not in LOSS_SETTINGS[self.loss]:
            takers = ", ".join(name for name, reads in LOSS_SETTINGS.items() if "class_weights" in reads)
            raise SettingError("class_weights", self.class_weights, f"is not read by loss {self.loss}; the losses "
                               f"that take class weights: {takers}")

    def window_plan(self) -> WindowPlan:
        """How training reads long texts (``auto``: mean until dev has chosen; training on whole
        documents joins their windows by logsumexp)."""
        stride = default_stride(self.max_seq_length) if self.stride is None else self.stride
        auto = DOCUMENT_RULE if self.window_training == "documents" else AGGREGATIONS[0]
        rule = auto if self.window_aggregation == WINDOW_CHOICE else self.window_aggregation
        return WindowPlan(stride, self.max_windows, rule)

    def _settle_task(self) -> None:
        """Single- or multi-label from what was given: a multi-label loss or ``label_separator``
        makes the task multi-label (see :meth:`_settle_multi_label`). Anything that contradicts
        the task is an error."""
        given = self.multi_label
        if self.multi_label is None and (self.loss in MULTI_LABEL_LOSSES or self.label_separator is not None):
            self.multi_label = True
        if given is False and (self.loss in MULTI_LABEL_LOSSES or self.label_separator is not None):
            name = "loss" if self.loss in MULTI_LABEL_LOSSES else "label_separator"
            raise SettingError(name, getattr(self, name), "is for multi-label tasks, and --no-multi-label was given")
        if self.multi_label:
            self._settle_multi_label()
        if (self.metric_for_best_model in MULTI_LABEL_METRICS) != bool(self.multi_label) and \
                self.metric_for_best_model not in ("macro_f1", "nll"):
            task = "multi-label" if self.multi_label else "single-label"
            raise SettingError("metric_for_best_model", self.metric_for_best_model, f"is not scored in a {task} task")

    def _settle_multi_label(self) -> None:
        """A multi-label task trains with the multi-label default where the loss was left at its
        default, at the multi-label head learning rate unless one was given, and refuses what
        only one softmax has (a second stage, a target prior)."""
        if self.loss not in MULTI_LABEL_LOSSES:
            if self.recipe is not None:
                raise SettingError("recipe", self.recipe, "is a single-label recipe; a multi-label task takes one of "
                                   + ", ".join(r for r, v in RECIPES.items() if v.get("loss") in MULTI_LABEL_LOSSES))
            if was_given(self, "loss"):
                raise SettingError("loss", self.loss, "is a single-label loss; a multi-label task trains with one of "
                                   + ", ".join(MULTI_LABEL_LOSSES))
            self.recipe = MULTI_LABEL_RECIPE
            self._apply_recipe()
        if not was_given(self, "head_learning_rate"):
            self.head_learning_rate = MULTI_LABEL_HEAD_LEARNING_RATE
        if self.stage2 != "none":
            raise SettingError("stage2", self.stage2, "is for single-label tasks (one softmax); a multi-label model's "
                               "labels are fitted by --thresholds")
        if self.target_prior not in (None, "none"):
            raise SettingError("target_prior", self.target_prior, "is for single-label tasks; a multi-label model's "
                               "decision is its per-label thresholds (--thresholds)")

    def with_task(self, multi_label: bool) -> "RunConfig":
        """This run's settings for the task its training file turned out to hold."""
        return self if self.multi_label == multi_label else self.replace(multi_label=multi_label)

    def replace(self, **changes) -> "RunConfig":
        """A copy with ``changes``, the rest kept as resolved (a recipe is not applied again)."""
        return resolved_copy(self, **changes)

    def _apply_recipe(self) -> None:
        """The ``recipe`` preset's settings, for those still at their defaults (a setting given
        another value wins; the preset's settings of its own loss go with a loss given beside it)."""
        if self.recipe is None:
            return
        if self.recipe not in RECIPES:
            raise SettingError("recipe", self.recipe, f"is not one of {', '.join(RECIPES)}")
        preset = RECIPES[self.recipe]
        unread = set(unread_loss_settings(self.loss, preset)) if was_given(self, "loss") else set()
        for name, value in preset.items():
            if name not in unread and not was_given(self, name):
                setattr(self, name, value)

    def recipe_text(self) -> str:
        """The recipe this run trains with, in one line (what ``train`` prints)."""
        settings = self.loss_settings()
        schemes = [settings[k] for k in ("class_weights", "pos_weight") if k in settings]
        if schemes and "effective_number" not in schemes:  # beta only shapes effective-number weights
            settings.pop("class_weight_beta", None)
        parts = [f"loss {self.loss}"] + [f"{k.replace('_', ' ')} {v}" for k, v in settings.items()
                                         if k != "labels" and v not in (None, 0.0)]
        parts.append(f"sampling {self.sampling}")
        return (f"recipe {self.recipe}: " if self.recipe else "") + ", ".join(parts)



def setting_names(cls=RunConfig) -> list[str]:
    return [f.name for f in fields(cls)]
