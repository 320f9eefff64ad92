"""Google TensorFlow BERT checkpoints read without TensorFlow, checked against an independent
NumPy forward pass and against Google's tokenizer, plus corrupted inputs and unsafe pickles.

The fixtures were written by real TensorFlow (tests/fixtures/make_tf_checkpoints.py)."""

import json
import math
import pickle
import shutil
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import torch

from weighted_bert.model import load_tokenizer, resolve_model_source
from weighted_bert.saved_model import load_fine_tuned
from weighted_bert.tf_checkpoint import CheckpointError, find_checkpoint, read_checkpoint, read_index
from weighted_bert.tf_import import case_mismatch_warning, load_tf_bert, read_label2id_pickle

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


def test_mapping_lists_what_it_ignores_and_creates():
    model, report = load_tf_bert(PRETRAINED / "bert_model.ckpt", num_labels=3)
    assert report.unused == [] and report.missing == [] and report.new_head
    assert all(name.startswith("cls/") for name in report.ignored) and len(report.ignored) == 7
    assert len(report.loaded) == 39  # embeddings 5 + 2 layers x 16 + pooler 2
    assert model.config.hidden_act == "gelu_new" and model.config.layer_norm_eps == 1e-12

    model, report = load_tf_bert(FINETUNED, bert_config_file=PRETRAINED / "bert_config.json")
    assert model.config.num_labels == 3 and not report.new_head
    assert "global_step" in report.ignored
    assert sum(name.endswith(("adam_m", "adam_v")) for name in report.ignored) == 2 * 41
    assert report.unused == [] and report.missing == [] and len(report.loaded) == 41


def test_unknown_variables_are_listed(tmp_path):
    from weighted_bert.tf_import import ImportReport, hf_name

    assert hf_name("bert/encoder/layer_11/attention/self/query/kernel") == (
        "bert.encoder.layer.11.attention.self.query.weight", True)
    assert hf_name("output_weights") == ("classifier.weight", False)
    assert hf_name("my_extra/variable") is None
    summary = ImportReport("x", loaded=["a"], unused=["my_extra/variable"], missing=["bert.pooler.dense.bias"]).summary()
    assert "UNUSED: my_extra/variable" in summary and "MISSING" in summary


# --- An independent forward pass from Google's published formulas (modeling.py) ----------

def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def layer_norm(x, gamma, beta, eps=1e-12):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def google_bert_forward(t, config, input_ids, token_type_ids, attention_mask):
    t = {k: v.astype(np.float64) for k, v in t.items()}
    heads = config["num_attention_heads"]
    size = config["hidden_size"] // heads
    batch, length = input_ids.shape
    x = (t["bert/embeddings/word_embeddings"][input_ids] + t["bert/embeddings/position_embeddings"][:length]
         + t["bert/embeddings/token_type_embeddings"][token_type_ids])
    x = layer_norm(x, t["bert/embeddings/LayerNorm/gamma"], t["bert/embeddings/LayerNorm/beta"])
    adder = (1.0 - attention_mask[:, None, None, :]) * -10000.0
    for n in range(config["num_hidden_layers"]):
        p = f"bert/encoder/layer_{n}/"

        def dense(v, name):
            return v @ t[p + name + "/kernel"] + t[p + name + "/bias"]

        def split(v):
            return v.reshape(batch, length, heads, size).transpose(0, 2, 1, 3)

        q, k, v = (split(dense(x, f"attention/self/{w}")) for w in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size) + adder
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        probs = scores / scores.sum(-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, heads * size)
        x = layer_norm(dense(context, "attention/output/dense") + x,
                       t[p + "attention/output/LayerNorm/gamma"], t[p + "attention/output/LayerNorm/beta"])
        inner = gelu_tanh(dense(x, "intermediate/dense"))
        x = layer_norm(dense(inner, "output/dense") + x, t[p + "output/LayerNorm/gamma"], t[p + "output/LayerNorm/beta"])
    pooled = np.tanh(x[:, 0] @ t["bert/pooler/dense/kernel"] + t["bert/pooler/dense/bias"])
    logits = pooled @ t["output_weights"].T + t["output_bias"]
    return x, pooled, logits


def test_imported_model_matches_google_formulas():
    config = json.loads((PRETRAINED / "bert_config.json").read_text())
    fine_tuned = load_fine_tuned(FINETUNED, bert_config_file=PRETRAINED / "bert_config.json",
                                 vocab_file=PRETRAINED / "vocab.txt")
    assert fine_tuned.label_map.labels == ("0", "1", "2")  # from label2id.pkl
    batch = fine_tuned.tokenizer(["周六晚到卖场听夜场摇滚", "北京老教授泄露 hello world"], ["the bert", "ok"],
                                 padding=True, return_tensors="pt")
    with torch.inference_mode():
        out = fine_tuned.model(**batch, output_hidden_states=True)
        pooled = fine_tuned.model.bert.pooler(out.hidden_states[-1])
    arrays = {k: v.numpy() for k, v in batch.items()}
    sequence, pooled_ref, logits_ref = google_bert_forward(
        read_checkpoint(FINETUNED), config, arrays["input_ids"], arrays["token_type_ids"],
        arrays["attention_mask"].astype(np.float64))
    mask = arrays["attention_mask"].astype(bool)
    differences = {
        "sequence": np.abs(out.hidden_states[-1].numpy()[mask] - sequence[mask]).max(),
        "pooled": np.abs(pooled.numpy() - pooled_ref).max(),
        "logits": np.abs(out.logits.numpy() - logits_ref).max(),
    }
    assert max(differences.values()) < 1e-5, differences
    assert np.abs(logits_ref).max() > 0.1  # a real signal, not all zeros


# --- Google's FullTokenizer, written out from its published algorithm ----------------------

def _is_control(c):
    return c not in "\t\n\r" and unicodedata.category(c) in ("Cc", "Cf")


def _is_whitespace(c):
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def _is_punctuation(c):
    cp = ord(c)
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or \
        unicodedata.category(c).startswith("P")


def _is_cjk(cp):
    return any(a <= cp <= b for a, b in ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
                                         (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)))


def google_full_tokenize(text, vocab, do_lower_case=True, max_chars=200):
    text = "".join(" " if _is_whitespace(c) else c for c in text
                   if not (ord(c) in (0, 0xFFFD) or _is_control(c)))
    text = "".join(f" {c} " if _is_cjk(ord(c)) else c for c in text)
    words = []
    for token in text.split():
        if do_lower_case:
            token = "".join(c for c in unicodedata.normalize("NFD", token.lower()) if unicodedata.category(c) != "Mn")
        current = []
        for c in token:
            if _is_punctuation(c):
                words += ["".join(current)] if current else []
                words.append(c)
                current = []
            else:
                current.append(c)
        words += ["".join(current)] if current else []
    pieces = []
    for word in words:
        if len(word) > max_chars:
            pieces.append("[UNK]")
            continue
        start, sub = 0, []
        while start < len(word):
            end = len(word)
            while end > start:
                piece = ("##" if start else "") + word[start:end]
                if piece in vocab:
                    break
                end -= 1
            if end == start:
                sub = ["[UNK]"]
                break
            sub.append(piece)
            start = end
        pieces += sub
    return pieces


HARD_STRINGS = [
    "", "   ", "周六晚到卖场听夜场摇滚", "北京老教授泄露，持有山河药辅节后下跌公告，速速看看！！！",
    "Hello World! 你好，世界。", "unaffable running BERTs", "Café naïve résumé", "ＡＢＣ１２３，全角（标点）",
    "emoji 😀 and 🚀 here", "tab\tand\nnewline\r\nend", "zero\u200bwidth\u200djoiner", "ctrl\x00\x07\x1fchars",
    "a" * 150, "b" * 250, "un" + "aff" * 80, "mixed中文english混合ok", "¿qué? ¡sí! «guillemets» — dash",
    "\ufeffBOM start", "x" * 5 + "." * 3 + "y",
]


@pytest.mark.parametrize("do_lower_case", [True, False])
def test_fast_tokenizer_matches_google_full_tokenizer(do_lower_case):
    vocab = set((PRETRAINED / "vocab.txt").read_text(encoding="utf-8").split("\n"))
    tokenizer = load_tokenizer(PRETRAINED, do_lower_case=do_lower_case)
    for text in HARD_STRINGS:
        assert tokenizer.tokenize(text) == google_full_tokenize(text, vocab, do_lower_case), repr(text)


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


def test_label2id_pickle_is_read_without_running_code(tmp_path):
    assert read_label2id_pickle(FINETUNED / "label2id.pkl") == ["0", "1", "2"]
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (Path.touch, (marker,))

    evil = tmp_path / "label2id.pkl"
    evil.write_bytes(pickle.dumps({"a": 0, "b": Exploit()}))
    with pytest.raises(CheckpointError, match="nothing in it was run"):
        read_label2id_pickle(evil)
    assert not marker.exists()
    evil.write_bytes(pickle.dumps(["not", "a", "dict"]))
    with pytest.raises(CheckpointError, match="expected a dict"):
        read_label2id_pickle(evil)


def test_case_mismatch_warns_like_google():
    assert "uncased model" in case_mismatch_warning(False, "/m/chinese_L-12_H-768_A-12/bert_model.ckpt")
    assert "cased model" in case_mismatch_warning(True, "/m/cased_L-12_H-768_A-12/bert_model.ckpt")
    assert case_mismatch_warning(True, "/m/chinese_L-12_H-768_A-12/bert_model.ckpt") is None
    assert case_mismatch_warning(False, "/m/my_model/bert_model.ckpt") is None


def test_crc32c_fallback_matches_the_c_library(monkeypatch):
    import sys

    from weighted_bert.tf_checkpoint import _crc32c_function, crc32c

    monkeypatch.setitem(sys.modules, "google_crc32c", None)  # import fails: the pure-Python table is used
    fallback = _crc32c_function()
    assert fallback(b"123456789") == 0xE3069283  # the CRC-32C check value
    data = bytes(range(256)) * 3
    assert fallback(data) == crc32c(data)
