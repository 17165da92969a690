"""Devkit-facing projection: fetch nuScenes records, then call the numpy geometry.

``project_pointcloud`` is the vectorised, devkit-exact counterpart of
``NuScenesExplorer.map_pointcloud_to_image`` (same points, pixel coordinates and depths), which
also returns the point features, rotates radar velocities into the camera frame and never opens
the image (its size comes from the sample_data record).
"""

from __future__ import annotations

import os
from pathlib import Path

from preprocessing.frames import SensorFrame
from preprocessing.geometry import Pose
from preprocessing.pointclouds import CameraPoints, RadarFilters, load_sensor_clouds, project_clouds
from preprocessing.tables import LIDAR_CHANNEL, RADAR_CHANNELS


def camera_size(nusc, record: dict) -> tuple[int, int]:
    """(width, height) of a camera sample_data: its record, or the image header when the record lacks it."""
    if record.get("width") and record.get("height"):
        return int(record["width"]), int(record["height"])
    from PIL import Image  # header only: PIL decodes pixels lazily

    with Image.open(Path(nusc.dataroot) / record["filename"]) as image:
        return image.size


def sensor_frame(nusc, sample_data_token: str) -> SensorFrame:
    """Resolve a sample_data token into a ``SensorFrame`` (KeyError/ValueError on broken records)."""
    record = nusc.get("sample_data", sample_data_token)
    calibration = nusc.get("calibrated_sensor", record["calibrated_sensor_token"])
    channel = nusc.get("sensor", calibration["sensor_token"])["channel"]
    is_camera = len(calibration.get("camera_intrinsic") or []) == 3
    return SensorFrame(
        token=sample_data_token,
        channel=channel,
        path=os.path.join(nusc.dataroot, record["filename"]),
        sensor=Pose.from_record(calibration),
        ego=Pose.from_record(nusc.get("ego_pose", record["ego_pose_token"])),
        timestamp=int(record["timestamp"]),
        intrinsic=tuple(tuple(float(v) for v in row) for row in calibration["camera_intrinsic"]) if is_camera else None,
        size=camera_size(nusc, record) if is_camera else None,
    )


def sweeps(nusc, sample_data_token: str, nsweeps: int) -> tuple[SensorFrame, ...]:
    """The frame of ``sample_data_token`` and up to ``nsweeps - 1`` earlier ones (walking ``prev``)."""
    frames, token = [], sample_data_token
    while token and len(frames) < nsweeps:
        frames.append(sensor_frame(nusc, token))
        token = nusc.get("sample_data", token)["prev"]
    return tuple(frames)


def project_pointcloud(
    nusc,
    pointsensor_token: str,
    camera_token: str,
    min_dist: float = 1.0,
    radar_filters: RadarFilters = RadarFilters(),
    nsweeps: int = 1,
) -> CameraPoints:
    """Project a LiDAR/radar sample_data into a camera sample_data.

    With ``nsweeps == 1`` the result equals ``map_pointcloud_to_image`` (``.uv`` [N,2] native pixels,
    ``.depth`` [N]); with more, the cloud is first aggregated like ``from_file_multisweep``.
    """
    clouds = load_sensor_clouds([sweeps(nusc, pointsensor_token, nsweeps)], radar_filters)
    return project_clouds(clouds, sensor_frame(nusc, camera_token), min_dist)[0]


def project_sample(
    nusc,
    sample_token: str,
    camera: str = "CAM_FRONT",
    channels: tuple[str, ...] = (LIDAR_CHANNEL, *RADAR_CHANNELS),
    min_dist: float = 1.0,
    radar_filters: RadarFilters = RadarFilters(),
    nsweeps: int = 1,
) -> dict[str, CameraPoints]:
    """``project_pointcloud`` for every point sensor of a keyframe sample (radar files read together, one pinhole pass)."""
    data = nusc.get("sample", sample_token)["data"]
    clouds = load_sensor_clouds([sweeps(nusc, data[channel], nsweeps) for channel in channels], radar_filters)
    return dict(zip(channels, project_clouds(clouds, sensor_frame(nusc, data[camera]), min_dist)))
