"""Transformer denoiser with one token per variable (thesis App. C.4, after DiT, Peebles & Xie 2023).

ε_θ(x, τ): x [B, D] (variables concatenated, D = Σ d_i) or [B, N, d]; τ [B, N] → ε̂ with the
shape of x. Each variable is embedded by its own linear map (inputs zero-padded to d_max) into a
token; absent variables (τ_i = T) become the NULL token (zeros) before the learned per-variable
embedding is added. Every token is conditioned on its own τ_i through adaLN-Zero, and attention
lets it see the others — better suited than the MLP to the many configurations of ∂_iΩ.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from timm.layers import Attention, Mlp
from torch import nn

from fusion.information.backbones.embedding import TauEmbedding
from fusion.information.schedule import VPSchedule


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale) + shift


class DiTBlock(nn.Module):
    """DiT block with adaLN-Zero conditioning; per-token condition c [B, N, H]."""

    def __init__(self, hidden: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden, num_heads=heads, qkv_bias=True)
        self.norm2 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(hidden, hidden_features=int(hidden * mlp_ratio), act_layer=lambda: nn.GELU(approximate="tanh"))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 6 * hidden))
        nn.init.zeros_(self.adaLN_modulation[-1].weight)
        nn.init.zeros_(self.adaLN_modulation[-1].bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(6, dim=-1)
        x = x + gate_msa * self.attn(modulate(self.norm1(x), shift_msa, scale_msa))
        return x + gate_mlp * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))


class VariableTransformer(nn.Module):
    """Multi-time noise predictor; see the module docstring for shapes."""

    def __init__(
        self,
        dims: Sequence[int],
        schedule: VPSchedule,
        width: int = 96,
        depth: int = 4,
        heads: int = 4,
        tau_features: int = 16,
    ):
        super().__init__()
        self.dims = tuple(dims)
        self.horizon = schedule.T
        n_vars, d_max = len(self.dims), max(self.dims)
        starts = torch.cumsum(torch.tensor((0,) + self.dims[:-1]), 0)
        slot = torch.arange(d_max)
        valid = slot[None, :] < torch.tensor(self.dims)[:, None]  # [N, d_max]
        # flat coordinate of every (variable, slot); padded slots point at an appended zero column
        self.register_buffer("gather_index", torch.where(valid, starts[:, None] + slot[None, :], sum(self.dims)), persistent=False)
        self.register_buffer("scatter_index", torch.flatten(valid).nonzero().squeeze(1), persistent=False)
        self.in_weight = nn.Parameter(torch.randn(n_vars, d_max, width) / d_max**0.5)
        self.in_bias = nn.Parameter(torch.zeros(n_vars, width))
        self.variable_embedding = nn.Parameter(torch.randn(n_vars, width) * 0.02)
        self.tau_embedding = TauEmbedding(tau_features, schedule)
        self.condition = Mlp(self.tau_embedding.out_features, hidden_features=width, out_features=width, act_layer=nn.SiLU)
        self.blocks = nn.ModuleList(DiTBlock(width, heads) for _ in range(depth))
        self.final_norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.final_modulation = nn.Sequential(nn.SiLU(), nn.Linear(width, 2 * width))
        self.out_weight = nn.Parameter(torch.zeros(n_vars, width, d_max))
        self.out_bias = nn.Parameter(torch.zeros(n_vars, d_max))
        nn.init.zeros_(self.final_modulation[-1].weight)
        nn.init.zeros_(self.final_modulation[-1].bias)

    def forward(self, x: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        flat = x.reshape(shape[0], -1)
        padded = torch.cat([flat, torch.zeros_like(flat[:, :1])], dim=1)[:, self.gather_index]  # [B, N, d_max]
        present = (tau < self.horizon).unsqueeze(-1).to(x.dtype)  # absent → NULL token
        tokens = (torch.einsum("bnd,ndh->bnh", padded, self.in_weight) + self.in_bias) * present
        c = self.condition(self.tau_embedding(tau))  # [B, N, H]
        h = tokens + self.variable_embedding + c
        for block in self.blocks:
            h = block(h, c)
        shift, scale = self.final_modulation(c).chunk(2, dim=-1)
        out = torch.einsum("bnh,nhd->bnd", modulate(self.final_norm(h), shift, scale), self.out_weight) + self.out_bias
        return out.reshape(shape[0], -1)[:, self.scatter_index].reshape(shape)
