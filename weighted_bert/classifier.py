"""Texts in, answers out: the one path by which a fine-tuned model answers.

``predict``, ``evaluate``, ``calibrate``, ``train``'s scoring of dev and test, the Python API
(:func:`weighted_bert.load`), ``serve`` and the int8 audit all answer through
:class:`Classifier`, so that encoding at the training length, the batched forward pass, the
saved calibration, the target-prior shift and the answer rule each exist here once.

>>> clf = Classifier.load("runs/a")                                   # doctest: +SKIP
>>> clf.predict(["the striker scored"])                               # doctest: +SKIP
['sport']
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .data import Dataset, Example
from .errors import RunError, UserError
from .model_folder import FineTuned, load_fine_tuned
from .prediction import predict_logits, row_lengths
from .windows import check_windows
from .windows.reading import Windows, aggregate, encode_windows, mean_over_windows

IN_MEMORY = "<texts>"  # the path of a Dataset made from texts in memory (its lines: position + 1)


@dataclass
class Answers:
    """What a model says of some texts: ``probabilities`` (rows x labels: softmax, or one
    sigmoid per label), ``decided`` (single-label: the class index of each row, negative for an
    abstention; multi-label: the 0/1 label matrix), ``labels`` (each row's label, or its list of
    labels most probable first), ``truncated`` (whether each text was cut: not read to its end
    within ``max_windows`` windows; None where not measured) and ``windows`` (the windows each
    text was read in)."""

    probabilities: np.ndarray
    decided: np.ndarray
    labels: list
    truncated: list[bool] | None = None
    windows: list[int] | None = None


class Classifier:
    """A loaded model that answers: :meth:`logits`, :meth:`predict_proba`, :meth:`predict`,
    :meth:`answer`. ``data`` everywhere is a list of texts (or of ``(text_a, text_b)`` pairs
    for a pair model) or a :class:`~weighted_bert.data.Dataset`.

    ``calibration``: apply the folder's calibration (its temperature, shift and decision rule);
    ``target_prior`` (train, uniform or a JSON file of label -> frequency): answer for those
    class frequencies (:meth:`FineTuned.prior_shift`), checked when the classifier is made.
    ``stride``, ``max_windows``, ``aggregation``: read long texts otherwise than the model folder
    says (see :mod:`weighted_bert.windows`; None: as it says)."""

    def __init__(self, fine_tuned: FineTuned, *, batch_size: int = 64, precision: str = "fp32",
                 calibration: bool = True, target_prior: str | None = None, stride: int | None = None,
                 max_windows: int | None = None, aggregation: str | None = None):
        self.fine_tuned, self.batch_size, self.precision = fine_tuned, batch_size, precision
        self.calibration = calibration
        self.target_prior = target_prior
        self.shift = fine_tuned.prior_shift(target_prior, calibrated=calibration) if target_prior else None
        self.plan = fine_tuned.window_plan.replace(stride=stride, max_windows=max_windows, aggregation=aggregation)
        check_windows(fine_tuned.max_seq_length, self.plan.stride, self.plan.max_windows)

    @classmethod
    def load(cls, model, *, backend: str = "auto", load_options: dict | None = None, **options) -> Classifier:
        """A fine-tuned model folder; with ``backend`` ``onnx`` or ``onnx-int8`` its ONNX export
        (written by ``train`` or ``weighted-bert export``) runs in place of the PyTorch model;
        ``auto``: the export where it is current (:func:`~weighted_bert.export.resolve_backend`)."""
        precision = {"precision": options["precision"]} if "precision" in options else {}
        return cls(load_model(model, backend=backend, **precision, **(load_options or {})), **options)

    @classmethod
    def from_config(cls, config, *, weights: bool = True, threads: int | None = None) -> Classifier:
        """From a :class:`~weighted_bert.scoring_config.ScoreConfig` (or any settings object
        with its scoring fields). ``weights=False``: the folder's labels, settings and tokenizer
        without the PyTorch weights where it can (see :func:`load_fine_tuned`), for checking the
        settings where other processes will answer. ``threads``: an ONNX backend's CPU threads
        (a worker sharing the machine; torch's are set by the caller)."""
        options = dict(batch_size=config.batch_size, precision=config.precision,
                       calibration=getattr(config, "calibration", True),
                       target_prior=getattr(config, "target_prior", None), **config.window_overrides())
        if not weights and config.backend == "torch":
            return cls(load_fine_tuned(config.model, weights=False), **options)
        return cls.load(config.model, backend=config.backend, load_options={"threads": threads} if threads else None,
                        **options)

    def with_options(self, **changes) -> Classifier:
        """The same model with other options (``batch_size``, ``calibration``, ...)."""
        options = dict(batch_size=self.batch_size, precision=self.precision, calibration=self.calibration,
                       target_prior=self.target_prior, stride=self.plan.stride, max_windows=self.plan.max_windows,
                       aggregation=self.plan.aggregation)
        return Classifier(self.fine_tuned, **{**options, **changes})

    @property
    def labels(self) -> list[str]:
        return list(self.fine_tuned.label_map.labels)

    @property
    def multi_label(self) -> bool:
        return self.fine_tuned.multi_label

    @property
    def path(self) -> str:
        return self.fine_tuned.path

    def dataset(self, data) -> Dataset:
        """``data`` as a :class:`Dataset` (texts are checked: strings, or pairs for a pair model)."""
        if isinstance(data, Dataset):
            return data
        if isinstance(data, str):
            raise UserError("predict takes a list of texts, not one string: predict([text])")
        texts = list(data)
        if not texts:
            raise UserError("predict needs at least one text; got an empty list")
        pair = bool(self.fine_tuned.info.pair)
        examples = []
        for i, text in enumerate(texts):
            parts = tuple(text) if pair and isinstance(text, (tuple, list)) else (text,)
            if len(parts) != (2 if pair else 1) or not all(isinstance(p, str) for p in parts):
                wanted = "(text_a, text_b) pairs of strings" if pair else "strings"
                raise UserError(f"text {i} is {text!r}; this model takes {wanted}")
            if not all(p.strip() for p in parts):
                raise UserError(f"text {i} is {'empty' if not all(parts) else 'only whitespace'}; expected a text "
                                "to classify")
            examples.append(Example(parts[0], parts[1] if pair else None, None, i + 1))
        return Dataset(IN_MEMORY, examples)

    def _encode(self, dataset: Dataset) -> Windows:
        try:
            return encode_windows(self.fine_tuned.tokenizer, dataset.examples, self.fine_tuned.max_seq_length,
                                  self.plan)
        except TypeError:  # a text the tokenizer cannot take (a lone surrogate, ...): name it
            for example in dataset.examples:
                for text in (example.text, example.text_pair):
                    if text is not None and not _encodable(text):
                        where = (f"text {example.line - 1}" if dataset.path == IN_MEMORY
                                 else f"{dataset.path}, line {example.line}")
                        raise UserError(f"{where}: the text cannot be encoded as UTF-8 (it holds a lone "
                                        "surrogate); expected valid Unicode text") from None
            raise  # not the user's text: a bug, shown with its traceback

    def _window_forward(self, windows: Windows) -> np.ndarray:
        return predict_logits(self.fine_tuned.model, self.fine_tuned.tokenizer, windows.encodings,
                              batch_size=self.batch_size, precision=self.precision)

    def _forward(self, windows: Windows) -> np.ndarray:
        """Raw logits a document: its windows' aggregated by the plan's rule."""
        return aggregate(self._window_forward(windows), windows.starts, self.plan.aggregation,
                         self.fine_tuned.outputs)

    def windows(self, data) -> Windows:
        """``data``'s token ids as the model reads them: a window a short text, several a long one."""
        return self._encode(self.dataset(data))

    def window_logits(self, data) -> tuple[np.ndarray, Windows]:
        """Raw logits of every window (uncalibrated, unshifted) and the windows: what
        :func:`~weighted_bert.windows.reading.aggregate` makes a document's logits of."""
        windows = self.windows(data)
        return self._window_forward(windows), windows

    def _answerable(self, raw: np.ndarray) -> np.ndarray:
        """Raw logits -> the logits the model answers with: calibrated (or not) and shifted."""
        return self.shifted(self.fine_tuned.logits(raw, use_calibration=self.calibration))

    def shifted(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated ``logits`` moved to the classifier's ``target_prior`` (unchanged without one)."""
        return logits if self.shift is None else (logits + self.shift[None, :]).astype(logits.dtype)

    def logits(self, data) -> np.ndarray:
        """Logits (rows x labels, float32) at the model's training length (a long text: its
        windows' joined), calibrated unless the classifier was made with ``calibration=False``,
        moved to ``target_prior`` when given."""
        return self._answerable(self._forward(self.windows(data)))

    def logits_and_features(self, data) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`logits` and each text's features: what the model's last linear layer takes in
        (its sentence embedding; a long text's, the mean over its windows). PyTorch models whose
        logits come from a linear layer only."""
        from .model_folder import head_linear_name

        model = self.fine_tuned.model
        name = None if hasattr(model, "session") else head_linear_name(model)
        if name is None:
            raise UserError(f"{self.path}: features are read from the PyTorch model's last linear layer; this model "
                            "(or backend) has none: use --backend torch with a BERT-like classifier")
        windows = self.windows(data)
        raw, inputs = predict_logits(model, self.fine_tuned.tokenizer, windows.encodings, batch_size=self.batch_size,
                                     precision=self.precision, inputs_of=model.get_submodule(name))
        logits = aggregate(raw, windows.starts, self.plan.aggregation, self.fine_tuned.outputs)
        return self._answerable(logits), mean_over_windows(inputs, windows.starts)

    def logits_and_embeddings(self, data) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`logits` and each text's sentence embedding: the encoder's last hidden states
        averaged over its tokens (a long text's, over its windows). PyTorch models only."""
        if hasattr(self.fine_tuned.model, "session"):
            raise UserError(f"{self.path}: embeddings are read from the PyTorch model; use --backend torch")
        windows = self.windows(data)
        raw, pooled = predict_logits(self.fine_tuned.model, self.fine_tuned.tokenizer, windows.encodings,
                                     batch_size=self.batch_size, precision=self.precision, mean_pooled=True)
        logits = aggregate(raw, windows.starts, self.plan.aggregation, self.fine_tuned.outputs)
        return self._answerable(logits), mean_over_windows(pooled, windows.starts)

    def document_logits(self, window_logits: np.ndarray, windows: Windows) -> np.ndarray:
        """What :meth:`logits` gives, from :meth:`window_logits`' output: to read the same
        windows by several rules (``with_options(aggregation=...)``) without scoring them again."""
        return self._answerable(aggregate(window_logits, windows.starts, self.plan.aggregation,
                                          self.fine_tuned.outputs))

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        return self.fine_tuned.probabilities(logits)

    def predict_proba(self, data) -> np.ndarray:
        """Class probabilities (a multi-label model: one sigmoid per label), rows x labels,
        columns in :attr:`labels` order."""
        return self.probabilities(self.logits(data))

    def decide(self, probabilities: np.ndarray, *, top_k: int | None = None,
               at_least_one: bool = False) -> tuple[np.ndarray, list]:
        """The answer rule: ``(decided, labels)`` of :class:`Answers` for ``probabilities``.
        Single-label: the calibration's decision rule (a cost matrix, abstaining) where the
        model has one and calibration is on, else the most probable class. Multi-label: the
        labels at or above their thresholds (0.5 without), at most ``top_k``, at least one with
        ``at_least_one``."""
        return self.fine_tuned.outputs.decide(self.fine_tuned, probabilities, use_calibration=self.calibration,
                                              top_k=top_k, at_least_one=at_least_one)

    def predict(self, data, *, top_k: int | None = None, at_least_one: bool = False) -> list:
        """Each text's label (an abstention: the calibration's ``abstain_label``), or for a
        multi-label model its list of labels, most probable first."""
        return self.decide(self.predict_proba(data), top_k=top_k, at_least_one=at_least_one)[1]

    def answer(self, data, *, top_k: int | None = None, at_least_one: bool = False,
               measure_truncation: bool = False) -> Answers:
        """Probabilities, decisions and labels in one pass, with the windows each text was read
        in; with ``measure_truncation``, which texts were not read to their end."""
        dataset = self.dataset(data)
        windows = self._encode(dataset)
        probabilities = self.probabilities(self._answerable(self._forward(windows)))
        decided, labels = self.decide(probabilities, top_k=top_k, at_least_one=at_least_one)
        truncated = self._truncated(dataset, windows) if measure_truncation else None
        return Answers(probabilities, decided, labels, truncated, windows.counts.tolist())

    def _truncated(self, dataset: Dataset, windows: Windows) -> list[bool]:
        cut = windows.cut()
        if cut is not None:
            return cut.tolist()
        length, tokenizer = self.fine_tuned.max_seq_length, self.fine_tuned.tokenizer
        truncated = [False] * len(dataset)
        for i in np.flatnonzero(row_lengths(windows.encodings["input_ids"]) >= length):  # at the limit: measure
            e = dataset.examples[i]
            whole = tokenizer(e.text, e.text_pair, truncation=False) if e.text_pair is not None else \
                tokenizer(e.text, truncation=False)
            truncated[i] = len(whole["input_ids"]) > length
        return truncated


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def load_model(model, *, backend: str = "auto", threads: int | None = None, **load_options) -> FineTuned:
    """A fine-tuned model folder as a :class:`~weighted_bert.model_folder.FineTuned`; with
    ``backend`` ``onnx`` or ``onnx-int8`` its ONNX export runs in place of the PyTorch model
    (on ``threads`` threads; None: torch's count where torch is loaded, else the CPUs), with
    ``openvino`` the fp32 export compiled by OpenVINO in ``precision``; ``auto``: see
    :func:`~weighted_bert.export.resolve_backend`."""
    from .export import OnnxClassifier, OpenVinoClassifier, export_is_current, onnx_path, resolve_backend

    precision = load_options.pop("precision", "fp32")
    backend = resolve_backend(model, backend, precision)
    fine_tuned = load_fine_tuned(model, weights=backend == "torch", **load_options)
    if backend == "torch":
        return fine_tuned
    path = onnx_path(fine_tuned.path, backend)
    again = f"`weighted-bert export --model {model}{' --quantize int8' if backend == 'onnx-int8' else ''}`"
    if not path.is_file():
        raise RunError(f"{path}: no such ONNX model; write it first with {again}")
    current, why = export_is_current(fine_tuned.path)
    if current is False:
        raise RunError(f"{path}: out of date ({why}): it would not answer as the model folder does; write it "
                       f"again with {again}")
    onnx = OpenVinoClassifier(path, len(fine_tuned.label_map), threads=threads, precision=precision) \
        if backend == "openvino" else OnnxClassifier(path, len(fine_tuned.label_map), threads=threads)
    onnx.config = fine_tuned.model.config  # labels, problem type, position limit
    return dataclasses.replace(fine_tuned, model=onnx)
