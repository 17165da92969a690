"""Training precision, one setting for every trainer: float32, or the forward pass under bfloat16 autocast.

Weights, loss and optimiser stay float32 either way. The autocast is explicit (``forward_precision``)
rather than accelerate's ``mixed_precision``: accelerate keeps its state once per process, so two
stages of one ``nightfusion demo`` with different settings would clash.
"""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from pydantic import Field

Precision = Annotated[
    Literal["no", "bf16"],
    Field(description="bf16: forward under bfloat16 autocast (weights, loss and optimiser stay float32)"),
]


def forward_precision(precision: str, device_type: str = "cpu") -> torch.autocast:
    """The autocast context of a forward pass at ``precision`` on ``device_type`` (a no-op for ``no``)."""
    return torch.autocast(device_type, torch.bfloat16, enabled=precision == "bf16")
