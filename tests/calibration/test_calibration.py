"""Post-hoc calibration: recovering a known prior shift and a known temperature, each
objective's decision against hand-worked cases, refusing noise, abstaining, the commands."""

import json
import re

import numpy as np
import pytest

from weighted_bert.calibration import (
    ABSTAINED,
    Calibration,
    balanced_accuracy,
    calibrate,
    coverage_threshold,
    decide,
    log_prior_from_counts,
    macro_f1,
    make_objective,
)
from weighted_bert.calibration.objectives import class_bias_for_precision, importance_weights
from weighted_bert.calibration.temperature import fit_temperature, nll
from weighted_bert.cli import main
from weighted_bert.errors import SettingError


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
    # tau applies to the temperature-scaled logits z / T: in the raw logits' units it is tau * T
    assert result.tau * result.temperature == pytest.approx(tau_true, abs=0.2)
    assert result.accepted and result.held_out_gain > 0.01
    assert result.dev_after > result.dev_before


def test_no_shift_changes_nothing():
    logits, y, counts = synthetic(0.0)
    result = calibrate(logits, y, counts)
    assert not result.accepted and result.tau == 0  # any gain is within noise: nothing applied
    assert abs(result.fitted_tau) <= 0.3  # what was fitted is still on record
    applied = result.as_fitted(make_objective("macro_f1", logits.shape[1]))
    assert applied.accepted and applied.tau == result.fitted_tau


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_balanced_accuracy_matches_scikit_learn():
    from sklearn.metrics import balanced_accuracy_score

    rng = np.random.default_rng(2)
    y, p = rng.integers(0, 5, 200), rng.integers(0, 6, 200)  # class 5 predicted, never gold
    assert balanced_accuracy(y, p, 6) == pytest.approx(balanced_accuracy_score(y, p))


@pytest.mark.parametrize("t_true", [0.5, 2.5])
def test_temperature_is_recovered_from_labels_drawn_at_a_known_temperature(t_true):
    rng = np.random.default_rng(3)
    z = rng.normal(0, 2.0, (20000, 5))
    p = np.exp(z / t_true)
    p /= p.sum(1, keepdims=True)
    y = (p.cumsum(1) > rng.random((len(z), 1))).argmax(1)  # labels drawn from softmax(z / t_true)
    assert fit_temperature(z, y) == pytest.approx(t_true, rel=0.05)
    assert nll(z / t_true, y) < nll(z, y)


def test_temperature_fitted_by_calibrate_lowers_held_out_nll_and_ece_and_keeps_decisions():
    rng = np.random.default_rng(4)
    z = rng.normal(0, 1.5, (4000, 4))
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = (p.cumsum(1) > rng.random((len(z), 1))).argmax(1)  # labels drawn from softmax(z)
    over = 4 * z  # an over-confident model of them: the right temperature is 4
    record = calibrate(over, y, [100, 100, 100, 100])
    report = record.temperature_report
    assert record.temperature == pytest.approx(4, rel=0.1) and report["temperature"] == record.temperature
    assert report["nll_after"] < report["nll_before"] and report["ece_after"] < report["ece_before"] / 2
    np.testing.assert_array_equal(record.apply(over).argmax(1), over.argmax(1))


def test_the_bayes_decision_of_a_3_class_cost_matrix():
    # Missing a fraud (gold 2) costs 10, a false alarm costs 1, confusing 0 and 1 costs 1.
    costs = np.array([[0, 1, 1], [1, 0, 1], [10, 10, 0]], dtype=float)
    p = np.array([[0.6, 0.3, 0.1],    # expected costs: [1.3, 1.6, 0.9] -> 2 (argmax says 0)
                  [0.8, 0.15, 0.05],  # [0.65, 1.3, 0.95] -> 0
                  [0.2, 0.7, 0.1]])   # [1.7, 1.2, 0.9] -> 2
    np.testing.assert_array_equal(decide(p, costs=costs), [2, 0, 2])
    np.testing.assert_array_equal(decide(p), [0, 0, 1])
    np.testing.assert_array_equal(decide(p, abstain_threshold=0.65), [ABSTAINED, 0, 1])


def _cost_case():
    """Four dev rows whose softmax is given by hand, gold labels, and a cost matrix (rows gold,
    columns predicted) where missing class 1 costs 5 and every other error 1."""
    p = np.array([[0.6, 0.3, 0.1], [0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.9, 0.05, 0.05]])
    costs = np.array([[0.0, 1.0, 1.0], [5.0, 0.0, 5.0], [1.0, 1.0, 0.0]])
    return np.log(p), np.array([1, 0, 2, 0]), costs


def test_a_stated_cost_matrix_is_applied_where_the_guard_would_refuse_it():
    # expected cost of predicting j, sum_i p_i C[i, j]: row 1 (0.6, 0.3, 0.1): 1.6, 0.7, 2.1 -> 1 (argmax 0);
    # row 2 (0.7, 0.2, 0.1): 1.1, 0.8, 1.7 -> 1 (argmax 0); row 3: 1.3, 0.9, 0.6 -> 2; row 4: 0.3, 0.95, 1.15 -> 0
    z, y, costs = _cost_case()
    counts = [50, 20, 30]
    log_train = log_prior_from_counts(counts)
    objective = make_objective("cost", 3, costs=costs, class_weights=np.ones(3), target_log_prior=log_train)
    record = calibrate(z, y, counts, objective=objective, temperature=False)
    # the shift fitted beyond the rule cannot show a gain on four rows: not kept, the rule is
    assert not record.accepted and record.beats_noise is False and record.keep == "auto"
    assert record.costs == costs.tolist() and record.tau == 0.0 and record.target_log_prior is None
    assert not record.changes_logits  # the rule alone: the Bayes decision on the model's probabilities
    p = np.exp(z)
    assert record.decide(p).tolist() == [1, 1, 2, 0] and p.argmax(1).tolist() == [0, 0, 2, 0]
    # expected cost with the argmax (5 + 0 + 0 + 0) / 4, with the rule (0 + 1 + 0 + 0) / 4; two answers moved
    report = record.stated_report
    assert report["cost_argmax"] == pytest.approx(1.25) and report["cost_rule"] == pytest.approx(0.25)
    assert report["answers_moved"] == 2 and report["rows"] == 4
    # per row the rule changes the cost by -5, +1, 0, 0: a resample heavy in the second row costs more
    assert report["change_p05"] < -1.0 < 0 < report["change_p95"] <= 1.0
    lines = "\n".join(record.summary())
    assert "the cost matrix is applied as stated" in lines and "1.2500 with the argmax -> 0.2500" in lines
    assert "2 of 4 answers moved" in lines and "beyond the rule as stated" in lines and "not kept" in lines
    assert "warning: the interval includes a higher cost than the argmax" in lines


def test_a_stated_rule_that_never_costs_more_on_dev_gets_no_warning():
    z, _, costs = _cost_case()
    y = np.array([1, 1, 2, 0])  # both moved rows are class 1 now: each move saves 5
    objective = make_objective("cost", 3, costs=costs, class_weights=np.ones(3),
                               target_log_prior=log_prior_from_counts([50, 20, 30]))
    record = calibrate(z, y, [50, 20, 30], objective=objective, temperature=False)
    report = record.stated_report
    assert report["cost_argmax"] == pytest.approx(2.5) and report["cost_rule"] == pytest.approx(0.0)
    assert report["change_p95"] <= 0 and "warning" not in "\n".join(record.summary())


def test_a_missed_precision_floor_is_said_in_words_not_as_a_negative_recall():
    record = Calibration(log_prior=[0.0, 0.0], objective="recall_at_precision", dev_before=-0.86, dev_after=0.4,
                         held_out_gain=0.1, held_out_gain_p05=0.01, fitted_text="a bias of +1 on fraud",
                         objective_settings={"class": "fraud", "min_precision": 1.0})
    line = record.summary()[-1]
    assert "dev precision floor not met (precision 0.14 < 1) -> 0.4000" in line and "-0.86" not in line


def test_keep_always_keeps_a_fitted_shift_the_guard_refuses_and_auto_does_not():
    # nine head-class rows the model gets right at any tau in [0.05, 1.05], one tail row right
    # from tau 0.0217 on (1 + 0.104 tau < 0.9 + 4.71 tau): the fit on all of dev finds tau 0.05,
    # but the half without the tail row fits tau 0, so the cross-fitted gain is 0: within noise
    counts = [100, 10, 1]
    z = np.array([[5.0, 0.0, 0.0]] * 9 + [[1.0, 0.0, 0.9]])
    y = np.array([0] * 9 + [2])
    auto = calibrate(z, y, counts, temperature=False)
    always = calibrate(z, y, counts, temperature=False, keep="always")
    for record in (auto, always):
        assert record.fitted_tau == pytest.approx(0.05) and record.beats_noise is False
        assert record.dev_before == pytest.approx((18 / 19) / 2) and record.dev_after == pytest.approx(1.0)
    assert not auto.accepted and auto.tau == 0.0 and auto.keep == "auto"
    assert always.accepted and always.tau == pytest.approx(0.05) and always.keep == "always"
    assert always.apply(z).argmax(1).tolist() == y.tolist() and auto.apply(z).argmax(1)[-1] == 0
    assert "kept although within noise (--keep always)" in "\n".join(always.summary())
    with pytest.raises(SettingError, match="keep 'sometimes' is not one of auto, always"):
        calibrate(z, y, counts, keep="sometimes")


def test_a_target_prior_flips_a_decision_and_is_learned_with_importance_weights():
    # Equal dev classes; the model's logits carry no prior. Under a target prior of 0.9/0.1,
    # an example at p = (0.4, 0.6) is more likely class 0: 0.4 * 0.9 > 0.6 * 0.1.
    log_target = np.log([0.9, 0.1])
    z = np.log([[0.4, 0.6]])
    assert (z + log_target).argmax(1)[0] == 0 and z.argmax(1)[0] == 1
    np.testing.assert_allclose(importance_weights(log_target, np.array([0, 0, 1, 1]), 2), [1.8, 0.2])
    objective = make_objective("accuracy", 2, class_weights=np.array([1.8, 0.2]), target_log_prior=log_target)
    assert objective.score(np.array([0, 1]), np.array([0, 0])) == pytest.approx(0.9)  # (1.8*1 + 0.2*0) / 2


def test_the_accuracy_objective_shifts_a_flat_model_back_to_the_training_prior():
    # A model trained with a class-balanced sampler (no prior in its logits), met by texts in
    # the training frequencies: the fitted adjustment is + log(train prior), tau = 0.
    rng = np.random.default_rng(5)
    counts = np.array([800, 150, 50])
    y = rng.choice(3, 6000, p=counts / counts.sum())
    z = rng.normal(0, 1.0, (len(y), 3))
    z[np.arange(len(y)), y] += 1.0
    log_train = log_prior_from_counts(counts)
    objective = make_objective("accuracy", 3, class_weights=np.ones(3), target_log_prior=log_train)
    record = calibrate(z, y, counts, objective=objective, temperature=False)
    assert record.accepted and record.tau == pytest.approx(0.0, abs=0.15)
    np.testing.assert_allclose(record.adjustment(), (1 - record.tau) * log_train)
    assert record.dev_after > record.dev_before + 0.05


def test_recall_at_precision_bias_is_exact_on_a_constructed_score_set():
    # Class 1's margin over the other class, sorted: the gold ones are marked.
    margin = np.array([3.0, 2.0, 1.0, 0.5, -0.5, -1.0, -2.0, -3.0])
    gold_1 = np.array([1, 1, 1, 0, 1, 0, 1, 0])
    z = np.stack([np.zeros(8), margin], axis=1)
    y = gold_1.astype(int)
    # Taking the top r: precision 1, 1, 1, .75, .8, .67, .71, .625; recall of 5 gold: .2 .4 .6 .6 .8 .8 1 1.
    # At precision >= 0.8 the best recall is 0.8 (top 5): bias half way between margins -0.5 and -1.0.
    b = class_bias_for_precision(z, y, 1, 0.8)
    assert b == pytest.approx(0.75)
    assert ((margin + b) > 0).sum() == 5
    assert class_bias_for_precision(z, y, 1, 0.7) == pytest.approx(2.5)  # top 7: recall 1 at precision .71
    assert class_bias_for_precision(z, y, 1, 1.0) == pytest.approx(-0.75)  # top 3 only


def test_coverage_threshold_answers_the_stated_share():
    confidence = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    assert coverage_threshold(confidence, 0.9) == 0.1
    assert (confidence >= coverage_threshold(confidence, 0.25)).sum() == 3  # at least the share asked
    assert coverage_threshold(confidence, 1.0) == 0.05


def test_coverage_one_answers_everything_and_a_handful_of_rows_fits_no_threshold():
    """--coverage 1.0 used the lowest dev probability as its threshold, so held-out texts below it
    abstained; a one-row dev file placed a threshold on that one row."""
    logits, y, counts = synthetic(0.0, seed=6)
    assert calibrate(logits, y, counts, coverage=1.0).abstain_threshold is None
    few = calibrate(logits[:5], y[:5], counts, coverage=0.8, temperature=False)
    assert few.abstain_threshold is None and "5 dev row(s); a coverage threshold needs at least 20" in \
        few.abstain_report["not_fitted"]


def test_abstaining_raises_accuracy_on_the_answered_part():
    logits, y, counts = synthetic(0.0, seed=6)
    record = calibrate(logits, y, counts, coverage=0.8)
    report = record.abstain_report
    assert report["coverage"] == pytest.approx(0.8, abs=0.05)
    assert report["answered_accuracy"] > report["full_coverage_accuracy"] + 0.03
    p = np.exp(logits / record.temperature)
    assert (record.decide(p / p.sum(1, keepdims=True)) == ABSTAINED).mean() == pytest.approx(0.2, abs=0.01)


def test_apply_and_round_trip():
    calibration = Calibration(tau=1.0, biases=[0.5, 0.0], log_prior=[np.log(0.75), np.log(0.25)], accepted=True)
    # logits [0, 0] - 1 * [ln .75, ln .25] + [0.5, 0] = [0.2877 + 0.5, 1.3863]
    np.testing.assert_allclose(calibration.apply(np.zeros((1, 2))), [[-np.log(0.75) + 0.5, -np.log(0.25)]])
    assert Calibration.from_dict(json.loads(json.dumps(calibration.to_dict()))) == calibration


def test_calibrate_command_and_its_use_in_predict(trained_run, toy_data_dir, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    assert main(["calibrate", "--model-dir", str(run), "--data", str(toy_data_dir / "dev_data.txt")]) == 0
    printed = capsys.readouterr().out
    assert "macro_f1: fitted tau " in printed and ": dev " in printed and "held-out gain" in printed
    # The toy model is already perfect on dev: no decision to gain, and no errors to fit a temperature on
    assert "not kept: within noise" in printed and "temperature: not fitted: 0 wrong dev prediction(s)" in printed
    assert "with tau 0" not in printed  # the line names the fitted tau, whose score it prints, and its verdict
    assert "nothing kept" in printed and not (run / "model" / "calibration.json").exists()
    # A calibration written by hand (tau 1 pushes every prediction to the rarest class) is applied...
    counts = json.loads((run / "model" / "weighted_bert.json").read_text())["class_counts"]
    forced = Calibration(tau=0.0, biases=[0.0, 0.0, 100.0], log_prior=list(log_prior_from_counts(counts)),
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
                 "--output", str(out), "--overwrite", "--no-calibration"]) == 0
    assert len({row.split("\t")[1] for row in out.read_text().splitlines()[1:]}) == 3


@pytest.mark.parametrize("content, problem", [
    ({"tau": float("nan"), "log_prior": [-1.1, -1.1, -1.1]}, "tau is nan; expected a finite number"),
    ({"tau": 1e300, "log_prior": [-1.1, -1.1, -1.1]}, "tau is 1e+300; expected a finite number"),
    ({"tau": 1.0}, "has no 'log_prior'"),
    ({"temperature": -2.0, "log_prior": [-1.1, -1.1, -1.1]}, "temperature is -2.0; expected a number above 0"),
    ({"costs": [[0, 1, 1]], "log_prior": [-1.1, -1.1, -1.1]}, "costs has 1 rows; expected 3"),
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


def _copy(trained_run, tmp_path):
    import shutil

    return shutil.copytree(trained_run, tmp_path / "run")


def test_abstaining_in_calibrate_predict_evaluate_the_api_and_serve(trained_run, toy_data_dir, tmp_path, capsys):
    import weighted_bert

    run = _copy(trained_run, tmp_path)
    dev, test = toy_data_dir / "dev_data.txt", toy_data_dir / "test_data.txt"
    assert main(["calibrate", "--model", str(run), "--data", str(dev), "--coverage", "0.5", "--no-temperature",
                 "--abstain-label", "ASK_A_PERSON"]) == 0
    printed = capsys.readouterr().out
    assert "abstaining below probability" in printed and "held-out coverage" in printed, printed
    saved = json.loads((run / "model" / "calibration.json").read_text())
    assert saved["temperature"] == 1.0 and saved["abstain_label"] == "ASK_A_PERSON"
    assert main(["predict", "--model", str(run), "--data", str(test), "--output", str(tmp_path / "p.tsv"),
                 "--overwrite", "--probabilities", str(tmp_path / "probs.tsv")]) == 0
    rows = [line.split("\t") for line in (tmp_path / "p.tsv").read_text().splitlines()[1:]]
    probs = np.loadtxt(tmp_path / "probs.tsv", delimiter="\t")
    abstained = np.array([row[1] == "ASK_A_PERSON" for row in rows])
    assert 0.2 < abstained.mean() < 0.8  # about half, as fitted on dev
    # the probabilities are still written; the abstentions are the least sure texts
    assert probs[abstained].max(1).max() < saved["abstain_threshold"] <= probs[~abstained].max(1).min()
    capsys.readouterr()
    assert main(["evaluate", "--model", str(run), "--data", str(test)]) == 0
    printed = capsys.readouterr().out
    assert f"eval_coverage = {1 - abstained.mean()}" in printed and "eval_answered_accuracy = 1.0" in printed
    assert f"eval_abstained = {abstained.sum()}" in printed
    texts = [row[0] for row in rows]
    assert weighted_bert.load(run).predict(texts) == [row[1] for row in rows]
    import httpx
    from helpers import start_server, stop_server

    process, address = start_server(run)
    try:
        answer = httpx.post(f"http://{address}/predict", json={"inputs": texts[:6]})
        assert json.loads(answer.headers["x-decisions"]) == [row[1] for row in rows[:6]]
        assert "abstaining below" in httpx.get(f"http://{address}/info").json()["calibration"]["decision_rule"]
    finally:
        stop_server(process)


def test_a_cost_rule_decides_in_predict_and_evaluate_reports_the_cost(trained_run, toy_data_dir, tmp_path, capsys):
    run = _copy(trained_run, tmp_path)
    counts = json.loads((run / "model" / "weighted_bert.json").read_text())["class_counts"]
    # labels finance, sport, weather: calling anything sport costs 100, so nothing is called sport
    costs = [[0, 100, 1], [1, 100, 1], [1, 100, 0]]
    forced = Calibration(log_prior=list(log_prior_from_counts(counts)), costs=costs, objective="cost", accepted=True)
    (run / "model" / "calibration.json").write_text(json.dumps(forced.to_dict()))
    test = toy_data_dir / "test_data.txt"
    assert main(["predict", "--model", str(run), "--data", str(test), "--output", str(tmp_path / "p.tsv"),
                 "--overwrite"]) == 0
    predicted = {line.split("\t")[1] for line in (tmp_path / "p.tsv").read_text().splitlines()[1:]}
    assert "sport" not in predicted and predicted <= {"finance", "weather"}
    assert main(["evaluate", "--model", str(run), "--data", str(test)]) == 0
    printed = capsys.readouterr().out
    assert "eval_mean_cost = " in printed


def test_a_stated_cost_matrix_is_applied_by_predict_evaluate_the_api_and_serve(
        trained_run, toy_data_dir, tmp_path, capsys):
    import weighted_bert
    from weighted_bert.calibration import decide

    run = _copy(trained_run, tmp_path)
    dev, test = toy_data_dir / "dev_data.txt", toy_data_dir / "test_data.txt"
    # labels finance, sport, weather: missing sport costs 20, every other error 1
    (tmp_path / "costs.csv").write_text(",finance,sport,weather\nfinance,0,1,1\nsport,20,0,20\nweather,1,1,0\n")
    assert main(["calibrate", "--model", str(run), "--data", str(dev), "--objective", "cost",
                 "--costs", str(tmp_path / "costs.csv"), "--no-temperature"]) == 0
    printed = capsys.readouterr().out
    assert "the cost matrix is applied as stated" in printed and "answers moved" in printed, printed
    saved = json.loads((run / "model" / "calibration.json").read_text())
    assert saved["costs"] == [[0, 1, 1], [20, 0, 20], [1, 1, 0]] and saved["keep"] == "auto"
    assert saved["stated_report"]["rows"] == len((dev).read_text().splitlines())
    assert main(["predict", "--model", str(run), "--data", str(test), "--output", str(tmp_path / "p.tsv"),
                 "--overwrite", "--probabilities", str(tmp_path / "probs.tsv")]) == 0
    rows = [line.split("\t") for line in (tmp_path / "p.tsv").read_text().splitlines()[1:]]
    probs = np.loadtxt(tmp_path / "probs.tsv", delimiter="\t")
    labels = ["finance", "sport", "weather"]
    by_rule = [labels[i] for i in decide(probs, costs=saved["costs"])]
    assert [row[1] for row in rows] == by_rule
    assert by_rule != [labels[i] for i in probs.argmax(1)]  # the rule moved answers on test
    assert main(["evaluate", "--model", str(run), "--data", str(test)]) == 0
    assert "eval_mean_cost = " in capsys.readouterr().out
    texts = [row[0] for row in rows]
    assert weighted_bert.load(run).predict(texts) == by_rule
    import httpx
    from helpers import start_server, stop_server

    process, address = start_server(run)
    try:
        answer = httpx.post(f"http://{address}/predict", json={"inputs": texts})
        assert json.loads(answer.headers["x-decisions"]) == by_rule
    finally:
        stop_server(process)


def test_the_target_prior_and_recall_objectives_run_through_the_command(trained_run, toy_data_dir, tmp_path, capsys):
    run = _copy(trained_run, tmp_path)
    dev = toy_data_dir / "dev_data.txt"
    prior = tmp_path / "prior.json"
    prior.write_text(json.dumps({"finance": 0.2, "sport": 0.7, "weather": 0.1}))
    assert main(["calibrate", "--model", str(run), "--data", str(dev), "--objective", "accuracy",
                 "--target-prior", str(prior)]) == 0
    assert re.search(r"accuracy: fitted tau [-0-9.]+: dev 1.0000", capsys.readouterr().out)
    assert main(["calibrate", "--model", str(run), "--data", str(dev), "--objective", "recall_at_precision",
                 "--class", "weather", "--min-precision", "0.9"]) == 0
    assert re.search(r"recall_at_precision: fitted a bias of \S+ on weather: dev 1.0000", capsys.readouterr().out)


@pytest.mark.parametrize("flags, problem", [
    (["--objective", "cost"], "--objective cost needs --costs"),
    (["--keep", "sometimes"], "keep 'sometimes' is not one of auto, always"),
    (["--costs", "c.csv"], "costs 'c.csv' is not read by objective macro_f1; it is for cost"),
    (["--objective", "recall_at_precision", "--class", "weather"], "needs --class (the label) and --min-precision"),
    (["--objective", "recall_at_precision", "--class", "snow", "--min-precision", "0.9"],
     "--class 'snow' is not one of the model's labels"),
    (["--abstain", "0.5", "--coverage", "0.9"], "and --abstain both set the threshold"),
    (["--coverage", "1.5"], "coverage 1.5 is not in [0, 1]"),
    (["--abstain-label", "sport", "--abstain", "0.5"], "--abstain-label 'sport' is one of the model's labels"),
    (["--objective", "accuracy", "--target-prior", "PRIOR"], "labels not in the model: 'snow'"),
])
def test_a_bad_decision_setting_is_one_line(trained_run, toy_data_dir, tmp_path, capsys, flags, problem):
    (tmp_path / "prior.json").write_text(json.dumps({"finance": 1, "sport": 1, "weather": 1, "snow": 1}))
    flags = [str(tmp_path / "prior.json") if f == "PRIOR" else f for f in flags]
    assert main(["calibrate", "--model", str(trained_run), "--data", str(toy_data_dir / "dev_data.txt"),
                 *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and problem in err and "\n" not in err, err


@pytest.mark.parametrize("content, problem", [
    ({"finance": 1, "sport": 2}, "no frequency for 'weather'"),
    ({"finance": 1, "sport": -2, "weather": 1}, "frequency of 'sport' is -2; expected a finite number >= 0"),
    ({"finance": 0, "sport": 0, "weather": 0}, "frequencies sum to 0"),
    ({"finance": 1, "sport": "x", "weather": 1}, "frequency of 'sport' is 'x'"),
])
def test_a_bad_target_prior_file_is_one_error_naming_it(tmp_path, content, problem):
    from weighted_bert.calibration.inputs import target_log_prior
    from weighted_bert.errors import UserError

    path = tmp_path / "prior.json"
    path.write_text(json.dumps(content))
    with pytest.raises(UserError) as caught:
        target_log_prior(str(path), ["finance", "sport", "weather"], train_counts=[1, 1, 1], dev_labels=[0])
    assert str(path) in str(caught.value) and problem in str(caught.value)


def test_a_target_prior_file_of_huge_numbers_is_not_lost_to_overflow(tmp_path):
    """1e308 + 1e308 is inf in floats: summed first, every frequency became 0 and the prior uniform."""
    from weighted_bert.calibration.inputs import target_log_prior

    path = tmp_path / "prior.json"
    path.write_text(json.dumps({"finance": 1e308, "sport": 1e308, "weather": 1}))
    prior = np.exp(target_log_prior(str(path), ["finance", "sport", "weather"], train_counts=[1, 1, 1],
                                    dev_labels=[0]))
    np.testing.assert_allclose(prior[:2], [0.5, 0.5])
    assert prior[2] < 1e-6


@pytest.mark.parametrize("text, line, problem", [
    (",finance,sport\nfinance,0,1\nsport,1,0\n", 1, "lacks 1 of the model's labels (first: 'weather')"),
    (",finance,sport,weather\nfinance,0,1,1\nsport,1,0,x\nweather,1,1,0\n", 3,
     "cost for predicting 'weather' is 'x'; expected a number >= 0"),
    (",finance,sport,weather\nfinance,0,1,1\nsnow,1,0,1\nweather,1,1,0\n", 3, "gold label 'snow' is not one of"),
    (",finance,sport,weather\nfinance,0,1\n", 2, "has 3 cells; expected 4"),
    (",finance,finance,weather\n", 1, "names 'finance' twice"),
    ("\n,finance,sport,weather\n\nfinance,0,1,1\nsport,1,0,1\nweather,1,1,-1\n", 6, "is '-1'"),
])
def test_a_bad_cost_matrix_is_one_error_naming_file_and_line(tmp_path, text, line, problem):
    from weighted_bert.calibration.inputs import read_costs
    from weighted_bert.errors import UserError

    path = tmp_path / "costs.csv"
    path.write_text(text)
    with pytest.raises(UserError) as caught:
        read_costs(path, ["finance", "sport", "weather"])
    assert f"{path}, line {line}: " in str(caught.value) and problem in str(caught.value), str(caught.value)


def test_a_cost_matrix_is_read_in_label_order(tmp_path):
    from weighted_bert.calibration.inputs import read_costs

    path = tmp_path / "costs.csv"
    path.write_text("gold\\predicted,weather,finance,sport\nsport,5,1,0\nfinance,2,0,1\nweather,0,3,4\n")
    np.testing.assert_array_equal(read_costs(path, ["finance", "sport", "weather"]),
                                  [[0, 1, 2], [1, 0, 5], [3, 4, 0]])


@pytest.mark.parametrize("loss, options, sampling, expected", [
    ("ce", {}, "random", [0.8, 0.2]),  # the training frequencies
    ("ce", {}, "class_balanced", [0.5, 0.5]),
    ("ce", {}, "sqrt", [2 / 3, 1 / 3]),  # sqrt(8) : sqrt(2) = 2 : 1
    ("weighted_ce", {"class_weights": "inverse"}, "random", [0.5, 0.5]),  # 0.8 / 0.8 : 0.2 / 0.2
    ("weighted_ce", {"class_weights": "sqrt_inverse"}, "random", [2 / 3, 1 / 3]),  # 0.8 / sqrt(8) : 0.2 / sqrt(2)
    ("weighted_ce", {"class_weights": {"a": 1.0, "b": 4.0}}, "random", [0.5, 0.5]),  # a JSON file's numbers
    ("logit_adjusted", {"la_tau": 1.0}, "random", [0.5, 0.5]),
    ("logit_adjusted", {"la_tau": 0.5}, "random", [2 / 3, 1 / 3]),  # 0.8 ** 0.5 : 0.2 ** 0.5
    ("logit_adjusted", {"la_tau": 1.0}, "class_balanced", [0.2, 0.8]),  # 0.5 / 0.8 : 0.5 / 0.2
    ("balanced_softmax", {}, "random", [0.5, 0.5]),
    ("focal", {}, "random", None),
    ("ldam", {}, "random", None),
    ("bce", {}, "random", None),
])
def test_the_prior_a_recipe_trains_for_worked_by_hand(loss, options, sampling, expected):
    """Counts 8 and 2: cross-entropy answers for the frequencies training sees (the sampler's,
    times weighted_ce's class weights); logit_adjusted divides them by train ** tau; no closed
    form for the others."""
    from weighted_bert.calibration.inputs import trained_log_prior

    got = trained_log_prior(loss, options, sampling, [8, 2], ["a", "b"])
    if expected is None:
        assert got is None
    else:
        np.testing.assert_allclose(np.exp(got), expected, atol=1e-12)
