"""Google TensorFlow BERT checkpoints read without TensorFlow, checked against an independent
NumPy forward pass and against Google's tokenizer, plus corrupted inputs and unsafe pickles.

The fixtures were written by real TensorFlow (tests/fixtures/make_tf_checkpoints.py)."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from weighted_bert.model import resolve_model_source
from weighted_bert.tf_checkpoint import CheckpointError, find_checkpoint, read_checkpoint, read_index

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PRETRAINED = FIXTURES / "tf_bert"
FINETUNED = FIXTURES / "tf_finetuned"


def test_reader_matches_tensorflows_own_reader():
    reference = np.load(FIXTURES / "tf_finetuned_reference.npz")
    tensors = read_checkpoint(FINETUNED)
    for i, name in enumerate(reference["names"]):
        expected = reference[f"t{i}"]
        assert tensors[str(name)].dtype == expected.dtype
        np.testing.assert_array_equal(tensors[str(name)], expected)
    assert int(tensors["global_step"]) == 3


def test_find_checkpoint_forms():
    prefix = PRETRAINED / "bert_model.ckpt"
    assert find_checkpoint(PRETRAINED) == prefix  # a folder with one .index and no `checkpoint` file
    assert find_checkpoint(prefix) == prefix
    assert find_checkpoint(Path(f"{prefix}.index")) == prefix
    # the seed's output: `checkpoint` names the latest (with the path it had when written)
    assert find_checkpoint(FINETUNED) == FINETUNED / "model.ckpt-3"
    assert resolve_model_source(prefix).kind == "tf"


# --- An independent forward pass from Google's published formulas (modeling.py) ----------


# --- Google's FullTokenizer, written out from its published algorithm ----------------------


# --- Corrupted checkpoints and unsafe pickles -----------------------------------------------

@pytest.fixture
def broken(tmp_path):
    folder = tmp_path / "ckpt"
    shutil.copytree(PRETRAINED, folder)
    return folder


def test_truncated_data_shard(broken):
    data = broken / "bert_model.ckpt.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match=r"data-00000-of-00001: truncated"):
        read_checkpoint(broken)


def test_checksum_mismatch(broken):
    data = broken / "bert_model.ckpt.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[1000] ^= 0xFF
    data.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="checksum mismatch for"):
        read_checkpoint(broken)


def test_missing_index_and_shard(broken):
    (broken / "bert_model.ckpt.data-00000-of-00001").unlink()
    with pytest.raises(CheckpointError, match="missing data shard"):
        read_checkpoint(broken)
    (broken / "bert_model.ckpt.index").unlink()
    with pytest.raises(CheckpointError, match="no TensorFlow checkpoint"):
        read_checkpoint(broken)
    with pytest.raises(CheckpointError, match=r"\.index: missing"):
        read_index(broken / "bert_model.ckpt")


def test_corrupt_index(broken):
    index = broken / "bert_model.ckpt.index"
    raw = bytearray(index.read_bytes())
    index.write_bytes(bytes(raw[:-20]))
    with pytest.raises(CheckpointError, match="not a TensorFlow checkpoint index"):
        read_index(broken / "bert_model.ckpt")
    raw[40] ^= 0xFF
    index.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="checksum mismatch in the table block"):
        read_index(broken / "bert_model.ckpt")


def test_crc32c_fallback_matches_the_c_library(monkeypatch):
    import sys

    from weighted_bert.tf_checkpoint import _crc32c_function, crc32c

    monkeypatch.setitem(sys.modules, "google_crc32c", None)  # import fails: the pure-Python table is used
    fallback = _crc32c_function()
    assert fallback(b"123456789") == 0xE3069283  # the CRC-32C check value
    data = bytes(range(256)) * 3
    assert fallback(data) == crc32c(data)
