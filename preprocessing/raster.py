"""Projected points → sparse image-plane maps at the output resolution (SPEC §3), numpy only.

Pixel convention: like ``cv2.resize``, the continuous image coordinate ``u + 0.5`` (pixel centres
at integer ``u``) scales linearly with resolution, so a point at native pixel ``u`` falls in output
column ``floor((u + 0.5) · W_out / W_in)``. ``scale_intrinsic`` gives the matching intrinsic.
Every output pixel keeps its nearest return (z-buffer); empty pixels are 0 with validity 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from preprocessing.pcd import RADAR_DTYPE

LIDAR_CHANNELS = ("depth", "intensity", "valid")
RADAR_CHANNELS = ("depth", "rcs", "radial_velocity", "valid")


def scale_intrinsic(intrinsic, source_size: tuple[int, int], out_size: tuple[int, int]) -> np.ndarray:
    """[3,3] intrinsic for an image resized from ``source_size`` to ``out_size`` (both (width, height))."""
    sx, sy = out_size[0] / source_size[0], out_size[1] / source_size[1]
    scaled = np.array(intrinsic, dtype=np.float64)
    scaled[0, :] *= sx
    scaled[1, :] *= sy
    scaled[0, 2] += 0.5 * sx - 0.5
    scaled[1, 2] += 0.5 * sy - 0.5
    return scaled


def pixel_indices(uv: np.ndarray, source_size: tuple[int, int], out_size: tuple[int, int]) -> np.ndarray:
    """[N,2] native-resolution pixel coordinates → [N] flat indices into an out_size (width, height) grid."""
    (w_in, h_in), (w_out, h_out) = source_size, out_size
    cols = np.clip(np.floor((uv[:, 0] + 0.5) * (w_out / w_in)).astype(np.int64), 0, w_out - 1)
    rows = np.clip(np.floor((uv[:, 1] + 0.5) * (h_out / h_in)).astype(np.int64), 0, h_out - 1)
    return rows * w_out + cols


def zbuffer(flat: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Indices of the nearest point per occupied pixel (ties: the earlier point), ordered by pixel."""
    order = np.lexsort((depth, flat))
    first = np.ones(len(order), dtype=bool)
    first[1:] = flat[order][1:] != flat[order][:-1]
    return order[first]


def rasterize(
    uv: np.ndarray, depth: np.ndarray, values: np.ndarray, source_size: tuple[int, int], out_size: tuple[int, int]
) -> np.ndarray:
    """Draw points into a float32 map [1 + F + 1, H, W] = (depth, values…, valid).

    uv: [N,2] native pixels; depth: [N]; values: [N,F] (or [N]) per-point features; sizes are (width, height).
    """
    w_out, h_out = out_size
    values = np.asarray(values, dtype=np.float32)
    values = values[:, None] if values.ndim == 1 else values
    out = np.zeros((values.shape[1] + 2, h_out * w_out), dtype=np.float32)
    if len(depth):
        flat = pixel_indices(uv, source_size, out_size)
        winners = zbuffer(flat, depth)
        pixels = flat[winners]
        out[0, pixels] = depth[winners]
        out[1:-1, pixels] = values[winners].T
        out[-1, pixels] = 1.0
    return out.reshape(-1, h_out, w_out)


def radial_velocity(camera_xyz: np.ndarray, camera_velocity: np.ndarray) -> np.ndarray:
    """[N] velocity along the camera ray (m/s, positive = moving away) from [N,3] positions and velocities."""
    norm = np.linalg.norm(camera_xyz, axis=1)
    return np.einsum("ij,ij->i", camera_xyz, camera_velocity) / np.maximum(norm, 1e-9)


def rasterize_radar(hits: Sequence, source_size: tuple[int, int], out_size: tuple[int, int]) -> np.ndarray:
    """[4, H, W] map (depth, RCS, radial velocity, valid) of the returns of several radars in one camera.

    ``hits``: ``pointclouds.CameraPoints`` of radar clouds (devkit field order, camera-frame
    ``velocity_comp``); the nearest return wins each pixel whichever radar it came from."""
    rcs = RADAR_DTYPE.names.index("rcs")
    uv = np.concatenate([hit.uv.reshape(-1, 2) for hit in hits])
    depth = np.concatenate([hit.depth for hit in hits])
    values = np.concatenate(
        [np.column_stack([hit.points[:, rcs], radial_velocity(hit.camera_xyz, hit.extra["velocity_comp"])]) for hit in hits]
    ).reshape(-1, 2)
    return rasterize(uv, depth, values, source_size, out_size)
