"""After training: how the saved model reads long texts, the aggregation rule chosen on dev.

With ``--window-aggregation auto`` (the default) and dev documents longer than one window,
each rule of :data:`~weighted_bert.windows.AGGREGATIONS` joins dev's window logits and the one
with the best ``--metric-for-best-model`` is kept (ties: mean, then max); without long dev
documents the model keeps mean, the rule it was evaluated with while training. The choice
and every rule's dev score are recorded in ``weighted_bert.json`` (``windows``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..classifier import Classifier
from ..log import get_logger
from ..model_folder import FineTuned
from ..run_folder import MODEL
from ..tasks import task_of
from ..windows import WINDOW_CHOICE
from ..windows.reading import aggregate, choose_aggregation

log = get_logger(__name__)


def settle_windows(config, classifier: FineTuned, trainer, dev, output: Path) -> np.ndarray | None:
    """Choose the rule on dev (rewriting the model folder's record when it changes) and
    return dev's raw document logits by it (None without dev)."""
    if dev is None:
        return None
    window_logits, starts = trainer.best_eval_logits(), getattr(trainer.eval_dataset, "starts", None)
    if window_logits is None:  # a resumed run (not in memory), or dev scored in bf16 while training: fp32 now
        window_logits, windows = Classifier(classifier, batch_size=config.eval_batch_size,
                                            calibration=False).window_logits(dev)
        starts = None if windows.one_each else windows.starts
    if starts is None:  # every dev text fits one window
        return window_logits
    task = task_of(classifier.multi_label)
    record = dict(classifier.info.windows)
    if config.window_aggregation == WINDOW_CHOICE:
        targets = task.targets(classifier.label_map, dev)
        metric = config.metric_for_best_model

        def score(rule):
            metrics = task.epoch_metrics(aggregate(window_logits, starts, rule, task), targets,
                                         train_counts=classifier.info.class_counts,
                                         many_threshold=config.many_threshold, few_threshold=config.few_threshold)
            return metrics.get(metric, metrics["macro_f1"])

        rule, scores = choose_aggregation(score, greater_is_better=metric != "nll")
        log.info(f"long documents: dev {metric} by window rule " + ", ".join(f"{r} {v:.4f}" for r, v in
                                                                             scores.items()) + f"; kept {rule}")
        record.update(aggregation=rule, chosen_by=f"dev {metric}", dev_scores=scores)
        classifier.info.windows = record
        classifier.info.write(output / MODEL)
    return aggregate(window_logits, starts, record["aggregation"], task)
