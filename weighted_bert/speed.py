"""Throughput as a fraction of what the hardware can do (model FLOPs utilisation, MFU).

Model FLOPs per real (unpadded) token for one training step: ``6 * N`` with N the
parameters outside the embedding tables (Kaplan et al., 2020: 2N for the forward pass,
4N for the backward pass; an embedding lookup is not a matrix multiply), plus the
attention scores ``12 * layers * hidden * tokens_in_sequence``, as in nanoGPT's
``estimate_mfu``. Padding tokens are not counted: work spent on padding is waste.
The peak is *measured* (a large matrix multiply in the dtype the model runs in) rather
than taken from a data sheet, so the ratio is honest on any CPU. A measurement taken while
another process loads the machine comes out low and would inflate MFU, so
:func:`peak_flops` keeps the highest rate ever measured on this machine, per device, dtype,
thread count and torch version, in a small cache file; an MFU above 1 sends it to measure
again, and one still above 1 is reported with the peak in doubt.

>>> flops_per_token(non_embedding_params=1_000_000, layers=2, hidden=64, seq_len=10)
6015360.0
"""

from __future__ import annotations

import functools
import json
import os
import time
from pathlib import Path

import torch

PEAKS = "peaks.json"  # in cache_dir(): machine key -> the highest FLOP/s measured
BF16_MARGIN = 1.2  # bf16 autocast pays on a CPU only when its matmuls beat fp32's by this (casts cost the rest)


def cache_dir() -> Path:
    """``$WEIGHTED_BERT_CACHE``, else ``$XDG_CACHE_HOME/weighted_bert``, else ``~/.cache/weighted_bert``."""
    if os.environ.get("WEIGHTED_BERT_CACHE"):
        return Path(os.environ["WEIGHTED_BERT_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "weighted_bert"


def machine_key(dtype_name: str, device: str = "cpu") -> str:
    """What a measured peak belongs to: the processor, thread count, torch version and dtype."""
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(torch.device(device))
    else:
        try:
            info = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
            name = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                         if line.startswith("model name")), "cpu")
        except OSError:
            name = "cpu"
    return f"{device.split(':')[0]}: {name} | {torch.get_num_threads()} threads | torch {torch.__version__} | {dtype_name}"


def _read_peaks() -> dict[str, float]:
    """The cache file's peaks; a damaged file or entry counts as not measured."""
    try:
        peaks = json.loads((cache_dir() / PEAKS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(peaks, dict):
        return {}
    return {k: float(v) for k, v in peaks.items() if isinstance(v, (int, float)) and v > 0}


def _keep_peak(key: str, flops: float) -> float:
    """Store ``flops`` for ``key`` when it beats what is stored; return the stored best."""
    from .files import atomic_write_text
    from .log import get_logger

    peaks = _read_peaks()
    best = max(flops, peaks.get(key, 0.0))
    if best > peaks.get(key, 0.0):
        try:
            cache_dir().mkdir(parents=True, exist_ok=True)
            atomic_write_text(cache_dir() / PEAKS, json.dumps({**peaks, key: best}, indent=1, sort_keys=True) + "\n")
        except OSError as err:  # a read-only home: the measurement still serves this process
            get_logger(__name__).debug(f"{cache_dir() / PEAKS}: not written ({err.strerror or err})")
    _PEAKS[key] = best
    return best


_PEAKS: dict[str, float] = {}


def peak_flops(dtype_name: str = "float32", device: str = "cpu") -> float:
    """The highest matrix-multiply FLOP/s measured on this machine in ``dtype_name``: from the
    cache, or measured now (best of several rounds) and kept."""
    key = machine_key(dtype_name, device)
    if key not in _PEAKS:
        stored = _read_peaks().get(key, 0.0)
        _PEAKS[key] = stored if stored > 0 else _keep_peak(key, matmul_peak_flops.__wrapped__(dtype_name, device))
    return _PEAKS[key]


def remeasure_peak(dtype_name: str = "float32", device: str = "cpu") -> float:
    """Measure the peak again (the stored one may come from a busy moment); return the best."""
    return _keep_peak(machine_key(dtype_name, device), matmul_peak_flops.__wrapped__(dtype_name, device))


def cpu_bf16_pays() -> bool:
    """Whether bf16 autocast speeds this CPU up: native bf16 (AVX512-BF16 or AMX) *and* a
    measured bf16 matrix multiply at least ``BF16_MARGIN`` times fp32's. Measured on a
    2-core Xeon with AVX512-BF16 and no AMX: bf16 at 165 GFLOP/s against fp32's 323, and a
    MiniLM training step twice as long under bf16 autocast; the flag alone would pick bf16."""
    return cpu_supports_bf16() and peak_flops("bfloat16") >= BF16_MARGIN * peak_flops("float32")


def automatic_precision(*, fp16: bool = True, device: str | None = None) -> str:
    """What ``--precision auto`` runs (training and serving alike): bf16 on GPUs that have it;
    on older GPUs fp16 where the caller can use it (``fp16``: training, with loss scaling),
    else fp32; on a CPU (or ``device="cpu"``) bf16 autocast only where :func:`cpu_bf16_pays`,
    else fp32."""
    if device != "cpu" and torch.cuda.is_available():
        if torch.cuda.is_bf16_supported():
            return "bf16"
        return "fp16" if fp16 else "fp32"
    return "bf16" if cpu_bf16_pays() else "fp32"


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


PROBE_SIZE = 256  # the multiply timed first, to size the measured one
MULTIPLY_SECONDS = 0.25  # the longest one measured multiply may be expected to take


def bounded_size(size: int, probe_size: int, probe_seconds: float, budget: float = MULTIPLY_SECONDS) -> int:
    """``size``, or less where a ``probe_size`` multiply that took ``probe_seconds`` says one of
    ``size`` would take longer than ``budget``: the side whose multiply takes ``budget`` at the
    probe's rate (2 n^3 FLOPs), down to a multiple of 64, never below ``probe_size``.

    >>> bounded_size(2048, 256, 0.0002)  # 168 GFLOP/s: a 2048 multiply takes 0.1 s
    2048
    >>> bounded_size(2048, 256, 0.15)  # 0.22 GFLOP/s: (0.25 x 2.24e8 / 2) ** (1/3) = 304 -> 256
    256
    >>> bounded_size(2048, 256, 0.01)  # 3.4 GFLOP/s: (0.25 x 3.36e9 / 2) ** (1/3) = 749 -> 704
    704
    """
    rate = 2 * probe_size**3 / max(probe_seconds, 1e-9)
    side = int((budget * rate / 2) ** (1 / 3)) // 64 * 64
    return max(probe_size, min(size, side))


@functools.lru_cache(maxsize=8)
def matmul_peak_flops(dtype_name: str = "float32", device: str = "cpu", size: int = 2048,
                      seconds: float = 0.5) -> float:
    """FLOP/s of a ``size`` x ``size`` matrix multiply in ``dtype_name`` on ``device``,
    the best of repeated timings over about ``seconds``; on a CPU, where a ``PROBE_SIZE`` multiply
    shows the dtype slow (bf16 emulated on a CPU without AVX512-BF16 or AMX: 0.2 GFLOP/s against
    fp32's 92 on a 2-core AMD EPYC, where one 2048 multiply took over a minute), a smaller
    size (:func:`bounded_size`)."""
    dtype = getattr(torch, dtype_name)
    generator = torch.Generator().manual_seed(0)  # never the global RNG: training draws from it
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    if not device.startswith("cuda"):  # a GPU's small multiply times its launch, not its rate
        probe = torch.randn(min(size, PROBE_SIZE), min(size, PROBE_SIZE), generator=generator).to(dtype=dtype)
        probe @ probe  # warm-up
        start = time.perf_counter()
        probe @ probe
        size = bounded_size(size, len(probe), time.perf_counter() - start)
    a = torch.randn(size, size, generator=generator).to(device=device, dtype=dtype)
    b = torch.randn(size, size, generator=generator).to(device=device, dtype=dtype)
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
