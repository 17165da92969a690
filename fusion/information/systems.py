"""Benchmark systems with exact information measures (thesis §5.4.1, App. C.3, C.5; SPEC §6).

- Gaussian systems with variable-level correlation C (N×N) and d coordinates per variable,
  Σ = C ⊗ I_d: ``factor_model`` (X_i = Σ_k L_ik F_k + noise, unit variances), ``redundant`` (X_i = R + ε_i, ρ = 1/(1+σ²)), ``synergistic`` (X_1 ~ N(0, I),
  X_2 = X_1 + S_1 + … + S_{N−2}, X_i = S_{i−2} + ε, standardised: Eq. C.7) and ``mixed``
  (independent subsystems side by side).
- ``StudentTSystem``: the same dispersion with a shared χ² scale — heavy tails and a dependence
  that is not a Gaussian copula (even C = I gives TC > 0); exact through Student-t entropies.
- ``TransformedSystem``: a per-variable bijection applied to samples (``half_cube``,
  ``normal_cdf`` per coordinate; ``spiral`` and ``shear``, which mix a variable's coordinates), which
  leaves every measure unchanged. Half-cube and CDF are monotone per coordinate, so a Gaussian copula
  stays exact on them; the spiral and Student-t break it.

Samples are arrays [n, N, d].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import block_diag
from scipy.special import ndtr

from fusion.information.ground_truth import (
    block_entropy,
    gaussian_measures,
    measures_from_entropy,
    student_t_entropy,
)


@dataclass(frozen=True)
class GaussianSystem:
    """Zero-mean Gaussian, variable-level correlation ``correlation`` [N, N], ``dim`` coordinates each."""

    correlation: np.ndarray
    dim: int = 1
    name: str = "gaussian"

    @property
    def n_vars(self) -> int:
        return self.correlation.shape[0]

    @property
    def dims(self) -> tuple[int, ...]:
        return (self.dim,) * self.n_vars

    @property
    def covariance(self) -> np.ndarray:
        """[N·d, N·d], variables concatenated."""
        return np.kron(self.correlation, np.eye(self.dim))

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        chol = np.linalg.cholesky(self.covariance)
        z = np.random.default_rng(seed).standard_normal((n, chol.shape[0]))
        return (z @ chol.T).reshape(n, self.n_vars, self.dim)

    def ground_truth(self) -> dict:
        return gaussian_measures(self.covariance, self.dims)


def redundant(n_vars: int, dim: int = 1, *, rho: float | None = None, noise: float | None = None) -> GaussianSystem:
    """X_i = R + ε_i standardised: unit variances, every pair correlated ρ = 1/(1 + noise²)."""
    if (rho is None) == (noise is None):
        raise ValueError("give exactly one of rho, noise")
    rho = 1.0 / (1.0 + noise**2) if rho is None else rho
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"rho must be in [0, 1), got {rho}")
    correlation = np.full((n_vars, n_vars), rho) + (1.0 - rho) * np.eye(n_vars)
    return GaussianSystem(correlation, dim, f"redundant(N={n_vars}, rho={rho:.3g})")


def synergistic(n_vars: int, dim: int = 1, *, rho: float | None = None, noise: float | None = None) -> GaussianSystem:
    """Standardised synergy system of Eq. C.7; ρ = 1/√(1 + noise²) is how cleanly X_i (i ≥ 3) shows S_{i−2}."""
    if n_vars < 3:
        raise ValueError("a synergistic system needs at least 3 variables")
    if (rho is None) == (noise is None):
        raise ValueError("give exactly one of rho, noise")
    rho = 1.0 / np.sqrt(1.0 + noise**2) if rho is None else rho
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"rho must be in [0, 1), got {rho}")
    scale = 1.0 / np.sqrt(n_vars - 1)
    correlation = np.eye(n_vars)
    correlation[0, 1] = correlation[1, 0] = scale
    correlation[1, 2:] = correlation[2:, 1] = rho * scale
    return GaussianSystem(correlation, dim, f"synergistic(N={n_vars}, rho={rho:.3g})")


def factor_model(loadings: np.ndarray, dim: int = 1) -> GaussianSystem:
    """X_i = Σ_k L_ik F_k + √(1 − ‖L_i‖²)·ε_i with independent standard F, ε: correlation L Lᵀ off the diagonal.

    ``loadings`` [N, K] with every row norm below 1 (unequal rows: unequal shares of the factors).
    """
    loadings = np.atleast_2d(np.asarray(loadings, dtype=float))
    norms = (loadings**2).sum(axis=1)
    if np.any(norms >= 1.0):
        raise ValueError(f"every loading row needs a norm below 1, got squared norms {norms}")
    correlation = loadings @ loadings.T + np.diag(1.0 - norms)
    return GaussianSystem(correlation, dim, f"factor(N={len(norms)}, K={loadings.shape[1]})")


def mixed(*parts: GaussianSystem) -> GaussianSystem:
    """Independent subsystems side by side (variables in the order given)."""
    dims = {part.dim for part in parts}
    if len(dims) != 1:
        raise ValueError("all parts of a mixed system need the same dimension per variable")
    return GaussianSystem(block_diag(*(p.correlation for p in parts)), dims.pop(), "mixed[" + ", ".join(p.name for p in parts) + "]")


@dataclass(frozen=True)
class StudentTSystem:
    """X = Z / √(W/ν), Z ~ N(0, dispersion of ``base``), W ~ χ²_ν shared by all variables."""

    base: GaussianSystem
    dof: float

    @property
    def name(self) -> str:
        return f"student-t(nu={self.dof:g}) {self.base.name}"

    @property
    def n_vars(self) -> int:
        return self.base.n_vars

    @property
    def dims(self) -> tuple[int, ...]:
        return self.base.dims

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        z = self.base.sample(n, seed)
        w = np.random.default_rng((seed, 1)).chisquare(self.dof, size=(n, 1, 1))
        return z / np.sqrt(w / self.dof)

    def ground_truth(self) -> dict:
        entropy = block_entropy(self.base.covariance, self.dims, lambda m: student_t_entropy(m, self.dof))
        return measures_from_entropy(entropy, self.n_vars)


def half_cube(x: np.ndarray) -> np.ndarray:
    """x ↦ x·√|x| per coordinate (longer tails)."""
    return x * np.sqrt(np.abs(x))


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """x ↦ Φ(x) per coordinate (uniform margins)."""
    return ndtr(x)


def spiral(x: np.ndarray, speed: float = 0.5) -> np.ndarray:
    """Rotate each variable's coordinate pairs (0,1), (2,3), … by the angle speed·‖x_i‖².

    Rotations keep ‖x_i‖, so the map is a bijection of each variable (its inverse turns by
    −speed·‖x_i‖²) that mixes coordinates nonlinearly. x [n, N, d] with d ≥ 2.
    """
    if x.shape[-1] < 2:
        raise ValueError("the spiral needs at least 2 coordinates per variable")
    angle = speed * (x**2).sum(axis=-1, keepdims=True)  # [n, N, 1]
    out = x.copy()
    pairs = x.shape[-1] // 2 * 2
    first, second = x[..., 0:pairs:2], x[..., 1:pairs:2]
    out[..., 0:pairs:2] = np.cos(angle) * first - np.sin(angle) * second
    out[..., 1:pairs:2] = np.sin(angle) * first + np.cos(angle) * second
    return out


def shear(x: np.ndarray, strength: float = 0.5) -> np.ndarray:
    """y_0 = x_0, y_k = x_k + strength·x_{k−1}² within each variable: a triangular bijection (inverse:
    x_k = y_k − strength·x_{k−1}², coordinate by coordinate) with curved, non-monotone dependence.
    x [n, N, d] with d ≥ 2."""
    if x.shape[-1] < 2:
        raise ValueError("the shear needs at least 2 coordinates per variable")
    out = x.copy()
    out[..., 1:] += strength * x[..., :-1] ** 2
    return out


TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "half_cube": half_cube, "normal_cdf": normal_cdf, "spiral": spiral, "shear": shear}


@dataclass(frozen=True)
class TransformedSystem:
    """``base`` with a per-variable bijection applied to its samples: same ground truth."""

    base: GaussianSystem | StudentTSystem
    transform: str
    kwargs: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.transform} {self.base.name}"

    @property
    def n_vars(self) -> int:
        return self.base.n_vars

    @property
    def dims(self) -> tuple[int, ...]:
        return self.base.dims

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        return TRANSFORMS[self.transform](self.base.sample(n, seed), **self.kwargs)

    def ground_truth(self) -> dict:
        # every dependence measure is invariant under per-variable bijections; the entropies are not
        return {name: value for name, value in self.base.ground_truth().items() if name != "entropy"}

