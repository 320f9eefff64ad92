"""Resuming and output-folder safety: a run never writes over another run's results, never
mixes two runs' checkpoints, and stops before training when the disk cannot hold it.

A rerun of the same command after a killed process resumes from the last complete
checkpoint in ``OUTPUT/checkpoints/``; ``run_settings.json`` there (settings and data file
hashes) must match, or the run stops and names what differs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import platform
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

try:
    import fcntl
except ImportError:  # not on Windows: no lock there
    fcntl = None

from ..config import RunConfig
from ..data import Dataset, find_data_files
from ..errors import RunError
from ..files import atomic_write_text
from ..run_folder import CHECKPOINTS, LOCK, RESULT_FILES, RUN_SETTINGS, RUN_SUMMARY, clear_run_files

# Settings that change nothing the training computes: a rerun may differ in these and still resume.
# Where the training and dev files are is one of them: their contents are compared by hash
# (so data moved, or written anew to a temporary file by the Python API, still resumes).
NOT_TRAINING = ("output_dir", "progress", "overwrite_output_dir", "keep_checkpoints", "resume", "logging_steps",
                "eval_batch_size", "do_predict", "test_file", "calibration", "many_threshold", "few_threshold",
                "language", "report_to", "run_name", "data_dir", "train_file", "dev_file")


def rank() -> int:
    """This process's rank under torchrun/accelerate (0 when not distributed)."""
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    """How many processes train together (``--batch-size`` is per process)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


@contextlib.contextmanager
def output_folder(config: RunConfig):
    """The run's output folder, checked, made, and held for the run alone.

    Refused: a path that is not a folder, the model's own folder (or a folder inside it),
    another run's results (unless ``--overwrite-output-dir``, which then clears every file
    a run writes, and nothing else, before anything is written), a folder another run is
    using. A folder made here and left empty by a failure is removed again."""
    output = Path(config.output_dir)
    if output.exists() and not output.is_dir():
        raise RunError(f"{output}: exists and is not a folder; expected an output folder")
    if config.do_train:
        _not_in_the_model(config, output)
    if config.do_train and not config.overwrite_output_dir:
        existing = [name for name in RESULT_FILES if (output / name).exists()]
        unfinished = not (output / RUN_SUMMARY).exists() and complete_checkpoints(output / CHECKPOINTS)
        if existing and not unfinished:
            raise RunError(f"{output}: holds another run's results ({', '.join(existing)}); "
                           "choose a new --output-dir or pass --overwrite-output-dir")
    created = not output.exists()
    try:
        output.mkdir(parents=True, exist_ok=True)
        probe = output / f".weighted-bert-write-test-{rank()}"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise RunError(f"{output}: cannot write there ({err.strerror})") from None
    try:
        with _held(output):
            if config.do_train and config.overwrite_output_dir and not config.resume and rank() == 0:
                clear_run_files(output)
            yield output
    except BaseException:
        if created and rank() == 0 and not [p for p in output.iterdir() if p.name != LOCK]:
            shutil.rmtree(output, ignore_errors=True)  # nothing was written: leave no trace
        raise


def _not_in_the_model(config: RunConfig, output: Path) -> None:
    model = Path(config.model).expanduser()
    if model.exists():
        folder = model if model.is_dir() else model.parent
    elif Path(f"{model}.index").is_file():
        folder = model.parent  # a TensorFlow checkpoint prefix names files in its folder
    else:
        return  # a hub name, or nothing: the model's loader says which
    folder, target = folder.resolve(), output.resolve()
    if target == folder or folder in target.parents:
        raise RunError(f"{output}: is the model's folder or inside it ({config.model}); a run there would "
                       "write over the model it starts from; choose another --output-dir")


@contextlib.contextmanager
def _held(output: Path):
    """An exclusive lock on ``output`` for this process (process 0 of several): released by
    the operating system when the process ends, so a killed run can be resumed at once."""
    if rank() != 0 or fcntl is None:
        yield
        return
    handle = open(output / LOCK, "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise RunError(f"{output}: another run is using this folder ({holder}); wait for it to end or "
                       "choose another --output-dir") from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} on {platform.node()}, started {time.strftime('%Y-%m-%d %H:%M')}")
        handle.flush()
        yield
    finally:
        handle.close()


def complete_checkpoints(folder: Path) -> list[Path]:
    """The Trainer's checkpoints in ``folder`` that were written to the end, oldest first.

    The Trainer writes ``trainer_state.json`` after the weights, optimizer, scheduler and
    RNG states, so a checkpoint whose state file parses and names its own step was not
    cut short by a killed process."""
    found = []
    for path in Path(folder).glob("checkpoint-*"):
        step = path.name.removeprefix("checkpoint-")
        if not step.isdigit():
            continue
        try:
            state = json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if state.get("global_step") == int(step) and (path / "optimizer.pt").is_file():
            found.append((int(step), path))
    return [path for _, path in sorted(found)]


# Settings that may name a file the run reads: its bytes are part of what the run computes from
FILE_SETTINGS = ("class_weights", "target_prior", "vocab_file", "bert_config_file", "exclude", "relabel")


def fingerprint(config: RunConfig, train: Dataset, dev: Dataset | None) -> dict:
    """What a run computes from: its settings, the bytes of its training and dev files and of
    every file a setting names (class weights, target prior, vocabulary, BERT config)."""
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k not in NOT_TRAINING}
    files = {split: _sha256(data.path) for split, data in (("train", train), ("dev", dev))
             if data is not None and Path(data.path).is_file()}
    files |= {name: _sha256(getattr(config, name)) for name in FILE_SETTINGS
              if isinstance(getattr(config, name), str) and Path(getattr(config, name)).is_file()}
    return {"settings": settings, "files_sha256": files}


def differences(fingerprint: dict, other: dict) -> list[str]:
    """The settings and files (``train file``, ``class_weights file``, ...) in which two
    fingerprints differ, sorted; an unreadable ``other`` differs in everything it lacks."""
    mine, theirs = fingerprint.get("settings", {}), other.get("settings", {})
    files, their_files = fingerprint.get("files_sha256", {}), other.get("files_sha256", {})
    return sorted({k for k in {*mine, *theirs} if mine.get(k) != theirs.get(k)}
                  | {f"{k} file" for k in {*files, *their_files} if files.get(k) != their_files.get(k)})


def planned_fingerprint(config: RunConfig) -> dict:
    """The fingerprint of a run of ``config`` as given, from its files alone (before anything is
    read or settled), as JSON would hold it: what ``compare`` checks a finished run against."""
    files = find_data_files(config.data_dir, train=config.train_file, dev=config.dev_file, test=config.test_file)
    dev = files.dev if config.do_eval is not False else None
    found = [SimpleNamespace(path=str(p)) if p else None for p in (files.train, dev)]
    return json.loads(json.dumps(fingerprint(config, *found), default=str))


def _sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def resume_point(config: RunConfig, output: Path, fingerprint: dict) -> str | None:
    """The checkpoint to resume from, or None to start afresh (clearing old checkpoints).

    A folder holding checkpoints of an unfinished run with the same settings and data
    resumes from its last complete checkpoint; with other settings the run stops rather
    than mix two runs; ``--overwrite-output-dir`` starts afresh."""
    folder = output / CHECKPOINTS
    found = [] if config.overwrite_output_dir and not config.resume else complete_checkpoints(folder)
    if not found:
        if config.resume:
            raise RunError(f"{folder}: no complete checkpoint to resume from")
        if rank() == 0:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            atomic_write_text(folder / RUN_SETTINGS, json.dumps(fingerprint, indent=2, default=str) + "\n")
        return None
    try:
        previous = json.loads((folder / RUN_SETTINGS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        previous = {}
    saved = json.loads(json.dumps(fingerprint, default=str))
    if previous != saved:
        differ = differences(saved, previous)
        raise RunError(f"{folder}: holds checkpoints of an unfinished run with other settings or data "
                       f"({', '.join(differ) or 'unreadable run_settings.json'}); rerun with the same ones to "
                       "resume, or pass --overwrite-output-dir to start afresh")
    return str(found[-1])


def check_disk(model, output: Path, has_dev: bool) -> None:
    """Stop now, not after an hour, when the disk cannot hold the checkpoints: each holds
    the weights and AdamW's two moments; the best and the last are kept, and a new one is
    written before an old one is removed."""
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    checkpoint = 3 * weights
    need = checkpoint * (3 if has_dev else 2) + weights
    free = shutil.disk_usage(output).free
    if free < need:
        raise RunError(f"{output}: {free / 1e9:.2f} GB free on its disk; this run needs about {need / 1e9:.2f} GB "
                       f"(checkpoints of {checkpoint / 1e9:.2f} GB each and the final model); free some space "
                       "or choose another --output-dir")
