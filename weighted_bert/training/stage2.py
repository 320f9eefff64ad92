"""``--stage2``: the classifier fitted again on the trained encoder's features after training
(see :mod:`weighted_bert.stage2`), folded into the model's last linear layer and recorded in
``weighted_bert.json`` (``stage2``: the method, tau and dev's score of each tau for ``tau_norm``).
"""

from __future__ import annotations

import numpy as np

from ..classifier import Classifier
from ..errors import RunError
from ..log import get_logger
from ..model_folder import FineTuned, head_linear_name
from ..stage2.methods import choose_tau, learned_scales, retrained_classifier, tau_normalised
from ..tasks import task_of

log = get_logger(__name__)


def head(fine_tuned: FineTuned):
    """The model's last linear layer (the logits), or a clear error for a model without one."""
    name = head_linear_name(fine_tuned.model)
    if name is None:
        raise RunError(f"--stage2 needs a model whose logits come from a linear layer with a bias (BERT's "
                       f"classifier, RoBERTa's classifier.out_proj); {type(fine_tuned.model).__name__} has none")
    return fine_tuned.model.get_submodule(name)


def features(fine_tuned: FineTuned, dataset, *, batch_size: int) -> np.ndarray:
    """What the last linear layer takes in, a row a document (a long one: the mean over its
    windows, whose logits the mean rule joins; the layer is linear, so they agree)."""
    head(fine_tuned)  # a model without one: the second stage's own error
    return Classifier(fine_tuned, batch_size=batch_size, calibration=False).logits_and_features(dataset)[1]


def fit_stage2(config, fine_tuned: FineTuned, train, dev) -> dict:
    """Fit ``config.stage2`` and fold it into the model; returns the record."""
    import torch

    linear = head(fine_tuned)
    weight = linear.weight.detach().float().cpu().numpy().astype(np.float64)
    bias = linear.bias.detach().float().cpu().numpy().astype(np.float64)
    label_map, method = fine_tuned.label_map, config.stage2
    record: dict = {"method": method}
    if method == "tau_norm":
        if dev is None:
            raise RunError("--stage2 tau_norm chooses tau on dev; give a dev file, or another --stage2")
        x, y = features(fine_tuned, dev, batch_size=config.eval_batch_size), np.asarray(label_map.encode(dev))
        task, metric = task_of(False), config.metric_for_best_model

        def score(logits):
            scores = task.epoch_metrics(logits.astype(np.float32), y, train_counts=fine_tuned.info.class_counts,
                                        many_threshold=config.many_threshold, few_threshold=config.few_threshold)
            value = scores.get(metric, scores["macro_f1"])
            return -value if metric == "nll" else value

        tau, scores = choose_tau(x.astype(np.float64), weight, bias, score)
        weight, bias = tau_normalised(weight, bias, tau)
        record.update(tau=tau, chosen_by=f"dev {metric}", dev_scores={str(t): v for t, v in scores.items()})
        said = f"tau {tau:g} (dev {metric} {scores[tau]:.4f}, at tau 0 {scores[0.0]:.4f})"
    else:
        x, y = features(fine_tuned, train, batch_size=config.eval_batch_size), np.asarray(label_map.encode(train))
        if method == "crt":
            weight, bias = retrained_classifier(x.astype(np.float64), y, len(label_map))
            said = "the classifier retrained class-balanced on the training features"
        else:
            scales = learned_scales(x.astype(np.float64), y, weight, bias)
            weight, bias = weight * scales[:, None], bias * scales
            record["scales"] = dict(zip(label_map.labels, np.round(scales, 6).tolist()))
            said = f"class scales {scales.min():.3g} to {scales.max():.3g}, learned class-balanced"
    with torch.no_grad():
        linear.weight.copy_(torch.as_tensor(weight, dtype=linear.weight.dtype))
        linear.bias.copy_(torch.as_tensor(bias, dtype=linear.bias.dtype))
    log.info(f"second stage {method}: {said}; folded into the model's last linear layer")
    return record
