"""Loss values against hand-worked numbers, and the registry's contract."""

import math

import pytest
import torch

from weighted_bert.losses import CrossEntropyLoss, WeightedCrossEntropyLoss, get_loss, loss_options

# Two examples, three classes.
#   example 1: logits [0, 0, 0],      label 2 -> p = 1/3 each,      CE = ln 3
#   example 2: logits [ln 2, 0, 0],   label 1 -> p = [1/2, 1/4, 1/4], CE = ln 4
LOGITS = torch.tensor([[0.0, 0.0, 0.0], [math.log(2), 0.0, 0.0]])
LABELS = torch.tensor([2, 1])
LN3, LN4 = math.log(3), math.log(4)


def test_cross_entropy_by_hand():
    assert CrossEntropyLoss()(LOGITS, LABELS).item() == pytest.approx((LN3 + LN4) / 2)


def test_weighted_ce_seed_reduction_by_hand():
    # weights [1, 2, 4]: mean(4 ln3, 2 ln4) = 2 ln3 + ln4 = 3.583519
    loss = WeightedCrossEntropyLoss([1.0, 2.0, 4.0], reduction="mean")
    assert loss(LOGITS, LABELS).item() == pytest.approx(2 * LN3 + LN4)
    assert loss(LOGITS, LABELS).item() == pytest.approx(3.583519, abs=1e-6)


def test_weighted_ce_weighted_mean_by_hand():
    # (4 ln3 + 2 ln4) / (4 + 2) = 1.194506; the same as PyTorch's weighted cross-entropy
    loss = WeightedCrossEntropyLoss([1.0, 2.0, 4.0], reduction="weighted_mean")
    assert loss(LOGITS, LABELS).item() == pytest.approx((4 * LN3 + 2 * LN4) / 6)
    reference = torch.nn.functional.cross_entropy(LOGITS, LABELS, weight=torch.tensor([1.0, 2.0, 4.0]))
    assert loss(LOGITS, LABELS).item() == pytest.approx(reference.item())


def test_get_loss_builds_weights_from_counts():
    # counts [5, 1, 2], inverse, raw weights 1.6, 8, 4; labels 2 and 1 -> mean(4 ln3, 8 ln4)
    loss = get_loss("weighted_ce", [5, 1, 2], class_weights="inverse", weight_normalization="none")
    assert loss(LOGITS, LABELS).item() == pytest.approx((4 * LN3 + 8 * LN4) / 2)
    # sample_mean divides the inverse weights by 3
    loss = get_loss("weighted_ce", [5, 1, 2], class_weights="inverse")
    assert loss(LOGITS, LABELS).item() == pytest.approx((4 * LN3 + 8 * LN4) / 6)


def test_weighted_ce_with_unit_weights_is_cross_entropy():
    loss = get_loss("weighted_ce", [5, 1, 2], class_weights="none")
    assert loss(LOGITS, LABELS).item() == pytest.approx(CrossEntropyLoss()(LOGITS, LABELS).item())


def test_extreme_logits_stay_finite():
    logits = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]])
    loss = get_loss("weighted_ce", [100, 1, 2])
    value = loss(logits, torch.tensor([1, 1]))
    assert math.isfinite(value.item()) and value.item() > 1e3


def test_gradient_matches_finite_differences():
    logits = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 1])
    for loss in (WeightedCrossEntropyLoss([0.5, 2.0, 1.0]), WeightedCrossEntropyLoss([0.5, 2.0, 1.0], "weighted_mean"),
                 CrossEntropyLoss()):
        assert torch.autograd.gradcheck(lambda x: loss(x, labels), (logits,))


def test_half_precision_logits_are_upcast():
    loss = WeightedCrossEntropyLoss([1.0, 2.0, 4.0])
    value = loss(LOGITS.to(torch.bfloat16), LABELS)
    assert value.dtype == torch.float32
    assert value.item() == pytest.approx(2 * LN3 + LN4, rel=1e-2)


def test_registry_rejects_unknown_names_and_options():
    with pytest.raises(ValueError, match="unknown loss 'dice2'"):
        get_loss("dice2", [1, 2])
    with pytest.raises(ValueError, match="does not take option"):
        get_loss("ce", [1, 2], class_weights="inverse")
    assert loss_options("weighted_ce")["loss_reduction"] == "mean"


def test_bad_reduction():
    with pytest.raises(ValueError, match="loss reduction"):
        WeightedCrossEntropyLoss([1.0, 1.0], reduction="sum")
