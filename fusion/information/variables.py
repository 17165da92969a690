"""Turning user data into the flat float32 layout of the denoiser, with per-coordinate standardisation.

Accepted inputs (n ≥ 1 samples, N ≥ 2 variables):

- a list of arrays, one per variable, each [n, d_i] (or [n] for a scalar variable);
- an array [n, N, d] (N variables of equal dimension d);
- an array [n, N] (N scalar variables).

The result is ``(x [n, D], dims)`` with D = Σ d_i and variables concatenated in order.
Standardising each coordinate is a per-variable bijection, so every measure is unchanged by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from preprocessing.errors import UserError


def _as_2d(array: np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim == 1:
        return array[:, None]
    if array.ndim != 2:
        raise UserError(f"{what} must be [n] or [n, d], got shape {array.shape}")
    return array


def as_variables(data, source: str = "data") -> tuple[np.ndarray, tuple[int, ...]]:
    """Validate ``data`` and return ``(x [n, D] float32, dims)``; raise UserError naming ``source``."""
    if isinstance(data, (list, tuple)):
        blocks = [_as_2d(block, f"{source}: variable {i}") for i, block in enumerate(data)]
    else:
        array = np.asarray(data)
        if array.ndim == 2:
            blocks = [array[:, i : i + 1] for i in range(array.shape[1])]
        elif array.ndim == 3:
            blocks = [array[:, i] for i in range(array.shape[1])]
        else:
            raise UserError(f"{source}: expected a list of [n, d_i] arrays or an array [n, N, d] / [n, N], got shape {array.shape}")
    if len(blocks) < 2:
        raise UserError(f"{source}: need at least 2 variables, got {len(blocks)}")
    sizes = {block.shape[0] for block in blocks}
    if len(sizes) != 1:
        raise UserError(f"{source}: variables have different numbers of samples {sorted(sizes)}")
    if sizes.pop() == 0:
        raise UserError(f"{source}: no samples")
    for i, block in enumerate(blocks):
        if block.dtype.kind not in "iuf":  # complex would be cast to its real part, silently
            raise UserError(f"{source}: variable {i} is not real numeric data (dtype {block.dtype})")
        if block.shape[1] == 0:
            raise UserError(f"{source}: variable {i} has no coordinates")
        bad = ~np.isfinite(block)
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise UserError(f"{source}: variable {i} has a non-finite value (first at sample {row})")
    x = np.concatenate([block.astype(np.float32) for block in blocks], axis=1)
    return x, tuple(int(block.shape[1]) for block in blocks)


@dataclass(frozen=True)
class Standardizer:
    """Per-coordinate affine map to zero mean and unit variance, fitted on training data."""

    mean: np.ndarray  # [D]
    std: np.ndarray  # [D]

    @classmethod
    def fit(cls, x: np.ndarray, dims: Sequence[int]) -> "Standardizer":
        mean = x.mean(axis=0, dtype=np.float64)
        std = x.std(axis=0, dtype=np.float64)
        constant = np.flatnonzero(std <= 1e-12 * np.maximum(1.0, np.abs(mean)))
        if constant.size:
            variable = int(np.searchsorted(np.cumsum(dims), constant[0], side="right"))
            raise UserError(f"variable {variable} has a constant coordinate: it carries no information, drop it")
        return cls(mean.astype(np.float32), std.astype(np.float32))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std).astype(np.float32)

    def log_scale(self, dims: Sequence[int]) -> np.ndarray:
        """[N] Σ log std over each variable's coordinates: log p(x_i) = log p(standardised x_i) − log_scale[i]."""
        ends = np.cumsum(dims)
        return np.array([np.log(self.std[end - d : end].astype(np.float64)).sum() for d, end in zip(dims, ends)])


@dataclass(frozen=True)
class MarginalGaussianizer:
    """Per-coordinate map to standard-normal margins: x ↦ Φ⁻¹(F̂(x)), F̂ the training data's empirical CDF
    interpolated between ``knots`` [K, D] (its quantiles at ``levels`` [K]).

    A strictly increasing map of each coordinate leaves every dependence measure unchanged, so an
    estimator fitted on Gaussianised margins is invariant to monotone per-coordinate transforms by
    construction (half-cube, normal CDF, heavy-tailed margins) and its network only has to model
    the dependence. Entropies are not invariant: they need the standardised margins."""

    levels: np.ndarray  # [K] increasing probabilities in (0, 1)
    knots: np.ndarray  # [K, D] non-decreasing per column

    @classmethod
    def fit(cls, x: np.ndarray, count: int = 512) -> "MarginalGaussianizer":
        """Knots at ``count`` evenly spaced levels plus the training extremes, each sample at its Hazen plotting
        position (k − ½)/n. Why the extremes: without them every coordinate's ½/count tails were held at one
        value — point masses in 2 % of the samples of a 10-coordinate system, which the variable flows, fitted
        by likelihood, learned to exploit."""
        n = x.shape[0]
        # clipped: with fewer than ``count`` samples, levels beyond the extremes would repeat the extreme knots
        levels = np.unique(np.clip(np.concatenate([[0.5 / n], (np.arange(count) + 0.5) / count, [1 - 0.5 / n]]), 0.5 / n, 1 - 0.5 / n))
        return cls(levels, np.quantile(x.astype(np.float64), levels, axis=0, method="hazen"))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        from scipy.special import ndtri

        out = np.empty(x.shape, np.float64)
        for j in range(x.shape[1]):  # outside the training range the extreme levels are held
            out[:, j] = np.interp(x[:, j], self.knots[:, j], self.levels)
        return ndtri(out).astype(np.float32)

    def to_json(self) -> dict:
        return {"levels": self.levels.tolist(), "knots": self.knots.tolist()}

    @classmethod
    def from_json(cls, data: dict) -> "MarginalGaussianizer":
        return cls(np.asarray(data["levels"], np.float64), np.asarray(data["knots"], np.float64))
