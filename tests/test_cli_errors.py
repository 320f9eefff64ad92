"""User errors end with one `error:` line naming the file and line, exit status 2, no traceback."""

import pytest

from weighted_bert.cli import main


def run_train(tmp_path, tiny_bert, files: dict, *extra):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    for name, content in files.items():
        path = data / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return main(["train", "--model", str(tiny_bert), "--data-dir", str(data), "--output-dir",
                 str(tmp_path / "out"), "--max-steps", "1", "--no-progress", *extra]), data


GOOD = "one two\ta\nthree four\tb\nfive six\ta\n"


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
