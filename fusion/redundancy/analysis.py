"""Information measures of one condition's sensor variables, with uncertainty over estimator seeds.

For every seed an ``InformationEstimator`` (fusion.information) is fitted on the condition's
samples (one per frame cell, plus the dither noise floor) and measured on the same samples:
Ω, TC, DTC, S, ∂_iΩ per sensor and pairwise MINDE-j mutual information, in nats. A measure's
``value`` is the mean over seeds, ``std`` the standard deviation over seeds (None with one seed),
``mc_stderr`` the Monte-Carlo standard error of one estimate (mean over seeds); ``error`` is
what the plots draw: ``std`` when there are several seeds, else ``mc_stderr``. ``per_frame``
holds each frame's mean pointwise Ω / TC / DTC (mean over seeds): the redundancy along a scene.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from fusion.information.estimator import InformationEstimator
from fusion.information.results import InformationResult
from fusion.redundancy.collect import FrameDescriptors
from fusion.redundancy.config import RedundancyConfig

SCALARS = ("o_information", "tc", "dtc", "s_information")
PER_FRAME = ("o_information", "tc", "dtc")


def measures_for(n_sensors: int) -> tuple[str, ...]:
    return SCALARS + (("o_gradient",) if n_sensors >= 3 else ()) + ("mi_j",)


def _summary(values: list[np.ndarray], stderrs: list[np.ndarray]) -> dict:
    """Mean / std over seeds and mean MC stderr of one measure (scalar, [N] or [N, N])."""
    stack, errors = np.stack(values), np.stack(stderrs)
    std = stack.std(axis=0, ddof=1) if len(values) > 1 else None
    mc = errors.mean(axis=0)
    return {
        "value": _plain(stack.mean(axis=0)),
        "std": _plain(std) if std is not None else None,
        "mc_stderr": _plain(mc),
        "error": _plain(std if std is not None else mc),
        "seeds": [_plain(v) for v in values],
    }


def _plain(array):
    """JSON-ready floats; NaN (the MI diagonal) → None."""
    array = np.asarray(array, dtype=float)
    if array.ndim == 0:
        return None if np.isnan(array) else round(float(array), 6)
    return [_plain(a) for a in array]


@contextmanager
def single_thread() -> Iterator[None]:
    """Run the small denoiser MLPs on one thread: their matrices are too small to share, and on a
    busy 2-core machine two synchronising threads made training 10× slower than one."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def fit_and_measure(samples: list[np.ndarray], measures: tuple[str, ...], config: RedundancyConfig, seed: int,
                    progress: bool = False) -> InformationResult:  # fmt: skip
    estimator = InformationEstimator(config.estimator.model_copy(update={"seed": seed}))
    with single_thread():
        estimator.fit(samples, measures, progress=progress)
        return estimator.measure(samples, mc_repeats=config.mc_repeats, seed=seed, progress=progress)


def estimate_condition(descriptors: FrameDescriptors, sensors: list[str], config: RedundancyConfig,
                       progress: bool = False) -> dict:  # fmt: skip
    """The JSON block of one condition (see the module docstring)."""
    measures = measures_for(len(sensors))
    results = [
        fit_and_measure(descriptors.samples(sensors, config.dither, seed), measures, config, seed, progress)
        for seed in config.seeds
    ]
    block = {name: _summary([r[name].value for r in results], [r[name].stderr for r in results]) for name in measures}
    per_frame = {name: np.mean([descriptors.per_frame(r[name].pointwise) for r in results], axis=0) for name in PER_FRAME}
    return {
        "frames": len(descriptors),
        "samples": len(descriptors) * descriptors.cells,
        "measures": block,
        "per_frame": [
            {"key": f["key"], "scene": f["scene_name"], "timestamp": f["timestamp"], **{m: _plain(per_frame[m][i]) for m in PER_FRAME}}
            for i, f in enumerate(descriptors.frames)
        ],
    }
