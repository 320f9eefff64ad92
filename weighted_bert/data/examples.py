"""What every reader makes: examples, datasets, column names, and the one error for bad data.

A bad line either stops the read with a :class:`DataFormatError` naming file, line and
what was expected, or, under ``on_bad_line="skip"``/``"warn"``, is recorded by the
:class:`Sink` in ``Dataset.skipped``; it is never dropped silently.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataFormatError
from ..log import get_logger

log = get_logger(__name__)

ON_BAD_LINE = ("error", "skip", "warn")
# What spreadsheets, pandas and databases write for a missing value: never a class.
MISSING_VALUES = ("nan", "NaN", "NAN", "null", "NULL", "None", "#N/A", "N/A", "#NA")


def value_text(value) -> str | None:
    """A JSON (or Python, or numpy) value as the text of a field, by its value: 1, 1.0 and
    numpy's 1 are one label "1"; true is "true" (not Python's "True"); None is "" (missing).
    Objects, lists and anything else that is no text give None."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if hasattr(value, "item") and not isinstance(value, (list, dict)):  # a numpy scalar
        value = value.item()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    return None


def missing_value(label: str) -> str | None:
    """The problem with a label that stands for a missing value, else None."""
    if label.strip() in MISSING_VALUES:
        return (f"has the label {label.strip()!r}, which spreadsheets and pandas write for a missing value; "
                "expected a label (fill it in, or remove the line)")
    return None


@dataclass(frozen=True, slots=True)  # slots: a million examples without a dict each
class Example:
    text: str
    text_pair: str | None = None
    label: str | tuple[str, ...] | None = None  # multi-label: the row's label set, in file order (may be empty)
    line: int = 0  # 1-based line (or record start line) in the source file


@dataclass
class Dataset:
    path: str
    examples: list[Example]
    skipped: list[DataFormatError] = field(default_factory=list)
    multiline: list[int] = field(default_factory=list)  # lines where a quoted field spans several lines

    @property
    def has_labels(self) -> bool:
        return bool(self.examples) and self.examples[0].label is not None

    @property
    def multi_label(self) -> bool:
        """Labels are sets (JSONL lists, or split at a label separator)."""
        return self.has_labels and isinstance(self.examples[0].label, tuple)

    @property
    def is_pair(self) -> bool:
        return bool(self.examples) and self.examples[0].text_pair is not None

    def __len__(self) -> int:
        return len(self.examples)


DEFAULT_SEPARATOR = ","  # between the labels of a multi-label row in a TSV/CSV/.txt label field
DEFAULT_LABEL, PLURAL_LABEL = "label", "labels"  # a file without the default column may name it "labels"


@dataclass(frozen=True)
class Columns:
    """Column (or key) names for formats with a header."""

    text: str = "text"
    text_pair: str | None = None
    label: str = DEFAULT_LABEL


class Sink:
    """Collects bad lines or raises, depending on ``on_bad_line``; knows how this read takes
    labels (``multi_label``: True, False or None to detect from JSONL lists and a given
    separator; ``label_separator``: where a label field is split into a label set, by default
    :data:`DEFAULT_SEPARATOR` where the task is known to be multi-label, never in a
    single-label one)."""

    def __init__(self, path: Path, on_bad_line: str, *, multi_label: bool | None = None,
                 label_separator: str | None = None):
        self.path = path
        self.on_bad_line = on_bad_line
        self.skipped: list[DataFormatError] = []
        self.multiline: list[int] = []
        self.multi_label = multi_label
        # the one home of the default separator
        self.label_separator = None if multi_label is False else label_separator or (
            DEFAULT_SEPARATOR if multi_label else None)
        self.repeated: list[int] = []  # lines that named a label twice (merged)

    def bad(self, line: int, problem: str) -> None:
        error = DataFormatError(self.path, line, problem)
        if self.on_bad_line == "error":
            raise error
        if self.on_bad_line == "warn":
            log.warning(str(error))
        self.skipped.append(error)


def label_set(parts, number: int, sink: Sink) -> tuple[str, ...] | None:
    """A row's labels as a set in first-seen order; a label named twice is merged (and the
    line noted); an empty or missing-value label is a bad line (None)."""
    seen: dict[str, None] = {}
    for part in parts:
        label = part.strip()
        if not label:
            sink.bad(number, "has an empty label in its label list" + (
                f" (two separators {sink.label_separator!r} in a row, or one at an end)"
                if sink.label_separator else "") + "; expected label names")
            return None
        if missing_value(label):
            sink.bad(number, missing_value(label))
            return None
        if sink.label_separator and sink.label_separator in label:
            sink.bad(number, f"has the label {label!r}, which holds the label separator {sink.label_separator!r}; "
                     "choose a separator no label holds (--label-separator)")
            return None
        if label in seen:
            sink.repeated.append(number)
        seen[sys.intern(label)] = None
    return tuple(seen)


def split_labels(field_text: str, number: int, sink: Sink) -> tuple[str, ...] | None:
    """A label field split at the separator; an empty field is a row with no label."""
    if not field_text.strip():
        return ()
    return label_set(field_text.split(sink.label_separator), number, sink)


def example_from_record(record: dict, columns: Columns, labels: str, number: int,
                         sink: Sink) -> Example | None:
    text = record["text"]
    pair = record.get("text_pair")
    label = record.get("label")
    if isinstance(label, str) and (sink.label_separator or sink.multi_label):
        # a multi-label task: the field split at the separator (JSONL: a string is a one-label set)
        label = split_labels(label, number, sink) if sink.label_separator else label_set([label], number, sink)
        if label is None:
            return None
    if isinstance(label, str):
        if not label.strip():
            sink.bad(number, f"has an empty label; expected a value in {columns.label!r}")
            return None
        if missing_value(label):
            sink.bad(number, missing_value(label))
            return None
    if not text.strip() or (pair is not None and not pair.strip()):
        sink.bad(number, "has an empty text; expected text in "
                 + repr(columns.text if not text.strip() else columns.text_pair))
        return None
    return Example(text, pair, label, number)


def check_consistent_labels(path: Path, examples: list[Example], labels: str) -> None:
    if not examples:
        return
    sets = [isinstance(e.label, tuple) for e in examples if e.label is not None]
    if sets and any(sets) and not all(sets):
        first = next(e for e in examples if e.label is not None and isinstance(e.label, tuple) != sets[0])
        raise DataFormatError(path, first.line, "has one label while earlier lines have label lists; expected a list"
                              if sets[0] else "has a list of labels while earlier lines have one label each; expected "
                              "one kind (lists for a multi-label task)")
    if labels != "optional":
        return
    labelled = [e.label is not None for e in examples]
    if any(labelled) and not all(labelled):
        first = examples[labelled.index(not labelled[0])]
        raise DataFormatError(path, first.line, "has no label while earlier lines have one"
                              if labelled[0] else "has a label while earlier lines have none")
