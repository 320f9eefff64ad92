"""An input file as chunks of rows, each parsed only when a shard scores it.

Text formats (the seed format, TSV, CSV, JSONL, standard input) are read a line at a time
and cut into chunks at line ends outside quoted fields; each chunk is parsed by the same
readers as a whole file (:func:`~weighted_bert.data.parse_dataset`, the header put before
every chunk of a TSV or CSV file) and its line numbers are those of the file. Parquet is
read a record batch at a time (pyarrow). A UTF-16 file is read whole (its lines cannot be
cut as bytes).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from ..data import Dataset, Example, parse_dataset, parse_lines, read_dataset
from ..data.readers import DELIMITED_EXTENSIONS, JSONL_EXTENSIONS
from ..errors import DataFormatError

PARQUET = (".parquet", ".pq")


@dataclass
class Chunk:
    index: int
    dataset: Dataset
    ids: list | None  # the id column's value of each row, when asked for


def chunks(path, *, chunk_rows: int, read_options: dict, pair: bool, id_column: str | None = None
           ) -> Iterator[tuple[int, Callable[[], Chunk]]]:
    """``(index, load)`` for each chunk of ``path`` (``-``: standard input); ``load()`` parses it.
    ``read_options``: :func:`~weighted_bert.data.parse_dataset`'s (labels, columns, ...)."""
    name = str(path)
    suffix = Path(name).suffix.lower()
    if suffix in PARQUET:
        yield from _parquet_chunks(Path(name), chunk_rows, read_options, pair, id_column)
        return
    if id_column is not None and (name == "-" or suffix not in (*DELIMITED_EXTENSIONS, *JSONL_EXTENSIONS)):
        raise DataFormatError(name, None, f"--id-column {id_column}: the seed format and standard input have no "
                              "named columns; an id column needs TSV, CSV, JSONL or Parquet (the line number is in "
                              "the output either way)")
    if name == "-":
        yield from _line_chunks(sys.stdin.buffer, "<stdin>", chunk_rows, read_options, pair, None, header=False)
        return
    file = Path(name)
    if not file.is_file():
        read_dataset(file)  # its message: a folder, a broken link, no such file
    with file.open("rb") as handle:
        start = handle.read(4)
        handle.seek(0)
        if start[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(start) == 4 and (start[1:2] == b"\0" or start[:1] == b"\0")):
            whole = read_dataset(file, **read_options)  # UTF-16: one chunk
            yield 0, lambda: Chunk(0, whole, _ids(whole, file, file.read_bytes(), id_column, suffix, 0))
            return
        yield from _line_chunks(handle, file, chunk_rows, read_options, pair, id_column,
                                header=suffix in DELIMITED_EXTENSIONS)


def _line_chunks(handle, path, chunk_rows: int, read_options: dict, pair: bool, id_column, *, header: bool):
    suffix = Path(str(path)).suffix.lower()
    # only TSV and CSV fields hold line ends (quoted); the seed format and JSONL are a row a line
    delimiter = ord(DELIMITED_EXTENSIONS[suffix]) if suffix in DELIMITED_EXTENSIONS else None
    head, lines, rows, first, number, inside, index = None, [], 0, 1, 0, False, 0
    for raw in handle:
        number += 1
        if header and number == 1:
            head, first = raw if raw.endswith(b"\n") else raw + b"\n", 2
            continue
        lines.append(raw)
        if delimiter is not None and (inside or b'"' in raw):
            inside = still_quoted(raw, delimiter, inside)
        if not inside and raw.strip():
            rows += 1
        if rows >= chunk_rows and not inside:
            yield index, _loader(index, path, head, b"".join(lines), first, read_options, pair, id_column)
            index, lines, rows, first = index + 1, [], 0, number + 1
    if lines and any(line.strip() for line in lines):
        yield index, _loader(index, path, head, b"".join(lines), first, read_options, pair, id_column)
    elif index == 0:
        raise DataFormatError(path, None, "is empty; expected one text a line")


def still_quoted(line: bytes, delimiter: int, inside: bool) -> bool:
    """Whether a quoted field is open at the end of ``line``, read as :mod:`csv` reads it
    (RFC 4180): a quote opens a field only at the field's start; inside one, ``""`` is a quote
    and a lone ``"`` closes it. ``inside``: a field was open where the line starts."""
    at_start, i, n = not inside, 0, len(line)
    while i < n:
        c = line[i]
        if inside:
            if c == 0x22:
                if i + 1 < n and line[i + 1] == 0x22:
                    i += 2
                    continue
                inside = False
        elif c == 0x22 and at_start:
            inside = True
        at_start = not inside and c == delimiter
        i += 1
    return inside


def _loader(index, path, head, data: bytes, first: int, read_options: dict, pair: bool, id_column):
    def load() -> Chunk:
        text = (head or b"") + data
        shift = first - (2 if head is not None else 1)  # a chunk's line k is the file's line k + shift
        if str(path) == "<stdin>" and not pair:
            parsed = parse_lines(text, path)
        elif str(path) == "<stdin>":
            parsed = parse_dataset(text, path, **{**read_options, "labels": "none"})
        else:
            try:
                parsed = parse_dataset(text, path, **read_options)
            except DataFormatError as err:
                raise DataFormatError(err.path, None if err.line is None else err.line + shift, err.problem) from None
        examples = [replace(e, line=e.line + shift) for e in parsed.examples]
        dataset = Dataset(parsed.path, examples, parsed.skipped, [n + shift for n in parsed.multiline])
        suffix = Path(str(path)).suffix.lower()
        return Chunk(index, dataset, _ids(dataset, path, text, id_column, suffix, shift))
    return load


def _ids(dataset: Dataset, path, text: bytes, id_column, suffix: str, shift: int) -> list | None:
    """Each row's ``id_column`` value, found by the row's line."""
    if id_column is None:
        return None
    by_line = {}
    decoded = text.decode("utf-8-sig", errors="replace")
    if suffix in JSONL_EXTENSIONS:
        for number, line in enumerate(decoded.split("\n"), start=1):
            if line.strip():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # the reader has said what is wrong with it
                if isinstance(record, dict) and id_column in record:
                    by_line[number + shift] = record[id_column]
    else:
        reader = csv.reader(io.StringIO(decoded, newline=""), delimiter=DELIMITED_EXTENSIONS[suffix])
        names, end = next(reader, []), 1
        if id_column not in names:
            raise DataFormatError(path, 1, f"has no column {id_column!r} (--id-column); its columns: "
                                  f"{', '.join(names)}")
        at = names.index(id_column)
        for row in reader:
            start, end = end + 1, reader.line_num
            if row and at < len(row):
                by_line[start + shift] = row[at]
    missing = [e.line for e in dataset.examples if e.line not in by_line]
    if missing:
        raise DataFormatError(path, missing[0], f"has no value for the id column {id_column!r}; expected one on every "
                              "row")
    return [by_line[e.line] for e in dataset.examples]


def _parquet_chunks(path: Path, chunk_rows: int, read_options: dict, pair: bool, id_column):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataFormatError(path, None, 'reading Parquet needs pyarrow: pip install "weighted-bert[data]"') from None
    if not path.is_file():
        read_dataset(path)  # its message
    try:
        parquet = pq.ParquetFile(path)
    except Exception as err:  # pyarrow's own error types vary by version
        raise DataFormatError(path, None, f"is not a Parquet file ({err})") from None
    columns = read_options.get("columns")
    names = parquet.schema_arrow.names
    wanted = {"text": columns.text if columns else "text",
              "pair": (columns.text_pair or "text_pair") if pair else None,
              "label": columns.label if columns else "label", "id": id_column}
    for role in ("text", "pair", "id"):
        if wanted[role] is not None and wanted[role] not in names:
            flag = {"text": "--text-column", "pair": "--text-pair-column", "id": "--id-column"}[role]
            raise DataFormatError(path, None, f"has no column {wanted[role]!r} ({flag}); its columns: "
                                  f"{', '.join(names)}")
    if read_options.get("labels") == "required" and wanted["label"] not in names:
        raise DataFormatError(path, None, f"has no label column {wanted['label']!r}; its columns: {', '.join(names)}")
    read = [c for c in (wanted["text"], wanted["pair"], wanted["id"]) if c] + \
        ([wanted["label"]] if wanted["label"] in names and read_options.get("labels") != "none" else [])
    offset = 0
    for index, batch in enumerate(parquet.iter_batches(batch_size=chunk_rows, columns=list(dict.fromkeys(read)))):
        yield index, _parquet_loader(index, path, batch.to_pydict(), offset, wanted)
        offset += batch.num_rows
    if offset == 0:
        raise DataFormatError(path, None, "has no rows; expected one text a row")


def _parquet_loader(index, path, rows: dict, offset: int, wanted: dict):
    def load() -> Chunk:
        texts = rows[wanted["text"]]
        pairs = rows.get(wanted["pair"]) if wanted["pair"] else None
        labels = rows.get(wanted["label"])
        examples = []
        for i, text in enumerate(texts):
            row = offset + i + 1
            for value, column in ((text, wanted["text"]), (pairs[i] if pairs else "x", wanted["pair"])):
                if not isinstance(value, str) or not value.strip():
                    raise DataFormatError(path, None, f"row {row}: column {column!r} is {value!r}; expected a text")
            label = None if labels is None or labels[i] is None else str(labels[i])
            examples.append(Example(text, pairs[i] if pairs else None, label, row))
        return Chunk(index, Dataset(str(path), examples), rows[wanted["id"]] if wanted["id"] else None)
    return load
