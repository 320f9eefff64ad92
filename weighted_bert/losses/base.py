"""What every loss shares."""

import torch


def upcast(logits: torch.Tensor) -> torch.Tensor:
    """Half-precision logits (bf16/fp16 autocast) to float32 for a stable softmax; float32
    and float64 pass through unchanged."""
    return logits if logits.dtype in (torch.float32, torch.float64) else logits.float()
