"""The Trainer subclass: precision, the speed log, and a non-finite loss stopping (or skipped and
counted) with the step and the batch's lines."""

import json

import pytest
import torch

from weighted_bert.cli import main
from weighted_bert.losses import CrossEntropyLoss, register_loss
from weighted_bert.training import trainer


def test_auto_precision_is_bf16_only_where_it_pays(monkeypatch):
    from weighted_bert import speed
    from weighted_bert.scoring_config import ServeConfig
    from weighted_bert.serve.runner import _precision

    serving = ServeConfig(model="m")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(speed, "cpu_bf16_pays", lambda: False)
    assert trainer.mixed_precision("auto") == _precision(serving) == "fp32"
    monkeypatch.setattr(speed, "cpu_bf16_pays", lambda: True)
    assert trainer.mixed_precision("auto") == _precision(serving) == "bf16"
    assert trainer.mixed_precision("fp32") == "fp32"
    assert _precision(ServeConfig(model="m", backend="onnx")) == "fp32"  # the exported graph runs as it is
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    # an older GPU: training takes fp16 with loss scaling, scoring has none and stays in fp32
    assert (trainer.mixed_precision("auto"), _precision(serving)) == ("fp16", "fp32")
    assert trainer.mixed_precision("auto", device="cpu") == "bf16"


def test_dev_is_scored_in_bf16_while_training_and_in_fp32_for_the_results(tmp_path, tiny_bert, toy_data_dir):
    from helpers import TRAIN_FLAGS

    assert trainer.evaluation_precision("auto", "bf16") == "bf16"
    assert trainer.evaluation_precision("auto", "fp32") == trainer.evaluation_precision("auto", "fp16") == "fp32"
    assert trainer.evaluation_precision("fp32", "bf16") == "fp32"
    flags = [*TRAIN_FLAGS]
    flags[flags.index("--epochs") + 1] = "3"
    logs, results = {}, {}
    for precision in ("fp32", "bf16"):  # training in fp32 both times: the same model at every step
        out = tmp_path / precision
        assert main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir", str(out),
                     *flags, "--eval-precision", precision]) == 0
        logs[precision] = [json.loads(line)["eval_loss"] for line in
                           (out / "training_log.jsonl").read_text().splitlines() if "eval_loss" in line]
        results[precision] = json.loads((out / "eval_results.json").read_text())
    assert len(logs["bf16"]) == len(logs["fp32"]) == 3
    # each evaluation in bf16: near fp32's, not equal to it
    assert all(a != b and abs(a - b) < 0.05 for a, b in zip(logs["bf16"], logs["fp32"]))
    # the dev results: fp32's whatever the evaluations ran in
    for key, value in results["fp32"].items():
        if isinstance(value, float):
            assert results["bf16"][key] == pytest.approx(value, rel=1e-6, abs=1e-9), key


def test_mfu_is_logged_beside_the_loss(trained_run):
    steps = [json.loads(line) for line in (trained_run / "training_log.jsonl").read_text().splitlines()]
    logged = [s for s in steps if "loss" in s]
    assert logged and all(0 < s["mfu"] < 1 and s["tokens_per_second"] > 0 for s in logged[1:])


class NaNOnWeather(CrossEntropyLoss):
    """Cross-entropy that turns NaN on any training batch holding class 2 (weather)."""

    def forward(self, logits, labels):
        loss = super().forward(logits, labels)
        return loss * float("nan") if self.training and (labels == 2).any() else loss


@register_loss("test_nan_on_weather")
def _build(class_counts):
    return NaNOnWeather()


def test_nonfinite_loss_stops_with_step_and_lines(tmp_path, tiny_bert, toy_data_dir, capsys):
    assert train(tmp_path, tiny_bert, toy_data_dir, "nan", "--loss", "test_nan_on_weather", "--epochs", "1") == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: the loss is nan at optimizer step ")
    assert "train_data.txt lines [" in error and "--skip-nonfinite" in error
    assert not (tmp_path / "nan" / "model").exists()


def test_skip_nonfinite_counts_the_skipped_steps(tmp_path, tiny_bert, toy_data_dir, capsys):
    assert train(tmp_path, tiny_bert, toy_data_dir, "skip", "--loss", "test_nan_on_weather", "--epochs", "1",
                 "--skip-nonfinite") == 0
    assert "with a non-finite loss" in capsys.readouterr().err
    assert all(torch.isfinite(p).all() for p in
               __import__("transformers").AutoModelForSequenceClassification.from_pretrained(
                   tmp_path / "skip" / "model").parameters())


def train(tmp_path, tiny_bert, toy_data_dir, name, *flags):
    return main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir",
                 str(tmp_path / name), "--batch-size", "8", "--no-progress", "--seed", "3", *flags])


def test_tensorboard_gets_the_loss_and_the_speed(tmp_path, tiny_bert, toy_data_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir", str(out),
                 "--epochs", "2", "--batch-size", "8", "--logging-steps", "4", "--no-progress", "--report-to",
                 "tensorboard", "--run-name", "tiny"]) == 0
    events = list((out / "tensorboard").rglob("events.out.tfevents.*"))
    assert events, sorted(p.name for p in out.iterdir())
    accumulator = EventAccumulator(str(events[0].parent))
    accumulator.Reload()
    tags = set(accumulator.Tags()["scalars"])
    assert {"train/loss", "train/tokens_per_second", "train/mfu", "eval/macro_f1"} <= tags, tags
    assert len(accumulator.Scalars("train/loss")) >= 3


def test_a_tracker_that_is_not_installed_stops_before_training(tmp_path, tiny_bert, toy_data_dir, capsys):
    import importlib.util

    if importlib.util.find_spec("mlflow") is not None:
        import pytest

        pytest.skip("mlflow is installed here")
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir",
                 str(tmp_path / "o"), "--report-to", "mlflow"]) == 2
    assert "--report-to mlflow needs the mlflow package" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_early_stopping_stops_when_the_chosen_metric_stops_improving(tmp_path, tiny_bert, toy_data_dir):
    """A learning rate too small to change anything: dev accuracy never improves, so training
    stops after the first evaluation and --early-stopping-patience more."""
    out = tmp_path / "run"
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir", str(out),
                 "--epochs", "10", "--batch-size", "8", "--learning-rate", "1e-12", "--eval-steps", "3",
                 "--early-stopping-patience", "2", "--metric-for-best-model", "accuracy", "--no-progress"]) == 0
    log = [json.loads(line) for line in (out / "training_log.jsonl").read_text().splitlines()]
    evaluations = [e for e in log if "eval_accuracy" in e]
    assert len(evaluations) == 3 and evaluations[-1]["step"] == 9  # of 180 steps in 10 epochs
    assert json.loads((out / "run_summary.json").read_text())["global_step"] == 9
    assert all("eval_nll" in e for e in evaluations)


def test_the_best_model_by_nll_is_the_lowest(tmp_path, tiny_bert, toy_data_dir):
    from weighted_bert.config import RunConfig
    from weighted_bert.training.trainer import training_args

    args = training_args(RunConfig(model="m", output_dir=str(tmp_path), metric_for_best_model="nll", eval_steps=5),
                         tmp_path / "c", True, 10)
    assert (args.metric_for_best_model, args.greater_is_better, args.eval_steps, args.save_steps) == ("nll", False, 5, 5)
    args = training_args(RunConfig(model="m", output_dir=str(tmp_path)), tmp_path / "c", True, 10)
    assert (args.metric_for_best_model, args.greater_is_better, str(args.eval_strategy)) == (
        "macro_f1", True, "IntervalStrategy.EPOCH")


def test_a_run_still_improving_at_its_last_evaluation_is_told_the_budget_may_be_short():
    """Worked by hand: macro-F1 0.364 -> 0.392 at the last evaluation (the best, +7.7 %) says so;
    a last step under 1 % of the previous value, a best earlier on, or one evaluation says nothing;
    for nll (lower is better) a fall of 0.50 -> 0.45 (-10 %) says so."""
    from weighted_bert.training.trainer import still_improving

    def history(metric, values):
        return [{"loss": 1.0, "epoch": 0.5}] + [{f"eval_{metric}": v, "epoch": i + 1} for i, v in enumerate(values)]

    hint = still_improving(history("macro_f1", [0.26, 0.364, 0.392]), "macro_f1")
    assert hint is not None and "0.364 -> 0.392" in hint and "--epochs" in hint and "--early-stopping-patience" in hint
    assert still_improving(history("macro_f1", [0.90, 0.917, 0.919]), "macro_f1") is None  # +0.2 %
    assert still_improving(history("macro_f1", [0.30, 0.40, 0.38]), "macro_f1") is None  # the best was earlier
    assert still_improving(history("macro_f1", [0.40]), "macro_f1") is None
    assert still_improving(history("macro_f1", []), "macro_f1") is None
    assert still_improving(history("nll", [0.6, 0.50, 0.45]), "nll") is not None
    assert still_improving(history("nll", [0.6, 0.45, 0.50]), "nll") is None
