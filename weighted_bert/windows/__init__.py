"""Long documents: a text longer than the window is read as overlapping windows, and the
windows' logits are aggregated into one answer per document.

A document of more than ``max_seq_length`` tokens is cut into windows of ``max_seq_length``
tokens (special tokens included) that share ``stride`` tokens with their neighbour (the fast
tokenizer's overflow: ``tokenizers``' ``enable_truncation(stride=...)``, so the PyTorch and
the ONNX paths cut alike), at most ``max_windows`` a document; ``max_windows`` 1 is plain
truncation. A pair keeps its first text whole in every window and windows the second; a pair
whose first text leaves no room is truncated as before (one window).

The windows' raw logits become the document's by a named rule (:data:`AGGREGATIONS`):

* ``mean``: the mean of the windows' logits;
* ``max``: per class the highest probability any window gives it (single-label: the log of
  those, which the softmax renormalises; multi-label: the highest logit, sigmoid being monotone);
* ``first``: the first window's, i.e. truncation's answer;
* ``logsumexp``: per class the log of the sum of the windows' exponentiated logits, a smooth
  maximum over windows of the unnormalised logits: a window the model finds empty of evidence
  (low logits for every class) adds almost nothing, which neither ``mean`` nor the per-window
  softmax of ``max`` allows. The rule of multiple-instance learning; training by
  ``documents`` uses it by default.

Aggregation comes before calibration, the target-prior shift and the decision rule, so every
way a model answers (``predict``, ``evaluate``, ``calibrate``, the Python API, ``serve``,
ONNX) goes through :func:`aggregate` once, in :class:`~weighted_bert.classifier.Classifier`.

Training (:data:`WINDOW_TRAININGS`) reads long documents one of two ways:

* ``turns``: each window an example carrying its document's label(s); each epoch a document
  gives one of its windows, in turn (from a seeded offset), so that a long document counts as
  much as a short one (its windows are weighted 1/k over k epochs) and an epoch costs what a
  truncated epoch costs. Every window is taught its document's label, evidence or not.
* ``documents``: every window of a document in the same step, the loss taken on the
  document's logits joined by the window rule (``logsumexp`` under ``auto``), in torch, so the
  model learns which windows carry the evidence (multiple-instance learning). An epoch costs
  all the windows; a batch holds at most ``batch_size x max_windows`` windows.

Either way a document is one item: class weights and samplers count documents.

The settings (:data:`AGGREGATIONS`, :class:`WindowPlan`, their checks) live here, light enough
for the settings schema; cutting and joining windows in :mod:`weighted_bert.windows.reading`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SettingError

AGGREGATIONS = ("mean", "max", "first", "logsumexp")  # the first is the default where dev cannot choose
WINDOW_CHOICE = "auto"  # training: the rule that scores best on dev's long documents
WINDOW_TRAININGS = ("turns", "documents")
# turns stays the default: it costs a truncated epoch, and documents has been measured on the needle set
# only (above; turns on needle documents of 20 to 100 filler requests stayed at chance), not yet on the
# manual pages, where evidence sits in the first window.
WINDOW_TRAINING = "turns"
DOCUMENT_RULE = "logsumexp"  # what `documents` training joins windows by under `auto`
# The default reads one window (truncation): in benchmarks/results/long_documents.md windows did not
# pay yet. Manual pages by section: trained and read on 16 windows, test macro-F1 0.873 against
# truncation's 0.907 (dev chose `first`, i.e. truncation, for the truncation-trained model read with
# windows); the needle set with a model trained on bare requests: every rule below 0.07 against
# 0.869 on the bare requests; trained on whole needle documents (`--window-training documents`), 0.220 by
# logsumexp, and 0.768 where the filler is the 200 oos requests it was trained among (it learned those, not
# what filler is). Neither filler unlike requests (package descriptions: 0.114) nor a `no_label` class
# trained on filler (0.041) lets a model trained on lone requests find one in a window; trained on whole
# documents of package descriptions, new filler in dev read 0.651 after 4 of up to 10 epochs (run
# stopped; 95% of the bare figure is 0.826). Reading more costs what the windows cost (9 a page: 3.5
# against 29.8 pages/s). `--max-windows 16` reads every needle document whole (they need up to 12) and
# most man pages (254 of the 1,367 training pages run longer).
MAX_WINDOWS = 1


def default_stride(max_seq_length: int) -> int:
    """Tokens two neighbouring windows share when ``--stride`` is not given: a quarter of the window."""
    return max(0, max_seq_length // 4)


def check_windows(max_seq_length: int, stride: int, max_windows: int, *, special_tokens: int = 2) -> None:
    """The window settings against the window's length (``special_tokens``: those a single
    text's window spends on [CLS] and [SEP])."""
    if max_windows < 1:
        raise SettingError("max_windows", max_windows, "is not >= 1 (1: truncate at --max-seq-length)")
    room = max_seq_length - special_tokens
    if max_windows > 1 and not 0 <= stride < room:
        raise SettingError("stride", stride, f"is not smaller than the {room} text tokens of a window "
                           f"(--max-seq-length {max_seq_length} less {special_tokens} special tokens); "
                           "expected 0 to " + str(room - 1))


@dataclass(frozen=True)
class WindowPlan:
    """How a model reads long documents: ``stride``, ``max_windows`` and the ``aggregation`` rule."""

    stride: int
    max_windows: int = 1
    aggregation: str = "mean"

    @classmethod
    def from_record(cls, record: dict | None, max_seq_length: int) -> WindowPlan:
        """A model folder's record (``weighted_bert.json``'s ``windows``); none: truncation."""
        record = record or {}
        return cls(int(record.get("stride", default_stride(max_seq_length))), int(record.get("max_windows", 1)),
                   str(record.get("aggregation", AGGREGATIONS[0])))

    def record(self) -> dict:
        return {"stride": self.stride, "max_windows": self.max_windows, "aggregation": self.aggregation}

    def replace(self, *, stride=None, max_windows=None, aggregation=None) -> WindowPlan:
        """This plan with the given settings in place of its own (None: keep)."""
        return WindowPlan(self.stride if stride is None else stride,
                          self.max_windows if max_windows is None else max_windows,
                          self.aggregation if aggregation is None else aggregation)
