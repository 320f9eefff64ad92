"""Batched inference: length-sorted batches under ``torch.inference_mode``, input order kept."""

from __future__ import annotations

import contextlib
import itertools
import sys
from collections.abc import Sequence

import numpy as np

from .config import SCORING_PRECISIONS
from .data.readers import Example
from .errors import check_choice


class TokenTable(Sequence):
    """Rows of token ids of varying length in one flat array plus row offsets: a million
    rows cost a few bytes a token, not a Python list a row. ``table[i]`` is row i as a list."""

    def __init__(self, flat: np.ndarray, offsets: np.ndarray):
        self.flat, self.offsets = flat, offsets

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[int]], dtype=np.int32) -> TokenTable:
        lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=dtype, count=int(offsets[-1]))
        return cls(flat, offsets)

    @classmethod
    def concatenate(cls, tables: Sequence[TokenTable]) -> TokenTable:
        if len(tables) == 1:
            return tables[0]
        starts = np.cumsum([0] + [len(t.flat) for t in tables[:-1]])
        offsets = np.concatenate([tables[0].offsets[:1]] + [t.offsets[1:] + s for t, s in zip(tables, starts)])
        return cls(np.concatenate([t.flat for t in tables]), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index):
        if not isinstance(index, (int, np.integer)):
            raise TypeError("a TokenTable is indexed one row at a time")
        if index < 0:
            index += len(self)
        return self.flat[self.offsets[index]:self.offsets[index + 1]].tolist()

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)


def row_lengths(rows) -> np.ndarray:
    """Tokens in each row of a :class:`TokenTable` or of a list of lists."""
    return rows.lengths() if isinstance(rows, TokenTable) else np.array([len(r) for r in rows], dtype=np.int64)


def encode_examples(tokenizer, examples: Sequence[Example], max_seq_length: int, *, chunk_size: int = 20_000,
                    progress: bool = False) -> dict[str, TokenTable]:
    """Token ids per example, truncated to ``max_seq_length`` and not padded (padding is
    per batch), tokenised ``chunk_size`` examples at a time into :class:`TokenTable`\\ s.
    The attention mask (all ones before padding) is not stored; padding makes it."""
    pairs = bool(examples) and examples[0].text_pair is not None
    tables: dict[str, list[TokenTable]] = {}
    bar = _progress(len(examples), progress)
    for start in range(0, len(examples), chunk_size):
        part = examples[start:start + chunk_size]
        encoded = tokenizer([e.text for e in part], [e.text_pair for e in part] if pairs else None,
                            truncation=True, max_length=max_seq_length, padding=False, return_attention_mask=False)
        for key, rows in encoded.items():
            tables.setdefault(key, []).append(TokenTable.from_rows(rows, np.int32 if key == "input_ids" else np.int8))
        bar.update(len(part))
    bar.close()
    if not tables:
        return {"input_ids": TokenTable(np.zeros(0, np.int32), np.zeros(1, np.int64))}
    return {key: TokenTable.concatenate(parts) for key, parts in tables.items()}


def _progress(total: int, show: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="tokenising", unit=" lines", disable=not show or total < 50_000,
                mininterval=1.0, file=sys.stderr)


class EncodedDataset:
    """Tokenised examples (and label ids) as the Trainer's collator expects them (a map-style
    dataset: ``len`` and indexing; no torch base class, so prediction can run without torch).

    With ``starts`` (long documents, see :mod:`weighted_bert.windows`) the rows of
    ``encodings`` are windows, those of document i ``starts[i]:starts[i + 1]``, and an item is a
    document: in epoch e (:meth:`set_epoch`) its window ``(offset + e) mod k`` from a seeded
    offset, so that each epoch a document gives one window and over k epochs each of its k.
    With ``whole`` an item is every window of its document (``documents`` training: the
    collator of :mod:`weighted_bert.training.documents` flattens them and counts them)."""

    def __init__(self, encodings: dict[str, Sequence], labels: Sequence[int] | None = None,
                 lines: Sequence[int] | None = None, *, starts: Sequence[int] | None = None, seed: int = 0,
                 whole: bool = False):
        self.encodings = encodings
        labels = None if labels is None else np.asarray(labels)
        # class ids, or (multi-label) rows of 0/1 targets
        self.labels = None if labels is None else labels.astype(np.float32 if labels.ndim == 2 else np.int64)
        self.lines = None if lines is None else np.asarray(lines, dtype=np.int64)  # to name bad batches
        rows = len(encodings["input_ids"])
        self.starts = None if starts is None or len(starts) - 1 == rows else np.asarray(starts, dtype=np.int64)
        self._length = rows if self.starts is None else len(self.starts) - 1
        if self.starts is not None:
            self.offsets = np.random.default_rng(seed).integers(0, np.diff(self.starts))
        self.whole = whole and self.starts is not None
        self.epoch = 0
        self._lengths = None

    def __len__(self) -> int:
        return self._length

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def row(self, index: int) -> int:
        """The row of ``encodings`` item ``index`` is this epoch."""
        if self.starts is None:
            return index
        start = self.starts[index]
        return int(start + (self.offsets[index] + self.epoch) % (self.starts[index + 1] - start))

    def lengths(self) -> np.ndarray:
        """Tokens in each item (a document: its first window's, the longest but its last; a
        whole document: all its windows')."""
        if self._lengths is None:
            lengths = row_lengths(self.encodings["input_ids"])
            self._lengths = (lengths if self.starts is None else np.add.reduceat(lengths, self.starts[:-1])
                             if self.whole else lengths[self.starts[:-1]])
        return self._lengths

    def mean_length(self) -> float:
        """Tokens in the mean sequence the model reads (a whole document's: its windows')."""
        if self.whole:
            return float(row_lengths(self.encodings["input_ids"]).mean())
        return float(self.lengths().mean()) if self._length else 0.0

    def __getitem__(self, index: int) -> dict:
        if self.whole:
            rows = range(self.starts[index], self.starts[index + 1])
            item = {key: [values[row] for row in rows] for key, values in self.encodings.items()}
        else:
            row = self.row(index)
            item = {key: values[row] for key, values in self.encodings.items()}
        if self.labels is not None:
            label = self.labels[index]
            item["labels"] = label.tolist() if self.labels.ndim == 2 else int(label)
        if self.lines is not None:
            item["example_line"] = int(self.lines[index])
        return item


def predict_logits(model, tokenizer, encodings: dict[str, list], *, batch_size: int = 64,
                   precision: str = "fp32", inputs_of=None, mean_pooled: bool = False):
    """Logits (n_examples, n_classes) as float32, in the order of ``encodings``.

    Examples are sorted by length so each batch pads little, then put back in order.
    ``model`` is a PyTorch classifier (run under ``torch.inference_mode``, in bf16 autocast
    with ``precision="bf16"``) or an :class:`weighted_bert.export.OnnxClassifier`. With
    ``inputs_of`` (a module of a PyTorch model), returns ``(logits, inputs)``: what that module
    took in for each example, in the same order. With ``mean_pooled`` (a PyTorch model), returns
    ``(logits, embeddings)``: the encoder's last hidden states averaged over each example's
    tokens (padding left out), the sentence embedding sentence-transformers' mean pooling gives.
    """
    check_choice("precision", precision, SCORING_PRECISIONS)
    lengths = row_lengths(encodings["input_ids"])
    order = np.argsort(-lengths, kind="stable")
    onnx = hasattr(model, "session")
    out = np.zeros((len(lengths), model.config.num_labels), dtype=np.float32)
    if onnx:
        autocast = inference = contextlib.nullcontext()
    else:
        import torch

        device = next(model.parameters()).device
        model.eval()
        autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
        inference = torch.inference_mode()
    taken, inputs = [], None
    hook = None if inputs_of is None else inputs_of.register_forward_hook(
        lambda module, args, output: taken.append(args[0].float().cpu().numpy()))
    states, pooled = [], None
    if mean_pooled:
        hook = model.base_model.register_forward_hook(lambda module, args, output: states.append(output[0]))
    try:
        with inference, autocast:
            for start in range(0, len(order), batch_size):
                index = order[start:start + batch_size]
                rows = {k: [v[i] for i in index] for k, v in encodings.items()}
                if onnx:
                    out[index] = model.logits(tokenizer.pad(rows, return_tensors="np"))
                else:
                    batch = {k: t.to(device) for k, t in tokenizer.pad(rows, return_tensors="pt").items()}
                    out[index] = model(**batch).logits.float().cpu().numpy()
                    if states:
                        mask = batch["attention_mask"][..., None].float()
                        mean = (states.pop().float() * mask).sum(1) / mask.sum(1).clamp(min=1)
                        if pooled is None:
                            pooled = np.zeros((len(lengths), mean.shape[-1]), dtype=np.float32)
                        pooled[index] = mean.cpu().numpy()
                if taken:
                    if inputs is None:
                        inputs = np.zeros((len(lengths), taken[0].shape[-1]), dtype=np.float32)
                    inputs[index] = taken.pop()
    finally:
        if hook is not None:
            hook.remove()
    if mean_pooled:
        return out, pooled
    return out if inputs_of is None else (out, inputs)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """One probability per label (multi-label), float32, without overflow for large logits."""
    return (0.5 * (1.0 + np.tanh(0.5 * np.asarray(logits, dtype=np.float64)))).astype(np.float32)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
