"""Model in: where a model comes from, loading it for training, and loading a fine-tuned one.

Every load goes through :func:`resolve_model_source`, the one place that decides what a
``--model`` / ``--init_checkpoint`` value names: a Hugging Face folder, a folder written
by ``weighted-bert train`` (its ``model/`` subfolder), a file inside a Hugging Face
folder, a Google TensorFlow checkpoint (read without TensorFlow, see ``tf_import``), or
a hub name. Nothing here downloads unless the value is a hub name and the
machine has internet.
"""

from __future__ import annotations

import json
import pickle
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .labels import LabelMap

TRAINING_INFO = "weighted_bert.json"  # written next to the fine-tuned weights
GOOGLE_MAX_WORD_CHARS = 200


class ModelSourceError(ValueError):
    """A model path or name that cannot be used, with what would work instead."""


_HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def _is_hub_name(value: str) -> bool:
    """'bert-base-uncased' or 'org/name'; anything else that does not exist is a missing path."""
    return bool(_HUB_NAME.match(value)) and not value.endswith((".ckpt", ".json", ".bin", ".safetensors"))


@dataclass(frozen=True)
class ModelSource:
    path: str  # a folder, a TensorFlow checkpoint prefix, or a hub name
    kind: str  # "hf", "tf" or "hub"

    @property
    def folder(self) -> Path:
        """The folder holding the model's files (a TF prefix's parent)."""
        return Path(self.path).parent if self.kind == "tf" else Path(self.path)


def resolve_model_source(source) -> ModelSource:
    """What a user's model value names: a Hugging Face folder (or the ``model/`` folder
    of a ``train`` output), a Google TensorFlow checkpoint (folder, prefix or
    ``.index`` file), or a hub name."""
    from .tf_checkpoint import CheckpointError, find_checkpoint

    text = str(source)
    path = Path(text).expanduser()
    if path.is_dir():
        if (path / "config.json").is_file():
            return ModelSource(str(path), "hf")
        if (path / "model" / "config.json").is_file():
            return ModelSource(str(path / "model"), "hf")
    elif path.is_file() or path.name.startswith(("bert_model.ckpt", "model.ckpt")):
        # A file, or a checkpoint prefix, inside a folder: the seed's --init_checkpoint style.
        if not Path(f"{path}.index").is_file() and path.suffix != ".index":
            if (path.parent / "config.json").is_file():
                return ModelSource(str(path.parent), "hf")
            if (path.parent / "model" / "config.json").is_file():
                return ModelSource(str(path.parent / "model"), "hf")
    try:
        return ModelSource(str(find_checkpoint(path)), "tf")
    except CheckpointError as err:
        if path.exists() or Path(f"{path}.index").exists():
            raise ModelSourceError(f"{text}: neither a Hugging Face model folder (config.json) nor a readable "
                                   f"TensorFlow checkpoint ({err})") from None
    if path.parent.is_dir() and path.name.startswith(("bert_model.ckpt", "model.ckpt")):
        raise ModelSourceError(f"{text}: no such checkpoint (no {path.name}.index, no config.json beside it)")
    if not _is_hub_name(text):
        raise ModelSourceError(f"{text}: no such model folder")
    return ModelSource(text, "hub")


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
    except ValueError as err:
        if "trust_remote_code" not in str(err) and "custom code" not in str(err):
            raise
        raise ModelSourceError(f"{source}: its config asks to run Python code shipped with the model; refused, "
                               "nothing of it was run. Pass --trust-remote-code only if you trust that code") from None
    except pickle.UnpicklingError as err:
        # torch.load(weights_only=True) stopped at something other than tensors; nothing ran.
        found = re.search(r"GLOBAL (\S+)", str(err))
        raise ModelSourceError(
            f"{source}: refused to load its pickled weights (pytorch_model.bin): they hold "
            f"{found.group(1) if found else 'objects other than tensors'}, which loading would run; nothing in "
            "the file was run. Use a model saved as safetensors, or convert one you trust") from None
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()


def load_tokenizer(source, *, vocab_file=None, do_lower_case: bool | None = None,
                   trust_remote_code: bool = False):
    """A Hugging Face folder's own tokenizer; else (a TensorFlow checkpoint, a folder
    without one) a WordPiece tokenizer from ``vocab_file`` (the seed's flag) or the
    folder's ``vocab.txt``, lower-casing unless
    ``do_lower_case`` is False. The fast tokenizer does what Google's ``FullTokenizer``
    does: control characters removed, CJK characters split one per token, accents
    stripped with lower-casing, WordPiece with [UNK] for words over 200 characters."""
    from transformers import AutoTokenizer, BertTokenizerFast

    if not isinstance(source, ModelSource):
        source = resolve_model_source(source)
    folder = source.folder
    if source.kind == "hub":
        return _from_pretrained(AutoTokenizer, source.path, trust_remote_code=trust_remote_code)
    own = any((folder / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json"))
    if own and (source.kind == "hf" or vocab_file is None):
        tokenizer = _from_pretrained(AutoTokenizer, str(folder), trust_remote_code=trust_remote_code)
        _restore_word_limit(tokenizer, folder / "tokenizer.json")
        return tokenizer
    vocab = Path(vocab_file) if vocab_file is not None else folder / "vocab.txt"
    if not vocab.is_file():
        raise ModelSourceError(f"{vocab}: no such vocabulary; name the WordPiece vocab.txt with --vocab_file")
    # The vocabulary path goes first: its keyword is vocab_file in transformers 4, vocab in 5.
    tokenizer = BertTokenizerFast(str(vocab), do_lower_case=True if do_lower_case is None else do_lower_case)
    # Google's WordpieceTokenizer gives [UNK] only for words over 200 characters (transformers: 100).
    tokenizer.backend_tokenizer.model.max_input_chars_per_word = GOOGLE_MAX_WORD_CHARS
    return tokenizer


def _restore_word_limit(tokenizer, saved: Path) -> None:
    """transformers 5 rebuilds a BERT tokenizer's WordPiece from its vocabulary, dropping the
    saved longest-word limit (200 for Google's models, see load_tokenizer); put it back."""
    model = getattr(getattr(tokenizer, "backend_tokenizer", None), "model", None)
    if model is None or not saved.is_file() or not hasattr(model, "max_input_chars_per_word"):
        return
    limit = json.loads(saved.read_text(encoding="utf-8")).get("model", {}).get("max_input_chars_per_word")
    if isinstance(limit, int) and limit != model.max_input_chars_per_word:
        model.max_input_chars_per_word = limit


def load_for_training(source, label_map: LabelMap, *, vocab_file=None, do_lower_case=None,
                      bert_config_file=None, trust_remote_code: bool = False):
    """(model, tokenizer) with a fresh classification head sized for ``label_map``."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    source = resolve_model_source(source)
    tokenizer = load_tokenizer(source, vocab_file=vocab_file, do_lower_case=do_lower_case,
                               trust_remote_code=trust_remote_code)
    if source.kind == "tf":
        model = _load_tf(source, len(label_map), bert_config_file)
    else:
        config = _from_pretrained(AutoConfig, source.path, trust_remote_code=trust_remote_code,
                                  num_labels=len(label_map), problem_type="single_label_classification")
        model = _from_pretrained(AutoModelForSequenceClassification, source.path, config=config,
                                 trust_remote_code=trust_remote_code, ignore_mismatched_sizes=True)
    model.config.id2label = label_map.id2label
    model.config.label2id = label_map.label2id
    return model, tokenizer


def _load_tf(source: ModelSource, num_labels: int | None, bert_config_file):
    from .tf_import import load_tf_bert

    model, report = load_tf_bert(source.path, num_labels=num_labels, bert_config_file=bert_config_file)
    print(f"[weighted-bert] TensorFlow checkpoint {report.summary()}", file=sys.stderr)
    return model


@dataclass
class FineTuned:
    """A fine-tuned classifier: a folder written by ``weighted-bert train``, or a
    checkpoint written by the seed."""

    path: str
    model: object
    tokenizer: object
    label_map: LabelMap
    info: dict  # loss, its options, class counts, max_seq_length (may be empty)
    calibration: object = None  # a calibration.Calibration fitted by `weighted-bert calibrate`, if any

    def logits(self, raw, *, use_calibration: bool = True, log=None):
        """``raw`` logits, adjusted by the saved calibration unless told not to (and saying so)."""
        if self.calibration is None or not use_calibration:
            return raw
        if log is not None:
            log(f"applying the calibration in {Path(self.path) / 'calibration.json'} "
                f"(tau {self.calibration.tau}{', per-class biases' if self.calibration.biases else ''}); "
                "--no-calibration turns it off")
        return self.calibration.apply(raw).astype(raw.dtype)


def load_fine_tuned(model_dir, *, trust_remote_code: bool = False, vocab_file=None, do_lower_case=None,
                    bert_config_file=None, labels=None) -> FineTuned:
    """Load a fine-tuned classifier (``OUTPUT``, ``OUTPUT/model``, or the seed's TensorFlow
    output folder) for evaluation or prediction. ``labels`` names a TensorFlow model's
    classes; else its ``label2id.pkl`` does (read without running any code)."""
    from transformers import AutoModelForSequenceClassification

    source = resolve_model_source(model_dir)
    if source.kind == "hub":
        raise ModelSourceError(f"{model_dir}: not a folder; expected the output folder of `weighted-bert train`")
    tokenizer = load_tokenizer(source, vocab_file=vocab_file, do_lower_case=do_lower_case,
                               trust_remote_code=trust_remote_code)
    if source.kind == "tf":
        model = _load_tf(source, None, bert_config_file)
        k = model.config.num_labels
        names = list(labels) if labels else _seed_labels(source.folder, k)
        if len(names) != k:
            raise ModelSourceError(f"{source.path}: the classifier has {k} classes, but {len(names)} labels were given")
        label_map = LabelMap(tuple(names))
        model.config.id2label, model.config.label2id = label_map.id2label, label_map.label2id
        return FineTuned(source.path, model, tokenizer, label_map, {})
    model = _from_pretrained(AutoModelForSequenceClassification, source.path, trust_remote_code=trust_remote_code)
    id2label = model.config.id2label
    label_map = LabelMap(tuple(id2label[i] for i in range(len(id2label))))
    info_path = Path(source.path) / TRAINING_INFO
    info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.is_file() else {}
    if info.get("head", {}).get("type") == "cosine":  # trained with ldam: the saved linear head is s * W/|W|
        from .losses import CosineClassifier

        linear = model.classifier
        cosine = CosineClassifier(linear.in_features, linear.out_features, info["head"]["scale"])
        cosine.weight.data.copy_(linear.weight.data)
        model.classifier = cosine
    model.eval()
    calibration = None
    calibration_path = Path(source.path) / "calibration.json"
    if calibration_path.is_file():
        from .calibration import Calibration

        calibration = Calibration.from_dict(json.loads(calibration_path.read_text(encoding="utf-8")))
    return FineTuned(source.path, model, tokenizer, label_map, info, calibration)


def _seed_labels(folder: Path, k: int) -> list[str]:
    from .tf_import import read_label2id_pickle

    for candidate in (folder / "label_map.json", folder / "label2id.pkl"):
        if candidate.is_file():
            return list(LabelMap.load(candidate).labels) if candidate.suffix == ".json" \
                else read_label2id_pickle(candidate)
    print(f"warning: {folder}: no label2id.pkl or label_map.json; classes are named 0..{k - 1} "
          "(give the names with --labels)", file=sys.stderr)
    return [str(i) for i in range(k)]
