"""Residual MLP denoiser over the concatenated variables (thesis App. B.2.3, C.3.2): the default backbone.

ε_θ(x, τ): x [B, D] (variables concatenated, D = Σ d_i) or [B, N, d]; τ [B, N] → ε̂ with the
shape of x. The configuration enters only through τ (per-variable sinusoidal features → MLP →
FiLM scale/shift in every block); absent variables are fed as pure noise with τ_i = T.
The schedule only shapes the τ embedding (see ``embedding``). With ``channels`` > 1 it predicts that many
values per coordinate ([B, channels, D]); ``extra_features`` > 0 adds a per-sample condition [B, E] (embedded
by its own MLP) to the τ condition: both for ``gaussian_skip``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from timm.layers import Mlp
from torch import nn

from fusion.information.backbones.embedding import TauEmbedding
from fusion.information.schedule import VPSchedule


class ResidualBlock(nn.Module):
    """h + MLP(FiLM(LayerNorm(h), c)), zero-initialised so every block starts as the identity."""

    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False)
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(width, 2 * width))
        self.mlp = Mlp(width, hidden_features=2 * width, act_layer=nn.SiLU)
        nn.init.zeros_(self.mlp.fc2.weight)
        nn.init.zeros_(self.mlp.fc2.bias)

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        scale, shift = self.modulation(c).chunk(2, dim=-1)
        return h + self.mlp(self.norm(h) * (1 + scale) + shift)


class ResidualMLP(nn.Module):
    """Multi-time noise predictor; see the module docstring for shapes."""

    def __init__(self, dims: Sequence[int], schedule: VPSchedule, width: int = 128, depth: int = 3, tau_features: int = 16,
                 channels: int = 1, extra_features: int = 0):
        super().__init__()
        self.dims, self.channels = tuple(dims), channels
        total, n_vars = sum(self.dims), len(self.dims)
        self.tau_embedding = TauEmbedding(tau_features, schedule)
        self.condition = Mlp(n_vars * self.tau_embedding.out_features, hidden_features=width, out_features=width, act_layer=nn.SiLU)
        self.extra = Mlp(extra_features, hidden_features=width, out_features=width, act_layer=nn.SiLU) if extra_features else None
        self.input = nn.Linear(total, width)
        self.blocks = nn.ModuleList(ResidualBlock(width) for _ in range(depth))
        self.output = nn.Sequential(nn.LayerNorm(width), nn.SiLU(), nn.Linear(width, channels * total))
        nn.init.zeros_(self.output[-1].weight)
        nn.init.zeros_(self.output[-1].bias)

    def forward(self, x: torch.Tensor, tau: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        shape = x.shape
        c = self.condition(self.tau_embedding(tau).flatten(1))  # [B, width]
        if self.extra is not None:
            c = c + self.extra(extra)
        h = self.input(x.reshape(shape[0], -1)) + c
        for block in self.blocks:
            h = block(h, c)
        out = self.output(h)
        return out.reshape(shape) if self.channels == 1 else out.reshape(shape[0], self.channels, -1)
