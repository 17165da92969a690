"""Surface materials of the synthetic world: colour, LiDAR reflectivity, radar cross-section, emission.

One table drives every sensor so that the camera, the LiDAR and the radar see the same world.
Procedural textures are functions of the hit point in the scene's local road frame
(x along the road, y to the left, z up), so they need no UV maps.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Material:
    name: str
    albedo: tuple[float, float, float]  # linear RGB reflectance
    reflectivity: float  # LiDAR intensity scale, 0..1
    rcs: float  # radar cross-section, dBsm
    category: str  # what the object is, for annotations and tests


MATERIALS = (
    Material("asphalt", (0.09, 0.09, 0.10), 0.08, -5.0, "road"),
    Material("sidewalk", (0.35, 0.34, 0.32), 0.25, -5.0, "sidewalk"),
    Material("grass", (0.10, 0.18, 0.06), 0.15, -10.0, "terrain"),
    Material("facade", (0.45, 0.40, 0.35), 0.30, 20.0, "building"),
    Material("car_body", (0.50, 0.05, 0.05), 0.45, 10.0, "vehicle"),
    Material("car_glass", (0.03, 0.04, 0.05), 0.05, 5.0, "vehicle"),
    Material("pole", (0.30, 0.30, 0.32), 0.55, 2.0, "pole"),
    Material("lamp", (0.90, 0.88, 0.80), 0.30, 0.0, "pole"),
    Material("trunk", (0.18, 0.11, 0.06), 0.20, 0.0, "vegetation"),
    Material("foliage", (0.06, 0.16, 0.05), 0.18, -5.0, "vegetation"),
    Material("headlight", (0.90, 0.90, 0.85), 0.60, 10.0, "vehicle"),
    Material("taillight", (0.60, 0.02, 0.02), 0.60, 10.0, "vehicle"),
)
MATERIAL_INDEX = {m.name: i for i, m in enumerate(MATERIALS)}
ALBEDO = np.array([m.albedo for m in MATERIALS], dtype=np.float32)
REFLECTIVITY = np.array([m.reflectivity for m in MATERIALS], dtype=np.float32)
RCS = np.array([m.rcs for m in MATERIALS], dtype=np.float32)

CAR_PAINTS = np.array(
    [[0.50, 0.05, 0.05], [0.05, 0.10, 0.40], [0.60, 0.60, 0.60], [0.04, 0.04, 0.04], [0.75, 0.75, 0.72],
     [0.10, 0.25, 0.12], [0.55, 0.42, 0.10], [0.30, 0.32, 0.36]],
    dtype=np.float32,
)  # fmt: skip
FACADE_PAINTS = np.array(
    [[0.45, 0.20, 0.14], [0.62, 0.55, 0.44], [0.40, 0.40, 0.40], [0.70, 0.68, 0.62], [0.35, 0.28, 0.22]],
    dtype=np.float32,
)  # fmt: skip

# Lane and window patterns (metres).
LANE_LINE_HALF_WIDTH, DASH_PERIOD, DASH_LENGTH = 0.08, 9.0, 3.0
WINDOW_PERIOD, WINDOW_WIDTH, FLOOR_HEIGHT, WINDOW_HEIGHT, WINDOW_SILL = 3.0, 1.4, 3.2, 1.6, 0.9


def _noise_texture(seed: int, size: int = 256) -> np.ndarray:
    """A tileable smooth noise texture in [0, 1] (blurred white noise, wrapped at the borders)."""
    noise = np.random.default_rng(seed).random((size, size)).astype(np.float32)
    tiled = np.tile(noise, (3, 3))
    smooth = cv2.GaussianBlur(tiled, (0, 0), 2.0)[size : 2 * size, size : 2 * size]
    return (smooth - smooth.min()) / (smooth.max() - smooth.min())


_TEXTURES: dict[int, np.ndarray] = {}


def value_noise(x: np.ndarray, y: np.ndarray, scale: float, seed: int) -> np.ndarray:
    """Deterministic smooth noise in [0, 1] on the plane with features of about ``scale`` metres."""
    if seed not in _TEXTURES:
        _TEXTURES[seed] = _noise_texture(seed)
    texture = _TEXTURES[seed]
    size = texture.shape[0]
    # Four texels per feature: the blur makes neighbouring texels correlate over ~``scale``.
    i = np.floor(x * (4.0 / scale)).astype(np.int64) % size
    j = np.floor(y * (4.0 / scale)).astype(np.int64) % size
    return texture[i, j]


def lane_paint(x: np.ndarray, y: np.ndarray, lane_lines: tuple[float, ...], edge_lines: tuple[float, ...]) -> np.ndarray:
    """True where the road at local (x, y) carries a painted line: dashed lane lines, solid edge lines."""
    dashed = np.zeros(x.shape, bool)
    for line in lane_lines:
        dashed |= (np.abs(y - line) < LANE_LINE_HALF_WIDTH) & (np.mod(x, DASH_PERIOD) < DASH_LENGTH)
    for line in edge_lines:
        dashed |= np.abs(y - line) < LANE_LINE_HALF_WIDTH
    return dashed


def window_mask(along: np.ndarray, z: np.ndarray) -> np.ndarray:
    """True on facade windows: a grid of ``WINDOW_WIDTH``×``WINDOW_HEIGHT`` panes, ground floor excluded."""
    in_column = np.mod(along, WINDOW_PERIOD) < WINDOW_WIDTH
    floor_z = np.mod(z, FLOOR_HEIGHT)
    in_row = (floor_z > WINDOW_SILL) & (floor_z < WINDOW_SILL + WINDOW_HEIGHT) & (z > FLOOR_HEIGHT)
    return in_column & in_row


def window_id(along: np.ndarray, z: np.ndarray) -> np.ndarray:
    """An integer per window pane, to decide which windows are lit at night."""
    return np.floor(along / WINDOW_PERIOD).astype(np.int64) * 97 + np.floor(z / FLOOR_HEIGHT).astype(np.int64)
