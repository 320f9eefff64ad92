"""The settings machinery: text to typed values, one message shape, files, flags."""

import argparse
import json

import pytest

from weighted_bert.config import RunConfig
from weighted_bert.errors import SettingError, UserError
from weighted_bert.scoring_config import ScoreConfig
from weighted_bert.settings import (
    add_arguments,
    build,
    check_value,
    check_values,
    given,
    read_settings,
    read_settings_file,
    underscores_to_dashes,
)


@pytest.mark.parametrize("name, text, expected", [
    ("focal_gamma", "1.5", 1.5), ("focal_gamma", 2, 2.0), ("batch_size", "16", 16), ("batch_size", "16.0", 16),
    ("batch_size", 16.0, 16), ("do_train", "false", False), ("do_train", "Yes", True), ("do_eval", None, None),
    ("labels", "b,a", ["b", "a"]), ("labels", [1, 2], ["1", "2"]), ("drw_start", "none", None),
    ("class_weights", "none", "none"),  # a scheme named none, not a missing value
])
def test_text_becomes_the_fields_type(name, text, expected):
    value = check_value(RunConfig, name, text)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("name, text, phrase", [
    ("batch_size", "16.5", "is not a whole number"), ("batch_size", "sixteen", "is not a whole number"),
    ("batch_size", True, "is not a whole number"), ("learning_rate", "fast", "is not a number"),
    ("learning_rate", "inf", "is not a finite number"), ("do_train", "maybe", "is not true or false"),
    ("batch_size", "0", "is not >= 1"), ("warmup_ratio", "1.5", "is not in [0, 1]"),
    ("class_weight_beta", "1", "is not in [0, 1)"), ("loss", "focus", "is not one of ce, weighted_ce"),
    ("model", None, "is not text"), ("max_steps", "0", "is not -1 (off) or a whole number >= 1"),
])
def test_a_bad_value_names_the_setting_the_value_and_what_is_allowed(name, text, phrase):
    with pytest.raises(SettingError) as caught:
        check_value(RunConfig, name, text)
    message = str(caught.value)
    assert phrase in message
    assert f"(setting {name}, --{name.replace('_', '-')})" in message
    assert message.startswith(name.replace("_", " ") + " ")


def test_the_message_uses_the_flag_the_user_types():
    with pytest.raises(SettingError, match=r"\(setting train_file, --train\)"):
        check_value(RunConfig, "train_file", 3)


def test_build_takes_aliases_and_names_unknown_and_missing_settings():
    config = build(RunConfig, {"model_name_or_path": "m", "output-dir": "o", "num_train_epochs": "2",
                               "per_device_train_batch_size": "4", "validation_file": "v.txt"})
    assert (config.model, config.output_dir, config.epochs, config.batch_size, config.dev_file) == ("m", "o", 2.0, 4, "v.txt")
    with pytest.raises(UserError, match="run.yaml: unknown setting 'max_seq_lenght'; did you mean max_seq_length"):
        build(RunConfig, {"model": "m", "output_dir": "o", "max_seq_lenght": 64}, where="run.yaml")
    with pytest.raises(UserError, match=r"the setting output_dir \(--output-dir\) is required"):
        build(RunConfig, {"model": "m"})
    with pytest.raises(SettingError, match="^run.yaml: seed -1 is not >= 0"):
        build(RunConfig, {"model": "m", "output_dir": "o", "seed": -1}, where="run.yaml")


@pytest.mark.parametrize("name, text", [
    ("run.yaml", "model: m\nepochs: 1\nseed: 3\nepochs: 7\n"),
    ("run.json", '{"model": "m",\n "epochs": 1,\n "seed": 3,\n "epochs": 7}'),
])
def test_a_settings_file_naming_a_key_twice_is_refused_with_both_lines(tmp_path, name, text):
    """`epochs: 1` then `epochs: 7` took the last value silently."""
    pytest.importorskip("yaml")
    (tmp_path / name).write_text(text)
    with pytest.raises(UserError, match=r"the key 'epochs' is given twice \(lines 2 and 4\)"):
        read_settings_file(tmp_path / name)


def test_settings_files_json_and_yaml(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"model": "m", "max-seq-length": 64, "labels": ["x", "y"]}))
    assert read_settings(RunConfig, tmp_path / "run.json") == {"model": "m", "max_seq_length": 64, "labels": ["x", "y"]}
    (tmp_path / "run.yaml").write_text("model: m\nepochs: 2\nsampling: class_balanced\n")
    assert read_settings(RunConfig, tmp_path / "run.yaml") == {"model": "m", "epochs": 2.0, "sampling": "class_balanced"}
    (tmp_path / "bad.yaml").write_text("epochs: two\n")
    with pytest.raises(SettingError, match=f"^{tmp_path / 'bad.yaml'}: epochs 'two' is not a number"):
        read_settings(RunConfig, tmp_path / "bad.yaml")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(UserError, match="list.json: expected a mapping of setting names to values, found list"):
        read_settings_file(tmp_path / "list.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(UserError, match="broken.json: not valid JSON"):
        read_settings_file(tmp_path / "broken.json")
    with pytest.raises(UserError, match="missing.yaml: cannot read it"):
        read_settings_file(tmp_path / "missing.yaml")


def test_check_values_says_where():
    assert check_values(RunConfig, {"loss": "ce", "seed": "3"}, where="recipe 'x'") == {"loss": "ce", "seed": 3}
    with pytest.raises(SettingError, match="^recipe 'x': loss 'cee' is not one of"):
        check_values(RunConfig, {"loss": "cee"}, where="recipe 'x'")


def test_flags_are_made_from_the_fields():
    parser = argparse.ArgumentParser()
    add_arguments(parser, ScoreConfig)
    args = parser.parse_args(["--model-dir", "run", "--input", "x.txt", "--no-calibration", "--batch-size", "8"])
    assert given(args, ScoreConfig) == {"model": "run", "data": "x.txt", "batch_size": "8", "calibration": False}
    assert build(ScoreConfig, given(args, ScoreConfig)).batch_size == 8  # converted by the schema, not argparse
    help_text = " ".join(parser.format_help().split())
    assert "--backend BACKEND" in help_text
    assert "(one of: auto, torch, onnx, onnx-int8, openvino; default: auto)" in help_text
    assert "--batch-size BATCH_SIZE texts per batch (default: 64)" in help_text


def test_underscores_to_dashes_touches_flag_names_only():
    assert underscores_to_dashes(["--max_seq_length=64", "--do_train", "a_b", "--labels", "x_y"]) == [
        "--max-seq-length=64", "--do-train", "a_b", "--labels", "x_y"]
