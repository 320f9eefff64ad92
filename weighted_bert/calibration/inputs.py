"""The files and names ``calibrate`` reads for an objective: the target prior and the cost matrix.

A target prior is ``dev`` (the dev file's own class frequencies), ``train`` (the training
frequencies), ``uniform`` (every class alike) or a JSON file ``{"label": frequency, ...}``
(any non-negative numbers, normalised; every label of the model named once; a frequency
of 0 means the class is never expected). A cost matrix is a CSV file: a header row with
a corner cell and the predicted labels, then one row per gold label: the label, then the
cost of each prediction; every label of the model once in each direction, costs finite
and not negative.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import DataFormatError, UserError
from ..files import read_json_object
from ..loss_settings import loss_defaults
from ..weights import class_weights, numbers_by_label
from . import PRIOR_OBJECTIVES
from .objectives import Objective, importance_weights, log_prior_from_counts, make_objective

PRIOR_NAMES = ("dev", "train", "uniform")
NEVER = 1e-9  # the frequency a 0 becomes, relative to the whole: such a class is (almost) never chosen


def target_log_prior(spec: str, labels: Sequence[str], *, train_counts, dev_labels) -> np.ndarray:
    """``spec`` (a name of ``PRIOR_NAMES`` or a JSON file) as log frequencies in label order."""
    k = len(labels)
    if spec == "dev":
        return log_prior_from_counts(np.bincount(np.asarray(dev_labels, dtype=int), minlength=k))
    if spec == "train":
        return log_prior_from_counts(train_counts)
    if spec == "uniform":
        return np.full(k, -math.log(k))
    return _prior_file(Path(spec), labels)


def trained_log_prior(loss: str, options: dict, sampling: str, counts, labels: Sequence[str]) -> np.ndarray | None:
    """The class prior a model's plain argmax answers for, in theory, as log frequencies in
    label order; None where there is no closed form (focal, dice, LDAM, the multi-label losses).

    Cross-entropy's minimiser is the posterior under the class frequencies training sees:
    the sampler's (``random``: the counts; ``class_balanced``: uniform; ``sqrt``: their
    square roots) times ``weighted_ce``'s class weights (a weight w_c counts class c w_c
    times). ``logit_adjusted`` trains ``f + tau log(train prior)`` (``balanced_softmax``: tau
    1), so ``f`` answers for those frequencies divided by the train prior ** tau (Menon et
    al., ICLR 2021)."""
    if loss not in ("ce", "weighted_ce", "logit_adjusted", "balanced_softmax"):
        return None
    options = {**loss_defaults(loss), **{k: v for k, v in options.items() if v is not None}}
    adjust = {"ce": 0.0, "weighted_ce": 0.0, "logit_adjusted": float(options.get("la_tau", 0.0)),
              "balanced_softmax": 1.0}
    log_train = log_prior_from_counts(counts)
    seen = {"random": log_train, "class_balanced": np.zeros(len(log_train)), "sqrt": 0.5 * log_train}[sampling]
    if loss == "weighted_ce":
        weights = class_weights(counts, options["class_weights"], normalize="none", labels=labels,
                                beta=float(options["class_weight_beta"]))
        seen = seen + np.log(np.maximum(np.asarray(weights, dtype=float), NEVER))
    out = seen - adjust[loss] * log_train
    return out - np.logaddexp.reduce(out)


def _prior_file(path: Path, labels: Sequence[str]) -> np.ndarray:
    what = 'a JSON object of label -> frequency, e.g. {"billing": 0.7, "refund": 0.3}'
    if not path.is_file():
        raise UserError(f"{path}: no such file; --target-prior takes dev, train, uniform or {what}")
    values = np.asarray(numbers_by_label(path, read_json_object(path, what), labels, "frequency", whose="the model"),
                        dtype=float)
    if values.max() <= 0:
        raise DataFormatError(path, None, "frequencies sum to 0; expected at least one above 0")
    values = values / values.max()  # first, so that a sum of huge numbers cannot overflow to inf
    frequencies = np.maximum(values / values.sum(), NEVER)
    return np.log(frequencies / frequencies.sum())


def read_costs(path, labels: Sequence[str]) -> np.ndarray:
    """The cost matrix in label order (rows gold, columns predicted)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file; --costs takes a CSV cost matrix (rows gold, columns predicted)")
    try:
        reader = csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")))
        numbered = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except (UnicodeDecodeError, csv.Error) as err:
        raise DataFormatError(path, None, f"is not a readable CSV file ({err})") from None
    if not numbered:
        raise DataFormatError(path, None, "is empty; expected a header row of predicted labels, then one row per "
                              "gold label")
    position = {name: i for i, name in enumerate(labels)}
    header = [cell.strip() for cell in numbered[0][1][1:]]
    _same_labels(path, numbered[0][0], header, labels, "the header (predicted labels)")
    matrix = np.full((len(labels), len(labels)), np.nan)
    gold_seen = []
    for line, row in numbered[1:]:
        if len(row) != len(header) + 1:
            raise DataFormatError(path, line, f"has {len(row)} cells; expected {len(header) + 1} (the gold label, "
                                  "then one cost per predicted label)")
        gold = row[0].strip()
        gold_seen.append(gold)
        if gold not in position:
            raise DataFormatError(path, line, f"gold label {gold!r} is not one of the model's labels")
        for name, cell in zip(header, row[1:]):
            try:
                value = float(cell)
            except ValueError:
                value = math.nan
            if not math.isfinite(value) or value < 0:
                raise DataFormatError(path, line, f"cost for predicting {name!r} is {cell.strip()!r}; "
                                      "expected a number >= 0")
            matrix[position[gold], position[name]] = value
    _same_labels(path, None, gold_seen, labels, "the first column (gold labels)")
    if matrix.max() <= 0:
        raise DataFormatError(path, None, "has only zero costs; expected some decision to cost something")
    return matrix


def _same_labels(path: Path, line, given: list[str], labels: Sequence[str], where: str) -> None:
    seen = set()
    for name in given:
        if name in seen:
            raise DataFormatError(path, line, f"{where} names {name!r} twice")
        seen.add(name)
        if name not in labels:
            raise DataFormatError(path, line, f"{where} has {name!r}, not one of the model's labels")
    missing = [name for name in labels if name not in seen]
    if missing:
        raise DataFormatError(path, line, f"{where} lacks {len(missing)} of the model's labels (first: "
                              f"{missing[0]!r}); expected each label once")


def build_objective(name: str, labels: Sequence[str], *, train_counts, dev_labels, target_prior: str = "dev",
                    costs: str | None = None, target_class: str | None = None,
                    min_precision: float | None = None) -> Objective:
    """The :class:`~.objectives.Objective` ``calibrate`` fits, its files read and checked."""
    k, y = len(labels), np.asarray(dev_labels, dtype=int)
    if name == "recall_at_precision":
        if target_class is None or min_precision is None:
            raise UserError("--objective recall_at_precision needs --class (the label) and --min-precision")
        if target_class not in labels:
            raise UserError(f"--class {target_class!r} is not one of the model's labels")
        return make_objective(name, k, target_class=list(labels).index(target_class), min_precision=min_precision,
                              class_name=target_class)
    if name == "cost" and costs is None:
        raise UserError("--objective cost needs --costs FILE.csv (rows gold, columns predicted)")
    if name not in PRIOR_OBJECTIVES:
        return make_objective(name, k)
    log_target = target_log_prior(target_prior, labels, train_counts=train_counts, dev_labels=y)
    extra = {"costs": read_costs(costs, labels)} if name == "cost" else {}
    return make_objective(name, k, class_weights=importance_weights(log_target, y, k), target_log_prior=log_target,
                          **extra)
