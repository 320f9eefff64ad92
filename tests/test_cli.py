"""User errors end with one `error:` line naming the file and line, exit status 2, no traceback."""

import pytest

from weighted_bert.cli import main

GOOD = "one two\ta\nthree four\tb\nfive six\ta\n"


def run_train(tmp_path, tiny_bert, files: dict, *extra):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    for name, content in files.items():
        path = data / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return main(["train", "--model", str(tiny_bert), "--data-dir", str(data), "--output-dir",
                 str(tmp_path / "out"), "--max-steps", "1", "--no-progress", *extra]), data


@pytest.mark.parametrize("files, expected", [
    ({"train_data.txt": "one two\ta\nthree four\n"}, "train_data.txt, line 2: has no tab; expected text<TAB>label"),
    ({"train_data.txt": "one two\ta\nthree four\t\n"}, "train_data.txt, line 2: has an empty label"),
    ({"train_data.txt": b"one\ta\ntwo \xff\tb\n"}, "train_data.txt, line 2: is not valid UTF-8"),
    ({"train_data.txt": "one\ta\ntwo\ta\n"}, "train_data.txt: has only one class ('a')"),
    ({"train_data.txt": GOOD, "dev_data.txt": "one\ta\ntwo\tc\n"},
     "dev_data.txt, line 2: has label 'c', unknown to training"),
    ({"train_data.txt": GOOD, "test_data.txt": "one\ta\ntwo\tzz\n"},
     "test_data.txt, line 2: has label 'zz', unknown to training"),
    ({"dev_data.txt": GOOD}, "no training file in"),
])
def test_bad_input_is_one_clear_line(tmp_path, tiny_bert, capsys, files, expected):
    code, data = run_train(tmp_path, tiny_bert, files)
    err = capsys.readouterr().err
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and expected in last
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "model").exists()


def test_skip_bad_lines_reports_the_count(tmp_path, tiny_bert, capsys):
    code, _ = run_train(tmp_path, tiny_bert, {"train_data.txt": GOOD + "no tab\n\tb\nseven eight\tb\n"},
                        "--on-bad-line", "skip", "--no-do-eval", "--no-do-predict")
    assert code == 0
    assert "train_data.txt: skipped 2 bad line(s), used 4" in capsys.readouterr().err


def test_missing_model_folder(tmp_path, capsys):
    data = tmp_path / "d"
    data.mkdir()
    (data / "train_data.txt").write_text(GOOD)
    code = main(["train", "--model", str(tmp_path / "nope"), "--data-dir", str(data), "--output-dir",
                 str(tmp_path / "o")])
    assert code == 2
    assert f"error: {tmp_path / 'nope'}: no such model folder" in capsys.readouterr().err


def test_bad_class_weight_scheme(tmp_path, tiny_bert, capsys):
    code, _ = run_train(tmp_path, tiny_bert, {"train_data.txt": GOOD}, "--class-weights", "inverted")
    assert code == 2
    assert "error: class weights 'inverted' is neither a scheme" in capsys.readouterr().err


def test_version():
    import subprocess
    import sys

    from weighted_bert import __version__

    result = subprocess.run([sys.executable, "-m", "weighted_bert", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == f"weighted-bert {__version__}"


def test_help_imports_no_heavy_library():
    """`--help` answers at once: torch, transformers and scikit-learn load only inside a command."""
    import subprocess
    import sys

    probe = ("import sys\nfrom weighted_bert.cli import main\n"
             "for argv in (['--help'], ['train', '--help'], ['predict', '--help'], ['compare', '--help']):\n"
             "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'sklearn', "
             "'matplotlib', 'numpy')))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_top_level_help_says_what_the_tool_is(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "weighted-bert: fine-tune BERT-family encoders for imbalanced text classification." in out
    assert "``" not in out


def test_help_shows_defaults_and_choices(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--batch-size BATCH_SIZE, --per-device-train-batch-size BATCH_SIZE training batch size per device " \
           "(default: 32)" in text
    assert "--sampling SAMPLING random, class_balanced" in text and "(one of: random, class_balanced, sqrt; " \
           "default: random)" in text


@pytest.mark.parametrize("flags, expected", [
    (["--focal-gamma", "-1"], "error: focal gamma -1.0 is not >= 0 (setting focal_gamma, --focal-gamma)"),
    (["--epochs", "three"], "error: epochs 'three' is not a number (setting epochs, --epochs)"),
    (["--loss", "focus"], "error: loss 'focus' is not one of ce, weighted_ce, focal"),
    (["--batch_size", "0"], "error: batch size 0 is not >= 1 (setting batch_size, --batch-size)"),
    (["--max-seq-length", "0"], "error: max seq length 0 is not >= 2 (setting max_seq_length, --max-seq-length)"),
    (["--max-seq-length", "-5"], "error: max seq length -5 is not >= 2"),
    (["--gradient-accumulation-steps", "0"], "error: gradient accumulation steps 0 is not >= 1"),
    (["--label-smoothing", "2"], "error: label smoothing 2.0 is not in [0, 1]"),
])
def test_a_bad_flag_value_stops_before_anything_is_read(tmp_path, capsys, flags, expected):
    # the model and data do not exist: the setting is checked before either is looked at
    code = main(["train", "--model", str(tmp_path / "none"), "--data-dir", str(tmp_path / "none"),
                 "--output-dir", str(tmp_path / "o"), *flags])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(expected) and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_settings_file_with_flags_on_top(tmp_path, capsys):
    from weighted_bert.cli import build_parser, run_config

    (tmp_path / "run.yaml").write_text("model: m\noutput_dir: o\nepochs: 2\nloss: ce\nlearning_rate: 1e-4\n")
    args = build_parser().parse_args(["train", "--config", str(tmp_path / "run.yaml"), "--epochs", "5"])
    config = run_config(args)
    assert (config.model, config.epochs, config.loss, config.learning_rate) == ("m", 5.0, "ce", 1e-4)
    (tmp_path / "bad.yaml").write_text("model: m\noutput_dir: o\nsampling: oversample\n")
    assert main(["train", "--config", str(tmp_path / "bad.yaml")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {tmp_path / 'bad.yaml'}: sampling 'oversample' is not one of random, class_balanced, sqrt "
        "(setting sampling, --sampling)")
    (tmp_path / "typo.json").write_text('{"model": "m", "output_dir": "o", "epoch": 2}')
    assert main(["train", "--config", str(tmp_path / "typo.json")]) == 2
    assert "typo.json: unknown setting 'epoch'; did you mean epochs?" in capsys.readouterr().err


def test_hugging_face_spellings():
    from weighted_bert.cli import build_parser, run_config
    from weighted_bert.settings import underscores_to_dashes

    argv = underscores_to_dashes(["train", "--model_name_or_path", "m", "--output_dir", "o", "--num_train_epochs", "2",
                                  "--per_device_train_batch_size", "4", "--per_device_eval_batch_size", "16",
                                  "--train_file", "t.csv", "--validation_file", "v.csv", "--test_file", "x.csv",
                                  "--max_seq_length", "64", "--label_smoothing_factor", "0.1"])
    config = run_config(build_parser().parse_args(argv))
    assert (config.model, config.epochs, config.batch_size, config.eval_batch_size) == ("m", 2.0, 4, 16)
    assert (config.train_file, config.dev_file, config.test_file) == ("t.csv", "v.csv", "x.csv")
    assert (config.max_seq_length, config.label_smoothing) == (64, 0.1)


def test_scoring_commands_name_their_inputs_alike():
    from weighted_bert.cli import build_parser
    from weighted_bert.scoring_config import ScoreConfig
    from weighted_bert.settings import given

    parser = build_parser()
    for command in ("evaluate", "predict", "calibrate"):
        extra = ["--output", "-"] if command == "predict" else []
        for spelling in (["--model", "r", "--data", "d"], ["--model-dir", "r", "--input", "d"]):
            args = parser.parse_args([command, *spelling, *extra])
            assert given(args, ScoreConfig) == {"model": "r", "data": "d"}


def test_a_bug_shows_its_traceback(monkeypatch):
    """Only user errors become one line; anything else is a bug and is raised."""
    from weighted_bert import cli

    def broken(args):
        raise KeyError("a bug")

    monkeypatch.setattr(cli, "_train", broken)
    with pytest.raises(KeyError):
        main(["train", "--model", "m", "--output-dir", "o"])


def test_ctrl_c_is_one_line_that_says_how_to_go_on(tmp_path, tiny_bert, toy_data_dir):
    import signal
    import subprocess
    import sys
    import time

    slow = ("import sys, time\nfrom weighted_bert.training.trainer import WeightedTrainer\nstep = WeightedTrainer.training_step\n"
            "def slow(self, *a, **k):\n    time.sleep(0.2)\n    return step(self, *a, **k)\n"
            "WeightedTrainer.training_step = slow\nfrom weighted_bert.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-c", slow, "train", "--model", str(tiny_bert), "--data-dir",
                                str(toy_data_dir), "--output-dir", str(out), "--epochs", "5", "--batch-size", "8",
                                "--save-steps", "3", "--no-progress"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(out.glob("checkpoints/checkpoint-*/trainer_state.json")):
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    assert err.strip().splitlines()[-1] == "error: interrupted; rerun the same command to resume"
    assert "Traceback" not in err


@pytest.mark.parametrize("where", ["a folder", "under a file"])
def test_an_output_that_cannot_be_written_is_one_line(trained_run, toy_data_dir, tmp_path, capsys, where):
    target = tmp_path / "p.tsv"
    if where == "a folder":
        target.mkdir()
    else:
        (tmp_path / "file").write_text("x")
        target = tmp_path / "file" / "p.tsv"
    assert main(["predict", "--model", str(trained_run), "--data", str(toy_data_dir / "test_data.txt"),
                 "--output", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {target}: cannot write it") and "Traceback" not in err


def test_stats_into_a_file_is_one_line(toy_data_dir, tmp_path, capsys):
    (tmp_path / "taken").write_text("x")
    assert main(["stats", str(toy_data_dir), "--output-dir", str(tmp_path / "taken")]) == 2
    assert "error: " in capsys.readouterr().err
