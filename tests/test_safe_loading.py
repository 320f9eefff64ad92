"""A model folder never runs code on loading: pickled weights that hold anything but
tensors are refused, and code shipped with a model runs only with --trust-remote-code."""

import os
import re
import shutil
from pathlib import Path

import pytest
import torch

from weighted_bert.cli import main

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


def test_no_unsafe_loading_in_the_package():
    """Every torch.load in our code is weights_only=True; nothing calls pickle.load(s)
    except the label2id.pkl reader, whose unpickler refuses every global."""
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for call in re.findall(r"torch\.load\([^)]*\)", source):
            assert "weights_only=True" in call, f"{path}: {call}"
        assert not re.search(r"pickle\.loads?\(", source), path


def test_resuming_loads_checkpoints_with_weights_only(tmp_path, tiny_bert, toy_data_dir, monkeypatch):
    flags = ["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir",
             str(tmp_path / "run"), "--max-steps", "4", "--save-steps", "2", "--batch-size", "8", "--no-progress"]
    assert main([*flags, "--keep-checkpoints"]) == 0
    (tmp_path / "run" / "run_summary.json").unlink()  # as if killed after the last checkpoint
    loads = []
    real_load = torch.load

    def checked_load(*args, **kwargs):
        loads.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", checked_load)
    assert main(flags) == 0
    assert loads and all(w is True for w in loads)
