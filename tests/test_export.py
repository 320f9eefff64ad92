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
    for backend, precision in (("torch", "fp32"), ("onnx", "fp32"), ("onnx-int8", "fp32"), ("openvino", "fp32"),
                               ("openvino", "bf16")):
        out = tmp_path / f"{backend}_{precision}.tsv"
        assert main(["predict", "--model-dir", str(trained_run), "--input", str(toy_data_dir / "test_data.txt"),
                     "--output", str(tmp_path / "p.tsv"), "--overwrite", "--probabilities", str(out), "--backend",
                     backend, "--precision", precision]) == 0
        probabilities[backend if precision == "fp32" else f"{backend} {precision}"] = np.loadtxt(out, delimiter="\t")
    assert np.abs(probabilities["onnx"] - probabilities["torch"]).max() < 1e-4  # its tokenizer: tokenizer.json alone
    assert np.abs(probabilities["onnx-int8"] - probabilities["torch"]).max() < 0.1  # int8: close, not equal
    assert np.abs(probabilities["openvino"] - probabilities["onnx"]).max() < 1e-5  # the same graph, fp32
    bf16 = np.abs(probabilities["openvino bf16"] - probabilities["onnx"]).max()
    assert 0 < bf16 < 0.05  # bf16 matrix multiplies: near, not equal
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


def test_openvino_backend_without_openvino_says_what_to_install(trained_run, toy_data_dir, tmp_path, capsys,
                                                                monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino raises ImportError
    run = shutil.copytree(trained_run, tmp_path / "run")
    (run / "model" / "onnx").mkdir(exist_ok=True)
    (run / "model" / "onnx" / "model.onnx").write_bytes(b"not read")
    assert main(["predict", "--model-dir", str(run), "--input", str(toy_data_dir / "test_data.txt"),
                 "--output", str(tmp_path / "p.tsv"), "--backend", "openvino"]) == 2
    err = capsys.readouterr().err.strip()
    assert 'needs OpenVINO: pip install "weighted-bert[openvino]"' in err and len(err.splitlines()) == 1


def test_the_int8_check_needs_int8(trained_run, capsys):
    assert main(["export", "--model", str(trained_run), "--check-data", "dev.txt"]) == 2
    assert "checks the int8 model; it needs --quantize int8" in capsys.readouterr().err


def test_train_writes_an_export_that_predict_answers_through_by_default(tiny_bert, toy_data_dir, tmp_path, capsys):
    """`train` exports at its end; `--backend auto` answers through the export while it matches the
    weights (the same probabilities as torch, no torch imported), follows a calibration folded in,
    and leaves an export of other weights alone (auto: torch; asked for: a clear error)."""
    pytest.importorskip("onnxscript")
    import os

    from helpers import TRAIN_FLAGS
    from safetensors.numpy import load_file, save_file

    from weighted_bert.calibration import Calibration, log_prior_from_counts
    from weighted_bert.export import export_is_current, resolve_backend
    from weighted_bert.inference import keep_calibration
    from weighted_bert.model_folder import load_fine_tuned

    flags = [f for f in TRAIN_FLAGS if f != "--no-export-onnx"]
    flags[flags.index("--epochs") + 1] = "2"
    run, test = tmp_path / "run", toy_data_dir / "test_data.txt"
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir", str(run),
                 *flags]) == 0
    model = run / "model"
    record = json.loads((model / "onnx" / "export.json").read_text())
    assert [w["file"] for w in record["weights"]] == ["model.safetensors"]
    assert len(record["weights"][0]["sha256"]) == 64 and export_is_current(model) == (True, "")
    assert resolve_backend(run, "auto") == "onnx" and resolve_backend(run, "auto", "bf16") == "torch"

    def probabilities(*flags):
        out = tmp_path / "probs.tsv"
        assert main(["predict", "--model", str(run), "--data", str(test), "--output", str(tmp_path / "p.tsv"),
                     "--overwrite", "--probabilities", str(out), *flags]) == 0
        return np.loadtxt(out, delimiter="\t")

    def lean_probabilities():  # a fresh process, the default backend: no torch, transformers or scikit-learn
        out = tmp_path / "lean.tsv"
        script = ("import sys; from weighted_bert.cli import main; "
                  f"code = main(['predict', '--model', {str(run)!r}, '--data', {str(test)!r}, '--output', "
                  f"{str(tmp_path / 'lean_p.tsv')!r}, '--overwrite', '--probabilities', {str(out)!r}]); "
                  "print(code, sorted(m for m in ('torch', 'transformers', 'sklearn') if m in sys.modules))")
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        assert done.stdout.split() == ["0", "[]"], done.stderr
        return np.loadtxt(out, delimiter="\t")

    np.testing.assert_allclose(lean_probabilities(), probabilities("--backend", "torch"), atol=1e-5)
    # a decision folded into the weights: the export is written again, and still answers as torch does
    before = np.loadtxt(tmp_path / "probs.tsv", delimiter="\t")
    fine_tuned = load_fine_tuned(run)
    log_train = log_prior_from_counts(fine_tuned.info.class_counts)
    keep_calibration(fine_tuned, Calibration(log_prior=list(log_train), tau=1.0, accepted=True))
    assert export_is_current(model) == (True, "")
    calibrated = probabilities("--backend", "torch")
    assert np.abs(calibrated - before).max() > 1e-3  # the decision moved the answers
    np.testing.assert_allclose(lean_probabilities(), calibrated, atol=1e-5)
    # a copy with new file times: the contents decide (hashed)
    os.utime(model / "model.safetensors", ns=(1, 1))
    assert export_is_current(model) == (True, "")
    # weights changed by another tool: auto answers with torch, an explicit onnx says what to run
    tensors = load_file(model / "model.safetensors")
    bias = next(name for name in tensors if name.endswith("classifier.bias"))
    tensors[bias] = tensors[bias] + np.float32(5.0) * (np.arange(len(tensors[bias])) == 0)
    save_file(tensors, model / "model.safetensors", metadata={"format": "pt"})
    assert export_is_current(model) == (False, "model.safetensors changed since the export")
    assert resolve_backend(run, "auto") == "torch"
    np.testing.assert_allclose(probabilities(), probabilities("--backend", "torch"), atol=1e-7)
    capsys.readouterr()
    assert main(["predict", "--model", str(run), "--data", str(test), "--output", "-", "--backend", "onnx"]) == 2
    assert "out of date (model.safetensors changed since the export)" in capsys.readouterr().err
