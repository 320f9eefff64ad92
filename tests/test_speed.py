"""Prediction keeps input order, the ONNX backend gives PyTorch's probabilities, the
automatic precision falls back to fp32 without bf16 hardware, and the length-grouped
sampler is a seeded permutation of similar-length batches."""

import json
import shutil

import numpy as np
import pytest
import torch

from weighted_bert import speed, trainer
from weighted_bert.cli import main
from weighted_bert.data import read_dataset
from weighted_bert.prediction import predict_logits
from weighted_bert.saved_model import load_fine_tuned
from weighted_bert.sampling import LengthGroupedSampler


def test_length_sorted_prediction_restores_input_order(trained_run, toy_data_dir):
    fine_tuned = load_fine_tuned(trained_run)
    examples = read_dataset(toy_data_dir / "test_data.txt").examples
    # Lengths in input order are far from sorted: pad some texts with repeated words.
    texts = [e.text + " the" * (i % 7) for i, e in enumerate(examples)]
    tokenizer, model = fine_tuned.tokenizer, fine_tuned.model
    encodings = tokenizer(texts, truncation=True, max_length=64)
    batched = predict_logits(model, tokenizer, {k: list(v) for k, v in encodings.items()}, batch_size=5)
    with torch.inference_mode():
        one_by_one = np.concatenate([model(**tokenizer([t], return_tensors="pt")).logits.numpy() for t in texts])
    assert np.abs(batched - one_by_one).max() < 1e-4


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


def test_auto_precision_without_bf16_hardware_is_fp32(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(trainer, "cpu_supports_bf16", lambda: False)
    assert trainer.mixed_precision("auto") == "fp32"
    monkeypatch.setattr(trainer, "cpu_supports_bf16", lambda: True)
    assert trainer.mixed_precision("auto") == "bf16"
    assert trainer.mixed_precision("fp32") == "fp32"


def test_cpu_bf16_detection_reads_the_cpu_flags(monkeypatch, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    monkeypatch.setattr(speed, "Path", lambda _: cpuinfo)
    cpuinfo.write_text("flags\t\t: fpu sse avx2 avx512f\n")
    assert not speed.cpu_supports_bf16()
    cpuinfo.write_text("flags\t\t: fpu avx512f avx512_bf16\n")
    assert speed.cpu_supports_bf16()


def test_length_grouped_sampler():
    lengths = np.random.default_rng(0).integers(3, 60, size=1000)
    sampler = LengthGroupedSampler(lengths, batch_size=8, seed=3, mega_factor=10)
    first = list(sampler)
    assert sorted(first) == list(range(1000))  # each example once
    assert lengths[first[0]] == lengths.max()  # the longest batch first
    batches = np.array([lengths[first[i:i + 8]] for i in range(0, 1000, 8)])
    random_batches = np.array([lengths[i:i + 8] for i in range(0, 1000, 8)])
    spread = (batches.max(1) - batches.min(1)).mean()
    random_spread = (random_batches.max(1) - random_batches.min(1)).mean()
    assert spread < random_spread / 4  # batches of similar length: little padding
    assert list(sampler) == first  # same epoch, same order
    sampler.set_epoch(1)
    assert list(sampler) != first


def test_mfu_is_logged_beside_the_loss(trained_run):
    steps = [json.loads(line) for line in (trained_run / "training_log.jsonl").read_text().splitlines()]
    logged = [s for s in steps if "loss" in s]
    assert logged and all(0 < s["mfu"] < 1 and s["tokens_per_second"] > 0 for s in logged[1:])


def test_measuring_the_peak_leaves_the_training_rng_alone():
    # The peak is measured at the first log line, mid-training: drawing from the global RNG
    # there would change the dropout masks of every later step (and break resuming).
    state = torch.get_rng_state()
    assert speed.matmul_peak_flops.__wrapped__("float32", "cpu", size=64, seconds=0.01) > 0
    assert torch.equal(torch.get_rng_state(), state)


def test_non_embedding_parameters_by_hand():
    model = torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.Linear(4, 3))
    assert speed.non_embedding_parameters(model) == 4 * 3 + 3  # the 40 embedding weights do not count
    # 6 N per token plus attention 12 * layers * hidden * seq_len: 6*15 + 12*2*4*5 = 90 + 480
    assert speed.flops_per_token(non_embedding_params=15, layers=2, hidden=4, seq_len=5) == 570
