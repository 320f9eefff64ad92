"""ONNX export: the same probabilities as PyTorch, and a clear error without an export."""

import shutil

import numpy as np
import pytest

from weighted_bert.cli import main


def test_onnx_backend_matches_pytorch(trained_run, toy_data_dir, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    trained_run = shutil.copytree(trained_run, tmp_path / "run")  # the export writes into the model folder
    assert main(["export", "--model-dir", str(trained_run), "--quantize", "int8"]) == 0
    written = capsys.readouterr().out.split()
    assert [p.rsplit("/", 1)[1] for p in written] == ["model.onnx", "model.int8.onnx"]
    probabilities = {}
    for backend in ("torch", "onnx", "onnx-int8"):
        out = tmp_path / f"{backend}.tsv"
        assert main(["predict", "--model-dir", str(trained_run), "--input", str(toy_data_dir / "test_data.txt"),
                     "--output", str(tmp_path / "p.tsv"), "--probabilities", str(out), "--backend", backend]) == 0
        probabilities[backend] = np.loadtxt(out, delimiter="\t")
    assert np.abs(probabilities["onnx"] - probabilities["torch"]).max() < 1e-4
    assert np.abs(probabilities["onnx-int8"] - probabilities["torch"]).max() < 0.1  # int8: close, not equal


def test_onnx_backend_without_an_export_says_what_to_run(trained_run, toy_data_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("weighted_bert.export.FILES", {"onnx": "absent.onnx", "onnx-int8": "absent.int8.onnx"})
    assert main(["predict", "--model-dir", str(trained_run), "--input", str(toy_data_dir / "test_data.txt"),
                 "--output", str(tmp_path / "p.tsv"), "--backend", "onnx"]) == 2
    assert "write it first with `weighted-bert export" in capsys.readouterr().err
