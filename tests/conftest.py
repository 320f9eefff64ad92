"""Shared fixtures: a tiny randomly initialised BERT and a small separable text task."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

import pytest

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

# Each class has its own keywords; sentences mix them with shared filler words, so the
# task is learnable from the words alone, and counts are imbalanced (long tail).
KEYWORDS = {
    "sport": ["match", "goal", "team", "coach", "league", "striker"],
    "finance": ["stock", "market", "bank", "price", "loan", "shares"],
    "weather": ["rain", "storm", "sunny", "cloud", "snow", "wind"],
}
FILLER = ["the", "a", "today", "was", "very", "and", "we", "saw", "it", "news", "about", "big"]
TRAIN_COUNTS = {"sport": 96, "finance": 32, "weather": 10}


def make_sentence(rng: random.Random, label: str) -> str:
    words = rng.sample(FILLER, 4) + rng.sample(KEYWORDS[label], 2)
    rng.shuffle(words)
    return " ".join(words)


def write_split(path: Path, rng: random.Random, counts: dict[str, int], *, labelled: bool = True) -> list[str]:
    rows = [(make_sentence(rng, label), label) for label, n in counts.items() for _ in range(n)]
    rng.shuffle(rows)
    path.write_text("".join(f"{t}\t{y}\n" if labelled else f"{t}\n" for t, y in rows), encoding="utf-8")
    return [y for _, y in rows]


@pytest.fixture(scope="session")
def toy_data_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("toy_data")
    rng = random.Random(0)
    write_split(folder / "train_data.txt", rng, TRAIN_COUNTS)
    write_split(folder / "dev_data.txt", rng, dict.fromkeys(KEYWORDS, 10))
    write_split(folder / "test_data.txt", rng, dict.fromkeys(KEYWORDS, 12))
    return folder


ML_RATES = {"sport": 0.5, "finance": 0.25, "weather": 0.1}  # how often each label is on a row


def write_multilabel_split(path: Path, rng: random.Random, n: int) -> list[list[str]]:
    """JSONL rows whose text holds two keywords of each label it carries (none: filler only)."""
    import json

    rows = []
    for _ in range(n):
        labels = [label for label, rate in ML_RATES.items() if rng.random() < rate]
        words = rng.sample(FILLER, 4) + [w for label in labels for w in rng.sample(KEYWORDS[label], 2)]
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "labels": labels})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return [r["labels"] for r in rows]


@pytest.fixture(scope="session")
def toy_multilabel_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("toy_multilabel")
    rng = random.Random(1)
    for split, n in (("train", 160), ("dev", 60), ("test", 60)):
        write_multilabel_split(folder / f"{split}.jsonl", rng, n)
    return folder


def build_tiny_bert(folder: Path, words: list[str]) -> Path:
    """A 2-layer, 64-wide BERT with a WordPiece vocabulary of ``words``, saved as a
    Hugging Face folder (config.json, model.safetensors, tokenizer files)."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(set(words))
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(str(folder / "vocab.txt"), do_lower_case=True)  # vocab_file= in v4, vocab= in v5
    config = BertConfig(vocab_size=len(vocab), hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=128, max_position_embeddings=64)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    words = FILLER + [w for ws in KEYWORDS.values() for w in ws]
    return build_tiny_bert(tmp_path_factory.mktemp("tiny_bert"), words)


# fp32: the same numbers on machines with and without bf16 hardware (with bf16 autocast this
# 64-wide model at a learning rate of 3e-3 misses the task for some seeds). The budget is the
# tiny model's own (its head at the encoder's rate, every epoch run), not `train`'s defaults,
# which are chosen for pretrained encoders.
TRAIN_FLAGS = ["--epochs", "12", "--learning-rate", "3e-3", "--head-learning-rate", "none",
               "--early-stopping-patience", "none", "--batch-size", "8", "--warmup-ratio", "0.1",
               "--logging-steps", "5", "--no-progress", "--seed", "7", "--precision", "fp32"]


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, tiny_bert, toy_data_dir):
    """One real training run on the toy task with the weighted loss; tests only read it."""
    from weighted_bert.cli import main

    output = tmp_path_factory.mktemp("run") / "out"
    code = main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir",
                 str(output), "--loss", "weighted_ce", "--class-weights", "inverse", *TRAIN_FLAGS])
    assert code == 0
    return output
