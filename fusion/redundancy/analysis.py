"""Information measures of one condition's sensor variables: fitted on some scenes, measured on others.

For every seed an ``InformationEstimator`` (fusion.information) is fitted on the cells of the
condition's *fitting* frames (plus the dither noise floor) and measured on the cells of its
*measured* frames, whole scenes apart (``fusion.redundancy.scenes``): an over-fitted denoiser
would otherwise report the structure it memorised as shared information. Measures, in nats: Ω,
TC, DTC, S, ∂_iΩ per sensor (three sensors or more), I(X_i; X∖i) per sensor (``mi_rest``, what a
sensor shares with all the others) and pairwise MINDE-j mutual information.

Per measure: ``value`` is the mean over seeds of the measured estimate, ``interval`` [low, high]
the bootstrap interval over measured frames or scenes × seeds (``fusion.redundancy.intervals``),
``seeds`` the value of each seed and ``mc_stderr`` the Monte-Carlo standard error of one
estimate (how precisely the integral was evaluated on these frames — not an uncertainty about
the sensors), ``gaussian_copula`` the Gaussian-copula value on the same measured samples and whether
it lies outside the interval (``fusion.information.comparison``: there the dependence is not a Gaussian
copula, or the estimator is off; the copula costs milliseconds; null when a sensor copies another
exactly). ``per_frame`` holds each measured frame's mean pointwise Ω / TC / DTC (mean over
seeds): the redundancy along a scene.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from fusion.information.estimator import InformationEstimator
from fusion.information.comparison import Comparison, copula_values
from fusion.information.results import InformationResult
from fusion.redundancy.collect import FrameDescriptors
from fusion.redundancy.config import RedundancyConfig
from fusion.redundancy.intervals import bootstrap_interval
from fusion.redundancy.scenes import describe

SCALARS = ("o_information", "tc", "dtc", "s_information")
PER_FRAME = ("o_information", "tc", "dtc")


def measures_for(n_sensors: int) -> tuple[str, ...]:
    return SCALARS + (("o_gradient",) if n_sensors >= 3 else ()) + ("mi_rest", "mi_j")


def _plain(array):
    """JSON-ready floats; NaN (the MI diagonal) → None."""
    array = np.asarray(array, dtype=float)
    if array.ndim == 0:
        return None if np.isnan(array) else round(float(array), 6)
    return [_plain(a) for a in array]


@contextmanager
def single_thread() -> Iterator[None]:
    """Train the small denoiser MLPs on one thread: a batch's matrices are too small to share, and on a
    busy 2-core machine two synchronising threads made training 10× slower than one. Measuring runs
    batches of thousands of rows and keeps every thread (1.6× faster on two idle cores)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def fit_and_measure(fit: list[np.ndarray], measured: list[np.ndarray], measures: tuple[str, ...], config: RedundancyConfig,
                    seed: int, progress: bool = False) -> InformationResult:  # fmt: skip
    """Fit one estimator on the ``fit`` variables and measure on the ``measured`` ones (lists of [n, C] per sensor)."""
    estimator = InformationEstimator(config.estimator.model_copy(update={"seed": seed}))
    with single_thread():
        estimator.fit(fit, measures, progress=progress)
    return estimator.measure(measured, mc_repeats=config.mc_repeats, seed=seed, progress=progress)


def summarise(results: list[InformationResult], measured: FrameDescriptors, measures: tuple[str, ...], config: RedundancyConfig,
              copula: dict[str, np.ndarray]) -> dict:  # fmt: skip
    """Value, bootstrap interval, per-seed values, MC stderr and the Gaussian-copula value of each measure
    (see the module docstring); ``copula`` holds the copula's values on the measured samples."""
    units = np.array([f["scene_name"] if config.interval.unit == "scene" else f["key"] for f in measured.frames])
    block = {}
    for name in measures:
        per_frame = np.stack([measured.per_frame(r[name].pointwise) for r in results])  # [S, n, ...]
        low, high = bootstrap_interval(per_frame, units, config.interval)
        values = [r[name].value for r in results]
        block[name] = {
            "value": _plain(np.mean(values, axis=0)),
            "interval": [_plain(low), _plain(high)],
            "seeds": [_plain(v) for v in values],
            "mc_stderr": _plain(np.mean([r[name].stderr for r in results], axis=0)),
            "gaussian_copula": None if name not in copula else {
                "value": _plain(copula[name]),
                "outside_interval": np.asarray(Comparison(copula[name], low, high).disagrees).tolist(),
            },
        }
    return block


def estimate_condition(fit: FrameDescriptors, measured: FrameDescriptors, sensors: list[str], config: RedundancyConfig,
                       progress: bool = False) -> dict:  # fmt: skip
    """The JSON block of one condition (see the module docstring)."""
    measures = measures_for(len(sensors))
    results = [
        fit_and_measure(fit.samples(sensors, config.dither, seed), measured.samples(sensors, config.dither, seed),
                        measures, config, seed, progress)  # fmt: skip
        for seed in config.seeds
    ]
    per_frame = {name: np.mean([measured.per_frame(r[name].pointwise) for r in results], axis=0) for name in PER_FRAME}
    copula = copula_values(measured.samples(sensors, config.dither, config.seeds[0]), measures)
    return {
        "frames": {"fit": describe(fit.frames), "measured": describe(measured.frames)},
        "cells_per_frame": measured.cells,
        "measures": summarise(results, measured, measures, config, copula),
        "interval": {"unit": config.interval.unit, "level": config.interval.level},
        "per_frame": [
            {"key": f["key"], "scene": f["scene_name"], "timestamp": f["timestamp"], **{m: _plain(per_frame[m][i]) for m in PER_FRAME}}
            for i, f in enumerate(measured.frames)
        ],
    }
