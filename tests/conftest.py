"""Shared fixtures: a tiny randomly initialised BERT and a small separable text task."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

import pytest
from helpers import FILLER, KEYWORDS, TRAIN_COUNTS, TRAIN_FLAGS, build_tiny_bert, write_multilabel_split, write_split

# Measured matmul peaks (weighted_bert.speed) go to a cache of this session, not the user's.
os.environ["WEIGHTED_BERT_CACHE"] = tempfile.mkdtemp(prefix="weighted-bert-cache-")


@pytest.fixture(autouse=True)
def offline():
    """Every test runs offline: a connection or name lookup to anything but the loopback is
    refused (tests/network_guard.py) and fails the test that made it."""
    from network_guard import Guard

    guard = Guard().install()
    try:
        yield guard
    finally:
        guard.remove()
    assert not guard.attempts, f"the test reached for the network: {guard.attempts}"

@pytest.fixture(scope="session")
def toy_data_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("toy_data")
    rng = random.Random(0)
    write_split(folder / "train_data.txt", rng, TRAIN_COUNTS)
    write_split(folder / "dev_data.txt", rng, dict.fromkeys(KEYWORDS, 10))
    write_split(folder / "test_data.txt", rng, dict.fromkeys(KEYWORDS, 12))
    return folder


@pytest.fixture(scope="session")
def toy_multilabel_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("toy_multilabel")
    rng = random.Random(1)
    for split, n in (("train", 160), ("dev", 60), ("test", 60)):
        write_multilabel_split(folder / f"{split}.jsonl", rng, n)
    return folder


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    words = FILLER + [w for ws in KEYWORDS.values() for w in ws]
    return build_tiny_bert(tmp_path_factory.mktemp("tiny_bert"), words)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, tiny_bert, toy_data_dir):
    """One real training run on the toy task with the weighted loss; tests only read it."""
    from weighted_bert.cli import main

    output = tmp_path_factory.mktemp("run") / "out"
    code = main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir",
                 str(output), "--loss", "weighted_ce", "--class-weights", "inverse", *TRAIN_FLAGS])
    assert code == 0
    return output
