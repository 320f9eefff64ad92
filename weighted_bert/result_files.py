"""The files a user reads after a run. Each is written whole or not at all (see ``io``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .data.readers import Example
from .files import atomic_write_text, write_json
from .run_folder import RESULTS_PREFIX, results_files


def write_eval_results(output_dir, metrics: dict, *, split: str = "dev") -> None:
    """The seed's ``key = value`` lines (``eval_results.txt`` for dev, ``test_results.txt``
    for test) and the same as JSON, every key prefixed with ``eval_`` or ``test_``.

    ``metrics`` keys come without the prefix (``accuracy``, ``loss``, ...); scalar numbers
    go to the text file, everything to the JSON file.
    """
    output_dir = Path(output_dir)
    prefix = RESULTS_PREFIX[split]
    keyed = {f"{prefix}_{k}" if k != "global_step" else k: v for k, v in metrics.items()}
    lines = [f"{k} = {v}" for k, v in sorted(keyed.items()) if isinstance(v, (int, float))]
    text_name, json_name = results_files(split)
    atomic_write_text(output_dir / text_name, "\n".join(lines) + "\n")
    write_json(output_dir / json_name, keyed)


def write_test_results(path, probabilities: np.ndarray) -> None:
    """The seed's ``test_results.tsv``: one line per test example, class probabilities in
    label-map order, tab-separated, no header. ``%.9g`` keeps float32 exact."""
    text = "".join("\t".join(f"{p:.9g}" for p in row) + "\n" for row in probabilities)
    atomic_write_text(path, text)


def windows_column(windows: Sequence[int] | None, rows: int) -> list[int] | None:
    """The ``windows`` column of a predictions file: each text's windows, where any text was
    read in more than one (else no column: the file is as before windows)."""
    return list(windows) if windows is not None and len(windows) == rows and max(windows, default=1) > 1 else None


def write_predictions(path, examples: Sequence[Example], probabilities: np.ndarray, labels: Sequence[str],
                      chosen: Sequence[int] | None = None, windows: Sequence[int] | None = None) -> None:
    """``predictions.tsv``: text (and text_b), predicted label, its probability, gold label if
    known, and where a text was read in several windows, each text's windows. ``labels``: the
    label names in label order, or with ``chosen`` (the decided class per row, negative for an
    abstention) the label written for each row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    pair = bool(examples) and examples[0].text_pair is not None
    gold = bool(examples) and examples[0].label is not None
    windows = windows_column(windows, len(examples))
    writer.writerow(["text"] + (["text_b"] if pair else []) + ["predicted_label", "probability"]
                    + (["gold_label"] if gold else []) + (["windows"] if windows else []))
    if chosen is None:
        chosen = probabilities.argmax(axis=1)
        labels = [labels[k] for k in chosen]
    for i, (example, k, label, row) in enumerate(zip(examples, chosen, labels, probabilities)):
        confidence = row[k] if k >= 0 else row.max()  # an abstention: how sure the model was, below the threshold
        writer.writerow([example.text] + ([example.text_pair] if pair else []) + [label, f"{confidence:.6f}"]
                        + ([example.label] if gold else []) + ([windows[i]] if windows else []))
    atomic_write_text(path, buffer.getvalue())
