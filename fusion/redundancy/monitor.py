"""Online redundancy monitor: per-frame redundancy from pointwise contributions, thresholds from nominal frames.

One ``InformationEstimator`` is fitted on the cells of nominal frames (no faults); the thresholds are
calibrated on nominal frames of *other* scenes (``MonitorConfig``), which score like the new
frames the monitor will see rather than like the frames its denoiser learned. A frame is
scored alone: its P cell descriptors are the samples of one ``measure`` call with the monitor's
fixed Monte-Carlo seed, so its score depends on that frame only. Its statistics are the means over
its cells of: redundancy Ω = TC − DTC, total dependence S = TC + DTC and, per sensor i, what it
shares with the others, I(X_i; X∖i); all from the configurations a TC/DTC fit trains.

Ω and S summarise the whole system and move little when one of three sensors dies (a dead LiDAR
shifts S by about one nominal std); the per-sensor shares move by several stds, because the
others' denoisers no longer find in it what they predicted. A blacked-out camera can look like a
dark night camera to the shares. What no real frame lacks is variation over its cells (structure,
lit spots, sensor noise): the *spread* of a dead or frozen sensor (``descriptors.cell_spread``, the
log of its descriptor's variance over the frame's cells) sits at the round-off floor. Calibration
keeps per lighting group and sensor a *flat floor*, the lowest nominal spread divided by
``MonitorConfig.flat_factor``; a sensor below it is *flat*. Each sensor's surprise −log p(x_i)
(the pointwise ``entropy``) is not a statistic: it tells a blacked-out day camera apart too, but it
follows the scene's content (which cars, which buildings) by several nominal stds from one held-out
scene to the next, so with it a quarter of the nominal frames of new scenes fell outside a band
calibrated on four scenes (without it 3 %; blackouts are flat either way). Nominal statistics differ
between day and night (a dark camera shares less), so calibration keeps, per lighting group (``day``,
``night``, and ``all`` as the fallback for a group without calibration frames), their mean and
(Ledoit-Wolf shrunk) covariance over the nominal calibration frames and the 1 − ``false_alarm``
quantile of squared Mahalanobis distances measured scene-out (``nominal_band``). A frame is flagged
when its distance from its group's nominal exceeds that threshold, which catches a change in any
direction with one calibrated false-alarm rate, or when a sensor is flat (a nominal frame is that
only if it is ``flat_factor`` times flatter than every calibration frame of its group).

Folder::

    MONITOR_DIR/monitor.json               format, sensors, descriptor cell, MC repeats and seed,
                                           calibration: statistics (names, K = 2 + sensors), per
                                           group: frames, mean [K], cov [K, K], threshold, flat
                                           floor per sensor (log spread), and the
                                           fitting and calibration frame sets (disjoint scenes)
    MONITOR_DIR/estimator/                 the fitted estimator (``InformationEstimator.save``)
    MONITOR_DIR/null_latents.safetensors   encode(null input) per sensor kind [C, h, w] (descriptor offset)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from fusion.information.estimator import InformationEstimator
from fusion.redundancy.analysis import single_thread
from fusion.redundancy.collect import FrameDescriptors
from fusion.redundancy.config import MonitorConfig, RedundancyConfig
from fusion.redundancy.descriptors import cell_spread
from fusion.redundancy.sensors import Sensor
from perception.tensor_files import load_tensors
from preprocessing.atomic import atomic_directory, atomic_write_json
from preprocessing.errors import UserError

FORMAT = "nightfusion.redundancy-monitor/2"  # /2: flat floors
SYSTEM_STATISTICS = ("o_information", "s_information")
SENSOR_STATISTICS = ("mi_rest",)  # per-variable measures, one statistic per sensor each
FALLBACK = "all"


def lighting(frame: dict) -> str:
    return "night" if frame["night_scene"] else "day"


@dataclass
class Monitor:
    sensors: tuple[Sensor, ...]
    cell: int
    mc_repeats: int
    seed: int
    estimator: InformationEstimator
    null_latents: dict[str, np.ndarray]
    calibration: dict = field(default_factory=dict)  # group → {frames, mean, cov, threshold}; plus false_alarm

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.sensors]

    @property
    def statistic_names(self) -> list[str]:
        return [*SYSTEM_STATISTICS, *(f"{measure}:{name}" for measure in SENSOR_STATISTICS for name in self.names)]

    def statistics(self, descriptors: FrameDescriptors, progress=None) -> np.ndarray:
        """Per-frame (Ω, S, I(X_1; X∖1), …, I(X_N; X∖N)) [n, 2 + N], each frame measured alone."""
        if descriptors.cells < 2:
            raise UserError("the monitor needs at least 2 descriptor cells per frame; use a smaller cell")
        rows = []
        for i in range(len(descriptors)):
            cells = [descriptors.values[name][i] for name in self.names]  # each [P, C]
            result = self.estimator.measure(cells, ("tc", "dtc", *SENSOR_STATISTICS), mc_repeats=self.mc_repeats, seed=self.seed)
            tc, dtc = float(result["tc"].value), float(result["dtc"].value)
            per_sensor = (np.asarray(result[name].value, dtype=np.float64) for name in SENSOR_STATISTICS)
            rows.append((tc - dtc, tc + dtc, *np.concatenate(list(per_sensor))))
            if progress is not None:
                progress.advance()
        return np.asarray(rows, dtype=np.float64).reshape(-1, len(self.statistic_names))

    def spreads(self, descriptors: FrameDescriptors) -> np.ndarray:
        """Per-frame spread of each sensor's descriptor over the frame's cells [n, N] (``cell_spread``)."""
        return np.stack([cell_spread(descriptors.values[name]) for name in self.names], axis=1)

    def group_of(self, frame: dict) -> str:
        group = lighting(frame)
        return group if group in self.calibration.get("groups", {}) else FALLBACK

    def distances(self, frames: list[dict], statistics: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance [n] of each frame's statistics from its lighting group's nominal."""
        out = np.empty(len(frames))
        for i, frame in enumerate(frames):
            group = self.calibration["groups"][self.group_of(frame)]
            out[i] = squared_distances(statistics[i : i + 1], np.asarray(group["mean"]), np.asarray(group["cov"]))[0]
        return out

    def flat(self, frames: list[dict], spreads: np.ndarray) -> np.ndarray:
        """[n, N] True where a sensor's spread lies below its lighting group's flat floor."""
        floors = np.array([[self.calibration["groups"][self.group_of(f)]["flat_floor"][name] for name in self.names] for f in frames])
        return spreads < floors.reshape(spreads.shape)

    def flags(self, frames: list[dict], distances: np.ndarray, flat: np.ndarray) -> np.ndarray:
        """[n] outside the nominal band or with a flat sensor."""
        beyond = np.array([d > self.calibration["groups"][self.group_of(f)]["threshold"] for f, d in zip(frames, distances)], bool)
        return beyond | flat.any(axis=1)

    def calibrate(self, descriptors: FrameDescriptors, settings: MonitorConfig, progress=None) -> dict:
        """Per lighting group: mean / covariance of the nominal statistics, the distance threshold and the flat floors."""
        statistics, spreads = self.statistics(descriptors, progress), self.spreads(descriptors)
        k = statistics.shape[1]
        groups = {FALLBACK: np.ones(len(descriptors), bool)}
        for name in ("day", "night"):
            members = np.array([lighting(f) == name for f in descriptors.frames])
            if members.sum() >= 2 * k:  # a covariance of k statistics needs clearly more than k frames
                groups[name] = members
        if len(descriptors) < 3:  # the shrunk covariance copes with fewer frames than statistics, not with 2
            raise UserError(f"calibrating the monitor needs at least 3 nominal frames, got {len(descriptors)}")
        scenes = np.array([f["scene_name"] for f in descriptors.frames])
        self.calibration = {"false_alarm": settings.false_alarm, "flat_factor": settings.flat_factor,
                            "statistics": self.statistic_names, "groups": {}}  # fmt: skip
        for name, members in groups.items():
            mean, cov, threshold = nominal_band(statistics[members], scenes[members], settings.false_alarm)
            floors = spreads[members].min(axis=0) - np.log(settings.flat_factor)
            self.calibration["groups"][name] = {
                "frames": int(members.sum()), "mean": mean.tolist(), "cov": cov.tolist(), "threshold": threshold,
                "flat_floor": dict(zip(self.names, floors.tolist())),
            }  # fmt: skip
        return self.calibration

    def save(self, directory: Path, overwrite: bool = False) -> Path:
        if Path(directory).exists() and not overwrite:
            raise UserError(f"{directory} already exists")
        with atomic_directory(directory, overwrite=overwrite) as tmp:
            self.estimator.save(tmp / "estimator")
            save_file({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in self.null_latents.items()}, tmp / "null_latents.safetensors")
            atomic_write_json(tmp / "monitor.json", {
                "format": FORMAT,
                "sensors": [{"name": s.name, "kind": s.kind, "radar": s.radar} for s in self.sensors],
                "cell": self.cell, "mc_repeats": self.mc_repeats, "seed": self.seed, "calibration": self.calibration,
            })  # fmt: skip
        return Path(directory)

    @classmethod
    def load(cls, directory: Path) -> "Monitor":
        path = Path(directory) / "monitor.json"
        if not path.is_file():
            raise UserError(f"{directory} is not a redundancy monitor (no monitor.json)")
        meta = json.loads(path.read_text())
        if meta.get("format") != FORMAT:
            raise UserError(f"{path}: unsupported format {meta.get('format')!r}, expected {FORMAT!r}")
        nulls = {k: v.numpy() for k, v in load_tensors(Path(directory) / "null_latents.safetensors").items()}
        monitor = cls(
            sensors=tuple(Sensor(**s) for s in meta["sensors"]), cell=meta["cell"], mc_repeats=meta["mc_repeats"],
            seed=meta["seed"], estimator=InformationEstimator.load(Path(directory) / "estimator"), null_latents=nulls,
            calibration=meta["calibration"],
        )  # fmt: skip
        calibrated = monitor.calibration.get("statistics")
        if calibrated is not None and calibrated != monitor.statistic_names:
            raise UserError(f"{path}: calibrated on the statistics {calibrated}, this version uses {monitor.statistic_names}; "
                            "run `nightfusion monitor-calibrate` again")
        return monitor


def location_and_scatter(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean [k] and Ledoit-Wolf shrunk covariance [k, k] of values [n, k] (statistics of unequal scales are
    standardised first, so the shrinkage target treats them alike)."""
    from sklearn.covariance import LedoitWolf

    mean = values.mean(axis=0)
    scale = values.std(axis=0) + 1e-9
    shrunk = LedoitWolf().fit((values - mean) / scale).covariance_
    return mean, shrunk * np.outer(scale, scale) + 1e-12 * np.eye(values.shape[1])


def squared_distances(values: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    delta = values - mean
    return np.einsum("ij,ij->i", delta, np.linalg.solve(cov, delta.T).T)


def nominal_band(values: np.ndarray, scenes: np.ndarray, false_alarm: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Mean, covariance and distance threshold of nominal statistics [n, k].

    The threshold is the 1 − ``false_alarm`` quantile of *held-out* distances: each scene's frames
    measured against the band of the other scenes (each frame against the others with fewer than
    three scenes: against a single other scene, scene-to-scene differences would be all it sees).
    In-sample distances are too small for new scenes, so an in-sample quantile would flag far more
    than ``false_alarm`` of the nominal frames of a scene never seen in calibration."""
    k = values.shape[1]
    names = np.unique(scenes)
    folds = [scenes == name for name in names]
    if len(names) < 3 or min(int((~fold).sum()) for fold in folds) < k + 2:
        folds = [np.arange(len(values)) == i for i in range(len(values))]
    held_out = np.empty(len(values))
    for fold in folds:
        held_out[fold] = squared_distances(values[fold], *location_and_scatter(values[~fold]))
    mean, cov = location_and_scatter(values)
    return mean, cov, float(np.quantile(held_out, 1.0 - false_alarm))


def fit_monitor(train: FrameDescriptors, sensors: tuple[Sensor, ...], null_latents: dict[str, np.ndarray],
                config: RedundancyConfig, progress: bool = False) -> Monitor:  # fmt: skip
    """Fit the monitor's estimator on nominal frames (thresholds are set by ``Monitor.calibrate``)."""
    settings = config.monitor
    estimator = InformationEstimator(config.estimator.model_copy(update={"seed": settings.seed}))
    with single_thread():
        estimator.fit(train.samples([s.name for s in sensors], settings.dither, settings.seed), ("tc", "dtc"), progress=progress)
    return Monitor(sensors, config.cell, settings.mc_repeats, settings.seed, estimator, null_latents)
