"""Tensor form of the denoiser's configurations: the multi-time vector τ and per-coordinate roles."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from fusion.information.configurations import CLEAN, DIFFUSED


def tau(roles: torch.Tensor, t: torch.Tensor, horizon: float) -> torch.Tensor:
    """Multi-time vector τ [B, N] from roles [B, N] and times t [B, 1]."""
    t = t.expand(-1, roles.shape[-1])
    return torch.where(roles == CLEAN, torch.zeros_like(t), torch.where(roles == DIFFUSED, t, torch.full_like(t, horizon)))


def per_coordinate(roles: torch.Tensor, dims: Sequence[int]) -> torch.Tensor:
    """Repeat variable roles [..., N] over each variable's coordinates → [..., D]."""
    repeats = torch.as_tensor(list(dims), device=roles.device)
    return torch.repeat_interleave(roles, repeats, dim=-1)
