"""Prediction keeps input order, the ONNX backend gives PyTorch's probabilities, the
automatic precision falls back to fp32 without bf16 hardware, and the length-grouped
sampler is a seeded permutation of similar-length batches."""


import json

import torch

from weighted_bert import speed


def test_cpu_bf16_detection_reads_the_cpu_flags(monkeypatch, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    monkeypatch.setattr(speed, "Path", lambda _: cpuinfo)
    cpuinfo.write_text("flags\t\t: fpu sse avx2 avx512f\n")
    assert not speed.cpu_supports_bf16()
    cpuinfo.write_text("flags\t\t: fpu avx512f avx512_bf16\n")
    assert speed.cpu_supports_bf16()


def test_measuring_the_peak_leaves_the_training_rng_alone():
    # The peak is measured at the first log line, mid-training: drawing from the global RNG
    # there would change the dropout masks of every later step (and break resuming).
    state = torch.get_rng_state()
    assert speed.matmul_peak_flops.__wrapped__("float32", "cpu", size=64, seconds=0.01) > 0
    assert torch.equal(torch.get_rng_state(), state)


def test_the_measured_multiply_is_the_bounded_size(monkeypatch):
    # A dtype the probe finds slow (bf16 emulated on a CPU without native bf16) is measured at the
    # size bounded_size gives, not the one asked for: 100,000 a side would need 40 GB and, emulated,
    # hours. bounded_size's own arithmetic is in its doctests.
    seen = []
    monkeypatch.setattr(speed, "bounded_size", lambda size, probe, seconds: seen.append((size, probe)) or 64)
    assert speed.matmul_peak_flops.__wrapped__("float32", "cpu", size=100_000, seconds=0.01) > 0
    assert seen == [(100_000, speed.PROBE_SIZE)]


def test_non_embedding_parameters_by_hand():
    model = torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.Linear(4, 3))
    assert speed.non_embedding_parameters(model) == 4 * 3 + 3  # the 40 embedding weights do not count
    # 6 N per token plus attention 12 * layers * hidden * seq_len: 6*15 + 12*2*4*5 = 90 + 480
    assert speed.flops_per_token(non_embedding_params=15, layers=2, hidden=4, seq_len=5) == 570


def _fake_measurements(monkeypatch, values):
    """matmul_peak_flops' measurement returning ``values`` in turn; the in-process memo emptied."""
    calls = iter(values)
    monkeypatch.setattr(speed.matmul_peak_flops, "__wrapped__", lambda dtype, device: next(calls))
    monkeypatch.setattr(speed, "_PEAKS", {})


def test_the_peak_is_the_best_ever_measured_and_a_busy_moment_cannot_lower_it(monkeypatch, tmp_path):
    monkeypatch.setenv("WEIGHTED_BERT_CACHE", str(tmp_path))
    _fake_measurements(monkeypatch, [300e9, 120e9, 350e9])
    assert speed.peak_flops("float32") == 300e9  # measured once, stored
    monkeypatch.setattr(speed, "_PEAKS", {})
    assert speed.peak_flops("float32") == 300e9  # read back from the cache file: nothing measured
    assert speed.remeasure_peak("float32") == 300e9  # a busy measurement (120) does not lower it
    assert speed.remeasure_peak("float32") == 350e9  # a better one raises it
    stored = json.loads((tmp_path / speed.PEAKS).read_text())
    assert stored == {speed.machine_key("float32"): 350e9}
    (tmp_path / speed.PEAKS).write_text('{"' + speed.machine_key("float32") + '": "fast"}')  # damaged: measured again
    _fake_measurements(monkeypatch, [310e9])
    assert speed.peak_flops("float32") == 310e9
    assert "float32" in speed.machine_key("float32") and "threads" in speed.machine_key("float32")


def test_bf16_autocast_is_chosen_only_where_its_matmuls_measure_faster(monkeypatch, tmp_path):
    monkeypatch.setenv("WEIGHTED_BERT_CACHE", str(tmp_path))
    monkeypatch.setattr(speed, "cpu_supports_bf16", lambda: True)
    # the machine this was written on: AVX512-BF16, bf16 at half of fp32's rate
    monkeypatch.setattr(speed, "_PEAKS", {speed.machine_key("bfloat16"): 165e9, speed.machine_key("float32"): 323e9})
    assert not speed.cpu_bf16_pays()
    monkeypatch.setattr(speed, "_PEAKS", {speed.machine_key("bfloat16"): 700e9, speed.machine_key("float32"): 323e9})
    assert speed.cpu_bf16_pays()
    monkeypatch.setattr(speed, "cpu_supports_bf16", lambda: False)  # emulated bf16 never
    assert not speed.cpu_bf16_pays()


def test_an_mfu_above_one_measures_again_then_says_the_peak_is_in_doubt(monkeypatch, tmp_path, capsys):
    from weighted_bert.training import trainer

    monkeypatch.setenv("WEIGHTED_BERT_CACHE", str(tmp_path))
    monkeypatch.setattr(trainer, "model_flops_per_token", lambda model, seq_len: 1e6)
    fake = type("T", (), {"args": type("A", (), {"bf16": False, "fp16": False, "device": "cpu"})(),
                          "model": None, "train_dataset": type("D", (), {"mean_length": lambda self: 10.0})()})()
    _fake_measurements(monkeypatch, [50e9, 200e9])  # busy at first: 50 GFLOP/s
    assert trainer.WeightedTrainer._mfu(fake, 100_000) == {"mfu": 0.5}  # 1e11 / 2e11 after measuring again
    _fake_measurements(monkeypatch, [50e9, 60e9])
    monkeypatch.setenv("WEIGHTED_BERT_CACHE", str(tmp_path / "other"))
    assert trainer.WeightedTrainer._mfu(fake, 100_000) == {"mfu": round(1e11 / 60e9, 4), "mfu_peak_in_doubt": True}
    assert "is in doubt" in capsys.readouterr().err
