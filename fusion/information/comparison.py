"""The Gaussian-copula value beside every score-based estimate, and where the two disagree (issue 21).

The Gaussian copula (``baselines.gaussian_copula_measures``: ranks → normal margins → closed Gaussian
formulas) costs milliseconds and is exact whenever the data is a monotone per-coordinate transform of
a Gaussian. The score-based estimate earns its cost where the dependence is *not* a Gaussian copula
(heavy joint tails, curved dependence), and that is where the two disagree.

Interval of a score-based estimate: value ± z·se with se = std(pointwise)/√n, the standard error over
the measured samples (each sample's contribution already averages the Monte-Carlo repeats, so se holds
both the sampling and the Monte-Carlo noise); z = 1.645 gives 90 %. The two *disagree* when the copula
value lies outside that interval. Neither the estimator's bias nor the copula's own sampling error is
in the interval: a disagreement says "the data is not a Gaussian copula, or the estimator is off",
and which to trust is what ``benchmarks/information.py`` measures on systems with a known answer.

A caller with its own interval (the redundancy report's bootstrap over frames or scenes) takes the
values from ``copula_values(measured_samples, measures)`` and the flag from
``Comparison(copula, low, high).disagrees``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fusion.information.baselines import gaussian_copula_measures
from fusion.information.results import NATS_PER_BIT, InformationResult, _plain
from fusion.information.variables import as_variables

Z_90 = 1.6448536269514722  # standard-normal 95th percentile: two-sided 90 % interval


@dataclass(frozen=True)
class Comparison:
    """One measure: the copula value and the score-based interval (scalars, [N] or [N, N] like the measure)."""

    copula: float | np.ndarray
    low: float | np.ndarray
    high: float | np.ndarray

    @property
    def disagrees(self) -> bool | np.ndarray:
        """Copula outside [low, high] (False where undefined, e.g. the MI diagonal)."""
        with np.errstate(invalid="ignore"):
            outside = (np.asarray(self.copula) < self.low) | (np.asarray(self.copula) > self.high)
        return bool(outside) if outside.ndim == 0 else outside

    def to_json(self) -> dict:
        return {"copula": _plain(self.copula), "interval": [_plain(self.low), _plain(self.high)],
                "disagrees": _plain(self.disagrees) if np.ndim(self.disagrees) else bool(self.disagrees)}


def copula_values(data, measures, bits: bool = False) -> dict[str, float | np.ndarray]:
    """Gaussian-copula value of every measure in ``measures`` that has one (all but ``entropy``); none at
    all when a variable copies another exactly (singular copula covariance: the copula's MI is infinite).

    ``data``: the variables as ``as_variables`` takes them (list of [n, d_i], or [n, N, d] / [n, N]).
    """
    x, dims = as_variables(data, "measured data")
    try:
        everything = gaussian_copula_measures(x.astype(np.float64), dims)
    except ValueError:  # ground_truth.gaussian_entropy: covariance not positive definite
        return {}
    scale = 1.0 / NATS_PER_BIT if bits else 1.0
    return {name: everything[name] * scale for name in measures if name != "entropy"}


def compare_with_copula(result: InformationResult, data, z: float = Z_90) -> dict[str, Comparison]:
    """Copula value and the estimate's interval for every measure of ``result`` measured on ``data``."""
    copula = copula_values(data, result.estimates, bits=result.unit == "bits")
    out = {}
    for name, value in copula.items():
        estimate = result[name]
        pointwise = estimate.pointwise
        stderr = pointwise.std(axis=0, ddof=1) / math.sqrt(pointwise.shape[0])  # NaN where the measure is undefined
        out[name] = Comparison(value, estimate.value - z * stderr, estimate.value + z * stderr)
    return out
