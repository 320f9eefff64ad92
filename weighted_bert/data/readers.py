"""Read labelled text from the seed's format, TSV/CSV with a header, and JSONL.

Every reader returns a :class:`Dataset`: the examples in file order plus the lines it
skipped (only under ``on_bad_line="skip"`` or ``"warn"``). A bad line either stops the
read with a :class:`DataFormatError` naming file, line and what was expected, or is
recorded in ``Dataset.skipped``; it is never dropped silently.

Formats, chosen by extension:

* ``.txt`` (the seed): no header, one example a line, ``text<TAB>label`` or
  ``text_a<TAB>text_b<TAB>label``. A field enclosed in double quotes loses only the
  enclosing pair; quotes inside the text are kept as they are.
* ``.tsv`` / ``.csv``: a header row and RFC 4180 quoting (fields may hold tabs or
  newlines when quoted). Columns are named by ``text_column``, ``text_pair_column``
  and ``label_column``.
* ``.jsonl`` / ``.json`` (one object a line): the same column names as keys.

Files are UTF-8, with or without a byte-order mark, or UTF-16 with a byte-order mark
(what spreadsheets save as "Unicode text"); LF or CRLF line ends.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError, check_choice
from ..log import get_logger

log = get_logger(__name__)

ON_BAD_LINE = ("error", "skip", "warn")
SEED_EXTENSIONS = (".txt",)
DELIMITED_EXTENSIONS = {".tsv": "\t", ".csv": ","}
JSONL_EXTENSIONS = (".jsonl", ".json")


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


def read_dataset(
    path,
    *,
    labels: str = "required",
    pair: bool | None = None,
    columns: Columns | None = None,
    on_bad_line: str = "error",
) -> Dataset:
    """Read one data file.

    ``labels`` is ``"required"`` (training and dev files), ``"optional"`` (a test file
    may have none: then every example's ``label`` is None) or ``"none"``.
    ``pair`` says whether examples are sentence pairs; None infers it from the file
    (seed format only: three fields mean a pair when labels are required).
    """
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise DataFormatError(path, None, f"{what}; expected a data file")
    return parse_dataset(path.read_bytes(), path, labels=labels, pair=pair, columns=columns,
                         on_bad_line=on_bad_line)


def parse_dataset(data: bytes, path, *, labels: str = "required", pair: bool | None = None,
                  columns: Columns | None = None, on_bad_line: str = "error") -> Dataset:
    """:func:`read_dataset` on bytes already read; ``path`` names them in messages and its
    extension picks the format (``<stdin>`` reads as the seed format)."""
    if labels not in ("required", "optional", "none"):
        raise ValueError(f"labels must be 'required', 'optional' or 'none', not {labels!r}")  # a caller's bug
    check_choice("on_bad_line", on_bad_line, ON_BAD_LINE)
    path = Path(path)
    text = _decode(path, data)
    suffix = path.suffix.lower()
    columns = columns or Columns()
    sink = _Sink(path, on_bad_line)
    if suffix in DELIMITED_EXTENSIONS:
        examples = _read_delimited(path, text, DELIMITED_EXTENSIONS[suffix], columns, labels, sink)
    elif suffix in JSONL_EXTENSIONS:
        examples = _read_jsonl(path, text, columns, labels, sink)
    else:
        examples = _read_seed(path, text, labels, pair, sink)
    if not examples:
        if sink.skipped:
            raise DataFormatError(path, None, f"no usable example: all {len(sink.skipped)} lines were bad")
        raise DataFormatError(path, None, "is empty; expected one example a line")
    if sink.skipped and on_bad_line == "warn":
        log.warning(f"{path}: skipped {len(sink.skipped)} bad line(s)")
    return Dataset(str(path), examples, sink.skipped)


class _Sink:
    """Collects bad lines or raises, depending on ``on_bad_line``."""

    def __init__(self, path: Path, on_bad_line: str):
        self.path = path
        self.on_bad_line = on_bad_line
        self.skipped: list[DataFormatError] = []

    def bad(self, line: int, problem: str) -> None:
        error = DataFormatError(self.path, line, problem)
        if self.on_bad_line == "error":
            raise error
        if self.on_bad_line == "warn":
            log.warning(str(error))
        self.skipped.append(error)


def _decode(path: Path, data: bytes) -> str:
    """The file's text: UTF-8 (an optional byte-order mark dropped) or UTF-16 with a
    byte-order mark; anything else stops with the line and column of the first bad byte."""
    encoding = "utf-8"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif _looks_like_utf16(data):
        raise DataFormatError(path, None, "looks like UTF-16 without a byte-order mark (every other byte is "
                              "NUL); expected UTF-8, or UTF-16 that starts with a byte-order mark")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:
        if encoding == "utf-16":
            raise DataFormatError(path, None, f"is not valid UTF-16 ({err.reason} at byte {err.start}); "
                                  "expected a UTF-8 or UTF-16 text file") from None
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise DataFormatError(
            path, line, f"is not valid UTF-8 (byte 0x{data[err.start]:02x} at column {column}); "
            "expected a UTF-8 file"
        ) from None
    text = text.removeprefix("\ufeff")
    nul = text.find("\x00")
    if nul >= 0:
        raise DataFormatError(path, text.count("\n", 0, nul) + 1, "contains a NUL byte; expected text")
    return text


def _looks_like_utf16(data: bytes) -> bool:
    head = data[:4096]
    return len(head) >= 4 and (head[1::2].count(0) > 0.9 * len(head[1::2])
                               or head[0::2].count(0) > 0.9 * len(head[0::2]))


def _unquote(field_text: str) -> str:
    """Remove one enclosing pair of double quotes; keep every other quote."""
    if len(field_text) >= 2 and field_text[0] == '"' and field_text[-1] == '"':
        return field_text[1:-1]
    return field_text


def _read_seed(path: Path, text: str, labels: str, pair: bool | None, sink: _Sink) -> list[Example]:
    examples: list[Example] = []
    layout: tuple[int, bool] | None = None  # (number of text fields, has label)
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line.strip():
            continue  # a blank line holds no example
        fields = [_unquote(f) for f in line.split("\t")]
        if layout is None:
            layout = _seed_layout(len(fields), labels, pair)
            if layout is None:
                sink.bad(number, _seed_expectation(len(fields), labels, pair))
                continue
        n_text, has_label = layout
        if len(fields) != n_text + has_label:
            wanted = _describe(n_text, has_label)
            sink.bad(number, f"has no tab; expected {wanted}" if len(fields) == 1 else
                     f"has {len(fields)} tab-separated fields; expected {wanted} like the lines before it")
            continue
        label = sys.intern(fields[-1]) if has_label else None  # one string per class, not per line
        if has_label and not label.strip():
            sink.bad(number, "has an empty label; expected a label after the last tab")
            continue
        if not fields[0].strip() or (n_text == 2 and not fields[1].strip()):
            sink.bad(number, "has an empty text; expected text before the tab")
            continue
        examples.append(Example(fields[0], fields[1] if n_text == 2 else None, label, number))
    return examples


def _seed_layout(n_fields: int, labels: str, pair: bool | None) -> tuple[int, bool] | None:
    if labels == "none":
        options = [(n_fields, False)] if n_fields in (1, 2) else []
    elif labels == "required":
        options = [(n_fields - 1, True)] if n_fields in (2, 3) else []
    else:  # optional: a line of text fields only, or text fields and a label
        if pair is None:
            options = [(n_fields - 1, True)] if n_fields in (2, 3) else [(1, False)] if n_fields == 1 else []
        else:
            n_text = 2 if pair else 1
            options = [(n_text, n_fields == n_text + 1)] if n_fields in (n_text, n_text + 1) else []
    options = [o for o in options if pair is None or (o[0] == 2) == pair]
    return options[0] if options else None


def _describe(n_text: int, has_label: bool) -> str:
    names = ["text"] if n_text == 1 else ["text_a", "text_b"]
    return "<TAB>".join(names + (["label"] if has_label else []))


def _seed_expectation(n_fields: int, labels: str, pair: bool | None) -> str:
    if pair is None:
        wanted = "text<TAB>label or text_a<TAB>text_b<TAB>label" if labels != "none" else "text or text_a<TAB>text_b"
    else:
        wanted = _describe(2 if pair else 1, labels == "required")
    if n_fields == 1:
        return f"has no tab; expected {wanted}"
    return f"has {n_fields} tab-separated fields; expected {wanted}"


def _read_delimited(path: Path, text: str, delimiter: str, columns: Columns, labels: str,
                    sink: _Sink) -> list[Example]:
    # The csv module refuses fields over 128 KiB; a field can be as long as the file.
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))
    try:
        return _read_rows(path, text, delimiter, columns, labels, sink)
    finally:
        csv.field_size_limit(limit)


def _read_rows(path: Path, text: str, delimiter: str, columns: Columns, labels: str,
               sink: _Sink) -> list[Example]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise DataFormatError(path, None, "is empty; expected a header row and examples") from None
    except csv.Error as err:
        raise DataFormatError(path, 1, f"has a malformed header ({err})") from None
    header = [h.strip() for h in header]
    index = _column_indices(path, header, columns, labels)
    examples: list[Example] = []
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            sink.bad(start, f"is not valid {'TSV' if delimiter == chr(9) else 'CSV'} ({err})")
            start = reader.line_num + 1
            continue
        number, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            spans = f" (a quoted field runs from here to line {start - 1}: is a closing quote missing?)" \
                if start - 1 > number and any("\n" in cell for cell in row) else ""
            sink.bad(number, f"has {len(row)} field(s); expected {len(header)} as in the header{spans}")
            continue
        record = {name: row[i] for name, i in index.items()}
        example = _example_from_record(record, columns, labels, number, sink)
        if example is not None:
            examples.append(example)
    if not examples and not sink.skipped:
        raise DataFormatError(path, None, "has a header row but no examples; expected examples below it")
    return examples


def _column_indices(path: Path, header: list[str], columns: Columns, labels: str) -> dict[str, int]:
    wanted = {"text": columns.text}
    if columns.text_pair:
        wanted["text_pair"] = columns.text_pair
    if labels != "none" and (labels == "required" or columns.label in header):
        wanted["label"] = columns.label
    index = {}
    for role, name in wanted.items():
        if name not in header:
            flag = {"text": "--text-column", "text_pair": "--text-pair-column", "label": "--label-column"}[role]
            raise DataFormatError(path, 1, f"has no column {name!r} (columns: {', '.join(header)}); "
                                  f"name the {role.replace('_', ' ')} column with {flag}")
        index[role] = header.index(name)
    return index


def _read_jsonl(path: Path, text: str, columns: Columns, labels: str, sink: _Sink) -> list[Example]:
    examples: list[Example] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            sink.bad(number, f"is not valid JSON ({err.msg}); expected one JSON object a line")
            continue
        if not isinstance(obj, dict):
            sink.bad(number, "is not a JSON object; expected one object a line")
            continue
        record = {}
        for role, key in (("text", columns.text), ("text_pair", columns.text_pair), ("label", columns.label)):
            if key is None or (role == "label" and labels == "none"):
                continue
            if key in obj:
                record[role] = "" if obj[key] is None else str(obj[key])
            elif role != "label" or labels == "required":
                sink.bad(number, f"has no key {key!r}; expected keys {columns.text!r}"
                         + (f", {columns.text_pair!r}" if columns.text_pair else "")
                         + (f" and {columns.label!r}" if labels == "required" else ""))
                record = None
                break
        if record is None:
            continue
        example = _example_from_record(record, columns, labels, number, sink)
        if example is not None:
            examples.append(example)
    _check_consistent_labels(path, examples, labels)
    return examples


def _example_from_record(record: dict, columns: Columns, labels: str, number: int,
                         sink: _Sink) -> Example | None:
    text = record["text"]
    pair = record.get("text_pair")
    label = record.get("label")
    if label is not None:
        if not label.strip():
            sink.bad(number, f"has an empty label; expected a value in {columns.label!r}")
            return None
    if not text.strip() or (pair is not None and not pair.strip()):
        sink.bad(number, "has an empty text; expected text in "
                 + repr(columns.text if not text.strip() else columns.text_pair))
        return None
    return Example(text, pair, label, number)


def _check_consistent_labels(path: Path, examples: list[Example], labels: str) -> None:
    if labels != "optional" or not examples:
        return
    labelled = [e.label is not None for e in examples]
    if any(labelled) and not all(labelled):
        first = examples[labelled.index(not labelled[0])]
        raise DataFormatError(path, first.line, "has no label while earlier lines have one"
                              if labelled[0] else "has a label while earlier lines have none")
