"""Headlight illumination for night synthesis (SPEC §4, "going beyond"), numpy + OpenCV only.

The low beams are modelled as one cone from the camera along its optical axis tilted down by
``tilt_deg``. A surface seen at pixel (u, v) at distance r receives, relative to daylight,

    light(u, v) = gain · exp(−(θ / spread)²) · (10 m / max(r, 2 m))²

with θ the angle between the pixel's ray and the beam axis: the 1/r² falloff needs the scene's
depth, taken from the projected LiDAR map (nearest return within a few pixels), else the ground
plane below the horizon (the camera pose gives its height and pitch), else nothing (sky).
Night synthesis multiplies the linear day frame by ``darkness + light``: reflected light is albedo
times irradiance, and the day frame stands in for the albedo.
"""

from __future__ import annotations

import cv2
import numpy as np

from preprocessing.geometry import Pose

_FILL = (5, 11)  # px (width, height) searched for a LiDAR return: its rings are horizontal lines rows apart
_REFERENCE_M, _NEAREST_M = 10.0, 2.0


def pixel_rays(intrinsic, width: int, height: int) -> np.ndarray:
    """[H,W,3] camera-frame rays K⁻¹ (u, v, 1) through every pixel centre (z = 1)."""
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    pixels = np.stack([u, v, np.ones_like(u)], axis=-1)
    return pixels @ np.linalg.inv(np.asarray(intrinsic, dtype=np.float64)).T


def ground_depth(rays: np.ndarray, camera: Pose) -> np.ndarray:
    """[H,W] camera z of the ground plane (ego z = 0) seen through each ray; 0 at and above the horizon."""
    down = rays @ camera.matrix3.T  # ray directions in the ego frame
    height = camera.translation[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(down[..., 2] < -1e-6, -height / down[..., 2], 0.0)  # rays have z = 1: t is the depth
    return np.maximum(t, 0.0)


def scene_depth(lidar_map: np.ndarray, intrinsic, camera: Pose) -> np.ndarray:
    """[H,W] depth in m (0 = unknown): nearest LiDAR return within a ``_FILL`` window, else the ground plane."""
    depth, valid = lidar_map[0], lidar_map[-1] > 0
    closeness = np.where(valid, 1.0 / np.maximum(depth, 1e-3), 0.0).astype(np.float32)
    closeness = cv2.dilate(closeness, np.ones(_FILL[::-1], np.uint8))  # max of 1/d: the nearest return wins
    rays = pixel_rays(intrinsic, lidar_map.shape[2], lidar_map.shape[1])
    with np.errstate(divide="ignore"):
        lidar = np.where(closeness > 0, 1.0 / closeness, 0.0)
    return np.where(lidar > 0, lidar, ground_depth(rays, camera))


def headlight_light(depth: np.ndarray, intrinsic, gain: float, spread_deg: float, tilt_deg: float = 3.0) -> np.ndarray:
    """[H,W] float32 illumination relative to daylight (see module docstring); 0 where depth is unknown."""
    rays = pixel_rays(intrinsic, depth.shape[1], depth.shape[0])
    tilt = np.radians(tilt_deg)
    axis = np.array([0.0, np.sin(tilt), np.cos(tilt)])  # camera y points down
    norms = np.linalg.norm(rays, axis=-1)
    angle = np.arccos(np.clip(rays @ axis / norms, -1.0, 1.0))
    distance = np.maximum(depth * norms, _NEAREST_M)
    light = gain * np.exp(-((angle / np.radians(spread_deg)) ** 2)) * (_REFERENCE_M / distance) ** 2
    return np.where(depth > 0, light, 0.0).astype(np.float32)
