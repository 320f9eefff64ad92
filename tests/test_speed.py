"""Prediction keeps input order, the ONNX backend gives PyTorch's probabilities, the
automatic precision falls back to fp32 without bf16 hardware, and the length-grouped
sampler is a seeded permutation of similar-length batches."""


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


def test_non_embedding_parameters_by_hand():
    model = torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.Linear(4, 3))
    assert speed.non_embedding_parameters(model) == 4 * 3 + 3  # the 40 embedding weights do not count
    # 6 N per token plus attention 12 * layers * hidden * seq_len: 6*15 + 12*2*4*5 = 90 + 480
    assert speed.flops_per_token(non_embedding_params=15, layers=2, hidden=4, seq_len=5) == 570
