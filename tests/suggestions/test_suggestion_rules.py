"""The rules of ``suggest``, worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from weighted_bert.suggestions.rules import Picker, margins, pick, rare_first_quotas


def test_margin_is_the_gap_between_the_two_most_probable_classes():
    assert margins(np.array([[0.5, 0.3, 0.2], [0.34, 0.33, 0.33]])) == pytest.approx([0.2, 0.01])


def test_quotas_go_to_the_rarest_class_counting_the_picks_so_far():
    # training rows 1, 5, 10; three texts of each class in the pool; 6 picks:
    # class 0 gets 3 (counts 2, 3, 4) and runs out, class 1 (5 < 10) gets the next 3
    assert rare_first_quotas([3, 3, 3], [1, 5, 10], 6).tolist() == [3, 3, 0]
    # ties go to the lower class index; a class with no text left gets nothing
    assert rare_first_quotas([2, 2, 0], [4, 4, 1], 3).tolist() == [2, 1, 0]
    assert rare_first_quotas([1, 1], [0, 0], 5).tolist() == [1, 1]  # fewer texts than the budget


def test_the_picker_refuses_near_duplicates():
    e = np.array([[1.0, 0.0], [0.99, 0.05], [0.0, 1.0], [1.0, 0.0]])
    picker = Picker(["a", "b", "c", "c"], e, threshold=0.95)
    assert picker.take(0) and not picker.take(1)  # cosine 0.9987 with text 0
    assert picker.take(2) and not picker.take(3)  # the same text key as text 2
    assert picker.skipped == 2


def test_strategies_pick_as_documented():
    p = np.array([[0.90, 0.05, 0.05],   # 0: class 0, sure
                  [0.50, 0.45, 0.05],   # 1: class 0, unsure (margin 0.05)
                  [0.10, 0.80, 0.10],   # 2: class 1, sure
                  [0.30, 0.36, 0.34],   # 3: class 1, unsure (margin 0.02)
                  [0.10, 0.10, 0.80],   # 4: class 2
                  [0.20, 0.10, 0.70]])  # 5: class 2
    keys = list("abcdef")
    common = dict(probabilities=p, keys=keys, embeddings=None, threshold=0.95, seed=0)
    # uncertainty: the smallest margins of the pool: 3 (0.02), 1 (0.05)
    assert [i for i, _ in pick("uncertainty", budget=2, train_counts=[9, 9, 9], **common)] == [3, 1]
    # balanced-uncertainty: class 2 has the fewest training rows (1), then class 1 (2); within a class the
    # least sure first: class 2's texts by margin are 5 (0.5), 4 (0.7); class 1's 3 then 2
    picks = pick("balanced-uncertainty", budget=3, train_counts=[50, 2, 1], **common)
    # counts 50, 2, 1: class 2 -> 2 (pick 1), then classes 1 and 2 tie at 2 -> class 1 (lower index), then
    # class 2 (2) before class 1 (3)
    assert sorted(i for i, _ in picks) == [3, 4, 5]
    assert "predicted class has 1 training rows" in picks[0][1]
    random = pick("random", budget=4, train_counts=[1, 1, 1], **common)
    assert len({i for i, _ in random}) == 4 and {r for _, r in random} == {"random"}
    assert random == pick("random", budget=4, train_counts=[1, 1, 1], **common)  # seeded
