"""--stage2: the formulas by hand and against scikit-learn, and a real run that folds them."""

import json

import numpy as np
import pytest
from helpers import TRAIN_FLAGS

from weighted_bert.cli import main
from weighted_bert.stage2 import TAU_GRID
from weighted_bert.stage2.methods import (
    balanced_weights,
    choose_tau,
    learned_scales,
    retrained_classifier,
    tau_normalised,
)


def test_tau_normalisation_by_hand():
    w = np.array([[3.0, 4.0], [0.0, 2.0]])
    b = np.array([1.0, 1.0])
    w1, b1 = tau_normalised(w, b, 1.0)  # norms 5 and 2
    np.testing.assert_allclose(w1, [[0.6, 0.8], [0.0, 1.0]])
    np.testing.assert_allclose(b1, [0.2, 0.5])
    w_half, _ = tau_normalised(w, b, 0.5)
    np.testing.assert_allclose(w_half[0], np.array([3.0, 4.0]) / np.sqrt(5))
    np.testing.assert_array_equal(tau_normalised(w, b, 0.0)[0], w)  # tau 0: as trained
    assert TAU_GRID[0] == 0.0 and TAU_GRID[-1] == 2.0


def test_tau_is_chosen_by_the_score_and_ties_keep_the_smaller():
    w, b = np.array([[3.0, 0.0], [0.0, 1.0]]), np.zeros(2)
    x = np.array([[0.5, 0.4]])  # tau 0: 1.5 vs 0.4 -> 0; tau 1: 0.5 vs 0.4 -> 0 still; never 1
    assert choose_tau(x, w, b, lambda z: float(z.argmax(1)[0] == 1), grid=(0.0, 1.0))[0] == 0.0
    x = np.array([[0.2, 0.5]])  # tau 0: 0.6 vs 0.5 -> 0; tau 1: 0.2 vs 0.5 -> 1 (class 0's norm 3 divided out)
    assert choose_tau(x, w, b, lambda z: float(z.argmax(1)[0] == 1), grid=(0.0, 1.0)) == (1.0, {0.0: 0.0, 1.0: 1.0})
    # both taus score alike: the smaller, the model as trained, is kept
    assert choose_tau(x, w, b, lambda z: 1.0, grid=(0.0, 1.0))[0] == 0.0


def test_balanced_weights_by_hand():
    # counts 3 and 1: weights 1/3 and 1, scaled to mean 1 over the 4 rows (sum 2 -> x 2)
    np.testing.assert_allclose(balanced_weights(np.array([0, 0, 0, 1]), 2), [2 / 3, 2 / 3, 2 / 3, 2.0])
    w = balanced_weights(np.array([0, 0, 1, 2, 2, 2]), 3)
    assert w.mean() == pytest.approx(1.0)
    assert w[:2].sum() == pytest.approx(w[2]) == pytest.approx(w[3:].sum())  # each class weighs alike


def test_crt_is_scikit_learns_class_balanced_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 4)) * 2
    y = np.repeat([0, 1, 2], [60, 15, 5])
    x = centres[y] + rng.normal(size=(len(y), 4))
    decay = 0.05
    w, b = retrained_classifier(x, y, 3, weight_decay=decay)
    # ours: mean_i s_i CE_i + decay/2 ||W||^2; scikit-learn: C sum_i s_i CE_i + 1/2 ||W||^2 (no penalty on b)
    reference = LogisticRegression(C=1 / (len(y) * decay), tol=1e-10, max_iter=10_000)
    reference.fit(x, y, sample_weight=balanced_weights(y, 3))
    np.testing.assert_allclose(w, reference.coef_, atol=2e-3)
    np.testing.assert_allclose(b - b.mean(), reference.intercept_ - reference.intercept_.mean(), atol=2e-3)


def test_lws_scales_satisfy_their_first_order_condition():
    import torch

    rng = np.random.default_rng(1)
    y = np.repeat([0, 1], [30, 6])
    x = rng.normal(size=(36, 3)) + np.array([[1.0, 0, 0], [0, 1.0, 0]])[y]
    w, b = np.eye(2, 3), np.zeros(2)
    scales = learned_scales(x, y, w, b)
    assert (scales > 0).all()
    f = torch.tensor(scales, requires_grad=True)
    z = torch.tensor(x @ w.T + b)
    loss = (torch.tensor(balanced_weights(y, 2)) * torch.nn.functional.cross_entropy(z * f, torch.tensor(y),
                                                                                       reduction="none")).mean()
    loss.backward()
    assert np.abs(f.grad.numpy()).max() < 1e-5


@pytest.mark.parametrize("method", ["tau_norm", "crt", "lws"])
def test_a_run_folds_the_second_stage_into_a_plain_model(method, tiny_bert, toy_data_dir, tmp_path):
    import torch
    from transformers import AutoModelForSequenceClassification

    output = tmp_path / method
    flags = list(TRAIN_FLAGS)
    flags[flags.index("--epochs") + 1] = "3"
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir", str(output),
                 "--stage2", method, *flags]) == 0
    record = json.loads((output / "model" / "weighted_bert.json").read_text())["stage2"]
    assert record["method"] == method
    assert f"| second stage | {method}" in (output / "model" / "README.md").read_text()
    if method == "tau_norm":
        assert record["tau"] in TAU_GRID and set(map(float, record["dev_scores"])) == set(TAU_GRID)
    # the folder is a plain classifier: transformers alone gives what predict gives
    model = AutoModelForSequenceClassification.from_pretrained(output / "model").eval()
    from weighted_bert import load

    classifier = load(output)
    texts = ["a goal for the team", "the bank loan price", "rain and snow today"]
    encoded = classifier.fine_tuned.tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        plain = torch.softmax(model(**encoded).logits, -1).numpy()
    if not (output / "model" / "calibration.json").is_file():
        np.testing.assert_allclose(classifier.with_options(calibration=False).predict_proba(texts), plain, atol=1e-5)


def test_multi_label_runs_refuse_a_second_stage(tiny_bert, toy_multilabel_dir, tmp_path, capsys):
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_multilabel_dir), "--output-dir",
                 str(tmp_path / "o"), "--stage2", "crt", "--multi-label"]) == 2
    assert "stage2 'crt' is for single-label tasks" in capsys.readouterr().err
