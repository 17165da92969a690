"""The vehicle recording format read by ``nightfusion vehicle``, and tolerant readers of its sensor files.

A recording is a folder with one sub-folder per frame, processed in name order::

    FRAMES/
      000000/
        calibration.json
        CAM_FRONT.jpg          the (night) camera image, JPEG or PNG, at the size in calibration.json
        LIDAR_TOP.pcd.bin      nuScenes LiDAR sweep: float32 × 5 (x, y, z, intensity, ring) per point
        RADAR_FRONT.pcd ...    nuScenes radar sweeps: binary PCD v0.7, 18 fields (any subset of radars)
      000001/ ...

``calibration.json`` (poses as in nuScenes: quaternion w, x, y, z; metres)::

    {
      "camera": {"file": "CAM_FRONT.jpg", "size": [W, H], "intrinsic": [[fx, 0, cx], [0, fy, cy], [0, 0, 1]],
                 "sensor": POSE, "ego": POSE},
      "lidar":  {"file": "LIDAR_TOP.pcd.bin", "sensor": POSE, "ego": POSE},                  (optional)
      "radars": [{"channel": "RADAR_FRONT", "file": "RADAR_FRONT.pcd", "sensor": POSE, "ego": POSE}, ...]
    }
    POSE = {"rotation": [w, x, y, z], "translation": [x, y, z]}

``sensor`` is the sensor → ego transform (nuScenes calibrated_sensor) and ``ego`` the ego → global
pose at that sensor's capture time (nuScenes ego_pose), so the SPEC §3 chain compensates the ego
motion between the point sensors and the camera. ``nightfusion record`` writes recordings from a
nuScenes dataroot. Every ``file`` is a plain file name inside the frame folder (``deploy.runtime.confined``);
a missing LiDAR/radar entry or file means that sensor is absent for the frame;
NaN/inf points are dropped (and counted) instead of rejecting the sweep.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deploy.runtime.confined import confined_file
from preprocessing.frames import SensorFrame
from preprocessing.geometry import Pose
from preprocessing.pcd import PcdError
from preprocessing.pointclouds import RadarFilters, read_filtered_radar

CALIBRATION_FILE = "calibration.json"
LIDAR_VALUES = 5  # float32 per point in a .pcd.bin sweep


class FrameError(ValueError):
    """A frame that cannot be enhanced; ``flag`` is what the per-frame log records."""

    def __init__(self, flag: str, message: str):
        super().__init__(message)
        self.flag = flag


class SensorFileError(ValueError):
    """A LiDAR/radar file that cannot be read: that sensor is absent for the frame."""


@dataclass(frozen=True)
class FrameCalibration:
    """The sensors of one frame as ``SensorFrame`` records (``path`` is the absolute file path)."""

    camera: SensorFrame
    lidar: SensorFrame | None
    radars: tuple[SensorFrame, ...]


def _sensor(frame_dir: Path, entry, where: str, channel: str, camera: bool = False) -> SensorFrame:
    """One calibration entry → ``SensorFrame``; ``channel`` unless the entry names its own."""
    if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
        raise ValueError(f"{where} must be an object with a 'file' name")
    try:
        path = confined_file(frame_dir, entry["file"])  # a recording must not make the vehicle read elsewhere
    except ValueError as error:
        raise ValueError(f"{where}.file: {error}") from None
    channel = str(entry.get("channel", channel))
    intrinsic = size = None
    if camera:
        intrinsic = np.asarray(entry.get("intrinsic"), dtype=np.float64)
        size = entry.get("size")
        if intrinsic.shape != (3, 3) or not np.isfinite(intrinsic).all():
            raise ValueError(f"{where}.intrinsic must be a finite 3×3 matrix")
        if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
            raise ValueError(f"{where}.size must be [width, height] in pixels")
        intrinsic, size = tuple(map(tuple, intrinsic.tolist())), tuple(size)
    try:
        sensor, ego = Pose.from_record(entry["sensor"]), Pose.from_record(entry["ego"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{where}: needs 'sensor' and 'ego' poses with rotation [w, x, y, z] and translation "
                         f"[x, y, z] ({type(error).__name__}: {error})") from None
    return SensorFrame(
        token=f"{frame_dir.name}/{channel}", channel=channel, path=str(path),
        sensor=sensor, ego=ego, timestamp=int(entry.get("timestamp", 0)), intrinsic=intrinsic, size=size,
    )  # fmt: skip


def read_calibration(frame_dir: Path) -> FrameCalibration:
    """Parse ``frame_dir/calibration.json``; FrameError("calibration_invalid") says what is wrong."""
    path = frame_dir / CALIBRATION_FILE
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise ValueError("the top level must be an object")
        camera = _sensor(frame_dir, data.get("camera"), "camera", "CAM_FRONT", camera=True)
        lidar = data.get("lidar")
        lidar = _sensor(frame_dir, lidar, "lidar", "LIDAR_TOP") if lidar is not None else None
        radars = data.get("radars", [])
        if not isinstance(radars, list):
            raise ValueError("radars must be a list")
        radars = tuple(_sensor(frame_dir, entry, f"radars[{i}]", f"RADAR_{i}") for i, entry in enumerate(radars))
    except OSError as error:
        raise FrameError("calibration_invalid", f"{path}: cannot read ({error.strerror or error})") from None
    except (ValueError, TypeError, RecursionError) as error:  # JSONDecodeError is a ValueError
        raise FrameError("calibration_invalid", f"{path}: {error}") from None
    return FrameCalibration(camera, lidar, radars)


def read_lidar(path: Path) -> tuple[np.ndarray, int]:
    """(<4, N> float32 x, y, z, intensity — the devkit's ``LidarPointCloud`` layout —, non-finite points dropped)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SensorFileError(f"{path}: cannot read ({error.strerror or error})") from None
    point_bytes = LIDAR_VALUES * 4
    if not data or len(data) % point_bytes:
        raise SensorFileError(f"{path}: {len(data)} bytes is not a whole number of {point_bytes}-byte points")
    points = np.frombuffer(data, dtype="<f4").reshape(-1, LIDAR_VALUES)
    finite = np.isfinite(points).all(axis=1)
    return np.ascontiguousarray(points[finite, :4].T), int((~finite).sum())


def read_radar(path: Path, filters: RadarFilters) -> tuple[np.ndarray, int]:
    """(<18, N> float64 returns kept by ``filters`` with finite values, number of non-finite returns dropped)."""
    try:
        matrix = read_filtered_radar(path, filters)
    except OSError as error:
        raise SensorFileError(f"{path}: cannot read ({error.strerror or error})") from None
    except PcdError as error:
        raise SensorFileError(str(error)) from None
    finite = np.isfinite(matrix).all(axis=0)
    return matrix[:, finite], int((~finite).sum())
