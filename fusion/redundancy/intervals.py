"""Uncertainty of a report measure over what was measured: a bootstrap over frames or scenes (× seeds).

A measure is the mean of per-frame contributions (each frame: the mean pointwise contribution of
its cells). The cells of one frame are not independent samples — they see the same street at
the same instant — so their Monte-Carlo error says nothing about how the value would change on
other frames. The interval here resamples the measured *units* with replacement (frames, or whole
scenes when ``unit: scene``, because consecutive frames of a scene are alike too) and, when
several estimator seeds were fitted, one seed per resample, so the spread of the estimator's
training is in the interval as well. The percentile interval at ``level`` of the resampled means
is reported: "if the measured frames (scenes) had been another draw of the same kind, the value
would fall in here".
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from preprocessing.config import StrictModel


class IntervalConfig(StrictModel):
    unit: Literal["frame", "scene"] = "frame"
    level: float = Field(0.9, gt=0, lt=1)
    resamples: int = Field(1000, ge=100)
    seed: int = 0


def bootstrap_interval(per_frame: np.ndarray, units: np.ndarray, config: IntervalConfig) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval (low, high), each of shape [...], of the mean over frames of per_frame [S seeds, n frames, ...].

    ``units`` [n] names each frame's resampling unit (its key or its scene); units are drawn with
    replacement, all frames of a drawn unit count, and each resample reads one random seed.
    """
    rng = np.random.default_rng(config.seed)
    names, unit_of = np.unique(units, return_inverse=True)
    # per seed and unit: sum of contributions and frame count, so a resample is a weighted sum
    sums = np.stack([np.stack([values[unit_of == u].sum(axis=0) for u in range(len(names))]) for values in per_frame])  # [S, U, ...]
    counts = np.bincount(unit_of, minlength=len(names)).astype(np.float64)
    draws = rng.integers(len(names), size=(config.resamples, len(names)))
    weights = np.stack([np.bincount(row, minlength=len(names)) for row in draws]).astype(np.float64)  # [B, U]
    seeds = rng.integers(len(per_frame), size=config.resamples)
    totals = np.einsum("bu,bu...->b...", weights, sums[seeds])
    means = totals / (weights @ counts).reshape(-1, *([1] * (totals.ndim - 1)))
    tail = 100 * (1 - config.level) / 2
    return np.percentile(means, tail, axis=0), np.percentile(means, 100 - tail, axis=0)
