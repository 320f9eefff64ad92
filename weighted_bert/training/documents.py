"""Training on whole documents (``--window-training documents``; see :mod:`weighted_bert.windows`).

A batch is documents; :class:`DocumentCollator` flattens their windows into one padded batch
and counts them (``window_counts``), and :func:`join_windows` joins each document's window
logits by the window rule in torch, so the loss is taken on the document's logits and its
gradient reaches every window: the windows that carry the evidence are pushed up, the others
down (multiple-instance learning). ``join_windows`` is the torch form of
:func:`weighted_bert.windows.reading.aggregate` (tested equal), so training, dev scoring and
every way a model answers join windows alike.
"""

from __future__ import annotations

import torch


def join_windows(logits: torch.Tensor, counts: torch.Tensor, rule: str, outputs) -> torch.Tensor:
    """One row of logits a document from its ``counts[i]`` consecutive window rows, by ``rule``
    (``mean``, ``max``, ``first`` or ``logsumexp``; ``max``: per class the largest
    log-probability, or per label the largest logit, as ``outputs``, a
    :mod:`weighted_bert.outputs` object, says), differentiably."""
    rows = []
    for windows in torch.split(logits, counts.tolist()):
        if rule == "mean":
            rows.append(windows.mean(dim=0))
        elif rule == "first":
            rows.append(windows[0])
        elif rule == "logsumexp":
            rows.append(torch.logsumexp(windows, dim=0))
        elif rule == "max":
            rows.append(outputs.max_scores(windows).max(dim=0).values)
        else:
            raise ValueError(f"unknown window rule {rule!r}")
    return torch.stack(rows)


class DocumentCollator:
    """Pads the windows of a batch of whole documents (items of a ``whole``
    :class:`~weighted_bert.prediction.EncodedDataset`) as ``DataCollatorWithPadding`` pads
    single examples, and adds ``window_counts``: the windows of each document, in order."""

    def __init__(self, tokenizer):
        from transformers import DataCollatorWithPadding

        self.pad = DataCollatorWithPadding(tokenizer)

    def __call__(self, documents: list[dict]) -> dict:
        keys = [k for k in documents[0] if k not in ("labels", "example_line")]
        windows = [{k: d[k][i] for k in keys} for d in documents for i in range(len(d["input_ids"]))]
        batch = self.pad(windows)
        batch["window_counts"] = torch.tensor([len(d["input_ids"]) for d in documents], dtype=torch.long)
        for key in ("labels", "example_line"):
            if key in documents[0]:
                values = [d[key] for d in documents]
                batch[key] = torch.tensor(values, dtype=torch.float32 if isinstance(values[0], list) else torch.long)
        return batch
