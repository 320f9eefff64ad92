"""Saving and loading a fine-tuned model: ``OUTPUT/model/`` (see :mod:`weighted_bert.run_folder`).

The folder is a plain Hugging Face model: ``AutoModelForSequenceClassification`` loads it.
:func:`load_fine_tuned` also reads what only weighted-bert knows (the loss and class
counts in ``weighted_bert.json``, an ldam cosine head, the calibration) and the seed's
own TensorFlow output folders.
"""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from .files import give_usual_mode
from .labels import LabelMap
from .log import get_logger
from .model import ModelSourceError, from_pretrained, load_tf, load_tokenizer, resolve_model_source
from .run_folder import CALIBRATION, LABEL_MAP, MODEL, THRESHOLDS, TRAINING_INFO, TrainingInfo
from .windows import WindowPlan

log = get_logger(__name__)


def to_plain_head(model) -> dict | None:
    """An ldam cosine head becomes the linear layer ``scale * normalise(W) x`` (bias 0), for
    good: the saved folder is then a plain classifier that every runtime (transformers'
    pipeline, ONNX, serving engines) computes alike, with the class the cosine head picks
    (probabilities sharper by the feature norm). Returns what was folded, for the record."""
    import torch

    from .losses import CosineClassifier

    head = getattr(model, "classifier", None)
    if not isinstance(head, CosineClassifier):
        return None
    linear = torch.nn.Linear(head.weight.shape[1], head.weight.shape[0]).to(head.weight.device)
    with torch.no_grad():
        linear.weight.copy_(head.scale * torch.nn.functional.normalize(head.weight, dim=-1))
        linear.bias.zero_()
    model.classifier = linear
    return {"type": "cosine", "scale": head.scale}


def head_linear_name(model) -> str | None:
    """The linear layer that gives the logits (``classifier`` in BERT, ``classifier.out_proj``
    in RoBERTa), when it has a bias: where a temperature and a logit adjustment fold exactly."""
    import torch

    head = getattr(model, "classifier", None)
    for name, module in (("classifier", head), ("classifier.out_proj", getattr(head, "out_proj", None))):
        if isinstance(module, torch.nn.Linear) and module.bias is not None:
            return name
    return None


def fold_calibration(fine_tuned: FineTuned, calibration) -> str | None:
    """Fold ``calibration``'s logits ``z / T + a`` into the last linear layer in
    ``model.safetensors`` (``W / T`` and ``b / T + a``, after taking out a calibration folded
    before), so that every runtime gives the calibrated logits. Returns None when folded
    (``calibration.folded_into`` set), else the reason it cannot be."""
    import numpy as np
    import torch
    from safetensors.torch import load_file, save_file

    folder = Path(fine_tuned.path)
    weights = folder / "model.safetensors"
    name = head_linear_name(fine_tuned.model)
    if not weights.is_file():
        return "the weights are not in model.safetensors"
    if name is None:
        return "the model's classification head does not end in a linear layer with a bias"
    tensors = load_file(str(weights))
    if f"{name}.weight" not in tensors or f"{name}.bias" not in tensors:
        return f"model.safetensors has no {name}.weight and {name}.bias"
    weight, bias = tensors[f"{name}.weight"].double(), tensors[f"{name}.bias"].double()
    previous = fine_tuned.calibration
    if previous is not None and previous.folded_into:  # back to the raw layer: replace it, not add to it
        weight = weight * previous.temperature
        bias = (bias - torch.from_numpy(previous.adjustment())) * previous.temperature
    weight = weight / calibration.temperature
    bias = bias / calibration.temperature + torch.from_numpy(np.asarray(calibration.adjustment()))
    tensors[f"{name}.weight"] = weight.to(tensors[f"{name}.weight"].dtype)
    tensors[f"{name}.bias"] = bias.to(tensors[f"{name}.bias"].dtype)
    partial = weights.with_name(".model.safetensors.partial")
    save_file(tensors, str(partial), metadata={"format": "pt"})
    give_usual_mode(partial)
    partial.replace(weights)
    calibration.folded_into = name
    onnx = folder / "onnx"
    if onnx.is_dir():  # exported before: it would answer without the adjustment (calibrate exports again)
        shutil.rmtree(onnx)
    return None


def save_fine_tuned(save_weights, model, tokenizer, label_map: LabelMap, info: TrainingInfo, output) -> Path:
    """Write ``output/model/`` whole or not at all: ``save_weights(folder)`` (the Trainer's
    ``save_model``), the tokenizer, ``label_map.json`` and ``weighted_bert.json``, into a
    staging folder renamed into place; then ``output/label_map.json``."""
    output = Path(output)
    model_dir, staging = output / MODEL, output / f".{MODEL}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    head = to_plain_head(model)
    if info.max_seq_length:
        tokenizer.model_max_length = info.max_seq_length  # pipelines truncate where training did
    save_weights(str(staging))
    (staging / "training_args.bin").unlink(missing_ok=True)  # a pickle; the settings are in weighted_bert.json
    tokenizer.save_pretrained(str(staging))
    label_map.save(staging / LABEL_MAP)
    dataclasses.replace(info, head=head or info.head).write(staging)
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
    thresholds: object = None  # multi-label: a multilabel.thresholds.Thresholds (None: 0.5 for every label)
    said: bool = field(default=False, repr=False, compare=False)  # the calibration note is given once

    @property
    def multi_label(self) -> bool:
        return bool(self.info.multi_label) or getattr(self.model.config, "problem_type", None) == \
            "multi_label_classification"

    @property
    def outputs(self):
        """What the model's outputs mean (:mod:`weighted_bert.outputs`): softmax or one sigmoid a label."""
        from .outputs import outputs_of

        return outputs_of(self.multi_label)

    @property
    def max_seq_length(self) -> int:
        """The training truncation; for a model from elsewhere, its own position limit."""
        if self.info.max_seq_length:
            return self.info.max_seq_length
        limits = [getattr(self.model.config, "max_position_embeddings", None),
                  getattr(self.tokenizer, "model_max_length", None)]
        return min((x for x in limits if isinstance(x, int) and 0 < x < 1_000_000), default=512)

    @property
    def window_plan(self):
        """How the model reads a text longer than :attr:`max_seq_length` (a folder that does
        not say: truncation, one window)."""
        return WindowPlan.from_record(self.info.windows, self.max_seq_length)

    def logits(self, raw, *, use_calibration: bool = True):
        """The model's logits with its saved calibration (folded into its weights, or applied
        here), or without it when told (a calibration folded into the weights is taken out
        again, exactly)."""
        calibration = self.calibration
        if calibration is None:
            return raw
        where = Path(self.path) / CALIBRATION
        say, self.said = not self.said, True
        if not use_calibration:
            if not calibration.folded_into:
                return raw
            if say:
                log.info(f"leaving out the calibration in {where} (taken out of {calibration.folded_into})")
            return calibration.remove(raw).astype(raw.dtype)
        if say:
            parts = ([f"temperature {calibration.temperature:.4g}"] if calibration.temperature != 1 else []) \
                + ([f"tau {calibration.tau}"] if calibration.tau else []) \
                + (["a target prior"] if calibration.target_log_prior is not None else []) \
                + (["per-class biases"] if calibration.biases is not None else []) \
                + ([calibration.decision_rule] if calibration.decision_rule else [])
            log.info(f"applying the calibration in {where} ({', '.join(parts) or 'nothing to change'}"
                     f"{', folded into ' + calibration.folded_into if calibration.folded_into else ''}); "
                     "--no-calibration turns it off")
        return raw if calibration.folded_into else calibration.apply(raw).astype(raw.dtype)

    def prior_shift(self, spec: str, *, calibrated: bool = True):
        """``log(new) - log(old)`` in label order, the Bayes shift of calibrated probabilities
        (Saerens et al., 2002) to ``spec`` from the prior the model's answers carry: the target
        prior its decision was fitted for, or where no decision moved its answers (or the
        answers are read without the calibration: ``calibrated=False``), the prior its training
        recipe answers for in theory (:func:`~.calibration.inputs.trained_log_prior`)."""
        import numpy as np

        from .calibration.inputs import target_log_prior
        from .errors import UserError

        if spec == "dev":
            raise UserError("--target-prior dev is for fitting on a dev file (train, calibrate); here give train, "
                            "uniform or a JSON file of label -> frequency")
        old, source = self._answers_prior(calibrated)
        if old is None:
            raise UserError(f"{self.path}: --target-prior needs to know the prior this model's answers carry: a "
                            f"decision fitted for a target prior (train --target-prior, or calibrate --objective "
                            f"accuracy --target-prior), or a recipe with a closed form (ce, weighted_ce, "
                            f"logit_adjusted, balanced_softmax); this one has {source}")
        log.info(f"--target-prior {spec}: the answers moved from {source}")
        new = target_log_prior(spec, self.label_map.labels, train_counts=self.info.class_counts or
                               [1] * len(self.label_map), dev_labels=[])
        return new - np.asarray(old)

    def _answers_prior(self, calibrated: bool = True):
        """``(log prior or None, where it comes from, in words)`` for :meth:`prior_shift`."""
        calibration = self.calibration if calibrated else None
        if calibration is not None and calibration.target_log_prior is not None:
            return calibration.target_log_prior, "the target prior its decision was fitted for"
        if calibration is not None and (calibration.tau or calibration.biases is not None):
            return None, f"a decision fitted for {calibration.objective}, which no prior describes"
        prior, source = self.recipe_prior()
        unmoved = "no decision was fitted that moves it" if calibrated else "the calibration not applied"
        return prior, (f"{source} ({unmoved})" if prior is not None else source)

    def recipe_prior(self):
        """``(log prior or None, in words)``: the class prior the training recipe's raw logits
        answer for, in theory (:func:`~.calibration.inputs.trained_log_prior`), whatever
        decision was fitted after training."""
        from .calibration.inputs import trained_log_prior
        from .config import RunConfig
        from .settings import default_of

        settings, loss = self.info.settings or {}, self.info.loss
        if not self.outputs.prior_applies:
            return None, self.outputs.no_prior
        if not settings or not self.info.class_counts:
            return None, "no training recipe on record"
        sampling = settings.get("sampling", default_of(RunConfig, "sampling"))
        prior = trained_log_prior(loss, {**settings, **(self.info.loss_options or {})}, sampling,
                                  self.info.class_counts, self.label_map.labels)
        return prior, (f"the prior loss {loss} with {sampling} sampling trains for, in theory" if prior is not None
                       else f"loss {loss}, with no closed form")

    def probabilities(self, logits):
        """Class probabilities (softmax), or for a multi-label model one sigmoid per label."""
        return self.outputs.probabilities(logits)

    def decide(self, probabilities, *, use_calibration: bool = True):
        """Class index per row of (calibrated) ``probabilities``: the calibration's decision rule
        (a cost matrix, abstaining as ``calibration.ABSTAINED``), else the most probable class."""
        if self.calibration is None or not use_calibration:
            return probabilities.argmax(axis=1)
        return self.calibration.decide(probabilities)

    def label_of(self, index: int) -> str:
        """The label of a class index from :meth:`decide` (an abstention: the calibration's label)."""
        return self.calibration.abstain_label if index < 0 else self.label_map.labels[index]


def load_fine_tuned(model_dir, *, trust_remote_code: bool = False, vocab_file=None, do_lower_case=None,
                    bert_config_file=None, labels=None, weights: bool = True) -> FineTuned:
    """Load a fine-tuned classifier (``OUTPUT``, ``OUTPUT/model``, or the seed's TensorFlow
    output folder) for evaluation or prediction. ``labels`` names a TensorFlow model's
    classes; else its ``label2id.pkl`` does (read without running any code).

    ``weights=False`` (for an ONNX backend): where the folder was written by ``train`` and
    has a ``tokenizer.json``, the PyTorch weights are not loaded and neither torch nor
    transformers is imported; ``model`` is then only its ``config`` (from ``config.json``)
    and the tokenizer a :class:`~weighted_bert.tokenizer_file.TokenizerFile`."""
    source = resolve_model_source(model_dir)
    if source.kind == "hub":
        raise ModelSourceError(f"{model_dir}: not a folder; expected the output folder of `weighted-bert train`")
    if not weights and source.kind == "hf" and not vocab_file and do_lower_case is None:
        from .tokenizer_file import TokenizerFile

        if TokenizerFile.usable(source.folder) and (source.folder / TRAINING_INFO).is_file():
            config = _read_config(source.folder)
            label_map = LabelMap(tuple(config.id2label[i] for i in range(len(config.id2label))))
            return _with_decision(source, SimpleNamespace(config=config), TokenizerFile(source.folder), label_map)
    from transformers import AutoModelForSequenceClassification

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
    model.eval()
    return _with_decision(source, model, tokenizer, label_map)


def _with_decision(source, model, tokenizer, label_map: LabelMap) -> FineTuned:
    """The classifier with its training record, calibration and thresholds read from the folder."""
    info = TrainingInfo.read(source.path)
    _check_agrees(Path(source.path), info, label_map)
    calibration = None
    if (Path(source.path) / CALIBRATION).is_file():
        from .calibration import Calibration

        calibration = Calibration.read(Path(source.path) / CALIBRATION, len(label_map))
    thresholds = None
    if (Path(source.path) / THRESHOLDS).is_file():
        from .multilabel.thresholds import Thresholds

        thresholds = Thresholds.read(Path(source.path) / THRESHOLDS, label_map.labels)
    return FineTuned(source.path, model, tokenizer, label_map, info, calibration, thresholds)


def _read_config(folder: Path) -> SimpleNamespace:
    """What prediction needs of ``config.json`` (labels, problem type, position limit), read as JSON."""
    from .files import read_json_object

    config = read_json_object(folder / "config.json", "a model configuration")
    id2label = config.get("id2label") or {}
    try:
        id2label = {int(k): str(v) for k, v in id2label.items()}
    except (TypeError, ValueError):
        raise ModelSourceError(f"{folder / 'config.json'}: id2label has keys that are not class numbers") from None
    if sorted(id2label) != list(range(len(id2label))) or not id2label:
        raise ModelSourceError(f"{folder / 'config.json'}: id2label does not number the classes 0..n-1")
    return SimpleNamespace(id2label=id2label, num_labels=len(id2label), problem_type=config.get("problem_type"),
                           max_position_embeddings=config.get("max_position_embeddings"))


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
