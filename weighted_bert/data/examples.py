"""What every reader makes: examples, datasets, column names, and the one error for bad data.

A bad line either stops the read with a :class:`DataFormatError` naming file, line and
what was expected, or, under ``on_bad_line="skip"``/``"warn"``, is recorded by the
:class:`Sink` in ``Dataset.skipped``; it is never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError
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


class DataFormatError(UserError, ValueError):
    """A data file that cannot be read as expected, with where and why."""

    def __init__(self, path, line: int | None, problem: str):
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True, slots=True)  # slots: a million examples without a dict each
class Example:
    text: str
    text_pair: str | None = None
    label: str | None = None
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
    def is_pair(self) -> bool:
        return bool(self.examples) and self.examples[0].text_pair is not None

    def __len__(self) -> int:
        return len(self.examples)


@dataclass(frozen=True)
class Columns:
    """Column (or key) names for formats with a header."""

    text: str = "text"
    text_pair: str | None = None
    label: str = "label"


class Sink:
    """Collects bad lines or raises, depending on ``on_bad_line``."""

    def __init__(self, path: Path, on_bad_line: str):
        self.path = path
        self.on_bad_line = on_bad_line
        self.skipped: list[DataFormatError] = []
        self.multiline: list[int] = []

    def bad(self, line: int, problem: str) -> None:
        error = DataFormatError(self.path, line, problem)
        if self.on_bad_line == "error":
            raise error
        if self.on_bad_line == "warn":
            log.warning(str(error))
        self.skipped.append(error)


def example_from_record(record: dict, columns: Columns, labels: str, number: int,
                         sink: Sink) -> Example | None:
    text = record["text"]
    pair = record.get("text_pair")
    label = record.get("label")
    if label is not None:
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
    if labels != "optional" or not examples:
        return
    labelled = [e.label is not None for e in examples]
    if any(labelled) and not all(labelled):
        first = examples[labelled.index(not labelled[0])]
        raise DataFormatError(path, first.line, "has no label while earlier lines have one"
                              if labelled[0] else "has a label while earlier lines have none")
