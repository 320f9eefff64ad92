"""Per-class loss weights from training label counts.

With ``n_c`` the training count of class ``c``, ``N = sum_c n_c`` and ``K`` classes:

=================  ==========================================  =============================
scheme             raw weight ``w_c``                          source
=================  ==========================================  =============================
``none``           1                                           plain cross-entropy
``inverse``        N / n_c                                     the seed's code
``balanced``       N / (K * n_c)                               scikit-learn ``"balanced"``
``sqrt_inverse``   1 / sqrt(n_c)                               square-root re-weighting
``effective_number`` (1 - beta) / (1 - beta ** n_c)            Cui et al., CVPR 2019
``proportional``   n_c / N                                     the seed README's wording
=================  ==========================================  =============================

A scheme may also be a JSON file (or a mapping) of ``label -> weight``.

Normalisation. ``normalize="sample_mean"`` (the default) rescales the raw weights by
``N / sum_c n_c w_c`` so that the average weight over the training examples is 1. Then
turning weighting on changes which examples count, not how big the gradient is: the
seed's raw ``N / n_c`` weights average ``K`` over its examples and so multiplied the
loss and its gradients by about the number of classes (for SGD, the step size; Adam
mostly absorbs a constant scale). ``normalize="none"`` keeps the raw numbers (the
seed's, exactly).

A class with no training example (it can only come from ``--labels``) never is a
training target, so its weight matters only for evaluation loss; it gets the largest
weight among the classes that do have examples, before normalisation, so that it stays
finite for every scheme.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from .errors import DataFormatError, SettingError, UserError, check_choice
from .files import read_json_object

SCHEMES = ("none", "inverse", "balanced", "sqrt_inverse", "effective_number", "proportional")
NORMALIZATIONS = ("sample_mean", "none")
POS_WEIGHTS = ("none", "inverse", "sqrt_inverse", "effective_number")  # multi-label: bce's positive term


def class_weights(counts: Sequence[float], scheme="inverse", *, beta: float = 0.9999,
                  normalize: str = "sample_mean", labels: Sequence[str] | None = None) -> list[float]:
    """Per-class weights in label order.

    >>> class_weights([5, 1, 2], "inverse", normalize="none")
    [1.6, 8.0, 4.0]
    >>> [round(w, 4) for w in class_weights([5, 1, 2], "inverse")]
    [0.5333, 2.6667, 1.3333]

    ``scheme`` is a name from :data:`SCHEMES`, a path to a JSON file mapping label to
    weight, or such a mapping (both need ``labels``, the label names in order).
    """
    counts = _check_counts(counts)
    check_choice("weight_normalization", normalize, NORMALIZATIONS)
    raw = _raw_weights(counts, scheme, beta=beta, labels=labels)
    if normalize == "sample_mean":
        total = sum(counts)
        weighted = sum(n * w for n, w in zip(counts, raw))
        if weighted <= 0:
            raise UserError("class weights are zero on every training example; cannot normalise them")
        raw = [w * total / weighted for w in raw]
    return raw


def _check_counts(counts: Sequence[float]) -> list[int]:
    counts = list(counts)
    if not counts:
        raise ValueError("counts is empty; expected one training count per class")
    for c in counts:
        if not float(c).is_integer() or c < 0:
            raise ValueError(f"counts must be non-negative whole numbers; got {c!r}")
    counts = [int(c) for c in counts]
    if sum(counts) == 0:
        raise ValueError("every class count is 0; expected training examples")
    return counts


def _raw_weights(counts: list[int], scheme, *, beta: float, labels) -> list[float]:
    if isinstance(scheme, Mapping) or (isinstance(scheme, (str, Path)) and str(scheme) not in SCHEMES):
        return _weights_from_mapping(scheme, labels)
    total, k = sum(counts), len(counts)
    if scheme == "effective_number" and not 0 <= beta < 1:
        raise SettingError("class_weight_beta", beta, "is not in [0, 1) (needed by effective_number)")
    formula = {
        "none": lambda n: 1.0,
        "inverse": lambda n: total / n,
        "balanced": lambda n: total / (k * n),
        "sqrt_inverse": lambda n: 1.0 / math.sqrt(n),
        "effective_number": lambda n: (1.0 - beta) / (1.0 - beta ** n) if beta > 0 else 1.0,
        "proportional": lambda n: n / total,
    }[scheme]
    present = [formula(n) for n in counts if n > 0]
    fallback = max(present)
    return [formula(n) if n > 0 else fallback for n in counts]


def _weights_from_mapping(scheme, labels) -> list[float]:
    source = "the class weight mapping"
    if not isinstance(scheme, Mapping):
        path = Path(scheme)
        source = str(path)
        if not path.is_file():
            raise SettingError("class_weights", str(scheme),
                               f"is neither a scheme ({', '.join(SCHEMES)}) nor an existing JSON file")
        scheme = read_json_object(path, 'an object mapping label to weight, {"label": weight, ...}')
    if labels is None:
        raise ValueError("class weights from a mapping need the label names (labels=...)")
    return numbers_by_label(source, scheme, labels, "weight")


def positive_weights(counts: Sequence[int], num_examples: int, scheme: str, *, beta: float = 0.9999) -> list[float] | None:
    """Multi-label: the weight of each label's positive term (``pos_weight`` of binary
    cross-entropy) from its ``n`` training rows and ``m = num_examples - n`` negatives:
    ``inverse`` m / n (what PyTorch's documentation suggests), ``sqrt_inverse`` sqrt(m / n),
    ``effective_number`` E(m) / E(n) with E(k) = (1 - beta^k) / (1 - beta) (Cui et al.);
    ``none`` gives None. A label without a training row takes the largest weight of the others;
    a label on every row weighs 1.

    >>> positive_weights([10, 50], 100, "inverse")
    [9.0, 1.0]
    >>> [round(w, 4) for w in positive_weights([10, 50], 100, "sqrt_inverse")]
    [3.0, 1.0]
    """
    check_choice("pos_weight", scheme, POS_WEIGHTS)
    if scheme == "none":
        return None
    counts = [int(c) for c in counts]
    if num_examples < max(counts, default=0):
        raise ValueError(f"num_examples {num_examples} is below a label's count {max(counts)}")

    def effective(k: int) -> float:
        return (1.0 - beta ** k) / (1.0 - beta) if beta > 0 else float(k > 0)

    formula = {"inverse": lambda n, m: m / n, "sqrt_inverse": lambda n, m: math.sqrt(m / n),
               "effective_number": lambda n, m: effective(m) / effective(n)}[scheme]
    present = [formula(n, num_examples - n) if n < num_examples else 1.0 for n in counts if n > 0]
    fallback = max(present, default=1.0)
    return [fallback if n == 0 else 1.0 if n >= num_examples else formula(n, num_examples - n) for n in counts]


def numbers_by_label(source, mapping, labels: Sequence[str], noun: str, *,
                     whose: str = "the data") -> list[float]:
    """``{label: number}`` (class weights, target frequencies) as a list in ``labels`` order:
    every label named once, each number finite and >= 0; anything else is one error naming
    ``source`` and every label that is missing or unknown."""
    unknown = [k for k in mapping if k not in set(labels)]
    missing = [label for label in labels if label not in mapping]
    if unknown or missing:
        parts = []
        if missing:
            parts.append(f"no {noun} for {', '.join(map(repr, missing))}")
        if unknown:
            parts.append(f"labels not in {whose}: {', '.join(map(repr, unknown))}")
        raise DataFormatError(source, None, "; ".join(parts))
    values = []
    for label in labels:
        value = mapping[label]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise DataFormatError(source, None, f"{noun} of {label!r} is {value!r}; expected a finite number >= 0")
        values.append(float(value))
    return values
