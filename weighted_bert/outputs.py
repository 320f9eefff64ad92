"""What a classifier's outputs mean, as an object: :data:`ONE_CLASS` (single-label: a softmax
over the classes, one answer a text, under the calibration's decision rule) or
:data:`LABEL_SET` (multi-label: one sigmoid a label, the labels at or above their thresholds).

The model layer (the model folder's probabilities and prior, the answering
:class:`~weighted_bert.classifier.Classifier`, the join of a long text's windows, the batch
and served answers) asks this object instead of testing a ``multi_label`` flag;
:mod:`weighted_bert.tasks` builds the whole task (targets, metrics, result files) on it.

>>> ONE_CLASS.probabilities(np.array([[0.0, 0.0]])).tolist()
[[0.5, 0.5]]
>>> LABEL_SET.probabilities(np.array([[0.0, 0.0]])).tolist()
[[0.5, 0.5]]
"""

from __future__ import annotations

import numpy as np

from .errors import UserError
from .labels import SET_SEPARATOR
from .prediction import sigmoid, softmax


class OneClass:
    """One class a text: softmax outputs."""

    multi_label = False
    prior_applies = True  # a class prior moves the answer (the target-prior shift, the recipe's prior)
    decision = "calibration"  # what decides the answer, fitted on dev by the run: temperature and prior shift

    @staticmethod
    def probabilities(logits) -> np.ndarray:
        return softmax(np.asarray(logits))

    @staticmethod
    def join_max(logits: np.ndarray, first: np.ndarray) -> np.ndarray:
        """The ``max`` rule over a long text's windows: per class the largest log-probability
        (log-softmax), so the joined row's softmax is the windows' max, renormalised."""
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return np.maximum.reduceat(log_p, first, axis=0).astype(np.float32)

    @staticmethod
    def max_scores(windows):
        """What ``max`` compares in training's torch join (one document's window logits): the
        log-probabilities, as :meth:`join_max`."""
        import torch

        return torch.log_softmax(windows, dim=-1)

    def decide(self, fine_tuned, probabilities, *, use_calibration: bool = True, top_k: int | None = None,
               at_least_one: bool = False) -> tuple[np.ndarray, list]:
        """``(class index per row, label per row)``: the calibration's decision rule where the
        model has one and ``use_calibration``, else the most probable class."""
        if top_k is not None or at_least_one:
            raise UserError(f"{fine_tuned.path}: top_k and at_least_one are for multi-label models; this one gives "
                            "one label a text")
        decided = fine_tuned.decide(probabilities, use_calibration=use_calibration)
        return decided, [fine_tuned.label_of(i) for i in decided]

    @staticmethod
    def answer_columns(answers) -> tuple[list[str], list[float]]:
        """``predicted_label`` and ``probability`` of a batch of answers: the decided class's
        probability (an abstention: the highest, below the threshold), as ``predict`` writes."""
        p = answers.probabilities
        return list(answers.labels), [float(p[i, k] if k >= 0 else p[i].max()) for i, k in enumerate(answers.decided)]

    @staticmethod
    def says_decisions(rule) -> bool:
        """Whether a served answer carries its decided labels (``X-Decisions``): where a decision
        rule (costs, abstaining) can differ from the most probable class."""
        return bool(rule)

    @staticmethod
    def refuse_label_sets(message: str) -> None:
        """Nothing: the command serves one class a text."""


class LabelSet:
    """A set of labels a text: one sigmoid a label."""

    multi_label = True
    prior_applies = False
    decision = "thresholds"  # one a label
    no_prior = "sigmoid outputs (multi-label), to which one class prior does not apply"

    @staticmethod
    def probabilities(logits) -> np.ndarray:
        return sigmoid(logits)

    @staticmethod
    def join_max(logits: np.ndarray, first: np.ndarray) -> np.ndarray:
        """The ``max`` rule, per label: the largest logit (so the largest sigmoid) of the windows."""
        return np.maximum.reduceat(logits, first, axis=0)

    @staticmethod
    def max_scores(windows):
        """The logits themselves, as :meth:`join_max`."""
        return windows

    def decide(self, fine_tuned, probabilities, *, use_calibration: bool = True, top_k: int | None = None,
               at_least_one: bool = False) -> tuple[np.ndarray, list]:
        """``(0/1 label matrix, label lists most probable first)`` by the saved thresholds (0.5
        without), at most ``top_k`` a row, at least one with ``at_least_one``."""
        from .multilabel.thresholds import Thresholds

        thresholds = fine_tuned.thresholds or Thresholds.half(fine_tuned.label_map.labels)
        decided = thresholds.decide(probabilities, top_k=top_k, at_least_one=at_least_one)
        names = fine_tuned.label_map.labels
        return decided, [[names[j] for j in np.flatnonzero(row)[np.argsort(-p[row], kind="stable")]]
                         for row, p in zip(decided, np.asarray(probabilities))]

    @staticmethod
    def answer_columns(answers) -> tuple[list[str], list[float]]:
        """``predicted_label`` (the set joined by ``;``, most probable first) and ``probability``
        (the highest label's)."""
        return ([SET_SEPARATOR.join(labels) for labels in answers.labels],
                answers.probabilities.max(axis=1).astype(float).tolist())

    @staticmethod
    def says_decisions(rule) -> bool:
        return True  # the thresholds decide each label set

    @staticmethod
    def refuse_label_sets(message: str) -> None:
        raise UserError(message)


ONE_CLASS, LABEL_SET = OneClass(), LabelSet()


def outputs_of(multi_label) -> OneClass | LabelSet:
    """The outputs of a model (or data) that is multi-label or not."""
    return LABEL_SET if multi_label else ONE_CLASS
