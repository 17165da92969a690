"""Per-variable embedding of the multi-time vector τ, shared by both backbones.

Each τ_i is mapped to its normalised log-SNR position u = (λ(t_ε) − λ(τ_i)) / (λ(t_ε) − λ(T)) ∈ [0, 1]
(clean τ = 0 is clamped to u = 0, absent τ = T gives u = 1, the same as pure noise). Training draws
t uniformly in λ, so u is spread evenly, whereas t itself crowds the informative high-SNR range
into t < 0.05. Sinusoidal features of u (diffusers' timestep embedding, about 8 periods over
[0, 1] down to a nearly linear one) plus a "clean" flag form the embedding.
"""

from __future__ import annotations

import torch
from diffusers.models.embeddings import get_timestep_embedding
from torch import nn

from fusion.information.schedule import VPSchedule

PHASE_SCALE, MAX_PERIOD = 50.0, 500


class TauEmbedding(nn.Module):
    """tau [B, N] → [B, N, features + 1]."""

    def __init__(self, features: int, schedule: VPSchedule):
        super().__init__()
        self.features = features
        self.out_features = features + 1
        self.schedule = schedule
        self.lam_high = float(schedule.log_snr(torch.tensor(schedule.t_eps, dtype=torch.float64)))
        self.lam_low = float(schedule.log_snr(torch.tensor(schedule.T, dtype=torch.float64)))

    def forward(self, tau: torch.Tensor) -> torch.Tensor:
        lam = self.schedule.log_snr(tau.clamp_min(self.schedule.t_eps))
        u = ((self.lam_high - lam) / (self.lam_high - self.lam_low)).clamp(0.0, 1.0)
        flat = get_timestep_embedding(
            u.reshape(-1) * PHASE_SCALE, self.features, flip_sin_to_cos=True, downscale_freq_shift=0, max_period=MAX_PERIOD)
        clean = (tau == 0).to(flat.dtype).reshape(-1, 1)
        return torch.cat([flat, clean], dim=1).reshape(tau.shape[0], tau.shape[1], self.out_features)
