"""Post-hoc logit adjustment: recovering a known prior shift, refusing noise, and the commands."""

import json

import numpy as np
import pytest

from weighted_bert.calibration import Calibration, calibrate, log_prior_from_counts, macro_f1
from weighted_bert.cli import main


def synthetic(tau_true: float, n_per_class: int = 150, k: int = 10, seed: int = 0):
    """Balanced dev labels; logits = a noisy class signal + tau_true * log(prior): a model
    that leans towards the head classes as strongly as tau_true says."""
    rng = np.random.default_rng(seed)
    counts = np.round(200 * 0.7 ** np.arange(k)).astype(int)  # 200 down to 8
    y = np.repeat(np.arange(k), n_per_class)
    logits = rng.normal(0, 1.0, (len(y), k))
    logits[np.arange(len(y)), y] += 2.0
    logits += tau_true * log_prior_from_counts(counts)
    return logits, y, counts


def test_macro_f1_matches_scikit_learn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(1)
    y, p = rng.integers(0, 6, 300), rng.integers(0, 5, 300)  # class 5 never predicted
    assert macro_f1(y, p, 6) == pytest.approx(f1_score(y, p, average="macro", zero_division=0))


@pytest.mark.parametrize("tau_true", [0.5, 1.0, 1.5])
def test_fitted_tau_recovers_a_known_prior_shift(tau_true):
    logits, y, counts = synthetic(tau_true)
    result = calibrate(logits, y, counts)
    assert result.tau == pytest.approx(tau_true, abs=0.2)
    assert result.accepted and result.held_out_gain > 0.01
    assert result.dev_macro_f1_after > result.dev_macro_f1_before


def test_no_shift_changes_nothing():
    logits, y, counts = synthetic(0.0)
    result = calibrate(logits, y, counts)
    assert not result.accepted  # any gain is within noise
    assert result.tau <= 0.3


def test_apply_and_round_trip():
    calibration = Calibration(tau=1.0, biases=[0.5, 0.0], log_prior=[np.log(0.75), np.log(0.25)],
                              dev_macro_f1_before=0.5, dev_macro_f1_after=0.6, held_out_gain=0.1,
                              held_out_gain_p05=0.05, accepted=True)
    # logits [0, 0] - 1 * [ln .75, ln .25] + [0.5, 0] = [0.2877 + 0.5, 1.3863]
    np.testing.assert_allclose(calibration.apply(np.zeros((1, 2))), [[-np.log(0.75) + 0.5, -np.log(0.25)]])
    assert Calibration.from_dict(json.loads(json.dumps(calibration.to_dict()))) == calibration


def test_calibrate_command_and_its_use_in_predict(trained_run, toy_data_dir, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    assert main(["calibrate", "--model-dir", str(run), "--data", str(toy_data_dir / "dev_data.txt")]) == 0
    printed = capsys.readouterr().out
    assert "dev macro-F1" in printed and "held-out gain" in printed
    # The toy model is already near perfect on dev, so there is nothing to gain: nothing is written.
    assert "not kept" in printed and not (run / "model" / "calibration.json").exists()
    # A calibration written by hand (tau 1 pushes every prediction to the rarest class) is applied...
    counts = json.loads((run / "model" / "weighted_bert.json").read_text())["class_counts"]
    forced = Calibration(tau=0.0, biases=[0.0, 0.0, 100.0], log_prior=list(log_prior_from_counts(counts)),
                         dev_macro_f1_before=0, dev_macro_f1_after=0, held_out_gain=0, held_out_gain_p05=0,
                         accepted=True)
    (run / "model" / "calibration.json").write_text(json.dumps(forced.to_dict()))
    out = tmp_path / "p.tsv"
    assert main(["predict", "--model-dir", str(run), "--input", str(toy_data_dir / "test_data.txt"),
                 "--output", str(out)]) == 0
    assert "applying the calibration" in capsys.readouterr().err
    rows = out.read_text().splitlines()[1:]
    assert {row.split("\t")[1] for row in rows} == {"weather"}
    # ...and --no-calibration turns it off
    assert main(["predict", "--model-dir", str(run), "--input", str(toy_data_dir / "test_data.txt"),
                 "--output", str(out), "--no-calibration"]) == 0
    assert len({row.split("\t")[1] for row in out.read_text().splitlines()[1:]}) == 3


@pytest.mark.parametrize("content, problem", [
    ({"tau": float("nan"), "log_prior": [-1.1, -1.1, -1.1]}, "tau is nan; expected a finite number"),
    ({"tau": 1e300, "log_prior": [-1.1, -1.1, -1.1]}, "tau is 1e+300; expected a finite number"),
    ({"log_prior": [-1.1, -1.1, -1.1]}, "has no 'tau'"),
    ({"tau": 1.0, "log_prior": [-1.1, -1.1]}, "log_prior has 2 values; expected 3, one per label"),
    ({"tau": 1.0, "log_prior": [-1.1, -1.1, -1.1], "biases": [0, "x", 0]}, "biases holds 'x'"),
])
def test_a_damaged_calibration_file_is_one_error_naming_it(trained_run, toy_data_dir, tmp_path, capsys,
                                                           content, problem):
    import shutil

    run = shutil.copytree(trained_run, tmp_path / "run")
    (run / "model" / "calibration.json").write_text(json.dumps(content))
    assert main(["predict", "--model", str(run), "--data", str(toy_data_dir / "test_data.txt"),
                 "--output", str(tmp_path / "p.tsv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {run / 'model' / 'calibration.json'}: ") and problem in err, err
