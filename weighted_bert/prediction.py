"""Batched inference: length-sorted batches under ``torch.inference_mode``, input order kept."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .data.readers import Example


def encode_examples(tokenizer, examples: Sequence[Example], max_seq_length: int) -> dict[str, list]:
    """Token ids per example, truncated to ``max_seq_length`` and not padded (padding is per batch)."""
    texts = [e.text for e in examples]
    pairs = [e.text_pair for e in examples] if examples and examples[0].text_pair is not None else None
    encoded = tokenizer(texts, pairs, truncation=True, max_length=max_seq_length, padding=False)
    return {key: list(values) for key, values in encoded.items()}


class EncodedDataset(torch.utils.data.Dataset):
    """Tokenised examples (and label ids) as the Trainer's collator expects them."""

    def __init__(self, encodings: dict[str, list], labels: Sequence[int] | None = None,
                 lines: Sequence[int] | None = None):
        self.encodings = encodings
        self.labels = None if labels is None else list(labels)
        self.lines = None if lines is None else list(lines)  # source line numbers, to name bad batches
        self._length = len(encodings["input_ids"])
        self._lengths = None

    def __len__(self) -> int:
        return self._length

    def lengths(self) -> list[int]:
        if self._lengths is None:
            self._lengths = [len(ids) for ids in self.encodings["input_ids"]]
        return self._lengths

    def mean_length(self) -> float:
        return sum(self.lengths()) / max(self._length, 1)

    def __getitem__(self, index: int) -> dict:
        item = {key: values[index] for key, values in self.encodings.items()}
        if self.labels is not None:
            item["labels"] = self.labels[index]
        if self.lines is not None:
            item["example_line"] = self.lines[index]
        return item


def predict_logits(model, tokenizer, encodings: dict[str, list], *, batch_size: int = 64,
                   precision: str = "fp32") -> np.ndarray:
    """Logits (n_examples, n_classes) as float32, in the order of ``encodings``.

    Examples are sorted by length so each batch pads little, then put back in order.
    ``model`` is a PyTorch classifier (run under ``torch.inference_mode``, in bf16 autocast
    with ``precision="bf16"``) or an :class:`weighted_bert.export.OnnxClassifier`.
    """
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be 'fp32' or 'bf16', not {precision!r}")
    lengths = np.array([len(ids) for ids in encodings["input_ids"]])
    order = np.argsort(-lengths, kind="stable")
    onnx = hasattr(model, "session")
    out = np.zeros((len(lengths), model.config.num_labels), dtype=np.float32)
    if onnx:
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            out[index] = model.logits(tokenizer.pad({k: [v[i] for i in index] for k, v in encodings.items()},
                                                    return_tensors="np"))
        return out
    device = next(model.parameters()).device
    model.eval()
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            batch = tokenizer.pad({k: [v[i] for i in index] for k, v in encodings.items()},
                                  return_tensors="pt")
            batch = {k: t.to(device) for k, t in batch.items()}
            out[index] = model(**batch).logits.float().cpu().numpy()
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
