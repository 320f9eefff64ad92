"""The parts folder beside a streamed output, and the output made from it.

``OUTPUT.parts/`` holds ``plan.json`` (what the run scores: the model, the input's size and
time, the chunk size, the shard, the settings), then per chunk ``part-NNNNNN.tsv`` (the
chunk's ``predictions.tsv``, as ``predict`` writes it) and, when asked for,
``part-NNNNNN.ids.json`` and ``part-NNNNNN.probabilities.tsv``; the ``.tsv`` part is
committed last, so its presence marks a finished chunk. The output (TSV, or Parquet for a
``.parquet`` name) is assembled from the parts in chunk order into a temporary file that
replaces the output only when whole; then the parts folder is removed.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

from ..errors import RunError, UserError
from ..files import OutputError, atomic_file, atomic_write_bytes, atomic_write_text

PLAN = "plan.json"
NUMERIC = {"probability": float, "windows": int}  # every other column of a predictions file is text
csv.field_size_limit(2 ** 31 - 1)  # a long document's text is one field


def parts_folder(output) -> Path:
    return Path(str(output) + ".parts")


class Parts:
    """The committed chunks of one output; made with the run's ``plan``."""

    def __init__(self, output, plan: dict, *, resume: bool, overwrite: bool, also=None):
        self.output, self.folder = Path(output), parts_folder(output)
        for path in (self.output, also):
            if path and Path(path).is_dir():
                raise OutputError(f"{path}: cannot write it (a folder is there; expected a file name)")
            if path and Path(path).parent.exists() and not Path(path).parent.is_dir():
                raise OutputError(f"{path}: cannot write it ({Path(path).parent} is a file, not a folder)")
        there = [p for p in (self.output, also) if p and Path(p).exists()]
        if self.folder.exists():
            if not resume:
                raise UserError(f"{self.folder}: an interrupted predict left its parts here; pass --resume to "
                                "continue it, or remove the folder to start again")
            previous = json.loads((self.folder / PLAN).read_text(encoding="utf-8")) \
                if (self.folder / PLAN).is_file() else None
            if previous != plan:
                changed = sorted(k for k in set(plan) | set(previous or {})
                                 if (previous or {}).get(k) != plan.get(k))
                raise UserError(f"{self.folder}: the interrupted predict scored otherwise ({', '.join(changed)}); "
                                "--resume continues only the same command on the same input. Remove the folder to "
                                "start again")
        elif there and not overwrite:
            raise UserError(f"{there[0]}: exists; predict does not write over it (--overwrite replaces it; "
                            "--resume continues an interrupted run)")
        else:
            try:
                self.folder.mkdir(parents=True)
            except OSError as err:
                raise OutputError(f"{self.output}: cannot write it ({err.strerror or err})") from None
            atomic_write_text(self.folder / PLAN, json.dumps(plan, indent=1) + "\n")
        self.done_chunks: list[int] = []

    def discard_if_empty(self) -> None:
        """Remove the parts folder when no chunk was committed (a run that stopped at once leaves
        nothing to resume)."""
        if self.folder.is_dir() and not list(self.folder.glob("part-*.tsv")):
            shutil.rmtree(self.folder, ignore_errors=True)

    def part(self, index: int, kind: str = "") -> Path:
        return self.folder / f"part-{index:06d}{kind}"

    def done(self, index: int) -> bool:
        if self.part(index, ".tsv").is_file():
            self.done_chunks.append(index)
            return True
        return False

    def commit_scored(self, scored) -> None:
        """A chunk's part files from a :class:`~.engines.Scored`; the ``.tsv`` part last, so
        that a chunk is done when it is there."""
        if scored.ids is not None:
            atomic_write_text(self.part(scored.index, ".ids.json"),
                              json.dumps(scored.ids, ensure_ascii=False, default=str))
        if scored.probabilities is not None:
            atomic_write_bytes(self.part(scored.index, ".probabilities.tsv"), scored.probabilities)
        atomic_write_bytes(self.part(scored.index, ".tsv"), scored.predictions)
        self.done_chunks.append(scored.index)

    def assemble(self, *, id_column: str | None, probabilities=None, header_in_probabilities: bool = False) -> int:
        """Write the output (and ``probabilities``) from the parts; returns the rows written."""
        order = sorted(set(self.done_chunks))
        columns: list[str] = []
        for index in order:
            with self.part(index, ".tsv").open(encoding="utf-8", newline="") as handle:
                for name in next(csv.reader(handle, delimiter="\t")):
                    if name not in columns:
                        columns.append(name)
        if "windows" in columns:  # a chunk whose texts all fit one window wrote no windows column
            columns = [c for c in columns if c != "windows"] + ["windows"]
        head = ([id_column] if id_column else []) + columns
        rows = self._write(head, order, id_column, columns)
        if probabilities is not None:
            _concatenate([self.part(i, ".probabilities.tsv") for i in order], Path(probabilities),
                         header=header_in_probabilities)
        shutil.rmtree(self.folder)
        return rows

    def _rows(self, order, id_column, columns):
        for index in order:
            ids = json.loads(self.part(index, ".ids.json").read_text(encoding="utf-8")) if id_column else None
            with self.part(index, ".tsv").open(encoding="utf-8", newline="") as handle:
                reader = csv.DictReader(handle, delimiter="\t")
                for k, row in enumerate(reader):
                    values = [row.get(c, "1" if c == "windows" else "") for c in columns]
                    yield ([ids[k]] if ids is not None else []) + values

    def _write(self, head: list[str], order, id_column, columns) -> int:
        rows = 0
        with atomic_file(self.output) as tmp:
            if self.output.suffix.lower() in (".parquet", ".pq"):
                return _write_parquet(tmp, head, self._rows(order, id_column, columns))
            with open(tmp, "w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
                writer.writerow(head)
                for row in self._rows(order, id_column, columns):
                    writer.writerow(row)
                    rows += 1
        return rows


def _write_parquet(path: Path, head: list[str], rows, batch: int = 10_000) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer, count, buffer = None, 0, []

    def flush():
        nonlocal writer
        table = pa.table({name: [NUMERIC.get(name, _same)(r[i]) for r in buffer] for i, name in enumerate(head)})
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table.cast(writer.schema))

    for row in rows:
        buffer.append(row)
        count += 1
        if len(buffer) == batch:
            flush()
            buffer = []
    if buffer or writer is None:
        flush()
    writer.close()
    return count


def _same(value):
    return value


def _concatenate(parts: list[Path], output: Path, *, header: bool) -> None:
    """The parts' lines one after the other (a header line kept from the first part only)."""
    with atomic_file(output) as tmp, open(tmp, "wb") as out:
        for k, part in enumerate(parts):
            with part.open("rb") as handle:
                if header and k > 0:
                    handle.readline()
                shutil.copyfileobj(handle, out)


def to_stdout(path: Path, chunk: int = 1 << 16) -> None:
    """``path``'s bytes to standard output, in chunks, each write checked: a full disk or a
    closed pipe is an error, never a silently short file (text-mode stdout can drop a short write)."""
    sys.stdout.flush()
    out = sys.stdout.buffer
    try:
        with open(path, "rb") as handle:
            while block := handle.read(chunk):
                view = memoryview(block)
                while view:
                    written = out.write(view)
                    if written is None or written <= 0:
                        raise OSError("standard output took no bytes")
                    view = view[written:]
        out.flush()
    except OSError as err:
        raise RunError(f"writing the predictions to standard output failed ({err.strerror or err}); the output "
                       "is incomplete") from None
