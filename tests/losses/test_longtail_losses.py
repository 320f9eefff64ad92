"""The long-tail losses against hand-worked numbers, their reductions to cross-entropy,
gradients, extreme logits and a class seen once."""

import math

import pytest
import torch
import torch.nn.functional as F

from weighted_bert.losses import CrossEntropyLoss, get_loss

ALL = [("ce", {}), ("weighted_ce", {}), ("focal", {}), ("focal", {"class_weights": "inverse"}), ("dice", {}),
       ("logit_adjusted", {}), ("balanced_softmax", {}), ("ldam", {}), ("ldam", {"drw_start": 0.0})]

# Two examples, three classes (as in test_losses.py):
#   example 1: logits [0, 0, 0],    label 2 -> p = (1/3, 1/3, 1/3), CE ln 3
#   example 2: logits [ln 2, 0, 0], label 1 -> p = (1/2, 1/4, 1/4), CE ln 4
LOGITS = torch.tensor([[0.0, 0.0, 0.0], [math.log(2), 0.0, 0.0]])
LABELS = torch.tensor([2, 1])
LN3, LN4 = math.log(3), math.log(4)
CE = (LN3 + LN4) / 2


def value(name, counts=(2, 1, 1), **options):
    return get_loss(name, list(counts), **options)(LOGITS, LABELS).item()


def test_focal_by_hand():
    # (1 - p)^2 (-log p): (2/3)^2 ln 3 = 0.488272 and (3/4)^2 ln 4 = 0.779791; mean 0.634031
    assert value("focal") == pytest.approx(0.634031, abs=1e-6)
    # alpha = weights [1, 2, 4] from a JSON-free mapping: mean(4 * 0.488272, 2 * 0.779791) = 1.756335
    assert value("focal", class_weights={"a": 1, "b": 2, "c": 4}, weight_normalization="none",
                 labels=["a", "b", "c"]) == pytest.approx(1.756335, abs=1e-6)


def test_logit_adjusted_and_balanced_softmax_by_hand():
    # counts (2, 1, 1): prior (1/2, 1/4, 1/4). Example 1: softmax(log prior) = prior, p_2 = 1/4 -> ln 4.
    # Example 2: [ln 2 + ln 1/2, ln 1/4, ln 1/4] = [0, ln 1/4, ln 1/4] -> p_1 = (1/4) / (3/2) -> ln 6.
    expected = (math.log(4) + math.log(6)) / 2  # 1.589027
    assert value("logit_adjusted") == pytest.approx(expected)
    assert value("balanced_softmax") == pytest.approx(expected)
    # Balanced Softmax's own form: CE(logits + log n_c)
    literal = F.cross_entropy(LOGITS + torch.tensor([2.0, 1.0, 1.0]).log(), LABELS).item()
    assert value("balanced_softmax") == pytest.approx(literal)


def test_dice_by_hand():
    # alpha 0, smoothing 1: DSC_c = (2 sum p y + 1) / (sum p + sum y + 1)
    #   class 0: (0 + 1) / (5/6 + 0 + 1)            -> 1 - 6/11  = 5/11
    #   class 1: (2/4 + 1) / (7/12 + 1 + 1)         -> 1 - 18/31 = 13/31
    #   class 2: (2/3 + 1) / (7/12 + 1 + 1)         -> 1 - 20/31 = 11/31
    assert value("dice", dice_alpha=0.0) == pytest.approx((5 / 11 + 13 / 31 + 11 / 31) / 3)
    # alpha 1, smoothing 0: p~ = (1 - p) p = (2/9, 2/9, 2/9) and (1/4, 3/16, 3/16)
    #   class 0: no gold -> DSC 0 -> 1; class 1: 1 - 2(3/16)/(2/9 + 3/16 + 1); class 2: 1 - 2(2/9)/(same)
    denominator = 2 / 9 + 3 / 16 + 1
    expected = (1 + (1 - 2 * 3 / 16 / denominator) + (1 - 2 * 2 / 9 / denominator)) / 3  # 0.806240
    assert value("dice", dice_alpha=1.0, dice_smoothing=0.0) == pytest.approx(expected)


def test_ldam_by_hand():
    # counts (16, 1, 1): n^(-1/4) = (1/2, 1, 1), scaled so the largest margin is 0.5: (0.25, 0.5, 0.5).
    # scale s = 1, labels (0, 1):
    #   example 1: [0 - 0.25, 0, 0]       -> -log(e^-.25 / (e^-.25 + 2))      = 1.272019
    #   example 2: [ln 2, 0 - 0.5, 0]     -> -log(e^-.5 / (2 + e^-.5 + 1))    = 1.782746
    labels = torch.tensor([0, 1])
    loss = get_loss("ldam", [16, 1, 1], ldam_scale=1.0)
    assert loss(LOGITS, labels).item() == pytest.approx((1.272019 + 1.782746) / 2, abs=1e-6)
    # DRW from half-way: effective-number weights (1 - b)/(1 - b^n), b = 0.9999, normalised to sum 3:
    #   (0.0909752, 1.4545124, 1.4545124); reduction sum w CE / sum w
    loss = get_loss("ldam", [16, 1, 1], ldam_scale=1.0, drw_start=0.5)
    loss.on_progress(0.49)
    assert loss(LOGITS, labels).item() == pytest.approx((1.272019 + 1.782746) / 2, abs=1e-6)
    loss.on_progress(0.5)
    w0, w1 = 0.0909752, 1.4545124
    assert loss(LOGITS, labels).item() == pytest.approx((w0 * 1.272019 + w1 * 1.782746) / (w0 + w1), abs=1e-6)


@pytest.mark.parametrize("name, options, counts", [
    ("focal", {"focal_gamma": 0.0}, (5, 1, 2)),
    ("logit_adjusted", {"la_tau": 0.0}, (5, 1, 2)),
    ("logit_adjusted", {}, (3, 3, 3)),
    ("balanced_softmax", {}, (4, 4, 4)),
    ("ldam", {"ldam_max_margin": 0.0, "ldam_scale": 1.0}, (5, 1, 2)),
])
def test_reduces_to_cross_entropy(name, options, counts):
    assert value(name, counts, **options) == pytest.approx(CE)


def test_label_smoothing_by_hand():
    # eps 0.3, K 3: target (0.1, 0.1, 0.8) on example 1 -> CE ln 3 still (uniform p);
    # example 2, label 1: -(0.1 ln 1/2 + 0.8 ln 1/4 + 0.1 ln 1/4) = 0.1 ln 2 + 0.9 ln 4
    expected = (LN3 + 0.1 * math.log(2) + 0.9 * LN4) / 2
    assert value("ce", label_smoothing=0.3) == pytest.approx(expected)
    assert value("weighted_ce", class_weights="none", label_smoothing=0.3) == pytest.approx(expected)


@pytest.mark.parametrize("name, options", ALL)
def test_gradients_match_finite_differences(name, options):
    loss = get_loss(name, [5, 1, 2], **options).double()
    logits = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 1])
    assert torch.autograd.gradcheck(lambda x: loss(x, labels), (logits,))


@pytest.mark.parametrize("name, options", ALL)
def test_extreme_logits_and_a_class_seen_once(name, options):
    loss = get_loss(name, [1000, 1, 3], **options)
    logits = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [0.0, 1e4, -1e4]], requires_grad=True)
    out = loss(logits, torch.tensor([1, 1, 2]))
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(logits.grad).all()


def test_cross_entropy_module_default_is_unsmoothed():
    assert CrossEntropyLoss()(LOGITS, LABELS).item() == pytest.approx(CE)
