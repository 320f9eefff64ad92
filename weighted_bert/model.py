"""Model in: where a model comes from, its tokenizer, and loading it for training.

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
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError
from .labels import LabelMap
from .log import get_logger
from .run_folder import MODEL

log = get_logger(__name__)
GOOGLE_MAX_WORD_CHARS = 200


class ModelSourceError(UserError, ValueError):
    """A model path or name that cannot be used, with what would work instead."""


_HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def is_hub_name(value: str) -> bool:
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
        if (path / MODEL / "config.json").is_file():
            return ModelSource(str(path / MODEL), "hf")
    elif path.is_file() or path.name.startswith(("bert_model.ckpt", "model.ckpt")):
        # A file, or a checkpoint prefix, inside a folder: the seed's --init_checkpoint style.
        if not Path(f"{path}.index").is_file() and path.suffix != ".index":
            if (path.parent / "config.json").is_file():
                return ModelSource(str(path.parent), "hf")
            if (path.parent / MODEL / "config.json").is_file():
                return ModelSource(str(path.parent / MODEL), "hf")
    try:
        return ModelSource(str(find_checkpoint(path)), "tf")
    except CheckpointError as err:
        if path.exists() or Path(f"{path}.index").exists():
            raise ModelSourceError(f"{text}: neither a Hugging Face model folder (config.json) nor a readable "
                                   f"TensorFlow checkpoint ({err})") from None
    if path.parent.is_dir() and path.name.startswith(("bert_model.ckpt", "model.ckpt")):
        raise ModelSourceError(f"{text}: no such checkpoint (no {path.name}.index, no config.json beside it)")
    if not is_hub_name(text):
        raise ModelSourceError(f"{text}: no such model folder")
    return ModelSource(text, "hub")


def from_pretrained(loader, source: str, **kwargs):
    """``loader.from_pretrained(source)`` with a user's failures said in one line."""
    from transformers.utils import logging as hf_logging

    if not kwargs.get("trust_remote_code"):
        _refuse_shipped_code(Path(source))
    # A new classification head is expected here; transformers' load report and progress
    # bar would print a table of "MISSING" weights on every run. Both are put back as they were.
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
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
        raise ModelSourceError(f"{source}: {SHIPPED_CODE}") from None
    except RuntimeError as err:
        if "size mismatch" not in str(err) and "ignore_mismatched_sizes" not in str(err):
            raise
        raise ModelSourceError(f"{source}: its weights do not fit its config.json "
                               f"({_first_mismatch(str(err))}); the folder is inconsistent") from None
    except pickle.UnpicklingError as err:
        # torch.load(weights_only=True) stopped at something other than tensors; nothing ran.
        found = re.search(r"GLOBAL (\S+)", str(err))
        raise ModelSourceError(
            f"{source}: refused to load its pickled weights (pytorch_model.bin): they hold "
            f"{found.group(1) if found else 'objects other than tensors'}, which loading would run; nothing in "
            "the file was run. Use a model saved as safetensors, or convert one you trust") from None
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


SHIPPED_CODE = ("its config asks to run Python code shipped with the model; refused, nothing of it was run. "
                "Pass --trust-remote-code only if you trust that code")


def _refuse_shipped_code(folder: Path) -> None:
    """``auto_map`` names code in the folder; transformers ignores it for model types it
    knows, but a folder that asks for it is refused all the same unless trusted."""
    for name in ("config.json", "tokenizer_config.json"):
        path = folder / name
        if path.is_file():
            try:
                asks = "auto_map" in json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as err:
                raise ModelSourceError(f"{path}: not valid JSON ({err})") from None
            if asks:
                raise ModelSourceError(f"{folder}: {SHIPPED_CODE}")


def _first_mismatch(message: str) -> str:
    found = re.search(r"size mismatch for ([^:]+): (.*?)(\.|$)", message)
    return f"{found.group(1)}: {found.group(2)}" if found else "weights of other shapes than config.json gives"


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
        return from_pretrained(AutoTokenizer, source.path, trust_remote_code=trust_remote_code)
    own = any((folder / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json"))
    if own and (source.kind == "hf" or vocab_file is None):
        try:
            tokenizer = from_pretrained(AutoTokenizer, str(folder), trust_remote_code=trust_remote_code)
        except ModelSourceError:
            raise
        except Exception as err:  # the tokenizers library's own errors: a damaged file
            name = "tokenizer.json" if (folder / "tokenizer.json").is_file() else "tokenizer_config.json"
            raise ModelSourceError(f"{folder / name}: cannot be read as a tokenizer "
                                   f"({str(err).splitlines()[0] if str(err) else type(err).__name__})") from None
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


PROBLEM_TYPES = {False: "single_label_classification", True: "multi_label_classification"}


def load_for_training(source, label_map: LabelMap, *, vocab_file=None, do_lower_case=None,
                      bert_config_file=None, trust_remote_code: bool = False, multi_label: bool = False):
    """(model, tokenizer) with a fresh classification head sized for ``label_map``
    (``multi_label``: one sigmoid output a label, ``problem_type`` saying so)."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    source = resolve_model_source(source)
    tokenizer = load_tokenizer(source, vocab_file=vocab_file, do_lower_case=do_lower_case,
                               trust_remote_code=trust_remote_code)
    if source.kind == "tf":
        model = load_tf(source, len(label_map), bert_config_file)
    else:
        config = from_pretrained(AutoConfig, source.path, trust_remote_code=trust_remote_code,
                                  num_labels=len(label_map), problem_type=PROBLEM_TYPES[multi_label])
        model = from_pretrained(AutoModelForSequenceClassification, source.path, config=config,
                                 trust_remote_code=trust_remote_code, ignore_mismatched_sizes=True)
    model.config.id2label = label_map.id2label
    model.config.label2id = label_map.label2id
    model.config.problem_type = PROBLEM_TYPES[multi_label]
    return model, tokenizer


def load_tf(source: ModelSource, num_labels: int | None, bert_config_file):
    """A Google TensorFlow checkpoint as a BERT classifier, saying what was loaded."""
    from .tf_import import load_tf_bert

    model, report = load_tf_bert(source.path, num_labels=num_labels, bert_config_file=bert_config_file)
    log.info(f"TensorFlow checkpoint {report.summary()}")
    return model
