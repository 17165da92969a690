"""Element-wise latent normalisation (thesis App. A.1.1).

``LatentStatistics`` accumulates sums over any number of batches (the thesis used one batch; here
the number is configurable) and yields the mean/std; ``LatentNormalizer`` holds them as buffers and
maps raw latents z [B, C, h, w] to (z − mean) / std and back. Statistics have shape [C, h, w]
("element") or [C, 1, 1] ("channel").
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

from perception.tensor_files import load_tensors


class LatentStatistics:
    """Running float64 sums of latents over batches; ``per`` selects element- or channel-wise."""

    def __init__(self, per: str):
        self.per = per
        self.count = 0
        self.total: torch.Tensor | None = None
        self.total_sq: torch.Tensor | None = None

    def update(self, z: torch.Tensor) -> None:
        """Add a batch of raw latents [B, C, h, w]."""
        z = z.detach().to(torch.float64)
        dims = (0,) if self.per == "element" else (0, 2, 3)
        total, total_sq = z.sum(dim=dims), z.square().sum(dim=dims)
        count = z.numel() // total.numel()
        if self.total is None:
            self.total, self.total_sq = total, total_sq
        elif self.total.shape != total.shape:
            raise ValueError(f"latent shape changed between batches: {tuple(self.total.shape)} vs {tuple(total.shape)}")
        else:
            self.total, self.total_sq = self.total + total, self.total_sq + total_sq
        self.count += count

    def result(self, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, std) as float32 [C, h, w] or [C, 1, 1]; std is floored at ``eps``."""
        if self.total is None or self.count < 2:
            raise ValueError("latent statistics need at least two samples")
        mean = self.total / self.count
        var = (self.total_sq / self.count - mean.square()) * self.count / (self.count - 1)
        std = var.clamp_min(0.0).sqrt().clamp_min(eps)
        shape = mean.shape if self.per == "element" else (*mean.shape, 1, 1)
        return mean.reshape(shape).float(), std.reshape(shape).float()


class LatentNormalizer(nn.Module):
    """z_norm = (z − mean) / std with buffers mean, std of shape [C, h, w] or [C, 1, 1]."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        if mean.shape != std.shape or mean.dim() != 3:
            raise ValueError(f"mean/std must share a [C, h, w] shape, got {tuple(mean.shape)} and {tuple(std.shape)}")
        self.register_buffer("mean", mean.clone())
        self.register_buffer("std", std.clone())

    @classmethod
    def identity(cls, channels: int) -> LatentNormalizer:
        return cls(torch.zeros(channels, 1, 1), torch.ones(channels, 1, 1))

    def normalize(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.mean) / self.std

    def denormalize(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.std + self.mean

    def check_grid(self, latent_shape: tuple[int, ...]) -> None:
        """Element-wise statistics only apply to the latent grid they were measured on."""
        grid = tuple(self.mean.shape[1:])
        if grid != (1, 1) and tuple(latent_shape[-2:]) != grid:
            raise ValueError(
                f"latent grid {tuple(latent_shape[-2:])} differs from the grid {grid} the element-wise normalisation "
                "was measured on; use inputs at the training resolution (or train with normalization.per: channel)"
            )

    def save(self, path: Path) -> None:
        save_file({"mean": self.mean.contiguous(), "std": self.std.contiguous()}, str(path))

    @classmethod
    def load(cls, path: Path) -> LatentNormalizer:
        tensors = load_tensors(path)
        return cls(tensors["mean"], tensors["std"])
