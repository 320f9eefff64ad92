"""Where the train/dev/test files are: the seed's names in a folder, or explicit paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import DataFormatError
from ..log import get_logger

log = get_logger(__name__)

SEED_NAMES = {"train": "train_data.txt", "dev": "dev_data.txt", "test": "test_data.txt"}
EXTENSIONS = (".txt", ".tsv", ".csv", ".jsonl")


@dataclass(frozen=True)
class DataFiles:
    train: Path | None = None
    dev: Path | None = None
    test: Path | None = None


def find_data_files(data_dir=None, *, train=None, dev=None, test=None) -> DataFiles:
    """Explicit paths win; otherwise look in ``data_dir`` for the seed's names
    (``train_data.txt``, ...) and then ``train.{txt,tsv,csv,jsonl}`` and the like.
    A split that is not found is None; whether that is an error is the caller's call.
    """
    found = {"train": train, "dev": dev, "test": test}
    if data_dir is not None:
        folder = Path(data_dir)
        if not folder.is_dir():
            raise DataFormatError(folder, None, "data folder does not exist")
        for split, seed_name in SEED_NAMES.items():
            if found[split] is not None:
                continue
            candidates = [folder / seed_name] + [folder / f"{split}{ext}" for ext in EXTENSIONS]
            present = [c for c in candidates if c.is_file()]
            found[split] = present[0] if present else None
            if len(present) > 1:
                log.warning(f"{folder}: reads {present[0]}; {', '.join(map(str, present[1:]))} "
                            f"{'is' if len(present) == 2 else 'are'} not read (name the file with --{split} to choose)")
    return DataFiles(**{k: Path(v) if v is not None else None for k, v in found.items()})
