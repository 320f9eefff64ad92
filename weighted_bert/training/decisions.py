"""The decision a ``train`` run fits on dev after training, from dev's raw logits (computed
once by the run, which scores dev's results from them too): single-label, the temperature
and logit shift for the target prior (``calibrate --objective accuracy --target-prior``);
multi-label, the per-label thresholds. Each part is kept only when it beats noise."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..log import get_logger
from ..model_folder import FineTuned, load_fine_tuned
from ..run_folder import MODEL, THRESHOLDS

log = get_logger(__name__)


def fit_decision(config, classifier: FineTuned, dev, output: Path, raw_dev) -> FineTuned:
    """The task's decision fitted on ``dev`` (``raw_dev``: its logits without calibration, None
    without dev) and saved with the model; returns the classifier as saved."""
    return FITS[classifier.outputs.decision](config, classifier, dev, output, raw_dev)


def _fit_thresholds(config, classifier: FineTuned, dev, output: Path, raw_dev) -> FineTuned:
    """Fit ``config.thresholds`` on dev (:func:`~weighted_bert.multilabel.threshold_fit.fit_thresholds`)
    and save them with the model (``model/thresholds.json``); return the classifier with them."""
    from ..multilabel.threshold_fit import fit_thresholds
    from ..multilabel.thresholds import Thresholds
    from ..prediction import sigmoid

    labels = classifier.label_map.labels
    if dev is None or config.thresholds == "none":
        if dev is None and config.thresholds != "none":
            log.warning("no dev set: the thresholds stay at 0.5 (fitting them needs a dev file)")
        found = Thresholds.half(labels)
    else:
        scores = sigmoid(raw_dev)
        found = fit_thresholds(scores, classifier.label_map.multi_hot(dev), labels, config.thresholds,
                               seed=config.seed)
        name = "macro-F1" if config.thresholds == "per_label" else "micro-F1"
        log.info(f"thresholds ({config.thresholds}): dev {name} {found.dev_before:.4f} at 0.5 -> {found.dev_after:.4f}"
                 f"; held-out gain {found.held_out_gain:+.4f}: "
                 + ("kept" if found.accepted else "within noise, 0.5 kept"))
    found.write(output / MODEL / THRESHOLDS)
    return dataclasses.replace(classifier, thresholds=found)


def target_prior(config, dev) -> str:
    """The run's target prior: as set, else dev when there is a dev set, else none."""
    return config.target_prior or ("dev" if dev is not None else "none")


def _fit_prior(config, classifier: FineTuned, dev, output: Path, raw_dev) -> FineTuned:
    """Fit the decision for the target prior on dev (``calibrate --objective accuracy
    --target-prior ...``: temperature and logit shift, each kept only when it beats noise);
    return the classifier as saved, with what was kept folded in."""
    prior = target_prior(config, dev)
    if prior == "none" or dev is None:
        if config.target_prior not in (None, "none"):
            log.warning(f"--target-prior {config.target_prior} needs a dev set to fit the decision on; nothing fitted")
        return classifier
    from ..calibration import calibrate
    from ..calibration.inputs import build_objective
    from ..inference import keep_calibration

    counts, labels = classifier.info.class_counts, classifier.label_map.labels
    y = classifier.label_map.encode(dev)
    objective = build_objective("accuracy", labels, train_counts=counts, dev_labels=y, target_prior=prior)
    fitted = calibrate(raw_dev, y, counts, objective=objective)
    fitted.objective_settings = {"target_prior": prior, "fitted_by": "train"}
    shift = (f"kept a logit shift (tau {fitted.tau}): dev accuracy under it {fitted.dev_before:.4f} -> "
             f"{fitted.dev_after:.4f}, held-out gain {fitted.held_out_gain:+.4f}" if fitted.accepted else
             f"no logit shift kept (held-out gain {fitted.held_out_gain:+.4f}, within noise)")
    log.info(f"target prior {prior}: temperature {fitted.temperature:.3g}; {shift}")
    if not (fitted.accepted or fitted.changes_logits):
        return classifier
    keep_calibration(dataclasses.replace(classifier, path=str(output / MODEL)), fitted)
    return load_fine_tuned(output / MODEL)


FITS = {"calibration": _fit_prior, "thresholds": _fit_thresholds}  # by the outputs' decision
