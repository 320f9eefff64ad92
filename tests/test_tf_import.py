"""Google TensorFlow BERT checkpoints as transformers models: the variable mapping, outputs
against Google's formulas, the seed's label2id.pkl, and the case check."""

import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from weighted_bert.model_folder import load_fine_tuned
from weighted_bert.tf_checkpoint import CheckpointError, read_checkpoint
from weighted_bert.tf_import import case_mismatch_warning, load_tf_bert, read_label2id_pickle

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PRETRAINED = FIXTURES / "tf_bert"
FINETUNED = FIXTURES / "tf_finetuned"


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
