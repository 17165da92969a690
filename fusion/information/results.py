"""Measured information quantities: value, Monte-Carlo uncertainty and per-sample contributions."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

NATS_PER_BIT = math.log(2.0)


@dataclass(frozen=True)
class Estimate:
    """One measure. ``value``/``std`` are scalars, [N] (∂_iΩ) or [N, N] (pairwise MI, NaN on the diagonal).

    ``std`` is the standard deviation of the estimate over Monte-Carlo repeats (each repeat: one
    time/noise draw per sample, averaged over samples); ``pointwise`` [n, ...] holds each sample's
    contribution averaged over repeats, whose mean over samples is ``value``.
    """

    value: float | np.ndarray
    std: float | np.ndarray
    pointwise: np.ndarray
    repeats: int

    @property
    def stderr(self) -> float | np.ndarray:
        return self.std / math.sqrt(self.repeats)

    def scaled(self, factor: float) -> "Estimate":
        return Estimate(self.value * factor, self.std * factor, self.pointwise * factor, self.repeats)


def _plain(value):
    """JSON-ready: numpy → lists, NaN → None."""
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return None if math.isnan(float(array)) else float(array)
    return [_plain(item) for item in array]


@dataclass(frozen=True)
class InformationResult:
    """All measures of one ``measure`` call, in nats or bits."""

    estimates: dict[str, Estimate]
    unit: str
    n_samples: int

    def __getitem__(self, name: str) -> Estimate:
        return self.estimates[name]

    def __contains__(self, name: str) -> bool:
        return name in self.estimates

    def to_json(self) -> dict:
        """Values and uncertainties (no pointwise arrays: see ``pointwise``)."""
        return {
            "unit": self.unit,
            "n_samples": self.n_samples,
            "measures": {
                name: {"value": _plain(e.value), "std": _plain(e.std), "stderr": _plain(e.stderr), "mc_repeats": e.repeats}
                for name, e in self.estimates.items()
            },
        }

    def pointwise(self) -> dict[str, np.ndarray]:
        return {name: e.pointwise for name, e in self.estimates.items()}
