"""Google BERT TensorFlow checkpoints -> a transformers ``BertForSequenceClassification``.

Variable names follow Google's ``modeling.py``; dense kernels are stored [in, out] and
transposed to PyTorch's [out, in]. The seed's fine-tuned classifier
(``output_weights`` [num_labels, hidden], ``output_bias``) becomes the classification
head, so an old fine-tuned model predicts as before. Optimizer slots (``adam_m``,
``adam_v``), ``global_step`` and the pre-training heads (``cls/...``) are ignored and
listed; any other unused or missing variable is listed too, never dropped silently.

Google's ``gelu`` is the tanh approximation, ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715
x^3)))``: the imported config uses transformers' ``gelu_new``, the same function, so
outputs match the original graph.
"""

from __future__ import annotations

import io
import json
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .tf_checkpoint import CheckpointError, find_checkpoint, read_checkpoint, read_index

ACTIVATIONS = {"gelu": "gelu_new"}  # Google's gelu is the tanh approximation
CONFIG_KEYS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
               "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings",
               "type_vocab_size", "initializer_range")
IGNORED = re.compile(r"(^|/)(adam_m|adam_v)$|^global_step$|^cls/|(^|/)(Momentum|Adagrad\w*)$")
# Google's validate_case_matches_checkpoint lists
LOWER_MODELS = {"uncased_L-24_H-1024_A-16", "uncased_L-12_H-768_A-12", "multilingual_L-12_H-768_A-12",
                "chinese_L-12_H-768_A-12"}
CASED_MODELS = {"cased_L-12_H-768_A-12", "cased_L-24_H-1024_A-16", "multi_cased_L-12_H-768_A-12"}

_RULES = [
    (r"bert/embeddings/(word|position|token_type)_embeddings", r"bert.embeddings.\1_embeddings.weight", False),
    (r"bert/embeddings/LayerNorm/gamma", "bert.embeddings.LayerNorm.weight", False),
    (r"bert/embeddings/LayerNorm/beta", "bert.embeddings.LayerNorm.bias", False),
    (r"bert/encoder/layer_(\d+)/attention/self/(query|key|value)/kernel", r"bert.encoder.layer.\1.attention.self.\2.weight", True),
    (r"bert/encoder/layer_(\d+)/attention/self/(query|key|value)/bias", r"bert.encoder.layer.\1.attention.self.\2.bias", False),
    (r"bert/encoder/layer_(\d+)/attention/output/dense/kernel", r"bert.encoder.layer.\1.attention.output.dense.weight", True),
    (r"bert/encoder/layer_(\d+)/attention/output/dense/bias", r"bert.encoder.layer.\1.attention.output.dense.bias", False),
    (r"bert/encoder/layer_(\d+)/attention/output/LayerNorm/gamma", r"bert.encoder.layer.\1.attention.output.LayerNorm.weight", False),
    (r"bert/encoder/layer_(\d+)/attention/output/LayerNorm/beta", r"bert.encoder.layer.\1.attention.output.LayerNorm.bias", False),
    (r"bert/encoder/layer_(\d+)/(intermediate|output)/dense/kernel", r"bert.encoder.layer.\1.\2.dense.weight", True),
    (r"bert/encoder/layer_(\d+)/(intermediate|output)/dense/bias", r"bert.encoder.layer.\1.\2.dense.bias", False),
    (r"bert/encoder/layer_(\d+)/output/LayerNorm/gamma", r"bert.encoder.layer.\1.output.LayerNorm.weight", False),
    (r"bert/encoder/layer_(\d+)/output/LayerNorm/beta", r"bert.encoder.layer.\1.output.LayerNorm.bias", False),
    (r"bert/pooler/dense/kernel", "bert.pooler.dense.weight", True),
    (r"bert/pooler/dense/bias", "bert.pooler.dense.bias", False),
    (r"output_weights", "classifier.weight", False),  # already [num_labels, hidden]
    (r"output_bias", "classifier.bias", False),
]
_COMPILED = [(re.compile(f"^{pattern}$"), target, transpose) for pattern, target, transpose in _RULES]


def hf_name(tf_name: str) -> tuple[str, bool] | None:
    """(transformers parameter name, transpose?) for a Google variable, or None."""
    for pattern, target, transpose in _COMPILED:
        if pattern.match(tf_name):
            return pattern.sub(target, tf_name), transpose
    return None


@dataclass
class ImportReport:
    checkpoint: str
    loaded: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # optimizer slots, global_step, pre-training heads
    unused: list[str] = field(default_factory=list)  # unknown variables, or a head of the wrong size
    missing: list[str] = field(default_factory=list)  # model parameters the checkpoint did not fill
    new_head: bool = False

    def summary(self) -> str:
        parts = [f"{self.checkpoint}: loaded {len(self.loaded)} tensors, ignored {len(self.ignored)} "
                 "(optimizer slots, global_step, pre-training heads)"]
        if self.new_head:
            parts.append("new classification head")
        if self.unused:
            parts.append(f"UNUSED: {', '.join(self.unused)}")
        if self.missing:
            parts.append(f"MISSING (randomly initialised): {', '.join(self.missing)}")
        return "; ".join(parts)


def hf_config_dict(bert_config: dict) -> dict:
    config = {k: bert_config[k] for k in CONFIG_KEYS if k in bert_config}
    act = config.get("hidden_act", "gelu")
    config["hidden_act"] = ACTIVATIONS.get(act, act)
    config["layer_norm_eps"] = 1e-12  # Google's modeling.py
    return config


def find_bert_config(prefix: Path, bert_config_file=None) -> Path:
    if bert_config_file is not None:
        path = Path(bert_config_file)
        if not path.is_file():
            raise CheckpointError(f"{path}: no such bert_config.json")
        return path
    for candidate in (prefix.parent / "bert_config.json", prefix.parent / "config.json"):
        if candidate.is_file():
            return candidate
    raise CheckpointError(f"{prefix.parent}: no bert_config.json beside the checkpoint; name it with "
                          "--bert_config_file (--bert-config-file)")


def load_tf_bert(source, *, num_labels: int | None = None, bert_config_file=None):
    """(BertForSequenceClassification, ImportReport) from a Google checkpoint.

    ``num_labels`` None takes it from the checkpoint's ``output_weights`` (a fine-tuned
    model); a number different from the checkpoint's head gives a new head.
    """
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    prefix = find_checkpoint(source)
    config_path = find_bert_config(prefix, bert_config_file)
    try:
        bert_config = json.loads(config_path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise CheckpointError(f"{config_path}: not valid JSON ({err})") from None
    _, entries = read_index(prefix)
    report = ImportReport(str(prefix), ignored=sorted(n for n in entries if IGNORED.search(n)))
    tensors = read_checkpoint(prefix, skip=lambda name: bool(IGNORED.search(name)))
    head = tensors.get("output_weights")
    if num_labels is None:
        if head is None:
            raise CheckpointError(f"{prefix}: no output_weights, so no fine-tuned classifier; train it first")
        num_labels = head.shape[0]
    config = BertConfig(**hf_config_dict(bert_config), num_labels=num_labels)
    model = BertForSequenceClassification(config)
    expected = model.state_dict()
    state = {}
    for name, array in tensors.items():
        mapped = hf_name(name)
        if mapped is None:
            report.unused.append(name)
            continue
        target, transpose = mapped
        value = np.ascontiguousarray(array.T if transpose else array)
        if target not in expected or tuple(expected[target].shape) != value.shape:
            if target.startswith("classifier."):
                continue  # a fine-tuned head for other labels: a new head replaces it
            where = "no such parameter" if target not in expected else f"shape {value.shape}, model has {tuple(expected[target].shape)}"
            report.unused.append(f"{name} ({where})")
            continue
        state[target] = torch.from_numpy(value).to(expected[target].dtype)
        report.loaded.append(name)
    result = model.load_state_dict(state, strict=False)
    report.missing = sorted(k for k in result.missing_keys if not k.startswith("classifier."))
    report.new_head = not all(f"classifier.{p}" in state for p in ("weight", "bias"))
    model.eval()
    return model, report


class _NoGlobals(pickle.Unpickler):
    """Refuses every global, so no class can be built and no function called."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refused: the pickle asks for {module}.{name}")

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refused: persistent ids")


def read_label2id_pickle(path) -> list[str]:
    """The seed's ``label2id.pkl`` (a dict of str -> int) without executing anything: an
    unpickler that refuses every global; anything but such a dict is rejected."""
    path = Path(path)
    try:
        data = _NoGlobals(io.BytesIO(path.read_bytes())).load()
    except Exception as err:  # any failure of an untrusted pickle is the same answer
        raise CheckpointError(f"{path}: not a plain label map pickle ({err}); nothing in it was run. "
                              "Give the labels with --labels instead") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, int) for k, v in data.items()):
        raise CheckpointError(f"{path}: expected a dict of label -> id, found {type(data).__name__}")
    if sorted(data.values()) != list(range(len(data))):
        raise CheckpointError(f"{path}: label ids {sorted(data.values())} are not 0..{len(data) - 1}")
    return [label for label, _ in sorted(data.items(), key=lambda kv: kv[1])]


def case_mismatch_warning(do_lower_case: bool, init_checkpoint) -> str | None:
    """Google's ``validate_case_matches_checkpoint``, as a warning rather than an error."""
    match = re.match(r"^.*?([A-Za-z0-9_-]+)/bert_model\.ckpt", str(init_checkpoint))
    if not match:
        return None
    name = match.group(1)
    if name in LOWER_MODELS and not do_lower_case:
        return (f"warning: {name} is an uncased model but --do_lower_case=false; "
                "pass --do_lower_case=true (Google's validate_case_matches_checkpoint)")
    if name in CASED_MODELS and do_lower_case:
        return (f"warning: {name} is a cased model but --do_lower_case=true; "
                "pass --do_lower_case=false (Google's validate_case_matches_checkpoint)")
    return None
