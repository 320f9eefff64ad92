"""TSV and CSV with a header row and RFC 4180 quoting (fields may hold tabs or newlines
when quoted); columns named by :class:`~weighted_bert.data.examples.Columns`."""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path

from ..errors import DataFormatError
from .examples import DEFAULT_LABEL, PLURAL_LABEL, Columns, Example, Sink, example_from_record


@contextlib.contextmanager
def any_field_size(size: int):
    """The csv module refuses fields over 128 KiB; a field can be as long as its file
    (``size``). Every reader of CSV/TSV, ours and the user's, reads under this."""
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, size + 1))
    try:
        yield
    finally:
        csv.field_size_limit(limit)


def read_delimited(path: Path, text: str, delimiter: str, columns: Columns, labels: str,
                   sink: Sink) -> list[Example]:
    with any_field_size(len(text)):
        return _read_rows(path, text, delimiter, columns, labels, sink)


def _read_rows(path: Path, text: str, delimiter: str, columns: Columns, labels: str,
               sink: Sink) -> list[Example]:
    # strict: a quote must close where a field ends, so an unclosed one does not swallow rows
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    physical = text.split("\n")
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
            end = reader.line_num
            if end > start:  # a quote opened here ran on over lines and did not close where a field ends
                span = "\n".join(text.split("\n")[start - 1:end])
                fields = next(csv.reader(io.StringIO(span, newline=""), delimiter=delimiter), [])
                where = f"a quoted field runs from here to line {end}: is a closing quote missing?"
                sink.bad(start, f"has {len(fields)} field(s); expected {len(header)} as in the header ({where})"
                         if len(fields) != len(header) else f"has {where}")
            else:
                sink.bad(start, f"is not valid {'TSV' if delimiter == chr(9) else 'CSV'} ({err})")
            start = end + 1
            continue
        number, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        stray = _stray_quote(row, physical[number - 1:start - 1])
        if stray:
            sink.bad(number, f"has a quote inside a field that is not quoted ({stray!r}): a field holding quotes "
                     'must be enclosed in quotes, each quote doubled ("5"" screen"); or this line is the rest of '
                     "a quote above that did not close")
            continue
        if [cell.strip() for cell in row] == header:
            sink.bad(number, "repeats the header row (files joined together?); expected an example")
            continue
        if start - 1 > number:
            sink.multiline.append(number)
        if len(row) != len(header):
            spans = f" (a quoted field runs from here to line {start - 1}: is a closing quote missing?)" \
                if start - 1 > number and any("\n" in cell for cell in row) else ""
            sink.bad(number, f"has {len(row)} field(s); expected {len(header)} as in the header{spans}")
            continue
        record = {name: row[i] for name, i in index.items()}
        example = example_from_record(record, columns, labels, number, sink)
        if example is not None:
            examples.append(example)
    if not examples and not sink.skipped:
        raise DataFormatError(path, None, "has a header row but no examples; expected examples below it")
    return examples


def _stray_quote(row: list[str], raw_lines: list[str]) -> str | None:
    """A field that holds a quote but was not written quoted (RFC 4180 wants it quoted, each
    quote doubled): the csv module reads it as text, which is how the rest of a row after an
    unclosed quote slips in."""
    raw = "\n".join(raw_lines)
    for cell in row:
        if '"' in cell and '"' + cell.replace('"', '""') + '"' not in raw.replace("\r\n", "\n"):
            return cell
    return None


def _column_indices(path: Path, header: list[str], columns: Columns, labels: str) -> dict[str, int]:
    wanted = {"text": columns.text}
    if columns.text_pair:
        wanted["text_pair"] = columns.text_pair
    if labels != "none" and (labels == "required" or columns.label in header
                             or (columns.label == DEFAULT_LABEL and PLURAL_LABEL in header)):
        wanted["label"] = columns.label
    index = {}
    if wanted.get("label") == DEFAULT_LABEL and DEFAULT_LABEL not in header and PLURAL_LABEL in header:
        wanted["label"] = PLURAL_LABEL
    for role, name in wanted.items():
        if name not in header:
            flag = {"text": "--text-column", "text_pair": "--text-pair-column", "label": "--label-column"}[role]
            raise DataFormatError(path, 1, f"has no column {name!r} (columns: {', '.join(header)}); "
                                  f"name the {role.replace('_', ' ')} column with {flag}")
        index[role] = header.index(name)
    return index
