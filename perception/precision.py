"""Training precision, one setting for every trainer: float32, or the forward pass under bfloat16 autocast.

Weights, loss and optimiser stay float32 either way. bfloat16 only pays where the hardware computes it:
a demo camera-autoencoder step took 0.57 s instead of 0.9 s on a Xeon with AMX, and 19 s instead of 1.4 s
on an AVX2-only EPYC (emulated bfloat16). ``auto`` therefore takes bfloat16 only where it is native.
The autocast is explicit (``forward_precision``) rather than accelerate's ``mixed_precision``:
accelerate keeps its state once per process, so two stages of one ``nightfusion demo`` with different
settings would clash.
"""

from __future__ import annotations

import warnings
from functools import cache
from typing import Annotated, Literal

import torch
from pydantic import Field

Precision = Annotated[
    Literal["no", "bf16", "auto"],
    Field(description="bf16: forward under bfloat16 autocast (weights, loss and optimiser stay float32); "
                      "auto: bf16 where the device computes it natively (AMX / AVX512-BF16 CPUs, bf16 GPUs), else float32"),
]  # fmt: skip


@cache
def native_bf16(device_type: str) -> bool:
    """Whether ``device_type`` has bfloat16 arithmetic in hardware (elsewhere autocast emulates it, many times slower)."""
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device_type == "cpu":
        return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return False


def resolve_precision(precision: str, device_type: str = "cpu") -> Literal["no", "bf16"]:
    """``auto`` → ``bf16`` where native, else ``no``; an explicit ``bf16`` stays, with a warning where it is emulated."""
    if precision == "auto":
        return "bf16" if native_bf16(device_type) else "no"
    if precision == "bf16" and not native_bf16(device_type):
        warnings.warn(f"mixed_precision bf16: this {device_type} has no native bfloat16, so it is emulated and slower than "
                      "float32 (a CPU needs AMX or AVX512-BF16); mixed_precision auto picks float32 here", stacklevel=2)  # fmt: skip
    return precision


def forward_precision(precision: str, device_type: str = "cpu") -> torch.autocast:
    """The autocast context of a forward pass at a resolved ``precision`` on ``device_type`` (a no-op for ``no``)."""
    if precision not in ("no", "bf16"):
        raise ValueError(f"forward_precision takes a resolved precision (no, bf16), not {precision!r}: resolve_precision first")
    return torch.autocast(device_type, torch.bfloat16, enabled=precision == "bf16")
