"""``calibration.json``: what ``calibrate`` fitted, and how it turns raw logits into decisions.

From the model's raw logits ``z`` (one row per text):

1. calibrated logits ``z / T + a``: the temperature ``T`` and the additive adjustment
   ``a = log(target prior) - tau * log(training prior) + b`` (each part optional). Both fold
   exactly into the classifier's last linear layer (``W / T``, ``b / T + a``), so every
   runtime computes them;
2. the class: the argmax of the calibrated logits or, with a cost matrix ``C`` (rows gold,
   columns predicted), the Bayes decision ``argmin_j sum_i p_i C[i, j]`` over the calibrated
   probabilities ``p``;
3. abstaining: with a threshold, a text whose chosen class has a calibrated probability
   below it is answered ``abstain_label`` (its probabilities are still reported).

Steps 2 and 3 cannot live in the weights; weighted-bert's own commands (predict,
evaluate, serve, the Python API) apply them from this file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataFormatError
from ..files import read_json_object, write_json

ABSTAINED = -1  # the class index of an abstention
LARGEST = 1e6  # no fitted value comes near this; beyond it a file is damaged


@dataclass
class Calibration:
    log_prior: list[float]  # log training prior, one per label
    tau: float = 0.0
    biases: list[float] | None = None
    temperature: float = 1.0
    target_log_prior: list[float] | None = None  # log of the deployment prior, added to the logits
    costs: list[list[float]] | None = None  # rows gold, columns predicted, label order
    abstain_threshold: float | None = None
    abstain_label: str = "ABSTAIN"
    objective: str = "macro_f1"
    objective_settings: dict = field(default_factory=dict)  # target prior name, costs file, class, precision
    # What the fit measured on dev (held-out numbers are 2-fold cross-fitted):
    dev_before: float | None = None  # the objective with the raw decisions
    dev_after: float | None = None  # with the adjustment fitted on all of dev
    held_out_gain: float | None = None
    held_out_gain_p05: float | None = None
    accepted: bool = False  # the fitted decision adjustment is kept (it beat noise, or keep "always")
    beats_noise: bool | None = None  # the noise guard's verdict on it
    keep: str = "auto"  # auto: kept when it beats noise; always: kept as fitted
    fitted_tau: float | None = None  # what the fit on all of dev found, kept or not
    fitted_biases: list[float] | None = None
    fitted_text: str | None = None  # the fitted adjustment, in words
    stated_report: dict | None = None  # a stated objective (cost): what its rule changes on dev
    temperature_report: dict | None = None  # nll and ece before/after, held out
    abstain_report: dict | None = None  # coverage and accuracy on the answered part, held out
    rule: str = ""
    folded_into: str | None = None  # the linear layer whose weights hold T and a
    not_folded_because: str | None = None

    def adjustment(self) -> np.ndarray:
        """``a``, added to every row of ``z / T``."""
        out = -self.tau * np.asarray(self.log_prior, dtype=np.float64)
        if self.target_log_prior is not None:
            out = out + np.asarray(self.target_log_prior, dtype=np.float64)
        return out + np.asarray(self.biases, dtype=np.float64) if self.biases is not None else out

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Raw logits -> calibrated logits."""
        return np.asarray(raw, dtype=np.float64) / self.temperature + self.adjustment()[None, :]

    def remove(self, calibrated: np.ndarray) -> np.ndarray:
        """Calibrated logits -> raw logits (exact inverse of :meth:`apply`)."""
        return (np.asarray(calibrated, dtype=np.float64) - self.adjustment()[None, :]) * self.temperature

    @property
    def changes_logits(self) -> bool:
        return self.temperature != 1.0 or bool(np.any(self.adjustment() != 0))

    @property
    def decision_rule(self) -> str | None:
        """What is applied after the logits and cannot be folded, in words; None for plain argmax."""
        parts = (["the Bayes decision for the cost matrix"] if self.costs is not None else []) \
            + ([f"abstaining below probability {self.abstain_threshold:.4g}"] if self.abstain_threshold is not None
               else [])
        return " and ".join(parts) or None

    def decide(self, probabilities: np.ndarray) -> np.ndarray:
        """Calibrated probabilities -> class index per row (``ABSTAINED`` where it abstains)."""
        return decide(probabilities, costs=self.costs, abstain_threshold=self.abstain_threshold)

    def as_fitted(self, objective) -> Calibration:
        """This record with the fitted decision applied whether or not the noise guard kept it
        (for measuring what the guard refused)."""
        import dataclasses

        return dataclasses.replace(
            self, tau=self.fitted_tau or 0.0, biases=self.fitted_biases, accepted=True,
            target_log_prior=None if objective.target_log_prior is None else list(objective.target_log_prior),
            costs=None if getattr(objective, "costs", None) is None else np.asarray(objective.costs).tolist())

    def summary(self) -> list[str]:
        """What ``calibrate`` prints: the temperature, the rule as stated (a cost matrix), the
        fitted adjustment and whether it was kept, abstaining."""
        lines = []
        report = self.temperature_report
        if report and "not_fitted" in report:
            lines.append(f"temperature: not fitted: {report['not_fitted']}")
        elif report:
            kept = f"kept, T = {self.temperature:.4g}" if self.temperature != 1 else "not kept"
            lines.append(f"temperature: dev NLL {report['nll_before']:.4f} -> {report['nll_after']:.4f}, ECE "
                         f"{report['ece_before']:.4f} -> {report['ece_after']:.4f} (held out); {kept}")
        stated = self.stated_report
        if stated:
            loss = stated["change_p95"] > 0  # the interval of the change includes a higher cost
            lines.append(f"{self.objective}: the cost matrix is applied as stated (the Bayes decision, least expected "
                         f"cost): dev expected cost {stated['cost_argmax']:.4f} with the argmax -> "
                         f"{stated['cost_rule']:.4f} (change {stated['cost_rule'] - stated['cost_argmax']:+.4f}, "
                         f"bootstrap 5th-95th percentile {stated['change_p05']:+.4f} to {stated['change_p95']:+.4f}); "
                         f"{stated['answers_moved']} of {stated['rows']} answers moved"
                         + ("; warning: the interval includes a higher cost than the argmax" if loss else ""))
        beyond = " beyond the rule as stated" if stated else ""
        floor = self.objective_settings.get("min_precision")

        def value(score: float) -> str:  # recall_at_precision scores precision - 1 below its floor
            if self.objective == "recall_at_precision" and score < 0 and floor is not None:
                return f"precision floor not met (precision {score + 1:.2f} < {floor:g})"
            return f"{score:.4f}"

        verdict = ("kept" if self.beats_noise else "kept although within noise (--keep always)") if self.accepted \
            else "not kept: within noise"
        lines.append(f"{self.objective}: fitted {self.fitted_text or f'tau {self.fitted_tau}'}{beyond}: dev "
                     f"{value(self.dev_before)} -> {value(self.dev_after)}; held-out gain {self.held_out_gain:+.4f} "
                     f"(bootstrap 5th percentile {self.held_out_gain_p05:+.4f}); {verdict}")
        abstain = self.abstain_report
        if abstain and "not_fitted" in abstain:
            lines.append(f"abstaining: not fitted: {abstain['not_fitted']}")
        elif abstain:
            answered = "-" if abstain["answered_accuracy"] is None else f"{abstain['answered_accuracy']:.4f}"
            lines.append(f"abstaining below probability {self.abstain_threshold:.4g}: held-out coverage "
                         f"{abstain['coverage']:.3f}, accuracy on the answered {answered} (all: "
                         f"{abstain['full_coverage_accuracy']:.4f})")
        return lines

    @property
    def keeps_anything(self) -> bool:
        """Whether the record changes any answer or probability (then it is saved)."""
        return self.accepted or self.changes_logits or self.abstain_threshold is not None or self.costs is not None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    @classmethod
    def read(cls, path, num_labels: int) -> Calibration:
        """The file ``calibrate`` wrote, checked: finite numbers of sensible size, one value
        per label where there is one per label; anything else is one error naming the file."""
        path = Path(path)

        def bad(problem):
            return DataFormatError(path, None, f"{problem}; expected the file `weighted-bert calibrate` writes "
                                   "(run it again, or delete the file)")

        data = read_json_object(path, "the file `weighted-bert calibrate` writes")
        if "log_prior" not in data:
            raise bad("has no 'log_prior'")
        for key in ("tau", "temperature", "abstain_threshold"):
            if data.get(key) is not None:
                _finite(data[key], key, bad)
        if data.get("temperature") is not None and not data["temperature"] > 0:
            raise bad(f"temperature is {data['temperature']!r}; expected a number above 0")
        for key in ("log_prior", "biases", "target_log_prior"):
            _per_label(data.get(key), key, num_labels, bad, optional=key != "log_prior")
        costs = data.get("costs")
        if costs is not None:
            if not isinstance(costs, list) or len(costs) != num_labels:
                raise bad(f"costs has {len(costs) if isinstance(costs, list) else type(costs).__name__} rows; "
                          f"expected {num_labels}, one per label")
            for row in costs:
                _per_label(row, "costs", num_labels, bad)
        if not isinstance(data.get("abstain_label", "ABSTAIN"), str):
            raise bad(f"abstain_label is {data['abstain_label']!r}; expected text")
        return cls.from_dict(data)

    def write(self, path) -> None:
        write_json(path, self.to_dict())


def decide(probabilities: np.ndarray, *, costs=None, abstain_threshold: float | None = None) -> np.ndarray:
    """The argmax of ``probabilities``, or with ``costs`` (rows gold, columns predicted) the class of
    least expected cost; ``ABSTAINED`` where the chosen class's probability is below ``abstain_threshold``."""
    p = np.asarray(probabilities, dtype=np.float64)
    chosen = (p @ np.asarray(costs, dtype=np.float64)).argmin(axis=1) if costs is not None else p.argmax(axis=1)
    if abstain_threshold is not None:
        chosen = np.where(p[np.arange(len(p)), chosen] < abstain_threshold, ABSTAINED, chosen)
    return chosen


def _per_label(values, name: str, num_labels: int, bad, *, optional: bool = False) -> None:
    if values is None and optional:
        return
    if not isinstance(values, list) or len(values) != num_labels:
        count = len(values) if isinstance(values, list) else type(values).__name__
        raise bad(f"{name} has {count} values; expected {num_labels}, one per label")
    for value in values:
        _finite(value, name, bad, holds=True)


def _finite(value, name: str, bad, *, holds: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= LARGEST
    if not ok:  # NaN fails the comparison too
        raise bad(f"{name} holds {value!r}; expected a finite number" if holds
                  else f"{name} is {value!r}; expected a finite number")
