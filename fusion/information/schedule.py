"""VP-SDE noise schedule with log-SNR importance sampling of the diffusion time (SPEC §6).

Forward process on t ∈ [0, T]: β(t) = β_min + (β_max − β_min)·t, B(t) = ∫₀ᵗ β,
x_t = α_t·x_0 + σ_t·ε with α_t = exp(−B/2) and σ_t² = 1 − exp(−B).

Every information measure is a time integral ∫ β/(2σ²)·E‖Δε̂‖² dt. Since β/σ² = −dλ/dt with
λ = log(α²/σ²) the log-SNR, drawing t from the density q(t) ∝ β/σ² (uniform in λ) turns the
integral into (Z/2)·E_q‖Δε̂‖², Z being the normaliser of q. λ diverges at t = 0, so below t_ε the
density is held flat at its t_ε value (as in Huang et al. 2021, the official MINDE/SΩI code);
that slab holds about 5 % of the mass and its contribution to any measure is negligible.
Z is derived here from the schedule, never hard-coded.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class VPSchedule:
    """Linear-β variance-preserving SDE; all methods take and return tensors of any shape."""

    beta_min: float = 0.1
    beta_max: float = 20.0
    t_eps: float = 1e-3
    T: float = 1.0

    def beta(self, t: torch.Tensor) -> torch.Tensor:
        return self.beta_min + (self.beta_max - self.beta_min) * t

    def integral_beta(self, t: torch.Tensor) -> torch.Tensor:
        """B(t) = ∫₀ᵗ β(s) ds."""
        return self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t**2

    def alpha(self, t: torch.Tensor) -> torch.Tensor:
        return torch.exp(-0.5 * self.integral_beta(t))

    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(-torch.expm1(-self.integral_beta(t)))

    def log_snr(self, t: torch.Tensor) -> torch.Tensor:
        """λ(t) = log(α²/σ²) = −log(e^B − 1), decreasing from +∞ at t = 0."""
        return -torch.log(torch.expm1(self.integral_beta(t)))

    def time_of_log_snr(self, lam: torch.Tensor) -> torch.Tensor:
        """Inverse of ``log_snr``: solve B(t) = log(1 + e^−λ) for t ≥ 0."""
        b = torch.nn.functional.softplus(-lam)
        slope = self.beta_max - self.beta_min
        return (-self.beta_min + torch.sqrt(self.beta_min**2 + 2.0 * slope * b)) / slope

    def _scalar(self, fn, t: float) -> float:
        return float(fn(torch.tensor(t, dtype=torch.float64)))

    @property
    def flat_density(self) -> float:
        """Unnormalised density β/σ² at t_ε, held constant on [0, t_ε]."""
        t = torch.tensor(self.t_eps, dtype=torch.float64)
        return float(self.beta(t) / self.sigma(t) ** 2)

    @property
    def normaliser(self) -> float:
        """Z = t_ε·β(t_ε)/σ²(t_ε) + λ(t_ε) − λ(T): the mass of the unnormalised sampling density."""
        return self.t_eps * self.flat_density + self._scalar(self.log_snr, self.t_eps) - self._scalar(self.log_snr, self.T)

    @property
    def flat_mass(self) -> float:
        """Share of the sampling mass on the flat slab [0, t_ε] (≈ 5 % for the default schedule)."""
        return self.t_eps * self.flat_density / self.normaliser

    @property
    def integral_weight(self) -> float:
        """Factor turning E_q‖Δε̂‖² into ∫ β/(2σ²)·E‖Δε̂‖² dt."""
        return 0.5 * self.normaliser

    def density(self, t: torch.Tensor) -> torch.Tensor:
        """Normalised importance density q(t) on [0, T]."""
        flat = torch.full_like(t, self.flat_density)
        curved = self.beta(t) / self.sigma(t.clamp_min(self.t_eps)) ** 2
        return torch.where(t < self.t_eps, flat, curved) / self.normaliser

    def sample_t(self, shape: tuple[int, ...], generator: torch.Generator | None = None, stratified: bool = False) -> torch.Tensor:
        """Draw t ~ q by inverting its CDF: linear on the flat slab, uniform in λ above it.

        ``stratified`` puts exactly one draw in each of the n equal-mass strata of q (in random
        order): still t ~ q for every draw, with a lower-variance Monte-Carlo integral.
        """
        u = torch.rand(shape, generator=generator, dtype=torch.float64)
        if stratified:
            n = u.numel()
            u = ((torch.randperm(n, generator=generator).reshape(shape) + u) / n)
        mass = u * self.normaliser
        slab = self.t_eps * self.flat_density
        lam = self._scalar(self.log_snr, self.t_eps) - (mass - slab)
        t = torch.where(mass <= slab, mass / self.flat_density, self.time_of_log_snr(lam))
        return t.clamp(0.0, self.T).to(torch.float32)

    def diffuse(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t = α_t x_0 + σ_t ε; ``t`` broadcasts against ``x0`` (e.g. [B, 1] with x0 [B, D])."""
        return self.alpha(t) * x0 + self.sigma(t) * noise

    def to_dict(self) -> dict:
        return {"beta_min": self.beta_min, "beta_max": self.beta_max, "t_eps": self.t_eps, "T": self.T}

