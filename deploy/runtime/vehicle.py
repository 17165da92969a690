"""The vehicle-side pipeline for one frame: read sensors, project, enhance, score redundancy.

``VehicleRuntime(models, settings).process(frame_dir)`` never raises for a bad frame: it returns
the enhanced image (or None) and a log record::

    frame       the frame folder's name
    status      "ok" | "skipped" (the frame cannot be enhanced: bad calibration, unreadable or corrupt
                image, non-finite output)
                | "failed" (an unexpected error; the message is in ``error``)
    flags       what was wrong with the inputs or outputs, e.g. lidar_missing, radar_partial,
                lidar_nonfinite_points, lidar_empty (present, but no return in the camera's view),
                image_unreadable, image_corrupt (damaged data: never enhanced as a grey-filled frame),
                calibration_invalid, output_nonfinite (NaN/inf in the enhanced frame: not written; or in
                the redundancy values: ``redundancy`` is null), redundancy_out_of_band (see ``FLAGS``)
    present     the modalities the model was conditioned on (night, radar, lidar)
    sensors     per sensor channel: "ok", "missing" or the reason it was unusable
    points      returns in view per point sensor and non-finite points dropped
    redundancy  per-frame O-information, S-information, TC, DTC (nats), ``score`` and, with a monitor,
                the Mahalanobis ``distance`` of (Ω, S) from nominal, the ``flat`` sensors and ``in_band``; null without an
                information model
    latency_ms  total and per stage (read, project, encode, denoise, per_step, decode, redundancy)
    output      the enhanced frame's file, relative to the run folder (set by ``sequence``), or null
    error       message of a skipped or failed frame

A missing or unreadable LiDAR or radar leaves that modality absent (the denoiser replaces it by
noise, as in training) and gives it the zero descriptor in the redundancy score (a dead sensor, as
the monitor sees it); radars that work are used even if others fail.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from deploy.runtime.enhance import Enhancer
from deploy.runtime.graphs import Graphs
from deploy.runtime.manifest import load_manifest
from deploy.runtime.recording import FrameCalibration, FrameError, SensorFileError, read_calibration, read_lidar, read_radar
from deploy.runtime.redundancy import RedundancyScore
from deploy.runtime.sensors import camera_input, lidar_map, radar_map
from preprocessing.images import CorruptImageError
from preprocessing.pointclouds import RadarFilters
from preprocessing.sample import SampleError, read_rgb, sample_seed

FLAGS = (
    "calibration_invalid", "image_unreadable", "image_corrupt", "lidar_missing", "lidar_unreadable",
    "lidar_nonfinite_points", "lidar_empty", "radar_missing", "radar_partial", "radar_nonfinite_points", "radar_empty",
    "output_nonfinite", "redundancy_out_of_band", "internal_error",
)  # fmt: skip


@dataclass(frozen=True)
class RuntimeSettings:
    """How the vehicle runs the models (``vehicle`` section of ``configs/deploy.yaml``).

    ``steps``/``guidance``/``t_start`` of None use the model's sampling defaults from the manifest;
    ``seed`` and the frame name seed each frame's noise; ``min_dist``/``radar_filters`` must match ingestion.
    """

    precision: Literal["fp32", "fp16", "int8"] = "fp32"
    threads: int = 2
    steps: int | None = None
    guidance: float | None = None
    t_start: float | None = None
    seed: int = 0
    min_dist: float = 1.0
    radar_filters: RadarFilters = field(default_factory=RadarFilters)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """[3, H, W] in [-1, 1] → uint8 RGB [H, W, 3]."""
    return np.clip(np.rint((image.transpose(1, 2, 0) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def new_record(frame: str) -> dict:
    return {"frame": frame, "status": "ok", "flags": [], "present": [], "sensors": {}, "points": {},
            "redundancy": None, "latency_ms": {}, "output": None, "error": None}


class VehicleRuntime:
    """Verified ONNX models + settings; ``process`` one recording frame at a time."""

    def __init__(self, models: str | Path, settings: RuntimeSettings = RuntimeSettings()):
        self.settings = settings
        self.manifest = load_manifest(models, settings.precision)
        self.graphs = Graphs(self.manifest, settings.precision, settings.threads)
        self.enhancer = Enhancer(self.graphs)
        self.redundancy = RedundancyScore(self.graphs) if self.manifest.has_redundancy else None
        height, width = self.manifest.frame_size
        self.out_size = (width, height)

    def process(self, frame_dir: str | Path) -> tuple[np.ndarray | None, dict]:
        """(enhanced uint8 RGB [H, W, 3] or None, log record) for one frame folder."""
        frame_dir = Path(frame_dir)
        record = new_record(frame_dir.name)
        clock = time.perf_counter()
        image = None
        try:
            image = self._process(frame_dir, record)
        except FrameError as error:
            record.update(status="skipped", error=str(error))
            record["flags"].append(error.flag)
        except Exception as error:  # noqa: BLE001 — a vehicle keeps running whatever one frame holds
            record.update(status="failed", error=f"{type(error).__name__}: {error}")
            record["flags"].append("internal_error")
        record["latency_ms"]["total"] = 1000.0 * (time.perf_counter() - clock)
        return image, record

    def _process(self, frame_dir: Path, record: dict) -> np.ndarray:
        latency = record["latency_ms"]
        clock = time.perf_counter()
        calibration = read_calibration(frame_dir)
        try:
            rgb = read_rgb(calibration.camera)
        except CorruptImageError as error:
            raise FrameError("image_corrupt", str(error)) from None
        except SampleError as error:
            raise FrameError("image_unreadable", str(error)) from None
        lidar = self._read_lidar(calibration, record)
        radars = self._read_radars(calibration, record)
        latency["read"] = 1000.0 * (time.perf_counter() - clock)

        clock = time.perf_counter()
        frames = {"night": camera_input(rgb, self.out_size)}
        camera, settings = calibration.camera, self.settings
        if lidar is not None:
            frames["lidar"], record["points"]["lidar_in_view"] = lidar_map(*lidar, camera, self.out_size, settings.min_dist)
        if radars:
            frames["radar"], record["points"]["radar_in_view"] = radar_map(radars, camera, self.out_size, settings.min_dist)
        record["flags"] += [f"{name}_empty" for name in ("lidar", "radar") if record["points"].get(f"{name}_in_view") == 0]
        latency["project"] = 1000.0 * (time.perf_counter() - clock)
        record["present"] = [name for name in ("night", "radar", "lidar") if name in frames]

        enhanced = self.enhancer.enhance(
            {name: frame[None] for name, frame in frames.items()},
            steps=settings.steps, guidance=settings.guidance, t_start=settings.t_start,
            seed=sample_seed(settings.seed, frame_dir.name),
        )  # fmt: skip
        latency.update({stage: 1000.0 * seconds for stage, seconds in enhanced.seconds.items()})
        if not enhanced.finite:  # NaN would be written as a black frame, +inf as a white one
            raise FrameError("output_nonfinite", "the enhanced frame holds NaN/inf values; not written")
        self._score(enhanced.latents, record)
        return to_uint8(enhanced.image[0])

    def _read_lidar(self, calibration: FrameCalibration, record: dict):
        """(cloud, its SensorFrame) or None when the LiDAR is absent or unusable."""
        lidar = calibration.lidar
        if lidar is None or not Path(lidar.path).is_file():
            record["flags"].append("lidar_missing")
            record["sensors"]["LIDAR_TOP" if lidar is None else lidar.channel] = "missing"
            return None
        try:
            cloud, dropped = read_lidar(Path(lidar.path))
        except SensorFileError as error:
            record["flags"].append("lidar_unreadable")
            record["sensors"][lidar.channel] = str(error)
            return None
        record["sensors"][lidar.channel] = "ok"
        record["points"]["lidar_dropped"] = dropped
        if dropped:
            record["flags"].append("lidar_nonfinite_points")
        return cloud, lidar

    def _read_radars(self, calibration: FrameCalibration, record: dict) -> list:
        """[(cloud, its SensorFrame)] of the usable radars."""
        usable, dropped = [], 0
        for radar in calibration.radars:
            if not Path(radar.path).is_file():
                record["sensors"][radar.channel] = "missing"
                continue
            try:
                cloud, lost = read_radar(Path(radar.path), self.settings.radar_filters)
            except SensorFileError as error:
                record["sensors"][radar.channel] = str(error)
                continue
            record["sensors"][radar.channel] = "ok"
            usable.append((cloud, radar))
            dropped += lost
        if not usable:
            record["flags"].append("radar_missing")
        elif len(usable) < len(calibration.radars):
            record["flags"].append("radar_partial")
        record["points"]["radar_dropped"] = dropped
        if dropped:
            record["flags"].append("radar_nonfinite_points")
        return usable

    def _score(self, latents: dict[str, np.ndarray], record: dict) -> None:
        if self.redundancy is None:
            return
        clock = time.perf_counter()
        score = self.redundancy.score(latents)
        if not all(math.isfinite(value) for value in score.values() if isinstance(value, float)):
            record["flags"].append("output_nonfinite")  # a NaN score is no evidence either way: no value, no band
        else:
            record["redundancy"] = score
            if score["in_band"] is False:
                record["flags"].append("redundancy_out_of_band")
        record["latency_ms"]["redundancy"] = 1000.0 * (time.perf_counter() - clock)
