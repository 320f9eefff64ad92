"""Model in: where a model comes from, loading it for training, and loading a fine-tuned one.

Every load goes through :func:`resolve_model_source`, the one place that decides what a
``--model`` / ``--init_checkpoint`` value names: a Hugging Face folder, a folder written
by ``weighted-bert train`` (its ``model/`` subfolder), a file inside a Hugging Face
folder, or a hub name. Nothing here downloads unless the value is a hub name and the
machine has internet.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .labels import LabelMap

TRAINING_INFO = "weighted_bert.json"  # written next to the fine-tuned weights
HF_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


class ModelSourceError(ValueError):
    """A model path or name that cannot be used, with what would work instead."""


_HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def _is_hub_name(value: str) -> bool:
    """'bert-base-uncased' or 'org/name'; anything else that does not exist is a missing path."""
    return bool(_HUB_NAME.match(value)) and not value.endswith((".ckpt", ".json", ".bin", ".safetensors"))


def resolve_model_source(source) -> str:
    """A folder ``from_pretrained`` can read, or a hub name, for a user's model value."""
    text = str(source)
    path = Path(text).expanduser()
    if path.is_dir():
        if (path / "config.json").is_file():
            return str(path)
        if (path / "model" / "config.json").is_file():
            return str(path / "model")
        if (path / "bert_config.json").is_file() or any(path.glob("*.ckpt*.index")) \
                or (path / "checkpoint").is_file():
            raise ModelSourceError(f"{path}: a Google TensorFlow checkpoint folder; this version reads "
                                   "Hugging Face folders only (config.json with model.safetensors)")
        raise ModelSourceError(f"{path}: no config.json; expected a Hugging Face model folder or the "
                               "output folder of `weighted-bert train`")
    parent = path.parent
    if path.is_file() or path.name.startswith(("bert_model.ckpt", "model.ckpt")) or path.suffix == ".ckpt":
        # A file (or TF checkpoint prefix) inside a folder: the seed's --init_checkpoint style.
        if (parent / "config.json").is_file():
            return str(parent)
        if (parent / "model" / "config.json").is_file():
            return str(parent / "model")
        if (parent / "bert_config.json").is_file() or Path(f"{path}.index").is_file():
            raise ModelSourceError(f"{path}: a Google TensorFlow checkpoint; this version reads "
                                   "Hugging Face folders only (config.json with model.safetensors)")
        raise ModelSourceError(f"{path}: not inside a Hugging Face model folder (no config.json beside it)")
    if not _is_hub_name(text):
        raise ModelSourceError(f"{text}: no such model folder")
    return text  # a hub name such as "bert-base-uncased"


def _from_pretrained(loader, source: str, **kwargs):
    from transformers.utils import logging as hf_logging

    # A new classification head is expected here; transformers' load report and progress
    # bar would print a table of "MISSING" weights on every run.
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        return loader.from_pretrained(source, **kwargs)
    except OSError as err:
        where = "folder" if Path(source).exists() else "hub name (needs internet, or a local folder)"
        raise ModelSourceError(f"{source}: cannot load as a model {where}: {str(err).splitlines()[0]}") from None
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()


def load_tokenizer(source: str, *, vocab_file=None, do_lower_case: bool | None = None,
                   trust_remote_code: bool = False):
    """The model's own tokenizer; else a WordPiece tokenizer from ``vocab_file`` (the seed's
    flag) or from the folder's ``vocab.txt`` (a Google BERT folder), lower-casing unless
    ``do_lower_case`` is False."""
    from transformers import AutoTokenizer, BertTokenizerFast

    folder = Path(source)
    if folder.is_dir() and not any((folder / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json")):
        vocab = Path(vocab_file) if vocab_file is not None else folder / "vocab.txt"
        if not vocab.is_file():
            raise ModelSourceError(f"{folder}: no tokenizer (tokenizer.json or vocab.txt); "
                                   "name a WordPiece vocabulary with --vocab_file")
        # The vocabulary path goes first: its keyword is vocab_file in transformers 4, vocab in 5.
        return BertTokenizerFast(str(vocab), do_lower_case=True if do_lower_case is None else do_lower_case)
    return _from_pretrained(AutoTokenizer, source, trust_remote_code=trust_remote_code)


def load_for_training(source, label_map: LabelMap, *, vocab_file=None, do_lower_case=None,
                      trust_remote_code: bool = False):
    """(model, tokenizer) with a fresh classification head sized for ``label_map``."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    source = resolve_model_source(source)
    tokenizer = load_tokenizer(source, vocab_file=vocab_file, do_lower_case=do_lower_case,
                               trust_remote_code=trust_remote_code)
    config = _from_pretrained(AutoConfig, source, trust_remote_code=trust_remote_code,
                              num_labels=len(label_map), id2label=label_map.id2label,
                              label2id=label_map.label2id, problem_type="single_label_classification")
    model = _from_pretrained(AutoModelForSequenceClassification, source, config=config,
                             trust_remote_code=trust_remote_code, ignore_mismatched_sizes=True)
    return model, tokenizer


@dataclass
class FineTuned:
    """A model folder written by ``weighted-bert train``."""

    path: str
    model: object
    tokenizer: object
    label_map: LabelMap
    info: dict  # loss, its options, class counts, max_seq_length (may be empty)


def load_fine_tuned(model_dir, *, trust_remote_code: bool = False) -> FineTuned:
    """Load a fine-tuned classifier (``OUTPUT`` or ``OUTPUT/model``) for evaluation or prediction."""
    from transformers import AutoModelForSequenceClassification

    source = resolve_model_source(model_dir)
    if not Path(source).is_dir():
        raise ModelSourceError(f"{model_dir}: not a folder; expected the output folder of `weighted-bert train`")
    model = _from_pretrained(AutoModelForSequenceClassification, source, trust_remote_code=trust_remote_code)
    tokenizer = load_tokenizer(source, trust_remote_code=trust_remote_code)
    id2label = model.config.id2label
    label_map = LabelMap(tuple(id2label[i] for i in range(len(id2label))))
    info_path = Path(source) / TRAINING_INFO
    info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.is_file() else {}
    model.eval()
    return FineTuned(source, model, tokenizer, label_map, info)
