"""Multi-label losses against numbers worked out by hand, and each one's reduction to plain
binary cross-entropy at its neutral settings."""

import math

import pytest
import torch
import torch.nn.functional as F

from weighted_bert.errors import SettingError
from weighted_bert.losses import get_loss
from weighted_bert.losses.multilabel import (
    AsymmetricLoss,
    BCELoss,
    ClassBalancedNTRLoss,
    DistributionBalancedLoss,
    SigmoidFocalLoss,
)
from weighted_bert.weights import positive_weights

Z = torch.tensor([[2.0, -1.0, 0.5], [-0.3, 1.5, -2.0]])
Y = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
COUNTS, ROWS = [30, 5, 60], 100


def sp(x):  # softplus, by hand
    return math.log1p(math.exp(x))


def plain_bce():
    return F.binary_cross_entropy_with_logits(Z, Y).item()


def test_bce_by_hand_with_positive_weights():
    # positives: (0,0) z=2, (0,2) z=.5, (1,2) z=-2; negatives: z=-1, -.3, 1.5
    w = [70 / 30, 95 / 5, 40 / 60]
    by_hand = (w[0] * sp(-2) + sp(-1) + w[2] * sp(-0.5) + sp(-0.3) + sp(1.5) + w[2] * sp(2)) / 6
    loss = get_loss("bce", COUNTS, num_examples=ROWS, pos_weight="inverse")
    assert loss(Z, Y).item() == pytest.approx(by_hand, rel=1e-6)
    assert get_loss("bce", COUNTS, num_examples=ROWS)(Z, Y).item() == pytest.approx(plain_bce(), rel=1e-6)


def test_positive_weight_schemes():
    assert positive_weights([25, 50], 100, "inverse") == [3.0, 1.0]
    assert positive_weights([25, 50], 100, "sqrt_inverse") == pytest.approx([math.sqrt(3), 1.0])
    beta = 0.9
    e = lambda k: (1 - beta ** k) / (1 - beta)  # noqa: E731
    assert positive_weights([25, 50], 100, "effective_number", beta=beta) == pytest.approx([e(75) / e(25), 1.0])
    assert positive_weights([0, 25, 100], 100, "inverse") == [3.0, 3.0, 1.0]  # no row: the largest; every row: 1
    assert positive_weights([25], 100, "none") is None


def test_sigmoid_focal_by_hand_and_gamma_zero_is_bce():
    # one positive at z = 0: p_t = .5, (1 - .5)^2 * ln 2; one negative at z = ln 3: p = .75, p_t = .25
    z, y = torch.tensor([[0.0, math.log(3)]]), torch.tensor([[1.0, 0.0]])
    by_hand = (0.25 * math.log(2) + 0.75 ** 2 * -math.log(0.25)) / 2
    assert SigmoidFocalLoss(2.0)(z, y).item() == pytest.approx(by_hand, rel=1e-6)
    assert SigmoidFocalLoss(0.0)(Z, Y).item() == pytest.approx(plain_bce(), rel=1e-6)


def test_asymmetric_by_hand_and_neutral_is_bce():
    # negative at z = 0: p = .5, p_m = .45, .45^4 * -log(.55); positive at z = 0 with gamma+ = 1: .5 * ln 2
    z, y = torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    by_hand = (0.45 ** 4 * -math.log(0.55) + 0.5 * math.log(2)) / 2
    assert AsymmetricLoss(4.0, 1.0, 0.05)(z, y).item() == pytest.approx(by_hand, rel=1e-6)
    # a negative below the margin costs nothing
    assert AsymmetricLoss(4.0, 0.0, 0.05)(torch.tensor([[-4.0]]), torch.tensor([[0.0]])).item() == 0.0
    assert AsymmetricLoss(0.0, 0.0, 0.0)(Z, Y).item() == pytest.approx(plain_bce(), rel=1e-6)


def test_distribution_balanced_rebalancing_weights_by_hand():
    loss = DistributionBalancedLoss([10, 40], 100, alpha=0.1, beta=10.0, mu=0.3, lam=1.0, kappa=0.0)
    y = torch.tensor([[1.0, 1.0], [0.0, 1.0], [0.0, 0.0]])
    r = loss.rebalancing(y)
    # row 0 carries both: r = (1/n_l) / (1/10 + 1/40) = .8 and .2; row 1 only label 1: 1/40 / (1/40) = 4 and 1
    s = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    expected = [[0.1 + s(10 * (0.8 - 0.3)), 0.1 + s(10 * (0.2 - 0.3))],
                [0.1 + s(10 * (4 - 0.3)), 0.1 + s(10 * (1 - 0.3))],
                [1.1, 1.1]]  # no label: the limit r -> inf
    assert r.flatten().tolist() == pytest.approx([x for row in expected for x in row], rel=1e-6)


def test_negative_tolerant_terms_by_hand():
    # kappa .5, prior of label 0 = 20/100: shift .5 * log(.25); lambda 2
    loss = DistributionBalancedLoss([20], 100, alpha=0.5, beta=0.0, mu=0.0, lam=2.0, kappa=0.5, gamma=0.0)
    z = torch.tensor([[1.0], [1.0]])
    y = torch.tensor([[1.0], [0.0]])
    shift = 0.5 * math.log(0.25)
    by_hand = (sp(-(1 + shift)) + sp(2 * (1 + shift)) / 2) / 2
    assert loss(z, y).item() == pytest.approx(by_hand, rel=1e-6)


def test_focal_factor_of_the_tolerant_terms_by_hand():
    # gamma 2, lambda 2, no shift, weights 1: a positive at z = 1 costs sigmoid(-1)^2 log(1 + e^-1); a
    # negative at z = 1 is scored on lambda z = 2: sigmoid(2)^2 log(1 + e^2) / 2 (Wu et al.'s focal form)
    s = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    z, y = torch.tensor([[1.0], [1.0]]), torch.tensor([[1.0], [0.0]])
    by_hand = (s(-1) ** 2 * sp(-1) + s(2) ** 2 * sp(2) / 2) / 2
    db = DistributionBalancedLoss([20], 100, alpha=0.5, beta=0.0, mu=0.0, lam=2.0, kappa=0.0, gamma=2.0)
    assert db(z, y).item() == pytest.approx(by_hand, rel=1e-6)
    cb = ClassBalancedNTRLoss([20], 100, beta=0.0, lam=2.0, kappa=0.0, gamma=2.0)
    assert cb(z, y).item() == pytest.approx(by_hand, rel=1e-6)
    # gamma 0 leaves the terms whole
    plain = DistributionBalancedLoss([20], 100, alpha=0.5, beta=0.0, mu=0.0, lam=2.0, kappa=0.0, gamma=0.0)
    assert plain(z, y).item() == pytest.approx((sp(-1) + sp(2) / 2) / 2, rel=1e-6)


def test_the_published_forms_are_the_defaults():
    # Wu et al.'s and Huang et al.'s DB and CB-NTR configurations: focal gamma 2 on NTR's terms
    for name in ("distribution_balanced", "cb_ntr"):
        loss = get_loss(name, COUNTS, num_examples=ROWS)
        assert loss.gamma == 2.0 and loss.lam == 2.0


def test_distribution_balanced_and_cb_ntr_at_neutral_settings_are_bce():
    db = DistributionBalancedLoss(COUNTS, ROWS, alpha=0.5, beta=0.0, mu=0.3, lam=1.0, kappa=0.0, gamma=0.0)
    assert db(Z, Y).item() == pytest.approx(plain_bce(), rel=1e-6)
    cb = ClassBalancedNTRLoss(COUNTS, ROWS, beta=0.0, lam=1.0, kappa=0.0, gamma=0.0)
    assert cb(Z, Y).item() == pytest.approx(plain_bce(), rel=1e-6)
    assert BCELoss()(Z, Y).item() == pytest.approx(plain_bce(), rel=1e-6)


def test_cb_ntr_weights_by_hand():
    # beta .5: (1 - .5) / (1 - .5^n): n=1 -> 1, n=3 -> .5/.875; scaled to mean 1
    loss = ClassBalancedNTRLoss([1, 3], 10, beta=0.5, lam=1.0, kappa=0.0, gamma=0.0)
    raw = [1.0, 0.5 / 0.875]
    assert loss.weight.tolist() == pytest.approx([w / (sum(raw) / 2) for w in raw], rel=1e-6)
    z, y = torch.tensor([[0.3, -0.2]]), torch.tensor([[1.0, 0.0]])
    by_hand = (loss.weight[0].item() * sp(-0.3) + loss.weight[1].item() * sp(-0.2)) / 2
    assert loss(z, y).item() == pytest.approx(by_hand, rel=1e-6)


@pytest.mark.parametrize("name", ["bce", "sigmoid_focal", "asymmetric", "distribution_balanced", "cb_ntr"])
def test_every_multilabel_loss_learns_and_takes_half_precision(name):
    loss = get_loss(name, COUNTS, num_examples=ROWS)
    z = Z.clone().requires_grad_(True)
    value = loss(z.bfloat16(), Y)
    assert value.dtype == torch.float32 and math.isfinite(value.item())
    loss(z, Y).backward()
    # the gradient pushes positives up and negatives down
    assert (z.grad[Y == 1] < 0).all() and (z.grad[(Y == 0) & (Z > -1.5)] > 0).all()


def test_multilabel_losses_refuse_settings_they_do_not_read():
    with pytest.raises(SettingError, match="does not take"):
        get_loss("asymmetric", COUNTS, num_examples=ROWS, focal_gamma=1.0)


def test_a_fresh_multi_label_head_starts_at_the_label_priors(tiny_bert):
    from weighted_bert.labels import LabelMap
    from weighted_bert.model import load_for_training
    from weighted_bert.tasks import start_at_the_prior

    model, _ = load_for_training(str(tiny_bert), LabelMap(("a", "b", "c")), multi_label=True)
    assert model.config.problem_type == "multi_label_classification"
    start_at_the_prior(model, [25, 50, 0], 100)
    # logit(.25) = log(1/3); logit(.5) = 0; a label without rows: half a row, logit(.5/100)
    assert model.classifier.bias.tolist() == pytest.approx([math.log(1 / 3), 0.0, math.log(0.5 / 99.5)], rel=1e-5)
