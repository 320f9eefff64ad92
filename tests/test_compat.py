"""The seed's run_classifier_weighted_loss.py flags and train.sh, end to end, on a tiny BERT."""

from pathlib import Path

import pytest

from weighted_bert.compat import FlagError, config_from_flags, parse_flags

REPO = Path(__file__).resolve().parents[1]


def test_absl_flag_syntax():
    flags = parse_flags(["--do_train=true", "--do_eval", "--nodo_predict", "--max_seq_length", "64",
                         "--learning_rate=2e-5", "--weighted_loss=True", "--use_tpu=false"])
    assert flags == {"do_train": True, "do_eval": True, "do_predict": False, "max_seq_length": "64",
                     "learning_rate": "2e-5", "weighted_loss": True, "use_tpu": False}
    with pytest.raises(FlagError, match="unknown flag --bogus"):
        parse_flags(["--bogus=1"])
    with pytest.raises(FlagError, match="expected true or false"):
        parse_flags(["--do_train=maybe"])


def test_seed_flags_map_onto_the_run(tmp_path):
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("{}")
    config = config_from_flags(parse_flags([
        "--task_name=weightedloss", "--do_train=true", "--do_eval=true", f"--data_dir={tmp_path}",
        f"--init_checkpoint={model}", "--max_seq_length=64", "--train_batch_size=16", "--eval_batch_size=8",
        "--predict_batch_size=32", "--learning_rate=3e-5", "--num_train_epochs=2.0",
        "--warmup_proportion=0.2", f"--output_dir={tmp_path / 'out'}", "--weighted_loss=true",
        "--weight_normalization=none"]))
    assert (config.model, config.max_seq_length, config.batch_size, config.eval_batch_size) == (str(model), 64, 16, 32)
    assert (config.learning_rate, config.epochs, config.warmup_ratio) == (3e-5, 2.0, 0.2)
    assert (config.loss, config.class_weights, config.weight_normalization) == ("weighted_ce", "inverse", "none")
    assert (config.do_train, config.do_eval, config.do_predict) == (True, True, False)
    assert config.do_lower_case is True


def test_seed_flag_errors(tmp_path):
    with pytest.raises(FlagError, match="expected --task_name=weightedloss"):
        config_from_flags({"task_name": "cola", "output_dir": "o", "do_train": True, "data_dir": "d"})
    with pytest.raises(FlagError, match="at least one of --do_train"):
        config_from_flags({"task_name": "weightedloss", "output_dir": "o", "data_dir": "d"})
    with pytest.raises(FlagError, match="needs a fine-tuned model"):
        config_from_flags({"task_name": "weightedloss", "output_dir": str(tmp_path), "data_dir": "d",
                           "do_predict": True})


def _seed_text(name, kind, tmp_path):
    """A valid value for setting ``name`` as the seed's users would type it."""
    files = {"vocab_file", "bert_config_file"}
    if name in files:
        path = tmp_path / f"{name}.txt"
        path.write_text("x\n")
        return str(path)
    texts = {bool: "true", int: "3", float: "0.5", list: "a,b"}
    special = {"loss": "focal", "class_weights": "inverse", "weight_normalization": "none",
               "loss_reduction": "weighted_mean", "sampling": "sqrt", "label_order": "first_seen",
               "precision": "fp32", "on_bad_line": "skip", "max_steps": "7", "report_to": "tensorboard",
               "metric_for_best_model": "nll", "recipe": "ce", "target_prior": "uniform", "multi_label": "false",
               "pos_weight": "sqrt_inverse", "thresholds": "global", "window_aggregation": "max", "max_seq_length": "64",
               "stage2": "lws", "window_training": "documents", "eval_precision": "bf16"}
    return special.get(name) or texts.get(kind) or f"{name}-value"


def test_every_seed_flag_reaches_the_run_with_its_type(tmp_path, monkeypatch):
    """Each setting, typed in the seed style (seed names where it has them, e.g.
    --train_batch_size), through the seed script's entry point, arrives with the schema's type."""
    import dataclasses

    from weighted_bert import compat
    from weighted_bert.config import RunConfig
    from weighted_bert.settings import field_types
    from weighted_bert.training import runner as training

    kinds = field_types(RunConfig)
    argv = ["--task_name=weightedloss", "--do_train=true", f"--output_dir={tmp_path / 'out'}",
            f"--init_checkpoint={tmp_path / 'model'}", f"--data_dir={tmp_path}"]
    expected = {}
    for f in dataclasses.fields(RunConfig):
        kind = kinds[f.name][0]
        if f.name in ("model", "output_dir", "data_dir", "do_train", "label_separator", "relabel"):
            continue  # label_separator makes a multi-label run, and relabel is refused beside exclude: below
        flag = f.metadata["seed"][0] if f.metadata["seed"] else f.name
        text = _seed_text(f.name, kind, tmp_path)
        argv.append(f"--{flag}={text}")
        expected[f.name] = kind
    seen = {}
    monkeypatch.setattr(training, "run", lambda config: seen.setdefault("config", config))
    assert compat.main(argv) == 0
    config = seen["config"]
    for name, kind in expected.items():
        assert type(getattr(config, name)) is kind, (name, getattr(config, name))
    assert (config.batch_size, config.epochs, config.warmup_ratio, config.save_steps) == (3, 0.5, 0.5, 3)
    assert config.labels == ["a", "b"] and config.do_lower_case is True
    seen.clear()
    assert compat.main(argv[:5] + ["--label_separator=|", "--weighted_loss=true"]) == 0
    config = seen["config"]
    assert (config.label_separator, config.multi_label, config.loss, config.pos_weight) == ("|", True, "bce", "inverse")
    seen.clear()
    assert compat.main(argv[:5] + [f"--relabel={_seed_text('relabel', str, tmp_path)}"]) == 0
    assert type(seen["config"].relabel) is str


def test_a_bad_seed_value_is_one_line_naming_the_flag(tmp_path, capsys):
    from weighted_bert.compat import main as seed_main

    code = seed_main(["--task_name=weightedloss", "--do_train=true", f"--data_dir={tmp_path}",
                      f"--init_checkpoint={tmp_path}", f"--output_dir={tmp_path / 'o'}", "--focal_gamma=strong"])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "error: focal gamma 'strong' is not a number (setting focal_gamma, --focal-gamma)")
