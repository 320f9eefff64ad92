"""The multi-label decision's record: a threshold per label on its sigmoid probability
(``model/thresholds.json``), and how it turns probabilities into label sets.

It is fitted on dev by :mod:`.threshold_fit`; reading and applying it needs none of the fit.

Prediction options: ``top_k`` keeps at most k labels a row (the most probable of those
above their thresholds); ``at_least_one`` gives a row with none its most probable label.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataFormatError
from ..files import read_json_object, write_json

DEFAULT = 0.5


@dataclass
class Thresholds:
    """``model/thresholds.json``: the decision ``predict``, ``evaluate`` and ``serve`` apply."""

    labels: list[str]
    values: list[float]  # in force: the fitted ones when accepted, else 0.5
    mode: str = "none"
    fitted: list[float] | None = None  # what the search found on the whole dev file
    accepted: bool = False
    dev_before: float | None = None  # the objective on dev at 0.5
    dev_after: float | None = None  # ... at the fitted thresholds (in-sample)
    held_out_gain: float | None = None
    bootstrap_low: float | None = None
    dev_rows: int = 0
    shrink: float | None = None  # per_label: the dev positives at which a label's own cut weighs half
    rule: str | None = None  # the noise guard's rule, in words, when thresholds were fitted

    @classmethod
    def half(cls, labels) -> "Thresholds":
        """0.5 for every label: the decision of a model without fitted thresholds."""
        return cls(list(labels), [DEFAULT] * len(labels))

    def decide(self, scores: np.ndarray, *, top_k: int | None = None, at_least_one: bool = False) -> np.ndarray:
        """0/1 decisions for sigmoid ``scores`` (rows x labels)."""
        scores = np.asarray(scores)
        pred = scores >= np.asarray(self.values)[None, :]
        if top_k is not None:
            ranked = np.argsort(-np.where(pred, scores, -np.inf), axis=1, kind="stable")[:, :top_k]
            kept = np.zeros_like(pred)
            np.put_along_axis(kept, ranked, True, axis=1)
            pred &= kept
        if at_least_one and len(scores):
            empty = ~pred.any(axis=1)
            pred[empty, scores[empty].argmax(axis=1)] = True
        return pred

    def write(self, path) -> None:
        write_json(path, dataclasses.asdict(self))

    @classmethod
    def read(cls, path, labels) -> "Thresholds":
        path = Path(path)
        data = read_json_object(path, "the thresholds `weighted-bert train` writes")
        values = data.get("values")
        if (data.get("labels") != list(labels) or not isinstance(values, list) or len(values) != len(labels)
                or not all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in values)):
            raise DataFormatError(path, None, f"does not hold one threshold in [0, 1] for each of the model's "
                                  f"{len(labels)} labels, in its label order; expected the file train writes "
                                  "(train again, or delete it to decide at 0.5)")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
