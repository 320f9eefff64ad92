"""Throughput as a fraction of what the hardware can do (model FLOPs utilisation, MFU).

Model FLOPs per real (unpadded) token for one training step: ``6 * N`` with N the
parameters outside the embedding tables (Kaplan et al., 2020: 2N for the forward pass,
4N for the backward pass; an embedding lookup is not a matrix multiply), plus the
attention scores ``12 * layers * hidden * tokens_in_sequence``, as in nanoGPT's
``estimate_mfu``. Padding tokens are not counted: work spent on padding is waste.
The peak is *measured* (a large matrix multiply in the dtype the model runs in) rather
than taken from a data sheet, so the ratio is honest on any CPU.

>>> flops_per_token(non_embedding_params=1_000_000, layers=2, hidden=64, seq_len=10)
6015360.0
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

import torch


def cpu_supports_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices natively (AVX512-BF16 or AMX); without
    it bf16 autocast is emulated and slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


def non_embedding_parameters(model: torch.nn.Module) -> int:
    embeddings = {id(p) for module in model.modules() if isinstance(module, torch.nn.Embedding)
                  for p in module.parameters(recurse=False)}
    return sum(p.numel() for p in model.parameters() if id(p) not in embeddings)


def flops_per_token(*, non_embedding_params: int, layers: int, hidden: int, seq_len: float) -> float:
    """Training FLOPs (forward and backward) per real token."""
    return 6.0 * non_embedding_params + 12.0 * layers * hidden * seq_len


def model_flops_per_token(model, seq_len: float) -> float:
    config = model.config
    return flops_per_token(non_embedding_params=non_embedding_parameters(model),
                           layers=getattr(config, "num_hidden_layers", 0),
                           hidden=getattr(config, "hidden_size", 0), seq_len=seq_len)


@functools.lru_cache(maxsize=8)
def matmul_peak_flops(dtype_name: str = "float32", device: str = "cpu", size: int = 2048,
                      seconds: float = 0.5) -> float:
    """FLOP/s of a ``size`` x ``size`` matrix multiply in ``dtype_name`` on ``device``,
    the best of repeated timings over about ``seconds``."""
    dtype = getattr(torch, dtype_name)
    generator = torch.Generator().manual_seed(0)  # never the global RNG: training draws from it
    a = torch.randn(size, size, generator=generator).to(device=device, dtype=dtype)
    b = torch.randn(size, size, generator=generator).to(device=device, dtype=dtype)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    a @ b
    sync()
    best, spent = 0.0, 0.0
    while spent < seconds:
        start = time.perf_counter()
        for _ in range(4):
            a @ b
        sync()
        elapsed = time.perf_counter() - start
        spent += elapsed
        best = max(best, 4 * 2 * size**3 / elapsed)
    return best
