"""The audit's formulas (see :mod:`weighted_bert.label_audit`): folds, balanced probabilities,
cleanlab's score and flag, the reviewer's order, and the text key of near-duplicates."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np

from ..calibration.temperature import log_softmax


def assign_folds(labels: Sequence[int], folds: int, seed: int) -> np.ndarray:
    """The fold (0..K-1) of each row: each class's rows, in a seeded shuffle, are dealt to the
    folds in turn, the deal going on from where the previous class stopped, so that every class
    is spread over the folds as evenly as it can be and the folds' sizes differ by at most one."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    fold = np.empty(len(labels), dtype=np.int64)
    dealt = 0
    for c in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == c))
        fold[rows] = (dealt + np.arange(len(rows))) % folds
        dealt += len(rows)
    return fold


def balanced_probabilities(probabilities: np.ndarray, log_prior: np.ndarray) -> np.ndarray:
    """``p_c / pi_c`` renormalised per row: the posterior under a uniform prior, for a model whose
    probabilities answer for the prior ``exp(log_prior)`` (Saerens et al., 2002, to uniform)."""
    log_p = np.log(np.maximum(np.asarray(probabilities, dtype=np.float64), 1e-300)) - np.asarray(log_prior)[None, :]
    return np.exp(log_softmax(log_p))


def require_cleanlab() -> None:
    """Stop before any training when cleanlab, which scores and flags the rows, is missing."""
    try:
        import cleanlab  # noqa: F401
    except ImportError:
        from ..errors import UserError

        raise UserError('the audit needs cleanlab: pip install "weighted-bert[audit]"') from None


def label_quality(labels: Sequence[int], probabilities: np.ndarray) -> np.ndarray:
    """cleanlab's label quality score (self-confidence): the probability of each row's label."""
    from cleanlab.rank import get_label_quality_scores

    return np.asarray(get_label_quality_scores(np.asarray(labels), np.asarray(probabilities),
                                               method="self_confidence"), dtype=np.float64)


def find_issues(labels: Sequence[int], probabilities: np.ndarray, rule: str = "confident",
                min_probability: float = 0.5) -> np.ndarray:
    """The rows flagged as probably mislabelled, as a mask. ``confident``: the model that did not
    see the row puts at least ``min_probability`` on one other class, but of a class whose every
    row is so, the one most probably its own is kept; ``cleanlab``: cleanlab's
    ``find_label_issues`` (the confident joint, pruned by the noise rate)."""
    labels, probabilities = np.asarray(labels), np.asarray(probabilities)
    if rule == "confident":
        best = probabilities.argmax(axis=1)
        flagged = (best != labels) & (probabilities.max(axis=1) >= min_probability)
        for c in np.unique(labels):  # never every row of a class (cleanlab's min_examples_per_class=1 too):
            rows = np.flatnonzero(labels == c)  # training without the class would not know it at all
            if flagged[rows].all():
                flagged[rows[np.argmax(probabilities[rows, c])]] = False
        return flagged
    from cleanlab.filter import find_label_issues

    return np.asarray(find_label_issues(labels, probabilities), dtype=bool)


SHOT_ORDER = {"few": 0, "medium": 1, "many": 2}


def review_order(issue: Sequence[bool], shots: Sequence[str], score: Sequence[float]) -> np.ndarray:
    """Row indices in the order a reviewer reads them: the flagged rows first, few-shot classes'
    before medium- and many-shot ones, each group by score (most likely wrong first); then every
    other scored row by score; the unscored rows (score NaN) last."""
    score = np.asarray(score, dtype=np.float64)
    unscored = np.isnan(score)
    keys = [(bool(unscored[i]), not issue[i], SHOT_ORDER[shots[i]] if issue[i] else 0,
             0.0 if unscored[i] else float(score[i]), i) for i in range(len(score))]
    return np.array([k[-1] for k in sorted(keys)], dtype=np.int64)


def normalised(text: str) -> str:
    """A text as near-duplicates share it: Unicode-compatible forms (NFKC), case folded, every
    run of characters that are not letters or digits one space."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\W_]+", " ", folded).strip()


def text_key(example) -> str:
    """What near-duplicate rows share: the :func:`normalised` text (and second text of a pair)."""
    return normalised(example.text) + ("\t" + normalised(example.text_pair) if example.text_pair else "")
