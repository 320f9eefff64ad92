"""``weighted-bert import-tf``: a Google TensorFlow BERT checkpoint written once as a plain
Hugging Face folder, so that later runs skip the conversion (see :mod:`weighted_bert.tf_import`)."""

from __future__ import annotations

import shutil
from pathlib import Path

from .log import get_logger
from .model import load_tokenizer, resolve_model_source
from .model_folder import load_fine_tuned
from .run_folder import LABEL_MAP
from .tf_checkpoint import CheckpointError, read_index
from .tf_import import load_tf_bert

log = get_logger(__name__)


def import_tf(source, dest, *, bert_config_file=None, vocab_file=None, do_lower_case: bool = True,
              labels=None) -> Path:
    """Write a Google checkpoint as a plain Hugging Face folder (safetensors), once, so
    later runs skip the conversion. A fine-tuned checkpoint keeps its classifier and labels;
    a pre-trained one is saved as a ``BertModel`` (no head)."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise CheckpointError(f"{dest}: exists and is not empty; choose a new folder")
    model_source = resolve_model_source(source)
    if model_source.kind != "tf":
        raise CheckpointError(f"{source}: not a TensorFlow checkpoint")
    prefix = Path(model_source.path)
    label_map = None
    if "output_weights" in read_index(prefix)[1]:  # the seed's fine-tuned classifier
        loaded = load_fine_tuned(source, vocab_file=vocab_file, do_lower_case=do_lower_case,
                                 bert_config_file=bert_config_file, labels=labels)
        model, tokenizer, label_map = loaded.model, loaded.tokenizer, loaded.label_map
    else:
        model, report = load_tf_bert(prefix, num_labels=2, bert_config_file=bert_config_file)
        log.info(f"TensorFlow checkpoint {report.summary()}")
        model = model.bert  # the encoder alone: a classifier head is made per task at training time
        tokenizer = load_tokenizer(model_source, vocab_file=vocab_file, do_lower_case=do_lower_case)
    staging = dest.with_name(f".{dest.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    if label_map is not None:
        label_map.save(staging / LABEL_MAP)
    if dest.exists():
        dest.rmdir()
    staging.rename(dest)
    return dest
