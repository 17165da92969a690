"""The synthetic vehicle's sensor rig, modelled on the nuScenes car (positions, orientations, rates).

Sensor frames follow nuScenes: cameras x right / y down / z forward; LIDAR_TOP x right / y forward /
z up (yaw −90° on the car); radars x forward / y left / z up. Ego frame: x forward, y left, z up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyquaternion import Quaternion

CAMERA_CHANNELS = ("CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_BACK_RIGHT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_FRONT_LEFT")
RADAR_CHANNELS = ("RADAR_FRONT", "RADAR_FRONT_LEFT", "RADAR_FRONT_RIGHT", "RADAR_BACK_LEFT", "RADAR_BACK_RIGHT")
LIDAR_CHANNEL = "LIDAR_TOP"

# nuScenes-like rates (Hz).
CAMERA_HZ, LIDAR_HZ, RADAR_HZ, KEYFRAME_HZ = 12.0, 20.0, 13.0, 2.0

# Native CAM_* resolution and a CAM_FRONT-like pinhole at that resolution.
NATIVE_CAMERA_SIZE = (1600, 900)
NATIVE_FOCAL, NATIVE_PRINCIPAL = 1266.4, (816.3, 491.5)

# HDL-32E-like LiDAR: 32 beams from −30.67° to +10.67°, ~0.33° azimuth steps at 20 Hz.
LIDAR_ELEVATIONS_DEG = np.linspace(-30.67, 10.67, 32)
LIDAR_AZIMUTH_STEPS = 1084
LIDAR_MAX_RANGE = 80.0

RADAR_FOV_DEG, RADAR_MAX_RANGE = 60.0, 100.0

# Camera optical frame (x right, y down, z forward) expressed in a forward-looking body frame
# (x forward, y left, z up): columns are the optical axes.
_OPTICAL_TO_BODY = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


@dataclass(frozen=True, eq=False)  # identity hash: sensors key per-sensor caches
class Sensor:
    channel: str
    modality: str  # "camera" | "lidar" | "radar"
    translation: tuple[float, float, float]  # sensor origin in the ego frame (m)
    rotation: Quaternion  # sensor frame → ego frame
    intrinsic: np.ndarray | None = None  # 3×3 for cameras
    size: tuple[int, int] | None = None  # (width, height) for cameras

    @property
    def rotation_matrix(self) -> np.ndarray:
        return self.rotation.rotation_matrix


def camera_intrinsic(width: int, height: int) -> np.ndarray:
    """The CAM_FRONT-like pinhole scaled from 1600×900 to ``width``×``height``."""
    sx, sy = width / NATIVE_CAMERA_SIZE[0], height / NATIVE_CAMERA_SIZE[1]
    return np.array(
        [[NATIVE_FOCAL * sx, 0.0, NATIVE_PRINCIPAL[0] * sx], [0.0, NATIVE_FOCAL * sy, NATIVE_PRINCIPAL[1] * sy], [0, 0, 1.0]]
    )


def _yaw(degrees: float) -> Quaternion:
    return Quaternion(axis=[0.0, 0.0, 1.0], degrees=degrees)


def camera(channel: str, camera_size: tuple[int, int]) -> Sensor:
    yaw, translation = {
        "CAM_FRONT": (0.0, (1.70, 0.02, 1.51)),
        "CAM_FRONT_LEFT": (55.0, (1.52, 0.49, 1.51)),
        "CAM_FRONT_RIGHT": (-55.0, (1.52, -0.49, 1.51)),
        "CAM_BACK_LEFT": (110.0, (1.04, 0.48, 1.56)),
        "CAM_BACK_RIGHT": (-110.0, (1.04, -0.48, 1.56)),
        "CAM_BACK": (180.0, (0.03, 0.0, 1.57)),
    }[channel]
    # A slight downward pitch as on the real car.
    body = _yaw(yaw) * Quaternion(axis=[0.0, 1.0, 0.0], degrees=0.5)
    rotation = body * Quaternion(matrix=_OPTICAL_TO_BODY)
    width, height = camera_size
    return Sensor(channel, "camera", translation, rotation, camera_intrinsic(width, height), (width, height))


def lidar() -> Sensor:
    return Sensor(LIDAR_CHANNEL, "lidar", (0.94, 0.0, 1.84), _yaw(-90.0))


def radar(channel: str) -> Sensor:
    yaw, translation = {
        "RADAR_FRONT": (0.0, (3.41, 0.0, 0.50)),
        "RADAR_FRONT_LEFT": (88.0, (2.42, 0.80, 0.50)),
        "RADAR_FRONT_RIGHT": (-88.0, (2.42, -0.80, 0.50)),
        "RADAR_BACK_LEFT": (178.0, (-0.56, 0.63, 0.50)),
        "RADAR_BACK_RIGHT": (-178.0, (-0.56, -0.63, 0.50)),
    }[channel]
    return Sensor(channel, "radar", translation, _yaw(yaw))


def build_rig(cameras: tuple[str, ...], camera_size: tuple[int, int]) -> list[Sensor]:
    """All sensors of the synthetic car: the chosen cameras, LIDAR_TOP and the five radars."""
    return [camera(c, camera_size) for c in cameras] + [lidar()] + [radar(r) for r in RADAR_CHANNELS]
