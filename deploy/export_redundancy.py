"""The ``redundancy`` section of the manifest and its ``redundancy.npz``: how the runtime scores a frame.

``--info`` is either a redundancy monitor folder (``fusion.redundancy.monitor``: estimator, descriptor
cell, null latents, Monte-Carlo repeats and seed, nominal (Ω, S) per lighting group) or a bare
information estimator folder. Descriptors follow ``fusion.redundancy.extract``: per sensor, (normalised latent −
latent of a null input) pooled over cell × cell windows → [P, C]; a bare estimator gets one window
covering the whole latent grid. The score is the pointwise integrand of ``fusion.information``
(SPEC §6) averaged over the P cells and R repeats, at the (t, ε, filler) draws that
``InformationEstimator.measure(..., mc_repeats=R, seed=seed)`` makes for P samples — fixed here so the
numpy runtime reproduces the monitor's score. The measures are expanded with
``fusion.information.measures.plan`` into divergences over the denoiser's configurations. With a
monitor, the manifest keeps its ``night`` group's nominal (Ω, S) mean, covariance and distance
threshold (the vehicle enhances night frames; its ``all`` group when ``night`` was not calibrated).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fusion.information.estimator import InformationEstimator
from fusion.information.measures import Divergence, SelfInformation, plan, required_configurations
from fusion.redundancy.extract import NULL_INPUT
from fusion.redundancy.monitor import FALLBACK, Monitor
from preprocessing.errors import UserError

DRAWS_FILE = "redundancy.npz"
SENSORS = ("camera", "radar", "lidar")  # the vehicle's sensor variables; the camera records the night frame
SCORED_MEASURES = ("o_information", "s_information", "tc", "dtc", "mi_rest", "entropy")  # the last two: one value per sensor
GROUP = "night"


@dataclass(frozen=True)
class ScoreSource:
    """What defines the score: the estimator, descriptor window (cell_h, cell_w), null latents, draws,
    and a monitor's nominal band."""

    estimator: InformationEstimator
    window: tuple[int, int]
    null_latents: dict[str, np.ndarray]  # kind → [C, h, w]
    score: str
    repeats: int
    seed: int
    nominal: dict | None  # {group, statistics [K names], mean [K], cov [K, K], threshold, frames}


def available_measures(estimator: InformationEstimator) -> list[str]:
    """The measures of ``SCORED_MEASURES`` whose configurations the denoiser was trained on."""
    trained, n_vars = set(estimator.configurations), len(estimator.dims)
    return [name for name in SCORED_MEASURES if set(required_configurations((name,), n_vars)) <= trained]


def null_latents(autoencoders) -> dict[str, np.ndarray]:
    """encode(null input) [C, h, w] per autoencoder kind, as ``fusion.redundancy.extract`` computes it."""
    height, width = autoencoders.model("camera").normalizer.mean.shape[1:]
    f = autoencoders.downsample
    out = {}
    for kind in SENSORS:
        channels = autoencoders.model(kind).codec.in_channels
        null = torch.full((1, channels, height * f, width * f), NULL_INPUT[kind])
        out[kind] = autoencoders.encode(kind, null)[0].numpy()
    return out


def score_source(info: Path, autoencoders, grid: tuple[int, int], repeats: int, seed: int) -> ScoreSource:
    """Read a monitor folder or a bare estimator folder (``--info``)."""
    info = Path(info)
    if (info / "monitor.json").is_file():
        monitor = Monitor.load(info)
        kinds = tuple(sensor.kind for sensor in monitor.sensors)
        if kinds != SENSORS or any(sensor.radar is not None for sensor in monitor.sensors):
            raise UserError(f"{info}: the vehicle runtime scores the sensors {', '.join(SENSORS)} (all radars in one map); "
                            f"this monitor uses {monitor.names}")
        groups = monitor.calibration.get("groups", {})
        group = GROUP if GROUP in groups else FALLBACK
        nominal = None
        if group in groups:
            nominal = {"group": group, "statistics": monitor.calibration["statistics"], **groups[group]}
        return ScoreSource(monitor.estimator, (monitor.cell, monitor.cell), monitor.null_latents, "o_information",
                           monitor.mc_repeats, monitor.seed, nominal)  # fmt: skip
    estimator = InformationEstimator.load(info)
    measures = available_measures(estimator)
    return ScoreSource(estimator, grid, null_latents(autoencoders), "o_information" if "o_information" in measures else "tc",
                       repeats, seed, None)  # fmt: skip


def expand(measures: list[str], sensors: tuple[str, ...]) -> tuple[list, dict, dict, dict]:
    """(configurations, divergences {name: [[i, left, right]]}, self-informations {name: [i, configuration]},
    measures {name: [[coef, integrand name]]}).

    A per-variable measure becomes one entry per sensor, ``name:sensor`` (e.g. ``mi_rest:lidar``),
    the names the monitor's nominal statistics use."""
    plans = {}
    for name in measures:
        for index, combination in plan(name, len(sensors)).items():
            plans[":".join([name, *(sensors[i] for i in index)])] = combination
    items = sorted({d for combination in plans.values() for _, d in combination}, key=repr)
    configurations = sorted({c for d in items for c in d.configurations})
    index = {c: k for k, c in enumerate(configurations)}
    names = {d: f"d{k}" for k, d in enumerate(items)}
    return (
        [list(c) for c in configurations],
        {names[d]: [[i, index[left], index[right]] for i, left, right in d.terms] for d in items if isinstance(d, Divergence)},
        {names[d]: [d.variable, index[d.configuration]] for d in items if isinstance(d, SelfInformation)},
        {name: [[coef, names[d]] for coef, d in combination] for name, combination in plans.items()},
    )


def measure_draws(estimator: InformationEstimator, cells: int, repeats: int, seed: int) -> dict[str, np.ndarray]:
    """The draws of ``fusion.information.evaluation.pointwise_integrands`` for ``cells`` samples:
    per repeat and batch, t (stratified), then ε, then the filler. → t/alpha/sigma [R, P], noise/filler [R, P, D]."""
    schedule, total = estimator.schedule, sum(estimator.dims)
    generator = torch.Generator().manual_seed(seed)
    batch_size = estimator.config.eval_batch_size
    t, noise, filler = [], [], []
    for _ in range(repeats):
        parts = []
        for start in range(0, cells, batch_size):
            size = min(batch_size, cells - start)
            parts.append((schedule.sample_t((size, 1), generator, stratified=True),
                          torch.randn((size, total), generator=generator), torch.randn((size, total), generator=generator)))
        t.append(torch.cat([p[0] for p in parts]))
        noise.append(torch.cat([p[1] for p in parts]))
        filler.append(torch.cat([p[2] for p in parts]))
    t = torch.stack(t)[..., 0]  # [R, P]
    return {"t": t.numpy(), "alpha": schedule.alpha(t).numpy(), "sigma": schedule.sigma(t).numpy(),
            "noise": torch.stack(noise).numpy(), "filler": torch.stack(filler).numpy()}  # fmt: skip


def redundancy_section(source: ScoreSource, latent_channels: int, grid: tuple[int, int], folder: Path) -> dict:
    """Write ``folder/redundancy.npz`` (draws, null latents) and return the manifest section."""
    estimator = source.estimator
    if estimator.gaussianizer is not None:
        raise UserError("the vehicle runtime standardises descriptors; fit the information estimator with marginals: standardize")
    if estimator.config.gaussian_skip:
        raise UserError("the vehicle runtime runs the denoiser network alone; fit the information estimator with gaussian_skip: false")
    expected = (latent_channels,) * len(SENSORS)
    if tuple(estimator.dims) != expected:
        raise UserError(f"the information estimator was fitted on variables of dimensions {list(estimator.dims)}; the "
                        f"vehicle descriptors are {', '.join(SENSORS)} of {latent_channels} values each")
    window = source.window
    if grid[0] % window[0] or grid[1] % window[1]:
        raise UserError(f"descriptor cell {window} does not divide the latent grid {grid}")
    measures = available_measures(estimator)
    if source.score not in measures:
        raise UserError(f"the information estimator was fitted for {list(estimator.measures)}; the score "
                        f"{source.score} needs the configurations of {source.score}")
    cells = (grid[0] // window[0]) * (grid[1] // window[1])
    draws = measure_draws(estimator, cells, source.repeats, source.seed)
    nulls = {f"null_{kind}": np.asarray(source.null_latents[kind], np.float32) for kind in SENSORS}
    np.savez(folder / DRAWS_FILE, **draws, **nulls)
    configurations, divergences, self_information, combinations = expand(measures, SENSORS)
    return {
        "sensors": list(SENSORS),
        "descriptor": "(normalised latent − latent of a null input) averaged over window × window cells",
        "window": list(window),
        "cells": cells,
        "dims": list(expected),
        "standardizer": {"mean": estimator.standardizer.mean.tolist(), "std": estimator.standardizer.std.tolist()},
        "schedule": estimator.schedule.to_dict(),
        "integral_weight": estimator.schedule.integral_weight,
        "horizon": estimator.schedule.T,
        "configurations": configurations,
        "divergences": divergences,
        "self_information": self_information,
        "measures": combinations,
        "score": source.score,
        "nominal": source.nominal,
        "repeats": source.repeats,
        "seed": source.seed,
        "draws_file": DRAWS_FILE,
        "units": "nats",
    }

