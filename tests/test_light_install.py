"""The base install scores an exported model: the project installed with its declared base
dependencies and the serve extra (pip, in a fresh virtual environment: no torch, no
transformers) answers a file, the Python API and a two-worker server as the full install
does, and a command that needs the training stack says so in one line. pip installs the
dependencies by name from the package registry; the test takes about 30 s."""

import json
import shutil
import subprocess
import venv
from pathlib import Path

import httpx
import numpy as np
import pytest
from helpers import stop_server

from weighted_bert.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_the_base_install_scores_an_export_without_torch(trained_run, toy_data_dir, tmp_path):
    pytest.importorskip("onnxscript")
    run = shutil.copytree(trained_run, tmp_path / "run")  # the export writes into the model folder
    assert main(["export", "--model", str(run)]) == 0
    data = toy_data_dir / "test_data.txt"
    assert main(["predict", "--model", str(run), "--data", str(data), "--output", str(tmp_path / "full.tsv"),
                 "--probabilities", str(tmp_path / "full_p.tsv"), "--backend", "onnx"]) == 0

    venv.create(tmp_path / "venv", with_pip=True)
    python = str(tmp_path / "venv" / "bin" / "python")
    done = subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", f"{ROOT}[serve]"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]

    script = f"""
import importlib.util, json, sys
from weighted_bert.cli import main
import weighted_bert
code = main(["predict", "--model", {str(run)!r}, "--data", {str(data)!r}, "--output", {str(tmp_path / 'lean.tsv')!r},
             "--probabilities", {str(tmp_path / 'lean_p.tsv')!r}, "--backend", "onnx"])
labels = weighted_bert.load({str(run)!r}, backend="onnx").predict(["the striker scored a late goal"])
absent = [m for m in ("torch", "transformers", "sklearn", "matplotlib") if importlib.util.find_spec(m) is None]
print(json.dumps({{"code": code, "labels": labels, "absent": absent}}))
"""
    lean = subprocess.run([python, "-c", script], capture_output=True, text=True, timeout=300, check=False,
                          cwd=tmp_path)  # not the checkout: the installed package is what runs
    assert lean.returncode == 0, lean.stderr[-3000:]
    out = json.loads(lean.stdout.strip().splitlines()[-1])
    assert out["absent"] == ["torch", "transformers", "sklearn", "matplotlib"]
    assert out["code"] == 0
    full = (tmp_path / "full.tsv").read_text().splitlines()
    assert (tmp_path / "lean.tsv").read_text().splitlines() == full
    np.testing.assert_allclose(np.loadtxt(tmp_path / "lean_p.tsv"), np.loadtxt(tmp_path / "full_p.tsv"), atol=1e-6)
    from weighted_bert import load

    assert out["labels"] == load(run, backend="onnx").predict(["the striker scored a late goal"])

    # the default backend (auto) answers through the export there too
    default = subprocess.run([str(tmp_path / "venv" / "bin" / "weighted-bert"), "predict", "--model", str(run),
                              "--data", str(data), "--output", str(tmp_path / "auto.tsv")],
                             capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
    assert default.returncode == 0, default.stderr
    assert (tmp_path / "auto.tsv").read_text().splitlines() == full

    # the PyTorch backend and training need the train extra: one line that says which install
    torch_backend = subprocess.run([str(tmp_path / "venv" / "bin" / "weighted-bert"), "predict", "--model", str(run),
                                    "--data", str(data), "--output", str(tmp_path / "t.tsv"), "--backend", "torch"],
                                   capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
    assert torch_backend.returncode == 2
    assert torch_backend.stderr.strip().splitlines() == [
        "error: this needs transformers, which the base install leaves out (it answers through a model folder's ONNX "
        'export: predict, serve, load); install the training stack: pip install "weighted-bert[train]"']
    assert not (tmp_path / "t.tsv").exists() and not (tmp_path / "t.tsv.parts").exists()

    # serve with the ONNX backend: two worker processes, no torch in either
    server = subprocess.Popen([str(tmp_path / "venv" / "bin" / "weighted-bert"), "serve", "--model", str(run),
                               "--backend", "onnx", "--workers", "2", "--port", "0"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        line = server.stdout.readline()
        assert "http://" in line, line + server.stderr.read()
        url = "http://" + line.split("http://", 1)[1].split(" ", 1)[0]
        answer = httpx.post(f"{url}/predict", json={"inputs": "the striker scored a late goal"}, timeout=60).json()
        assert answer[0][0]["label"] == out["labels"][0]  # the one text's classes, most probable first
    finally:
        stop_server(server)
