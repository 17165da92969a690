"""Raw sensor data → network inputs in the ShardDataset layout, with the ingestion's own numpy code.

Projection is ``preprocessing.pointclouds.project_cloud(s)`` (the devkit-exact SPEC §3 chain) and
rasterisation ``preprocessing.raster.rasterize`` / ``rasterize_radar`` — the functions ingestion
uses, so a frame's maps on the vehicle equal the maps its shard holds (``tests/test_deploy_sensors.py``).
The camera frame is resized with ``cv2.INTER_AREA`` and scaled to [-1, 1] as ingestion and
``ShardDataset`` do.

Shapes: camera [3, H, W]; LiDAR [3, H, W] (depth, intensity, valid); radar [4, H, W] (depth, RCS,
radial velocity, valid); ``out_size`` is (W, H).
"""

from __future__ import annotations

import cv2
import numpy as np

from preprocessing.frames import SensorFrame
from preprocessing.pointclouds import project_cloud, project_clouds
from preprocessing.raster import rasterize, rasterize_radar


def camera_input(rgb: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """uint8 RGB [h, w, 3] → float32 [3, H, W] in [-1, 1]."""
    resized = cv2.resize(rgb, out_size, interpolation=cv2.INTER_AREA)
    return resized.transpose(2, 0, 1).astype(np.float32) / np.float32(127.5) - np.float32(1.0)


def lidar_map(cloud: np.ndarray, lidar: SensorFrame, camera: SensorFrame, out_size, min_dist: float) -> tuple[np.ndarray, int]:
    """(<4, N> sweep in the LiDAR frame → [3, H, W] map, number of returns in the image)."""
    hit = project_cloud(cloud, lidar, camera, min_dist)
    return rasterize(hit.uv, hit.depth, hit.points[:, 3], camera.size, out_size), len(hit.depth)


def radar_map(sweeps: list[tuple[np.ndarray, SensorFrame]], camera: SensorFrame, out_size, min_dist: float) -> tuple[np.ndarray, int]:
    """([<18, N> sweep, its radar] … → one [4, H, W] map of all radars, number of returns in the image)."""
    hits = project_clouds([(cloud, radar, None) for cloud, radar in sweeps], camera, min_dist)
    return rasterize_radar(hits, camera.size, out_size), sum(len(hit.depth) for hit in hits)
