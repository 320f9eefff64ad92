"""What a multi-label ``train`` run does beyond the single-label one: the checks of its
label sets, and the thresholds fitted on dev after training."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..data import DEFAULT_SEPARATOR, Dataset
from ..data.readers import JSONL_EXTENSIONS
from ..errors import DataFormatError
from ..log import get_logger
from ..run_folder import MODEL, THRESHOLDS

log = get_logger(__name__)


def check_label_sets(config, train: Dataset) -> None:
    """A separator that splits no label field is a wrong separator; rows with no label are
    fine (all-negative) and counted."""
    if Path(train.path).suffix.lower() not in JSONL_EXTENSIONS and not any(len(e.label) > 1 for e in train.examples):
        separator = config.label_separator or DEFAULT_SEPARATOR
        raise DataFormatError(train.path, None, f"no label field holds the label separator {separator!r}: every row "
                              "has one label; name the character between labels with --label-separator (or, for "
                              "one label a row, train without --multi-label)")
    empty = sum(1 for e in train.examples if not e.label)
    if empty:
        log.info(f"{train.path}: {empty} of {len(train)} rows have no label (negative for every label)")


def start_at_the_prior(model, class_counts, num_examples: int) -> None:
    """Set the fresh head's bias to each label's prior logit, ``logit(n_l / N)`` (Lin et al.'s
    prior initialisation, ICCV 2017): a zero bias starts every label at probability 0.5,
    and the first steps' gradient, nearly all "push every label down", then runs through the
    pretrained encoder and wears its features away before any label is learnt."""
    import torch

    from ..losses.multilabel.distribution_balanced import prior_logits
    from ..saved_model import head_linear_name

    name = head_linear_name(model)
    if name is None:
        log.info("the model's head has no bias to start at the label priors; it starts at 0.5")
        return
    head = model.get_submodule(name)
    with torch.no_grad():
        head.bias.copy_(prior_logits(class_counts, num_examples).to(head.bias))


def fit_decision(config, classifier, dev, output: Path, raw_dev=None):
    """Fit ``config.thresholds`` on dev (:func:`~weighted_bert.multilabel.thresholds.fit_thresholds`)
    and save them with the model (``model/thresholds.json``); return the classifier with them.
    ``raw_dev``: dev's logits when training kept them."""
    from ..prediction import sigmoid
    from ..run_results import raw_dev_logits
    from .thresholds import Thresholds, fit_thresholds

    labels = classifier.label_map.labels
    if dev is None or config.thresholds == "none":
        if dev is None and config.thresholds != "none":
            log.warning("no dev set: the thresholds stay at 0.5 (fitting them needs a dev file)")
        found = Thresholds.half(labels)
    else:
        scores = sigmoid(raw_dev_logits(config, classifier, dev, raw_dev))
        found = fit_thresholds(scores, classifier.label_map.multi_hot(dev), labels, config.thresholds,
                               seed=config.seed)
        name = "macro-F1" if config.thresholds == "per_label" else "micro-F1"
        log.info(f"thresholds ({config.thresholds}): dev {name} {found.dev_before:.4f} at 0.5 -> {found.dev_after:.4f}"
                 f"; held-out gain {found.held_out_gain:+.4f}: "
                 + ("kept" if found.accepted else "within noise, 0.5 kept"))
    found.write(output / MODEL / THRESHOLDS)
    return dataclasses.replace(classifier, thresholds=found)
