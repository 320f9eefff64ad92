"""ONNX export: the same probabilities as PyTorch, and a clear error without an export."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from weighted_bert.cli import main


def test_onnx_backend_matches_pytorch(trained_run, toy_data_dir, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    trained_run = shutil.copytree(trained_run, tmp_path / "run")  # the export writes into the model folder
    assert main(["export", "--model-dir", str(trained_run), "--quantize", "int8"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [p.rsplit("/", 1)[1] for p in printed[:2]] == ["model.onnx", "model.int8.onnx"]
    # the int8 check, on the run's own dev file by default
    assert printed[2].startswith(f"int8 against fp32 on {toy_data_dir / 'dev_data.txt'} (30 texts, ")
    check = json.loads((trained_run / "model" / "onnx" / "int8_check.json").read_text())
    for backend, key in (("onnx", "fp32"), ("onnx-int8", "int8")):
        assert main(["evaluate", "--model", str(trained_run), "--data", str(toy_data_dir / "dev_data.txt"),
                     "--backend", backend]) == 0
        printed = capsys.readouterr().out
        assert f"eval_macro_f1 = {check[key]['macro_f1']}" in printed
        assert f"eval_few_shot_accuracy = {check[key]['few_shot_accuracy']}" in printed
    assert check["max_f1_drop"] == 0.05 and all(r["change"] < 0 for r in check["most_lost"])
    probabilities = {}
    for backend in ("torch", "onnx", "onnx-int8"):
        out = tmp_path / f"{backend}.tsv"
        assert main(["predict", "--model-dir", str(trained_run), "--input", str(toy_data_dir / "test_data.txt"),
                     "--output", str(tmp_path / "p.tsv"), "--overwrite", "--probabilities", str(out), "--backend",
                     backend]) == 0
        probabilities[backend] = np.loadtxt(out, delimiter="\t")
    assert np.abs(probabilities["onnx"] - probabilities["torch"]).max() < 1e-4  # its tokenizer: tokenizer.json alone
    assert np.abs(probabilities["onnx-int8"] - probabilities["torch"]).max() < 0.1  # int8: close, not equal
    # a fresh process predicting with ONNX starts without torch, transformers or scikit-learn
    script = ("import sys; from weighted_bert.cli import main; "
              f"code = main(['predict', '--model', {str(trained_run)!r}, '--data', {str(toy_data_dir / 'test_data.txt')!r},"
              f" '--output', {str(tmp_path / 'lean.tsv')!r}, '--probabilities', {str(tmp_path / 'lean_p.tsv')!r}, "
              "'--backend', 'onnx']); "
              "print(code, sorted(m for m in ('torch', 'transformers', 'sklearn') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "[]"], done.stderr
    np.testing.assert_allclose(np.loadtxt(tmp_path / "lean_p.tsv", delimiter="\t"), probabilities["onnx"], atol=1e-6)


def test_onnx_backend_without_an_export_says_what_to_run(trained_run, toy_data_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("weighted_bert.export.FILES", {"onnx": "absent.onnx", "onnx-int8": "absent.int8.onnx"})
    assert main(["predict", "--model-dir", str(trained_run), "--input", str(toy_data_dir / "test_data.txt"),
                 "--output", str(tmp_path / "p.tsv"), "--backend", "onnx"]) == 2
    assert "write it first with `weighted-bert export" in capsys.readouterr().err


def test_the_int8_check_needs_int8(trained_run, capsys):
    assert main(["export", "--model", str(trained_run), "--check-data", "dev.txt"]) == 2
    assert "checks the int8 model; it needs --quantize int8" in capsys.readouterr().err
