"""Cutting texts into windows and joining the windows' logits (see :mod:`weighted_bert.windows`).

>>> from weighted_bert.outputs import ONE_CLASS
>>> logits = np.array([[2.0, 0.0], [0.0, 4.0], [1.0, 1.0]], dtype=np.float32)
>>> aggregate(logits, np.array([0, 2, 3]), "mean", ONE_CLASS).tolist()
[[1.0, 2.0], [1.0, 1.0]]
>>> aggregate(logits, np.array([0, 2, 3]), "first", ONE_CLASS).tolist()
[[2.0, 0.0], [1.0, 1.0]]
>>> # per class log(e^2 + 1) and log(1 + e^4); one window: itself
>>> aggregate(logits, np.array([0, 2, 3]), "logsumexp", ONE_CLASS).astype(float).round(4).tolist()
[[2.1269, 4.0181], [1.0, 1.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import SettingError, UserError
from . import AGGREGATIONS, WindowPlan


def windows_needed(tokens, max_seq_length: int, stride: int, *, special_tokens: int = 2) -> np.ndarray:
    """Windows a single text of ``tokens`` tokens (special tokens included) needs to be read
    whole: 1 when it fits, else 1 + ceil((content - room) / (room - stride)), where room is a
    window's ``max_seq_length - special_tokens`` text tokens.

    >>> windows_needed([10, 128, 129, 222, 223], 128, 32).tolist()   # room 126: each further window 94 more
    [1, 1, 2, 2, 3]
    """
    content = np.asarray(tokens, dtype=np.int64) - special_tokens
    room = max_seq_length - special_tokens
    return np.where(content <= room, 1, 1 + np.ceil((content - room) / (room - stride))).astype(np.int64)


def length_advice(tokens, max_seq_length: int, stride: int, max_windows: int) -> dict:
    """What ``stats`` says of texts longer than one window: how many, by how much, the windows
    they need at ``stride`` and the ``--max-windows`` that reads 95% and all of them whole."""
    tokens = np.asarray(tokens, dtype=np.int64)
    needed = windows_needed(tokens, max_seq_length, stride)
    long = tokens > max_seq_length
    advice = {"window": max_seq_length, "stride": stride, "texts_over_window": int(long.sum()),
              "share_over_window": float(long.mean()) if len(tokens) else 0.0}
    if long.any():
        advice.update(tokens_over_window_p50=float(np.percentile(tokens[long] - max_seq_length, 50)),
                      tokens_over_window_max=int((tokens[long] - max_seq_length).max()),
                      windows_needed_p95=int(np.ceil(np.percentile(needed, 95))), windows_needed_max=int(needed.max()),
                      cut_at_max_windows=int((needed > max_windows).sum()), max_windows=max_windows)
    return advice


@dataclass
class Windows:
    """Token ids of every window (``encodings``: one row a window, the windows of document i
    are rows ``starts[i]:starts[i + 1]``) and ``needed``: the windows each document would need
    to be read to its end (None where not measured: truncation)."""

    encodings: dict
    starts: np.ndarray
    needed: np.ndarray | None = None

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.starts)

    @property
    def documents(self) -> int:
        return len(self.starts) - 1

    @property
    def one_each(self) -> bool:
        return len(self.encodings["input_ids"]) == self.documents

    def cut(self) -> np.ndarray | None:
        """Which documents are not read to their end (None: not measured)."""
        return None if self.needed is None else self.needed > self.counts


def summary(windows: Windows, plan: WindowPlan) -> str | None:
    """What a user should hear of a file's long texts (None: every text fits one window)."""
    counts, cut = windows.counts, windows.cut()
    long = counts > 1
    cut_count = int(cut.sum()) if cut is not None else 0
    if not long.any() and not cut_count:
        return None
    text = (f"{int(long.sum())} of {windows.documents} texts are longer than one window, read in "
            f"{int(counts[long].min()) if long.any() else 1} to {int(counts.max())} windows "
            f"({len(windows.encodings['input_ids'])} in all, stride {plan.stride})")
    if cut_count:
        text += (f"; {cut_count} were cut after {plan.max_windows} window{'s' if plan.max_windows > 1 else ''} "
                 f"(the longest needs {int(windows.needed.max())}; --max-windows reads more)")
    return text


def one_window_each(encodings: dict) -> Windows:
    return Windows(encodings, np.arange(len(encodings["input_ids"]) + 1, dtype=np.int64))


def encode_windows(tokenizer, examples: Sequence, max_seq_length: int, plan: WindowPlan, *,
                   chunk_size: int = 20_000, progress: bool = False) -> Windows:
    """The windows of every example (``plan.max_windows`` 1: truncation, as before windows, in
    chunks of ``chunk_size`` with a progress bar when asked; windows: one example at a time)."""
    from ..prediction import TokenTable, encode_examples

    if plan.max_windows == 1:
        return one_window_each(encode_examples(tokenizer, examples, max_seq_length, chunk_size=chunk_size,
                                               progress=progress))
    backend = getattr(tokenizer, "backend_tokenizer", None) or getattr(tokenizer, "backend", None)
    if backend is None:
        raise UserError(f"{type(tokenizer).__name__} is not a fast tokenizer (no tokenizer.json): long documents "
                        "cannot be cut into windows; pass --max-windows 1 to truncate them")
    names = [n for n in ("input_ids", "token_type_ids")
             if n in getattr(tokenizer, "model_input_names", ("input_ids", "token_type_ids"))]
    direction = getattr(tokenizer, "truncation_side", "right")
    rows: dict[str, list] = {n: [] for n in names}
    counts, needed = [], []
    try:
        backend.no_padding()
        for example in examples:
            windows, whole = _windows_of(backend, example, max_seq_length, plan.stride, direction)
            needed.append(whole)
            windows = windows[:plan.max_windows]
            counts.append(len(windows))
            for window in windows:
                rows["input_ids"].append(window.ids)
                if "token_type_ids" in rows:
                    rows["token_type_ids"].append(window.type_ids)
    finally:
        backend.no_truncation()
    starts = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    encodings = {n: TokenTable.from_rows(r, np.int32 if n == "input_ids" else np.int8) for n, r in rows.items()}
    return Windows(encodings, starts, np.asarray(needed, dtype=np.int64))


def _windows_of(backend, example, max_seq_length: int, stride: int, direction: str) -> tuple[list, int]:
    """One example's windows, first to last (a pair: the second text windowed, the first kept
    whole), and how many it needs to be read whole (a truncated pair: 2, more than it has)."""
    if example.text_pair is None:
        backend.enable_truncation(max_seq_length, stride=stride, strategy="longest_first", direction=direction)
        encoding = backend.encode(example.text)
    else:
        try:
            backend.enable_truncation(max_seq_length, stride=stride, strategy="only_second", direction=direction)
            encoding = backend.encode(example.text, example.text_pair)
        except Exception:  # the first text leaves the second no room (or less than the stride): truncate both
            backend.enable_truncation(max_seq_length, stride=0, strategy="longest_first", direction=direction)
            encoding = backend.encode(example.text, example.text_pair)
            return [encoding], 1 + bool(encoding.overflowing)
    windows = [encoding, *encoding.overflowing]
    return windows, len(windows)


def aggregate(logits: np.ndarray, starts: np.ndarray, rule: str, outputs) -> np.ndarray:
    """Per document (windows ``starts[i]:starts[i + 1]``) one row of logits by ``rule``;
    ``outputs`` (:mod:`weighted_bert.outputs`) says what ``max`` takes the largest of."""
    logits = np.asarray(logits, dtype=np.float32)
    if len(starts) - 1 == len(logits):
        return logits
    first = np.asarray(starts[:-1])
    if rule == "first":
        return logits[first]
    if rule == "mean":
        return mean_over_windows(logits, starts)
    if rule == "max":
        return outputs.join_max(logits, first)
    if rule == "logsumexp":
        return np.logaddexp.reduceat(logits, first, axis=0).astype(np.float32)
    raise SettingError("window_aggregation", rule, "is not one of " + ", ".join(AGGREGATIONS))


def mean_over_windows(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per document the mean of its windows' rows (logits, or features)."""
    values = np.asarray(values, dtype=np.float32)
    if len(starts) - 1 == len(values):
        return values
    return (np.add.reduceat(values, np.asarray(starts[:-1]), axis=0) / np.diff(starts)[:, None]).astype(np.float32)


def choose_aggregation(score_of, *, greater_is_better: bool = True) -> tuple[str, dict[str, float]]:
    """The rule whose documents ``score_of(rule)`` scores best (ties: the earlier in
    :data:`AGGREGATIONS`), and every rule's score."""
    scores = {rule: float(score_of(rule)) for rule in AGGREGATIONS}
    sign = 1 if greater_is_better else -1
    best = max(AGGREGATIONS, key=lambda rule: (sign * scores[rule], -AGGREGATIONS.index(rule)))
    return best, scores
