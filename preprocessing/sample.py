"""Turn one ``SampleSpec`` into training arrays: resized day frame, night frame, LiDAR and radar maps.

A day scene's camera frame is ``day`` and its synthesised night ``night``. A night scene's camera
frame is ``night``; ``day`` is its day twin when the world rendered one (pixel-aligned ground
truth, ``meta["day_twin"]`` true), else the night frame again.

Runs in workers (numpy + opencv only, no devkit). Everything random is derived from the run seed
and the sample key, so any worker, in any order, produces the same bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from preprocessing.frames import SampleSpec, SensorFrame
from preprocessing.geometry import Chain, Pose
from preprocessing.headlights import headlight_light, scene_depth
from preprocessing.images import decode_rgb
from preprocessing.night import NightParams, NightRanges, sample_night_params, synthesize_night
from preprocessing.pointclouds import RADAR_FIELDS, CameraPoints, RadarFilters, load_sensor_clouds, project_clouds
from preprocessing.raster import rasterize, rasterize_radar, scale_intrinsic

LIDAR_POINT_COLUMNS = ("x", "y", "z", "intensity", "time_lag")
RADAR_POINT_COLUMNS = ("x", "y", "z", "rcs", "vx_comp", "vy_comp", "time_lag", "radar")  # radar: index in spec.radars
_RADAR_KEPT = [RADAR_FIELDS.index(name) for name in RADAR_POINT_COLUMNS[:6]]


class SampleError(ValueError):
    """A sample that cannot be ingested; the message is the skip reason recorded in the manifest."""


@dataclass(frozen=True)
class SampleSettings:
    """What every worker needs besides the spec; ``out_size`` is (width, height)."""

    out_size: tuple[int, int]
    seed: int = 0
    min_dist: float = 1.0
    radar_filters: RadarFilters = RadarFilters()
    night: NightRanges = NightRanges()


@dataclass(frozen=True)
class ProcessedSample:
    """day/night [H,W,3] uint8 RGB; lidar [3,H,W] / radar [4,H,W] float32 maps (SPEC §3);
    lidar_points [N,5] float32 / radar_points [M,8] float64 in their sensor frames (``*_POINT_COLUMNS``);
    meta: JSON-able tokens, calibration and night-synthesis parameters."""

    day: np.ndarray
    night: np.ndarray
    lidar: np.ndarray
    radar: np.ndarray
    lidar_points: np.ndarray
    radar_points: np.ndarray
    meta: dict


def sample_seed(seed: int, key: str) -> int:
    """A 63-bit per-sample seed from the run seed and the sample key."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:8], "little") >> 1


def read_rgb(frame: SensorFrame) -> np.ndarray:
    """[H,W,3] uint8 RGB of a camera frame; SampleError if missing, truncated or of the wrong size,
    CorruptImageError if its data is damaged."""
    path = Path(frame.path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SampleError(f"{path}: cannot read image ({error.strerror or error})") from None
    if data[:2] == b"\xff\xd8" and b"\xff\xd9" not in data[-64:]:  # libjpeg would silently grey-fill the rest
        raise SampleError(f"{path}: truncated JPEG (no end-of-image marker)")
    rgb = decode_rgb(data, str(path)) if data else None
    if rgb is None:
        raise SampleError(f"{path}: not a decodable image")
    if (rgb.shape[1], rgb.shape[0]) != tuple(frame.size):
        raise SampleError(f"{path}: image is {rgb.shape[1]}x{rgb.shape[0]}, its record says {frame.size[0]}x{frame.size[1]}")
    return rgb


def _lag(points: CameraPoints) -> np.ndarray:
    return points.extra.get("time_lag", np.zeros(len(points.depth)))


def _lidar(spec: SampleSpec, settings: SampleSettings) -> tuple[np.ndarray, np.ndarray]:
    [hit] = project_clouds(load_sensor_clouds([spec.lidar]), spec.camera, settings.min_dist)
    lidar_map = rasterize(hit.uv, hit.depth, hit.points[:, 3], spec.camera.size, settings.out_size)
    points = np.column_stack([hit.points[:, :4], _lag(hit)]).astype(np.float32)
    return lidar_map, points


def _radar(spec: SampleSpec, settings: SampleSettings) -> tuple[np.ndarray, np.ndarray]:
    hits = project_clouds(load_sensor_clouds(spec.radars, settings.radar_filters), spec.camera, settings.min_dist)
    radar_map = rasterize_radar(hits, spec.camera.size, settings.out_size)
    points = np.concatenate(
        [np.column_stack([hit.points[:, _RADAR_KEPT], _lag(hit), np.full(len(hit.depth), i)]) for i, hit in enumerate(hits)]
    ).reshape(-1, len(RADAR_POINT_COLUMNS))
    return radar_map, points.astype(np.float64)


def _calibration(spec: SampleSpec, settings: SampleSettings) -> dict:
    """Intrinsics (native and output resolution) and the poses of every sensor: enough to rebuild each
    sensor → camera ``Chain`` (sensor pose, its ego pose, the camera's ego pose, the camera pose)."""
    camera = spec.camera
    return {
        "camera": {
            **_poses(camera),
            "size": list(camera.size),
            "intrinsic": [list(row) for row in camera.intrinsic],
            "out_size": list(settings.out_size),
            "intrinsic_out": scale_intrinsic(camera.intrinsic, camera.size, settings.out_size).tolist(),
        },
        "lidar": _poses(spec.lidar[0]),
        "radars": [_poses(sweeps[0]) for sweeps in spec.radars],
    }


def _poses(frame: SensorFrame) -> dict:
    return {"channel": frame.channel, "token": frame.token, "sensor": frame.sensor.to_json(), "ego": frame.ego.to_json()}


def calibration_chains(calibration: dict) -> dict:
    """The stored calibration of a sample → {"lidar": Chain, "radars": [Chain, …]} into its camera."""
    camera = calibration["camera"]

    def chain(entry: dict) -> Chain:
        poses = (entry["sensor"], entry["ego"], camera["ego"], camera["sensor"])
        return Chain(*(Pose.from_record(pose) for pose in poses))

    return {"lidar": chain(calibration["lidar"]), "radars": [chain(entry) for entry in calibration["radars"]]}


def _headlights(spec: SampleSpec, settings: SampleSettings, lidar_map: np.ndarray, params: NightParams) -> np.ndarray | None:
    """The headlight illumination of the output frame, or None when the drawn gain is 0."""
    if params.headlight_gain <= 0:
        return None
    intrinsic = scale_intrinsic(spec.camera.intrinsic, spec.camera.size, settings.out_size)
    depth = scene_depth(lidar_map, intrinsic, spec.camera.sensor)
    return headlight_light(depth, intrinsic, params.headlight_gain, params.headlight_spread_deg)


def _resized(frame: SensorFrame, settings: SampleSettings) -> np.ndarray:
    return cv2.resize(read_rgb(frame), settings.out_size, interpolation=cv2.INTER_AREA)


def process_sample(spec: SampleSpec, settings: SampleSettings) -> ProcessedSample:
    """Read, project, rasterise and synthesise one sample (SampleError/PointCloudError on bad input)."""
    frame = _resized(spec.camera, settings)
    lidar_map, lidar_points = _lidar(spec, settings)
    radar_map, radar_points = _radar(spec, settings)
    if spec.night_scene:  # a real night frame; without a day twin both slots hold it and it has no day target
        night, night_params = frame, None
        # The twin must have its night frame's size, as any camera image its record's (else SampleError).
        day = _resized(replace(spec.camera, path=spec.day_twin), settings) if spec.day_twin else frame
    else:
        params = sample_night_params(sample_seed(settings.seed, spec.key), settings.night)
        day = frame
        night, night_params = synthesize_night(day, params, _headlights(spec, settings, lidar_map, params)), params.to_json()
    meta = {
        "key": spec.key,
        "sample_token": spec.sample_token,
        "scene_token": spec.scene_token,
        "scene_name": spec.scene_name,
        "split": spec.split,
        "night_scene": spec.night_scene,
        "day_twin": spec.night_scene and spec.day_twin is not None,
        "timestamp": spec.camera.timestamp,
        "night_synthesis": night_params,
        "calibration": _calibration(spec, settings),
        "lidar_point_columns": list(LIDAR_POINT_COLUMNS),
        "radar_point_columns": list(RADAR_POINT_COLUMNS),
    }
    return ProcessedSample(day, night, lidar_map, radar_map, lidar_points, radar_points, meta)
