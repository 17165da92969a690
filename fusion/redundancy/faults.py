"""Sensor faults injected into raw inputs, before projection and encoding (numpy only).

Every fault is a pure function ``fault(frame, rng, **params) -> RawFrame`` on a
``fusion.redundancy.frames.RawFrame`` (the input is never modified), registered in ``FAULTS`` under
its kind, with the sensor it degrades in ``TARGET``:

    camera_blackout      image → 0 (lens covered, dead sensor)
    camera_overexposure  linear gain then 8-bit clipping (sun glare, stuck exposure)
    lidar_dropout        drop a ``fraction`` of the beams (rings); 1.0 = the LiDAR delivers nothing
    radar_ghosts         ``ghosts`` spurious returns per radar inside its field of view, plus position /
                         velocity noise on the real returns (multipath, interference)
    extrinsic_drift      one sensor's mount turned (yaw, pitch, roll in degrees about the vehicle axes)
                         and shifted while its calibration stayed: data projected with wrong extrinsics

``apply_faults(frame, faults, seed)`` applies a list of ``(kind, params)`` in order with one RNG
derived from ``seed`` and the frame key, so a faulted frame is reproducible anywhere (the vehicle
runtime imports this module for its tests).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from fusion.redundancy.frames import LIDAR_BEAMS, RawFrame
from preprocessing.geometry import Chain, Pose

SENSORS = ("camera", "lidar", "radar")


def camera_blackout(frame: RawFrame, rng: np.random.Generator) -> RawFrame:
    return frame.with_(image=np.zeros_like(frame.image))


def camera_overexposure(frame: RawFrame, rng: np.random.Generator, gain: float = 6.0) -> RawFrame:
    """Multiply the (roughly linearised, γ = 2.2) intensities by ``gain`` and clip to 8 bits."""
    linear = (frame.image.astype(np.float32) / 255.0) ** 2.2 * gain
    return frame.with_(image=np.rint(255.0 * np.clip(linear, 0.0, 1.0) ** (1 / 2.2)).astype(np.uint8))


def lidar_dropout(frame: RawFrame, rng: np.random.Generator, fraction: float = 1.0) -> RawFrame:
    """Remove every point of ``round(fraction · 32)`` randomly chosen beams (of the HDL-32E's 32)."""
    dropped = rng.choice(LIDAR_BEAMS, size=int(round(fraction * LIDAR_BEAMS)), replace=False)
    keep = ~np.isin(frame.ring, dropped)
    return frame.with_(lidar=frame.lidar[keep], ring=frame.ring[keep])


def radar_ghosts(
    frame: RawFrame, rng: np.random.Generator, ghosts: int = 8, position_noise: float = 1.5,
    velocity_noise: float = 2.0, max_range: float = 60.0, fov_deg: float = 60.0, rcs: tuple[float, float] = (-10.0, 30.0),
    max_speed: float = 15.0,
) -> RawFrame:  # fmt: skip
    """Jitter real returns (x, y by ``position_noise`` m, velocities by ``velocity_noise`` m/s) and add
    ``ghosts`` returns per radar uniformly in range × azimuth of its field of view (radar z is 0)."""
    real = frame.radar.copy()
    real[:, :2] += rng.normal(0.0, position_noise, (len(real), 2))
    real[:, 4:6] += rng.normal(0.0, velocity_noise, (len(real), 2))
    rows, ghosts = [], int(ghosts)
    for radar in range(len(frame.radar_chains)):
        distance = rng.uniform(1.0, max_range, ghosts)
        azimuth = np.radians(rng.uniform(-fov_deg / 2, fov_deg / 2, ghosts))
        ghost = np.zeros((ghosts, 8))
        ghost[:, 0], ghost[:, 1] = distance * np.cos(azimuth), distance * np.sin(azimuth)
        ghost[:, 3] = rng.uniform(*rcs, ghosts)
        ghost[:, 4:6] = rng.uniform(-max_speed, max_speed, (ghosts, 2))
        ghost[:, 7] = radar
        rows.append(ghost)
    return frame.with_(radar=np.concatenate([real, *rows]) if rows else real)


def _rotation_quaternion(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """(w, x, y, z) of R = Rz(yaw)·Ry(pitch)·Rx(roll), angles in degrees."""
    half = np.radians([yaw, pitch, roll]) / 2
    cy, cp, cr = np.cos(half)
    sy, sp, sr = np.sin(half)
    return np.array([cr * cp * cy + sr * sp * sy, sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy, cr * cp * sy - sr * sp * cy])


def _quaternion_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return np.array([
        aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw,
    ])  # fmt: skip


def drifted(pose: Pose, yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0, shift=(0.0, 0.0, 0.0)) -> Pose:
    """A sensor pose (sensor → ego) turned by (yaw, pitch, roll) degrees about the *vehicle* axes
    (z up, y left, x forward) around the sensor's own position, then moved by ``shift`` metres."""
    rotation = _quaternion_product(_rotation_quaternion(yaw, pitch, roll), np.asarray(pose.rotation, dtype=np.float64))
    return Pose(tuple(float(v) for v in rotation), tuple(float(a + b) for a, b in zip(pose.translation, shift)))


def extrinsic_drift(
    frame: RawFrame, rng: np.random.Generator, sensor: str = "lidar", yaw: float = 3.0, pitch: float = 0.0,
    roll: float = 0.0, shift: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> RawFrame:  # fmt: skip
    """``sensor``'s mount moved (``drifted``) while its stored calibration stayed the same.

    Its data are projected with the moved pose instead of the calibrated one: the point maps
    shift against the image (yaw > 0 moves LiDAR / radar returns to the left). Only the relative
    misalignment between camera and point sensors matters for the maps, so a camera drift moves
    the camera pose of every chain (the points then shift the opposite way).
    """
    def move(chain: Chain, point_sensor: bool) -> Chain:
        if point_sensor:
            return Chain(drifted(chain.sensor, yaw, pitch, roll, shift), chain.ego_at_sensor, chain.ego_at_camera, chain.camera)
        return Chain(chain.sensor, chain.ego_at_sensor, chain.ego_at_camera, drifted(chain.camera, yaw, pitch, roll, shift))

    if sensor not in SENSORS:
        raise ValueError(f"extrinsic_drift: unknown sensor {sensor!r}; choose from {', '.join(SENSORS)}")
    lidar = sensor in ("lidar", "camera")
    radar = sensor in ("radar", "camera")
    return frame.with_(
        lidar_chain=move(frame.lidar_chain, sensor == "lidar") if lidar else frame.lidar_chain,
        radar_chains=tuple(move(c, sensor == "radar") for c in frame.radar_chains) if radar else frame.radar_chains,
    )


FAULTS = {
    "camera_blackout": camera_blackout,
    "camera_overexposure": camera_overexposure,
    "lidar_dropout": lidar_dropout,
    "radar_ghosts": radar_ghosts,
    "extrinsic_drift": extrinsic_drift,
}
TARGET = {"camera_blackout": "camera", "camera_overexposure": "camera", "lidar_dropout": "lidar", "radar_ghosts": "radar"}


def target_of(kind: str, params: dict) -> str:
    """The sensor a fault degrades (``extrinsic_drift``: its ``sensor`` parameter, default LiDAR)."""
    return TARGET.get(kind) or params.get("sensor", "lidar")


def affected_maps(kind: str, params: dict) -> set[str]:
    """Which of the camera / lidar / radar inputs a fault changes (a drifted camera moves the point maps)."""
    target = target_of(kind, params)
    return {"lidar", "radar"} if kind == "extrinsic_drift" and target == "camera" else {target}


def fault_rng(seed: int, key: str) -> np.random.Generator:
    return np.random.default_rng(int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:8], "little"))


def apply_faults(frame: RawFrame, faults: Sequence[tuple[str, dict]], seed: int = 0) -> RawFrame:
    """Apply ``faults`` [(kind, params)] in order; the randomness depends only on ``seed`` and ``frame.key``."""
    rng = fault_rng(seed, frame.key)
    for kind, params in faults:
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; choose from {', '.join(FAULTS)}")
        frame = FAULTS[kind](frame, rng, **params)
    return frame
