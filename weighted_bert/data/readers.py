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

from pathlib import Path

from ..errors import DataFormatError, check_choice
from ..log import get_logger
from .delimited import read_delimited
from .examples import DEFAULT_SEPARATOR, ON_BAD_LINE, Columns, Dataset, Example, Sink
from .jsonl import read_jsonl
from .seed_format import read_seed

log = get_logger(__name__)

__all__ = ["DEFAULT_SEPARATOR", "ON_BAD_LINE", "Columns", "DataFormatError", "Dataset", "Example", "parse_dataset",
           "parse_lines", "read_dataset", "read_in_order"]

SEED_EXTENSIONS = (".txt",)
DELIMITED_EXTENSIONS = {".tsv": "\t", ".csv": ","}
JSONL_EXTENSIONS = (".jsonl", ".json")


def read_dataset(
    path,
    *,
    labels: str = "required",
    pair: bool | None = None,
    columns: Columns | None = None,
    on_bad_line: str = "error",
    multi_label: bool | None = None,
    label_separator: str | None = None,
) -> Dataset:
    """Read one data file.

    ``labels`` is ``"required"`` (training and dev files), ``"optional"`` (a test file
    may have none: then every example's ``label`` is None) or ``"none"``.
    ``pair`` says whether examples are sentence pairs; None infers it from the file
    (seed format only: three fields mean a pair when labels are required).
    ``multi_label``: labels are sets (True), one label (False), or as the file says (None:
    JSONL lists are sets). ``label_separator`` splits a label field into a set (TSV, CSV,
    the seed format; with ``multi_label`` not False).
    """
    path = Path(path)
    return parse_dataset(_read_bytes(path), path, labels=labels, pair=pair, columns=columns,
                         on_bad_line=on_bad_line, multi_label=multi_label, label_separator=label_separator)


def read_in_order(files, *, pair: bool | None = None, multi_label: bool | None = None, **read) -> list:
    """Read ``files``, (path, labels) pairs, in order (None where the path is None): the first
    file holds the examples' shape for those after it (single texts or pairs, unless ``pair``
    says), and the last file with labels their task (one label or sets, unless ``multi_label``
    says), so that dev and test are read as the training file turned out. ``read``: the rest
    of :func:`read_dataset`'s options."""
    datasets = []
    for path, labels in files:
        dataset = None if path is None else read_dataset(path, labels=labels, pair=pair, multi_label=multi_label,
                                                         **read)
        if dataset is not None:
            pair = dataset.is_pair if pair is None else pair
            multi_label = dataset.multi_label if dataset.has_labels else multi_label
        datasets.append(dataset)
    return datasets


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        if path.is_dir():
            what = "is a folder, not a file"
        elif path.is_symlink():
            what = "is a symbolic link that leads nowhere (or to itself)"
        elif path.exists():
            what = "is not a regular file (a pipe, socket or device)"
        else:
            what = "does not exist"
        raise DataFormatError(path, None, f"{what}; expected a data file")
    try:
        return path.read_bytes()
    except OSError as err:
        raise DataFormatError(path, None, f"cannot be read ({err.strerror})") from None


def parse_lines(data: bytes, path) -> Dataset:
    """Each non-blank line one whole text (tabs and quotes are part of it): what
    ``predict`` reads from standard input."""
    text = _decode(Path(path), data)
    examples = [Example(line.removesuffix("\r"), None, None, number)
                for number, line in enumerate(text.split("\n"), start=1) if line.strip()]
    if not examples:
        raise DataFormatError(path, None, "is empty; expected one text a line")
    return Dataset(str(path), examples)


def parse_dataset(data: bytes, path, *, labels: str = "required", pair: bool | None = None,
                  columns: Columns | None = None, on_bad_line: str = "error", multi_label: bool | None = None,
                  label_separator: str | None = None) -> Dataset:
    """:func:`read_dataset` on bytes already read; ``path`` names them in messages and its
    extension picks the format (``<stdin>`` reads as the seed format)."""
    if labels not in ("required", "optional", "none"):
        raise ValueError(f"labels must be 'required', 'optional' or 'none', not {labels!r}")  # a caller's bug
    check_choice("on_bad_line", on_bad_line, ON_BAD_LINE)
    path = Path(path)
    text = _decode(path, data)
    suffix = path.suffix.lower()
    columns = columns or Columns()
    sink = Sink(path, on_bad_line, multi_label=multi_label,
                label_separator=None if suffix in JSONL_EXTENSIONS else label_separator)
    if suffix in DELIMITED_EXTENSIONS:
        examples = read_delimited(path, text, DELIMITED_EXTENSIONS[suffix], columns, labels, sink)
    elif suffix in JSONL_EXTENSIONS:
        examples = read_jsonl(path, text, columns, labels, sink)
    else:
        examples = read_seed(path, text, labels, pair, sink)
    if not examples:
        if sink.skipped:
            raise DataFormatError(path, None, f"no usable example: all {len(sink.skipped)} lines were bad")
        raise DataFormatError(path, None, "is empty; expected one example a line")
    if sink.repeated:
        lines = ", ".join(map(str, sink.repeated[:10])) + (", ..." if len(sink.repeated) > 10 else "")
        log.warning(f"{path}: {len(sink.repeated)} row(s) name a label twice (line(s) {lines}); each label is counted "
                    "once a row")
    if sink.skipped and on_bad_line == "warn":
        log.warning(f"{path}: skipped {len(sink.skipped)} bad line(s)")
    if sink.multiline:
        lines = ", ".join(map(str, sink.multiline[:10])) + (", ..." if len(sink.multiline) > 10 else "")
        count = len(sink.multiline)
        log.info(f"{path}: {count} example{' holds' if count == 1 else 's hold'} a quoted field over several lines "
                 f"(line{'s' if count > 1 else ''} {lines}); check them if that is not meant")
    return Dataset(str(path), examples, sink.skipped, sink.multiline)


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
