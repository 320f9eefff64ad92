"""Writing files so that a crash never leaves a half-written file that looks complete."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path

from .errors import DataFormatError, UserError


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place."""
    atomic_write_bytes(path, text.encode("utf-8"))


def give_usual_mode(path) -> None:
    """The mode a new file gets from the umask (0644 under the usual 022), for files that a
    library wrote 0600 (safetensors): a serving user must be able to read them."""
    os.chmod(path, 0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path, data) -> None:
    """``data`` as indented UTF-8 JSON, written whole or not at all."""
    atomic_write_text(path, json.dumps(_clean(data), ensure_ascii=False, indent=2) + "\n")


def _clean(value):
    """JSON-safe: numpy scalars to Python (without importing numpy), non-finite floats to None."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def read_json_object(path, expected: str) -> dict:
    """A JSON file holding one object; anything else is one error naming the file and what
    was ``expected`` there."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise DataFormatError(path, None, f"is not valid JSON ({err}); expected {expected}") from None
    if not isinstance(data, dict):
        raise DataFormatError(path, None, f"is not a JSON object; expected {expected}")
    return data


class OutputError(UserError):
    """A result file that cannot be written where the user asked."""


def atomic_write_bytes(path, data: bytes) -> None:
    path = Path(path)
    try:
        _write(path, data)
    except OSError as err:
        raise OutputError(f"{path}: cannot write it ({err.strerror or err})") from None


def _write(path: Path, data: bytes) -> None:
    with atomic_file(path) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(data)


@contextlib.contextmanager
def atomic_file(path):
    """A temporary file name beside ``path`` to write in pieces: once the block ends, the file
    is synced and renamed into place; if it raises, the file is removed and ``path`` untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
