"""The exact noise predictor of a Gaussian system, with the denoiser's ``forward(x, tau)`` contract.

For x_0 ~ N(0, Σ) and a configuration with denoised set D (τ_i = t), clean set C (τ_i = 0) and
absent variables (τ_i = T, ignored), the optimal ε-prediction is the Gaussian conditional mean

    E[ε_D | x_t,D, x_0,C] = [σ I, 0] · K⁻¹ · [x_t,D; x_0,C],
    K = [[α² Σ_DD + σ² I, α Σ_DC], [α Σ_CD, Σ_CC]],

with zeros on non-denoised coordinates. Plugging it into the estimators isolates their
Monte-Carlo and time-truncation error from any training error (tests, benchmark reference).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from fusion.information.multitime import per_coordinate
from fusion.information.schedule import VPSchedule


class GaussianOracle(nn.Module):
    """x [B, D], tau [B, N] → exact ε̂ [B, D] for data ~ N(0, ``covariance``) (already standardised)."""

    def __init__(self, covariance: np.ndarray, dims: Sequence[int], schedule: VPSchedule):
        super().__init__()
        self.dims, self.schedule = tuple(dims), schedule
        self.register_buffer("covariance", torch.as_tensor(covariance, dtype=torch.float64))

    def forward(self, x: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        return self.predict(x, tau)[0]

    def predict(self, x: torch.Tensor, tau: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(ε̂ with the shape of x, typicality [B]): the second is the Mahalanobis norm x_obsᵀ K⁻¹ x_obs of the
        observed coordinates per observed coordinate (≈ 1 for samples of this Gaussian)."""
        shape = x.shape
        x = x.reshape(shape[0], -1).double()
        t = torch.where(tau < self.schedule.T, tau, torch.zeros_like(tau)).max(dim=1, keepdim=True).values.double()  # the shared t
        tau_c = per_coordinate(tau, self.dims).double()
        denoised = (tau_c > 0) & (tau_c < self.schedule.T)
        clean = tau_c == 0
        alpha, sigma = self.schedule.alpha(t), self.schedule.sigma(t)  # [B, 1]
        # K over the observed coordinates; unobserved ones get an identity block so K stays invertible
        a = torch.where(denoised, alpha, torch.ones_like(x))
        observed = (denoised | clean).double()
        k = a[:, :, None] * self.covariance * a[:, None, :] * observed[:, :, None] * observed[:, None, :]
        k = k + torch.diag_embed(torch.where(denoised, sigma**2, torch.zeros_like(x)) + (1 - observed))
        x = x * observed
        solved = torch.linalg.solve(k, x.unsqueeze(-1)).squeeze(-1)
        typicality = (x * solved).sum(dim=1) / observed.sum(dim=1).clamp_min(1)
        return torch.where(denoised, sigma * solved, torch.zeros_like(x)).float().reshape(shape), typicality.float()
