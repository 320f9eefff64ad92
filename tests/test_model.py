"""Model in: a model folder never runs code on loading (pickled weights that hold anything but
tensors are refused, code shipped with a model runs only with --trust-remote-code), and the
tokenizer built from a Google vocabulary does what Google's FullTokenizer does."""

import json
import os
import shutil
import unicodedata
from pathlib import Path

import pytest
import torch

from weighted_bert.cli import main
from weighted_bert.model import load_tokenizer

HARD_STRINGS = [
    "", "   ", "周六晚到卖场听夜场摇滚", "北京老教授泄露，持有山河药辅节后下跌公告，速速看看！！！",
    "Hello World! 你好，世界。", "unaffable running BERTs", "Café naïve résumé", "ＡＢＣ１２３，全角（标点）",
    "emoji 😀 and 🚀 here", "tab\tand\nnewline\r\nend", "zero\u200bwidth\u200djoiner", "ctrl\x00\x07\x1fchars",
    "a" * 150, "b" * 250, "un" + "aff" * 80, "mixed中文english混合ok", "¿qué? ¡sí! «guillemets» — dash",
    "\ufeffBOM start", "x" * 5 + "." * 3 + "y",
]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PRETRAINED = FIXTURES / "tf_bert"

PACKAGE = Path(__file__).resolve().parents[1] / "weighted_bert"


class WritesAFile:
    """Unpickling this runs ``os.system``: what a malicious pytorch_model.bin does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def model_folder(tiny_bert, folder):
    folder.mkdir()
    for name in os.listdir(tiny_bert):
        if not name.endswith(".safetensors"):
            shutil.copy(tiny_bert / name, folder / name)
    return folder


@pytest.mark.parametrize("command", ["train", "predict"])
def test_malicious_pickle_is_refused_without_running_it(tmp_path, tiny_bert, toy_data_dir, capsys, command):
    marker = tmp_path / "pwned"
    folder = model_folder(tiny_bert, tmp_path / "evil")
    torch.save({"bert.embeddings.word_embeddings.weight": WritesAFile(marker)}, folder / "pytorch_model.bin")
    args = (["train", "--model", str(folder), "--data-dir", str(toy_data_dir), "--output-dir", str(tmp_path / "o")]
            if command == "train" else
            ["predict", "--model-dir", str(folder), "--input", str(toy_data_dir / "test_data.txt"),
             "--output", str(tmp_path / "p.tsv")])
    assert main(args) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"error: {folder}: refused to load its pickled weights")
    assert "nothing in the file was run" in error
    assert not marker.exists()


def test_remote_code_runs_only_when_trusted(tmp_path, tiny_bert, toy_data_dir, capsys):
    marker = tmp_path / "ran"
    folder = model_folder(tiny_bert, tmp_path / "remote")
    (folder / "config.json").write_text(
        '{"model_type": "shipped", "auto_map": {"AutoConfig": "shipped.ShippedConfig", '
        '"AutoModelForSequenceClassification": "shipped.ShippedModel"}}')
    (folder / "shipped.py").write_text(f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n")
    assert main(["predict", "--model-dir", str(folder), "--input", str(toy_data_dir / "test_data.txt"),
                 "--output", str(tmp_path / "p.tsv")]) == 2
    error = capsys.readouterr().err
    assert "its config asks to run Python code shipped with the model; refused" in error
    assert "--trust-remote-code" in error
    assert not marker.exists()


def _is_control(c):
    return c not in "\t\n\r" and unicodedata.category(c) in ("Cc", "Cf")


def _is_whitespace(c):
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def _is_punctuation(c):
    cp = ord(c)
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or \
        unicodedata.category(c).startswith("P")


def _is_cjk(cp):
    return any(a <= cp <= b for a, b in ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
                                         (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)))


def google_full_tokenize(text, vocab, do_lower_case=True, max_chars=200):
    text = "".join(" " if _is_whitespace(c) else c for c in text
                   if not (ord(c) in (0, 0xFFFD) or _is_control(c)))
    text = "".join(f" {c} " if _is_cjk(ord(c)) else c for c in text)
    words = []
    for token in text.split():
        if do_lower_case:
            token = "".join(c for c in unicodedata.normalize("NFD", token.lower()) if unicodedata.category(c) != "Mn")
        current = []
        for c in token:
            if _is_punctuation(c):
                words += ["".join(current)] if current else []
                words.append(c)
                current = []
            else:
                current.append(c)
        words += ["".join(current)] if current else []
    pieces = []
    for word in words:
        if len(word) > max_chars:
            pieces.append("[UNK]")
            continue
        start, sub = 0, []
        while start < len(word):
            end = len(word)
            while end > start:
                piece = ("##" if start else "") + word[start:end]
                if piece in vocab:
                    break
                end -= 1
            if end == start:
                sub = ["[UNK]"]
                break
            sub.append(piece)
            start = end
        pieces += sub
    return pieces


@pytest.mark.parametrize("do_lower_case", [True, False])
def test_fast_tokenizer_matches_google_full_tokenizer(do_lower_case):
    vocab = set((PRETRAINED / "vocab.txt").read_text(encoding="utf-8").split("\n"))
    tokenizer = load_tokenizer(PRETRAINED, do_lower_case=do_lower_case)
    for text in HARD_STRINGS:
        assert tokenizer.tokenize(text) == google_full_tokenize(text, vocab, do_lower_case), repr(text)


def test_auto_map_with_a_known_model_type_is_refused_too(tmp_path, tiny_bert, toy_data_dir, capsys):
    """transformers ignores auto_map when it knows the model type; we refuse it all the same,
    as README promises, unless --trust-remote-code."""
    folder = shutil.copytree(tiny_bert, tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    assert main(["train", "--model", str(folder), "--data-dir", str(toy_data_dir), "--output-dir",
                 str(tmp_path / "o"), "--max-steps", "1"]) == 2
    assert "asks to run Python code shipped with the model; refused" in capsys.readouterr().err


def test_a_config_that_does_not_fit_the_weights_is_one_error(tmp_path, trained_run, toy_data_dir, capsys):
    folder = shutil.copytree(trained_run / "model", tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    config["hidden_size"], config["intermediate_size"] = 32, 64
    (folder / "config.json").write_text(json.dumps(config))
    assert main(["predict", "--model", str(folder), "--data", str(toy_data_dir / "test_data.txt"),
                 "--output", str(tmp_path / "p.tsv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {folder}: its weights do not fit its config.json") and "Traceback" not in err


def test_a_corrupt_tokenizer_file_is_named(tmp_path, trained_run, toy_data_dir, capsys):
    folder = shutil.copytree(trained_run / "model", tmp_path / "m")
    (folder / "tokenizer.json").write_text("{ not json")
    assert main(["predict", "--model", str(folder), "--data", str(toy_data_dir / "test_data.txt"),
                 "--output", str(tmp_path / "p.tsv")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {folder / 'tokenizer.json'}: cannot be read as a tokenizer")


def test_weighted_bert_json_that_disagrees_with_the_model_is_refused(tmp_path, trained_run, toy_data_dir, capsys):
    folder = shutil.copytree(trained_run / "model", tmp_path / "m")
    info = json.loads((folder / "weighted_bert.json").read_text())
    info["class_counts"] = [1, 2]  # the model has 3 classes
    (folder / "weighted_bert.json").write_text(json.dumps(info))
    assert main(["evaluate", "--model", str(folder), "--data", str(toy_data_dir / "dev_data.txt")]) == 2
    assert "weighted_bert.json: class_counts has 2 values; the model has 3 classes" in capsys.readouterr().err
