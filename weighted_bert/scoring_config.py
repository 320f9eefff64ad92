"""The settings of the commands that use a trained model: ``evaluate``/``predict``
(:class:`ScoreConfig`, :class:`PredictConfig`), ``calibrate`` (:class:`CalibrateConfig`), ``suggest``
(:class:`SuggestConfig`), ``export`` (:class:`ExportConfig`) and ``serve`` (:class:`ServeConfig`). Made like
:class:`~weighted_bert.config.RunConfig`: one field a setting, its default, help and check.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from .calibration import KEEPS, OBJECTIVES, PRIOR_OBJECTIVES
from .config import BACKENDS, SCORING_PRECISIONS, DataSettings
from .errors import SettingError
from .settings import at_least, between, setting, validate
from .streaming import CHUNK_ROWS, ENGINES, parse_shard
from .suggestions import NEAR_DUPLICATE, STRATEGIES
from .windows import AGGREGATIONS


def _retarget_needs_calibration(config) -> None:
    if config.target_prior is not None and not config.calibration:
        raise SettingError("target_prior", config.target_prior, "moves the calibrated decision; it cannot go with "
                           "--no-calibration")


BACKEND_HELP = ("auto (the model folder's ONNX export of its current weights, run by ONNX Runtime: the same answers, "
                "a start without torch; else torch, and torch on a GPU or with --precision bf16), torch, or the ONNX "
                "models `train` or `weighted-bert export` write: onnx (fp32) or onnx-int8, or openvino (the fp32 "
                "export run by OpenVINO, in --precision: bf16 is near fp32's answers, not equal)")


AUTO = BACKENDS[0]


def _resolve_backend(config) -> None:
    """``auto`` made concrete once, where the settings are made (see :func:`export.resolve_backend`)."""
    from .export import resolve_backend  # numpy: not for --help

    config.backend = resolve_backend(config.model, config.backend, config.precision)


def _prior_to_predict_for(value: str) -> str | None:
    if value in ("train", "uniform") or Path(value).is_file():
        return None
    return "is neither train, uniform nor an existing JSON file of label -> frequency"


@dataclass(kw_only=True)
class WindowOverrides:
    """Reading long texts otherwise than the model was trained to (see weighted_bert/windows/)."""

    stride: int | None = setting(None, "tokens two neighbouring windows of a long text share", check=at_least(0),
                                 group="long documents", default_text="the model's")
    max_windows: int | None = setting(None, "windows a long text is read in at most (1: truncate)",
                                      check=at_least(1), group="long documents", default_text="the model's")
    window_aggregation: str | None = setting(None, "how a long text's windows answer together: mean, max, first or "
                                             "logsumexp",
                                             choices=AGGREGATIONS, group="long documents",
                                             default_text="the model's (chosen on dev)")

    def window_overrides(self) -> dict:
        """The :class:`~weighted_bert.classifier.Classifier` options these settings give."""
        return dict(stride=self.stride, max_windows=self.max_windows, aggregation=self.window_aggregation)


@dataclass(kw_only=True)
class ScoreConfig(WindowOverrides, DataSettings):
    """Scoring a fine-tuned model: ``evaluate``, ``predict`` and ``calibrate``."""

    GROUP_ORDER: ClassVar = ("model", "data", "decision", "long documents", "speed")

    model: str = setting(help="output folder of `train` (or its model/ subfolder)", aliases=("model-dir",),
                         group="model")
    data: str = setting(help="data file (predict: - for lines of text on standard input)", aliases=("input",),
                        group="data")
    batch_size: int = setting(64, "texts per batch", check=at_least(1), group="speed")  # length-sorted: little padding
    backend: str = setting(AUTO, BACKEND_HELP, choices=BACKENDS, group="speed")
    precision: str = setting("fp32", "torch and openvino backends: fp32, or bf16 (autocast; OpenVINO's precision "
                             "hint), faster where the hardware has bf16",
                             choices=SCORING_PRECISIONS, group="speed")  # exact by default
    calibration: bool = setting(True, "apply the model folder's calibration.json (from `weighted-bert calibrate`)",
                                group="model")
    target_prior: str | None = setting(None, "answer for these class frequencies (train, uniform, or a JSON file "
                                       "label -> frequency) instead of those the model's decision was fitted for "
                                       "(train/calibrate --target-prior), or with no decision kept, those its "
                                       "recipe trains for in theory: the Bayes shift of its probabilities",
                                       check=_prior_to_predict_for, group="model",
                                       default_text="the prior the model was fitted for")
    top_k: int | None = setting(None, "multi-label: at most this many labels a text (the most probable of those "
                                "at or above their thresholds)", check=at_least(1), group="decision",
                                default_text="no limit")
    at_least_one: bool = setting(False, "multi-label: a text with no label at or above its threshold gets its most "
                                 "probable label", group="decision")

    def __post_init__(self):
        validate(self)
        _retarget_needs_calibration(self)
        _resolve_backend(self)


@dataclass(kw_only=True)
class PredictConfig(ScoreConfig):
    """``weighted-bert predict``: the input read, scored and written a chunk at a time (see
    weighted_bert/streaming)."""

    GROUP_ORDER: ClassVar = ("model", "data", "decision", "output", "engine", "long documents", "speed")

    output: str = setting(help="predictions: TSV (text, predicted_label, probability[, gold_label][, windows]), or "
                          "Parquet for a .parquet name; - for standard output", group="output")
    probabilities: str | None = setting(None, "also write the seed's test_results.tsv (class probabilities) here",
                                        group="output")
    id_column: str | None = setting(None, "a column of the input (TSV, CSV, JSONL, Parquet) to copy first into the "
                                    "output, to join the answers back", group="output")
    chunk_rows: int | None = setting(None, "rows read, scored and written at a time: memory is bounded by a "
                                     "chunk, not the input", check=at_least(1), group="output",
                                     default_text="10,000; 2,000 with --engine ray or spark")
    shard: str | None = setting(None, "I/N: score only the chunks i with i %% N == I (of N tasks, numbered from 0), "
                                "so that N tasks cover the input once", group="output", default_text="all of it")
    resume: bool = setting(False, "continue an interrupted predict into the same --output: the chunks it committed "
                           "are kept", group="output")
    overwrite: bool = setting(False, "replace an --output that exists", group="output")
    engine: str = setting(ENGINES[0], "where the chunks are scored: local (this process), ray (the Ray cluster at "
                          "RAY_ADDRESS, else a local Ray), spark (Spark's master from PYSPARK_SUBMIT_ARGS or MASTER, "
                          "else local[*]); the output is the same file", choices=ENGINES, group="engine")
    workers: int | None = setting(None, "ray, spark: workers, each with the model and one CPU thread",
                                  check=at_least(1), group="engine", default_text="the engine's CPUs")

    def __post_init__(self):
        super().__post_init__()
        parse_shard(self.shard)
        if self.chunk_rows is None:
            self.chunk_rows = CHUNK_ROWS[self.engine]
        if self.workers is not None and self.engine == "local":
            raise SettingError("workers", self.workers, "is for --engine ray or spark (the local engine is this "
                               "process; --batch-size and the CPU threads set its speed)")
        if str(self.output) == "-" and (self.resume or self.shard):
            raise SettingError("resume" if self.resume else "shard", self.resume or self.shard,
                               "needs an output file (its parts are kept beside it), not standard output")


@dataclass(kw_only=True)
class CalibrateConfig(ScoreConfig):
    """``weighted-bert calibrate``: what is fitted on the dev file (see weighted_bert/calibration)."""

    GROUP_ORDER: ClassVar = ("model", "data", "decision", "abstaining", "long documents", "speed")

    objective: str = setting("macro_f1", "what the decision is fitted for: macro_f1, balanced_accuracy, accuracy "
                             "(under --target-prior), cost (least expected cost under --costs), "
                             "recall_at_precision (of --class at --min-precision)", choices=OBJECTIVES,
                             group="decision")  # every class counts: the long-tail default
    target_prior: str | None = setting(None, "accuracy and cost: the class frequencies the model will meet: dev "
                                       "(the dev file's), train, uniform, or a JSON file {label: frequency}",
                                       group="decision", default_text="dev")
    costs: str | None = setting(None, "cost: CSV cost matrix, a header of predicted labels, then per gold label "
                                "its row of costs", group="decision")
    target_class: str | None = setting(None, "recall_at_precision: the label whose recall is raised",
                                       flag="class", group="decision")
    min_precision: float | None = setting(None, "recall_at_precision: the precision to keep", check=between(0, 1),
                                          group="decision")
    per_class_bias: bool = setting(False, "macro_f1, balanced_accuracy, accuracy, cost: also fit one bias per "
                                   "class", group="decision")
    temperature: bool = setting(True, "fit a temperature (kept when it lowers the cross-fitted dev NLL)",
                                group="decision")
    keep: str = setting("auto", "the noise guard's role for the fitted shift and biases: auto keeps them only when "
                        "their cross-fitted dev gain beats noise; always keeps them as fitted (the guard's verdict "
                        "is still reported). A cost matrix (--costs) is applied either way", choices=KEEPS,
                        group="decision")  # auto: a fitted decision is a hypothesis until dev supports it
    abstain: float | None = setting(None, "answer --abstain-label when the chosen class's calibrated probability is "
                                    "below this", check=between(0, 1), group="abstaining")
    coverage: float | None = setting(None, "abstain on the least sure texts, the threshold fitted so that this "
                                     "share of dev is answered", check=between(0, 1, high_open=False),
                                     group="abstaining")
    abstain_label: str = setting("ABSTAIN", "the label of an abstention", group="abstaining")

    def __post_init__(self):
        validate(self)
        _resolve_backend(self)  # the dev logits; the calibration is folded into the PyTorch weights
        takers = {"target_prior": PRIOR_OBJECTIVES, "costs": ("cost",), "target_class": ("recall_at_precision",),
                  "min_precision": ("recall_at_precision",),
                  "per_class_bias": tuple(o for o in OBJECTIVES if o != "recall_at_precision")}
        for name, objectives in takers.items():
            if getattr(self, name) not in (None, False) and self.objective not in objectives:
                raise SettingError(name, getattr(self, name), f"is not read by objective {self.objective}; "
                                   f"it is for {', '.join(objectives)}")
        if self.abstain is not None and self.coverage is not None:
            raise SettingError("coverage", self.coverage, "and --abstain both set the threshold; give one")
        if self.coverage == 0:
            raise SettingError("coverage", 0, "would answer nothing; expected a share above 0")
        if not self.abstain_label.strip():
            raise SettingError("abstain_label", self.abstain_label, "is empty")


@dataclass(kw_only=True)
class SuggestConfig(ScoreConfig):
    """``weighted-bert suggest``: which texts of an unlabelled pool to label next (see weighted_bert/suggestions)."""

    GROUP_ORDER: ClassVar = ("model", "data", "picking", "decision", "long documents", "speed")

    data: str = setting(help="the unlabelled texts to pick from (a file as predict reads it)", flag="pool",
                        aliases=("data",), group="data")
    output: str = setting(help="the picks: .tsv (text, predicted_label, probability, reason, strategy, line) or "
                          ".jsonl (doccano's import: text, label, meta)", group="data")
    budget: int = setting(help="how many texts to pick", check=at_least(1), group="picking")
    strategy: str = setting(STRATEGIES[0], "balanced-uncertainty (rarest predicted classes first, the least sure "
                            "within each), uncertainty (the least sure of the pool) or random (the baseline)",
                            choices=STRATEGIES, group="picking")  # benchmarks/suggest.py measured them
    train: str | None = setting(None, "texts already labelled, skipped in the pool", group="picking",
                                default_text="the model's training file, when it is still there")
    near_duplicate: float = setting(NEAR_DUPLICATE, "skip a text whose sentence embedding has at least this cosine "
                                    "with a text already picked (1: only texts the same up to case, spacing and "
                                    "punctuation)", check=between(0, 1), group="picking")
    seed: int = setting(42, "random seed (the random strategy)", check=at_least(0), group="picking")

    def __post_init__(self):
        validate(self)
        _retarget_needs_calibration(self)
        if self.top_k is not None or self.at_least_one:
            raise SettingError("top_k" if self.top_k is not None else "at_least_one", self.top_k or True,
                               "is for multi-label answers; suggest picks from single-label models")
        if self.backend == AUTO:
            self.backend = "torch"  # the sentence embeddings are read from the PyTorch encoder


@dataclass(kw_only=True)
class ExportConfig:
    """``weighted-bert export``: the ONNX model and, for int8, the check of what it costs."""

    GROUP_ORDER: ClassVar = ("model", "int8 check")

    model: str = setting(help="output folder of `train` (or its model/ subfolder)", aliases=("model-dir",),
                         group="model")
    format: str = setting("onnx", "onnx (the only format so far)", choices=("onnx",), group="model")
    quantize: str | None = setting(None, "also write an int8 model (ONNX Runtime dynamic quantisation)",
                                   choices=("int8",), group="model", default_text="no")
    check_data: str | None = setting(None, "int8: a labelled file to score fp32 and int8 on (compression hurts the "
                                     "rarest classes first)", group="int8 check", default_text="the run's dev file")
    max_f1_drop: float = setting(0.05, "int8: warn when a class's F1 drops by more than this", check=between(0, 1),
                                 group="int8 check")  # five points: beyond the run-to-run noise of a class's F1
    batch_size: int = setting(64, "texts per batch while checking", check=at_least(1), group="int8 check")

    def __post_init__(self):
        validate(self)
        if self.check_data is not None and self.quantize is None:
            raise SettingError("check_data", self.check_data, "checks the int8 model; it needs --quantize int8")


@dataclass(kw_only=True)
class ServeConfig(WindowOverrides):
    """``weighted-bert serve``: a trained model behind HTTP, with dynamic batching."""

    GROUP_ORDER: ClassVar = ("model", "long documents", "server", "batching", "limits")

    model: str = setting(help="output folder of `train` (or its model/ subfolder)", aliases=("model-dir",),
                         group="model")
    backend: str = setting(AUTO, BACKEND_HELP, choices=BACKENDS, group="model")
    precision: str = setting("auto", "torch backend: auto (bf16 on GPUs that have it and on CPUs where it "
                             "measures faster than fp32), fp32 or bf16",
                             choices=("auto", *SCORING_PRECISIONS), group="model")
    calibration: bool = setting(True, "apply the model folder's calibration (folded into its weights by "
                                "`weighted-bert calibrate`)", group="model")
    target_prior: str | None = setting(None, "answer for these class frequencies (train, uniform, or a JSON file "
                                       "label -> frequency) instead of those the model's decision was fitted for "
                                       "(or with no decision kept, those its recipe trains for in theory)",
                                       check=_prior_to_predict_for, group="model",
                                       default_text="the prior the model was fitted for")
    host: str = setting("127.0.0.1", "address to listen on (0.0.0.0: every interface)", group="server")
    port: int = setting(8080, "port to listen on (0: a free one, printed at start)", check=between(0, 65535),
                        group="server")
    workers: int = setting(1, "server processes, each with the model and an equal share of the CPU threads",
                           check=at_least(1), group="server")
    max_batch_size: int = setting(128, "texts run together at most; waiting requests are batched up to it",
                                  check=at_least(1), group="batching")  # the offline predict's best batch on CPU
    max_wait_ms: float = setting(5.0, "how long the first request of a batch waits for others to join it",
                                 check=at_least(0), group="batching")  # a few ms: batches form under load only
    max_inputs: int = setting(1024, "texts in one request at most (more: 413)", check=at_least(1), group="limits")
    max_body_mb: float = setting(8.0, "request body size at most, in MB (more: 413)", check=at_least(0, strict=True),
                                 group="limits")

    def __post_init__(self):
        validate(self)
        _retarget_needs_calibration(self)
        _resolve_backend(self)
