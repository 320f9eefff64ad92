"""The audit's formulas, checked by hand and against cleanlab's definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from weighted_bert.errors import SettingError
from weighted_bert.label_audit import FOLDS_LARGE, FOLDS_SMALL, LARGE, AuditSettings, default_folds
from weighted_bert.label_audit.rules import (
    assign_folds,
    balanced_probabilities,
    find_issues,
    label_quality,
    normalised,
    review_order,
)


def test_folds_by_data_size():
    assert default_folds(10) == FOLDS_SMALL == 5
    assert default_folds(LARGE) == 5
    assert default_folds(LARGE + 1) == FOLDS_LARGE == 3
    with pytest.raises(SettingError, match="folds"):
        AuditSettings(folds=1)
    with pytest.raises(SettingError, match="audit_probabilities"):
        AuditSettings(audit_probabilities="raw")


def test_each_class_is_dealt_over_the_folds_and_the_folds_stay_even():
    labels = [0] * 7 + [1] * 3 + [2] * 1 + [3] * 4
    fold = assign_folds(labels, 3, seed=0)
    assert sorted(np.bincount(fold, minlength=3).tolist()) == [5, 5, 5]  # 15 rows, 3 folds
    for c, n in ((0, 7), (1, 3), (2, 1), (3, 4)):
        per_fold = np.bincount(fold[np.asarray(labels) == c], minlength=3)
        assert per_fold.sum() == n and per_fold.max() - per_fold.min() <= 1  # 7 -> 3,2,2; 3 -> 1,1,1
    # the deal goes on where the previous class stopped: class 0's 7 rows end at fold 0 (7 % 3 = 1 row
    # there in excess), so class 1 starts at fold 1
    assert np.bincount(fold[:7], minlength=3).tolist() == [3, 2, 2]
    assert np.array_equal(fold, assign_folds(labels, 3, seed=0))
    assert not np.array_equal(assign_folds(list(range(4)) * 5, 5, seed=0), assign_folds(list(range(4)) * 5, 5, 1))


def test_balanced_probabilities_divide_by_the_prior_and_renormalise():
    # p = (0.5, 0.5) from a model trained at prior (0.8, 0.2): (0.5/0.8, 0.5/0.2) = (0.625, 2.5) -> (0.2, 0.8)
    out = balanced_probabilities(np.array([[0.5, 0.5], [0.9, 0.1]]), np.log([0.8, 0.2]))
    assert out[0] == pytest.approx([0.2, 0.8])
    # (0.9/0.8, 0.1/0.2) = (1.125, 0.5) -> (0.6923, 0.3077)
    assert out[1] == pytest.approx([1.125 / 1.625, 0.5 / 1.625])
    uniform = np.log([1 / 3] * 3)
    p = np.array([[0.2, 0.3, 0.5]])
    assert balanced_probabilities(p, uniform) == pytest.approx(p)  # a uniform prior changes nothing


def test_score_is_the_probability_of_the_given_label_and_the_flag_is_cleanlabs():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.8, 0.15, 0.05], [0.1, 0.1, 0.8], [0.2, 0.2, 0.6]])
    y = np.array([0, 1, 1, 2, 2])
    assert label_quality(y, p) == pytest.approx([0.7, 0.8, 0.15, 0.8, 0.6])
    from cleanlab.filter import find_label_issues

    assert find_issues(y, p, "cleanlab").tolist() == find_label_issues(y, p).tolist()
    # confident learning's thresholds, the mean probability of each class on its own rows: t0 = 0.7,
    # t1 = (0.8 + 0.15) / 2 = 0.475, t2 = 0.7; row 2 (labelled 1) has p0 = 0.8 >= t0: confidently 0, and
    # no other row is confidently another class than its own
    assert find_issues(y, p, "cleanlab").tolist() == [False, False, True, False, False]
    # confident: another class at or above the probability (row 2: class 0 at 0.8; row 4 is its own class)
    assert find_issues(y, p, "confident", 0.5).tolist() == [False, False, True, False, False]
    assert find_issues(y, p, "confident", 0.85).tolist() == [False] * 5
    p2 = np.array([[0.45, 0.40, 0.15]])  # the most probable other class under one half: not flagged at 0.5
    rows = np.vstack([p2, [0.1, 0.8, 0.1], p2])
    assert find_issues([1, 1, 0], rows, "confident", 0.5).tolist() == [False, False, False]
    assert find_issues([1, 1, 0], rows, "confident", 0.4).tolist() == [True, False, False]
    # both rows of class 1 are confidently class 0: the one most probably class 1 (the second) stays
    both = np.array([[0.9, 0.1], [0.6, 0.4], [0.8, 0.2]])
    assert find_issues([1, 1, 0], both, "confident", 0.5).tolist() == [True, False, False]


def test_review_order_puts_flagged_few_shot_rows_first_and_unscored_last():
    issue = [False, True, True, False, True, False]
    shots = ["many", "many", "few", "few", "medium", "few"]
    score = [0.05, 0.01, 0.30, 0.90, 0.20, math.nan]
    # flagged: few (2), medium (4), many (1); then the rest by score: 0 (0.05), 3 (0.90); unscored: 5
    assert review_order(issue, shots, score).tolist() == [2, 4, 1, 0, 3, 5]


def test_near_duplicates_share_a_normalised_text():
    assert normalised("Hello,  World!") == normalised("hello world") == "hello world"
    assert normalised("ＡＢＣ-def") == "abc def"  # full-width forms (NFKC), punctuation
    assert normalised("naïve café") != normalised("naive cafe")  # accents are letters, kept
