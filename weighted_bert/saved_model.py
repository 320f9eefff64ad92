"""Saving and loading a fine-tuned model: ``OUTPUT/model/`` (see :mod:`weighted_bert.run_folder`).

The folder is a plain Hugging Face model: ``AutoModelForSequenceClassification`` loads it.
:func:`load_fine_tuned` also reads what only weighted-bert knows (the loss and class
counts in ``weighted_bert.json``, an ldam cosine head, the calibration) and the seed's
own TensorFlow output folders.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from dataclasses import dataclass
from pathlib import Path

from .io import give_usual_mode
from .labels import LabelMap
from .log import get_logger
from .model import ModelSourceError, from_pretrained, load_tf, load_tokenizer, resolve_model_source
from .run_folder import CALIBRATION, LABEL_MAP, MODEL, TRAINING_INFO, TrainingInfo

log = get_logger(__name__)


@contextlib.contextmanager
def plain_head(model):
    """While saving: a cosine head as the linear layer ``scale * normalise(W) x`` (bias 0),
    so the folder loads in plain transformers with the same predicted class (the
    probabilities differ by the feature norm); :func:`load_fine_tuned` restores the cosine
    head from ``weighted_bert.json``."""
    import torch

    from .losses import CosineClassifier

    head = getattr(model, "classifier", None)
    if not isinstance(head, CosineClassifier):
        yield None
        return
    linear = torch.nn.Linear(head.weight.shape[1], head.weight.shape[0]).to(head.weight.device)
    with torch.no_grad():
        linear.weight.copy_(head.scale * torch.nn.functional.normalize(head.weight, dim=-1))
        linear.bias.zero_()
    model.classifier = linear
    try:
        yield {"type": "cosine", "scale": head.scale}
    finally:
        model.classifier = head


def save_fine_tuned(save_weights, model, tokenizer, label_map: LabelMap, info: TrainingInfo, output) -> Path:
    """Write ``output/model/`` whole or not at all: ``save_weights(folder)`` (the Trainer's
    ``save_model``), the tokenizer, ``label_map.json`` and ``weighted_bert.json``, into a
    staging folder renamed into place; then ``output/label_map.json``."""
    output = Path(output)
    model_dir, staging = output / MODEL, output / f".{MODEL}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    with plain_head(model) as head:
        save_weights(str(staging))
    (staging / "training_args.bin").unlink(missing_ok=True)  # a pickle; the settings are in weighted_bert.json
    tokenizer.save_pretrained(str(staging))
    label_map.save(staging / LABEL_MAP)
    dataclasses.replace(info, head=head).write(staging)
    for path in staging.rglob("*"):
        if path.is_file():
            give_usual_mode(path)
    if model_dir.exists():
        shutil.rmtree(model_dir)
    staging.rename(model_dir)
    label_map.save(output / LABEL_MAP)
    return model_dir


@dataclass
class FineTuned:
    """A fine-tuned classifier: a folder written by ``weighted-bert train``, or a
    checkpoint written by the seed."""

    path: str
    model: object
    tokenizer: object
    label_map: LabelMap
    info: TrainingInfo
    calibration: object = None  # a calibration.Calibration fitted by `weighted-bert calibrate`, if any

    @property
    def max_seq_length(self) -> int:
        """The training truncation; for a model from elsewhere, its own position limit."""
        if self.info.max_seq_length:
            return self.info.max_seq_length
        limits = [getattr(self.model.config, "max_position_embeddings", None),
                  getattr(self.tokenizer, "model_max_length", None)]
        return min((x for x in limits if isinstance(x, int) and 0 < x < 1_000_000), default=512)

    def logits(self, raw, *, use_calibration: bool = True):
        """``raw`` logits, adjusted by the saved calibration unless told not to (and saying so)."""
        if self.calibration is None or not use_calibration:
            return raw
        log.info(f"applying the calibration in {Path(self.path) / CALIBRATION} (tau {self.calibration.tau}"
                 f"{', per-class biases' if self.calibration.biases else ''}); --no-calibration turns it off")
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
        model = load_tf(source, None, bert_config_file)
        k = model.config.num_labels
        names = list(labels) if labels else _seed_labels(source.folder, k)
        if len(names) != k:
            raise ModelSourceError(f"{source.path}: the classifier has {k} classes, but {len(names)} labels were given")
        label_map = LabelMap(tuple(names))
        model.config.id2label, model.config.label2id = label_map.id2label, label_map.label2id
        return FineTuned(source.path, model, tokenizer, label_map, TrainingInfo())
    model, loading = from_pretrained(AutoModelForSequenceClassification, source.path,
                                     trust_remote_code=trust_remote_code, output_loading_info=True)
    untrained = sorted(k for k in loading.get("missing_keys", ()) if not k.startswith(model.base_model_prefix + "."))
    if untrained:
        raise ModelSourceError(
            f"{source.path}: has no trained classification head ({', '.join(untrained)} are not in its weights; "
            "transformers would make them up at random); expected a model fine-tuned by `weighted-bert train` "
            "(to train this one: weighted-bert train --model ...)")
    id2label = model.config.id2label
    label_map = LabelMap(tuple(id2label[i] for i in range(len(id2label))))
    info = TrainingInfo.read(source.path)
    _check_agrees(Path(source.path), info, label_map)
    if (info.head or {}).get("type") == "cosine":  # trained with ldam: the saved linear head is s * W/|W|
        from .losses import CosineClassifier

        linear = model.classifier
        cosine = CosineClassifier(linear.in_features, linear.out_features, info.head["scale"])
        cosine.weight.data.copy_(linear.weight.data)
        model.classifier = cosine
    model.eval()
    calibration = None
    if (Path(source.path) / CALIBRATION).is_file():
        from .calibration import Calibration

        calibration = Calibration.read(Path(source.path) / CALIBRATION, len(label_map))
    return FineTuned(source.path, model, tokenizer, label_map, info, calibration)


def _check_agrees(folder: Path, info: TrainingInfo, label_map: LabelMap) -> None:
    """``weighted_bert.json`` must describe this model: one count per class, the same labels."""
    where = folder / TRAINING_INFO
    if info.class_counts is not None and len(info.class_counts) != len(label_map):
        raise ModelSourceError(f"{where}: class_counts has {len(info.class_counts)} values; the model has "
                               f"{len(label_map)} classes (config.json); the folder is inconsistent")
    if info.labels is not None and list(info.labels) != list(label_map.labels):
        raise ModelSourceError(f"{where}: its labels differ from the model's id2label (config.json); "
                               "the folder is inconsistent")


def _seed_labels(folder: Path, k: int) -> list[str]:
    from .tf_import import read_label2id_pickle

    for candidate in (folder / LABEL_MAP, folder / "label2id.pkl"):
        if candidate.is_file():
            return list(LabelMap.load(candidate).labels) if candidate.suffix == ".json" \
                else read_label2id_pickle(candidate)
    log.warning(f"{folder}: no label2id.pkl or label_map.json; classes are named 0..{k - 1} "
                "(give the names with --labels)")
    return [str(i) for i in range(k)]
