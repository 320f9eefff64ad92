"""Post-hoc logit adjustment fitted on a dev set (Menon et al., ICLR 2021, section 4).

A model trained on long-tailed data leans towards the head classes; at prediction time
``logits - tau * log(prior) + b`` (prior_c = n_c / N from training, b optional per-class
biases) removes that lean. ``calibrate`` picks tau on a grid (0 to 3 by 0.05), and
optionally the biases by coordinate ascent (each class over -2 to 2 by 0.25, two
passes), to maximise dev macro-F1.

Guard against fitting noise. The gain is measured by 2-fold cross-fitting: the
parameters are fitted on one half of dev and scored on the other, both ways, so no
example is scored by parameters fitted on it. The adjustment is kept only when this
held-out gain is at least 0.5 macro-F1 points AND the 5th percentile of the gain over
200 paired bootstrap resamples of the held-out predictions is above 0. Otherwise nothing
changes. The parameters kept are then fitted on the whole dev set.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .data.examples import DataFormatError
from .io import read_json_object
from .reports import write_json

TAU_GRID = np.round(np.arange(0.0, 3.0 + 1e-9, 0.05), 2)
BIAS_GRID = np.arange(-2.0, 2.0 + 1e-9, 0.25)
MIN_GAIN = 0.005
BOOTSTRAP = 200


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> float:
    """Macro-F1 over the classes present in gold or predictions (as metrics.py), fast."""
    tp = np.bincount(y_true[y_true == y_pred], minlength=k).astype(float)
    gold = np.bincount(y_true, minlength=k).astype(float)
    predicted = np.bincount(y_pred, minlength=k).astype(float)
    present = (gold + predicted) > 0
    f1 = np.divide(2 * tp, gold + predicted, out=np.zeros(k), where=present)
    return float(f1[present].mean()) if present.any() else 0.0


def adjust(logits: np.ndarray, log_prior: np.ndarray, tau: float, biases=None) -> np.ndarray:
    out = logits - tau * np.asarray(log_prior)[None, :]
    return out + np.asarray(biases)[None, :] if biases is not None else out


def fit_tau(logits, y, log_prior, grid=TAU_GRID) -> float:
    k = logits.shape[1]
    scores = [macro_f1(y, adjust(logits, log_prior, t).argmax(1), k) for t in grid]
    return float(grid[int(np.argmax(scores))])  # ties: the smallest tau, the least change


def fit_biases(logits, y, passes: int = 2, grid=BIAS_GRID) -> np.ndarray:
    k = logits.shape[1]
    biases = np.zeros(k)
    best = macro_f1(y, logits.argmax(1), k)
    for _ in range(passes):
        for c in range(k):
            keep = biases[c]
            for b in grid:
                biases[c] = b
                score = macro_f1(y, (logits + biases).argmax(1), k)
                if score > best + 1e-12:
                    best, keep = score, b
            biases[c] = keep
    return biases


def _fit(logits, y, log_prior, per_class_bias: bool):
    tau = fit_tau(logits, y, log_prior)
    biases = fit_biases(adjust(logits, log_prior, tau), y) if per_class_bias else None
    return tau, biases


@dataclass
class Calibration:
    tau: float
    biases: list[float] | None
    log_prior: list[float]
    dev_macro_f1_before: float
    dev_macro_f1_after: float
    held_out_gain: float
    held_out_gain_p05: float
    accepted: bool
    rule: str = (f"kept when the 2-fold cross-fitted dev macro-F1 gain is >= {MIN_GAIN} and the 5th "
                 f"percentile of {BOOTSTRAP} paired bootstrap gains is > 0")
    folded_into: str | None = None  # the bias in model.safetensors that holds it (then applied by every runtime)
    not_folded_because: str | None = None

    def adjustment(self) -> np.ndarray:
        """What is added to every row of logits: ``-tau * log(prior) + b``."""
        out = -self.tau * np.asarray(self.log_prior, dtype=np.float64)
        return out + np.asarray(self.biases, dtype=np.float64) if self.biases is not None else out

    def apply(self, logits: np.ndarray) -> np.ndarray:
        return adjust(logits, np.asarray(self.log_prior), self.tau, self.biases)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Calibration":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    @classmethod
    def read(cls, path, num_labels: int) -> "Calibration":
        """The file ``calibrate`` wrote, checked: finite numbers of sensible size, one prior
        (and bias) per label; anything else is one error naming the file."""
        path = Path(path)

        def bad(problem):
            return DataFormatError(path, None, f"{problem}; expected the file `weighted-bert calibrate` writes "
                                   "(run it again, or delete the file)")

        data = read_json_object(path, "the file `weighted-bert calibrate` writes")
        for key in ("tau", "log_prior"):
            if key not in data:
                raise bad(f"has no {key!r}")
        _finite(data["tau"], "tau", bad)
        for key in ("log_prior", "biases"):
            values = data.get(key)
            if key == "biases" and values is None:
                continue
            if not isinstance(values, list) or len(values) != num_labels:
                count = len(values) if isinstance(values, list) else type(values).__name__
                raise bad(f"{key} has {count} values; expected {num_labels}, one per label")
            for value in values:
                _finite(value, key, bad, holds=True)
        return cls.from_dict(data)

    def write(self, path) -> None:
        write_json(path, self.to_dict())


LARGEST = 1e6  # no fitted tau, bias or log prior comes near this; beyond it a file is damaged


def _finite(value, name: str, bad, *, holds: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= LARGEST
    if not ok:  # NaN fails the comparison too
        raise bad(f"{name} holds {value!r}; expected a finite number" if holds
                  else f"{name} is {value!r}; expected a finite number")


def log_prior_from_counts(counts) -> np.ndarray:
    counts = np.maximum(np.asarray(counts, dtype=float), 1.0)  # a class never seen counts as one
    return np.log(counts / counts.sum())


def calibrate(logits: np.ndarray, y: np.ndarray, class_counts, *, per_class_bias: bool = False,
              seed: int = 0) -> Calibration:
    """Fit the adjustment on dev ``logits``/``y`` and decide, by the rule above, whether to keep it."""
    logits, y = np.asarray(logits, dtype=np.float64), np.asarray(y)
    k = logits.shape[1]
    log_prior = log_prior_from_counts(class_counts)
    raw = logits.argmax(1)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    halves = [order[: len(y) // 2], order[len(y) // 2:]]
    held_out = raw.copy()
    for fit_part, score_part in (halves, halves[::-1]):
        tau, biases = _fit(logits[fit_part], y[fit_part], log_prior, per_class_bias)
        held_out[score_part] = adjust(logits[score_part], log_prior, tau, biases).argmax(1)
    gain = macro_f1(y, held_out, k) - macro_f1(y, raw, k)
    boots = []
    for _ in range(BOOTSTRAP):
        idx = rng.integers(0, len(y), len(y))
        boots.append(macro_f1(y[idx], held_out[idx], k) - macro_f1(y[idx], raw[idx], k))
    p05 = float(np.percentile(boots, 5))
    tau, biases = _fit(logits, y, log_prior, per_class_bias)
    after = macro_f1(y, adjust(logits, log_prior, tau, biases).argmax(1), k)
    return Calibration(tau=tau, biases=None if biases is None else [float(b) for b in biases],
                       log_prior=[float(v) for v in log_prior], dev_macro_f1_before=macro_f1(y, raw, k),
                       dev_macro_f1_after=after, held_out_gain=float(gain), held_out_gain_p05=p05,
                       accepted=bool(gain >= MIN_GAIN and p05 > 0))
