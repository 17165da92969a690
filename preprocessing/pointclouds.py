"""Reading, multi-sweep aggregation and projection of LiDAR and radar clouds, numpy only.

Clouds use the devkit's layout and dtypes so results match it exactly: LiDAR <4,N> float32
(x, y, z, intensity; the ring index is dropped as ``LidarPointCloud`` does), radar <18,N> float64
in ``RADAR_DTYPE`` field order after the state filters. Unlike the devkit, radar velocities are
rotated along with the points (into the reference frame when aggregating sweeps, and into the
camera frame when projecting).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from preprocessing.frames import SensorFrame, chain_to_camera
from preprocessing.geometry import apply_transform, not_close_mask, project_many, sweep_to_reference
from preprocessing.pcd import (
    DEFAULT_AMBIG_STATES,
    DEFAULT_DYNPROP_STATES,
    DEFAULT_INVALID_STATES,
    RADAR_DTYPE,
    PcdError,
    radar_filter_mask,
    radar_points_matrix,
    read_radar_pcd,
)

LIDAR_FIELDS = ("x", "y", "z", "intensity")
RADAR_FIELDS = RADAR_DTYPE.names
# (vx, vy) and (vx_comp, vy_comp) are adjacent rows: slices, not index lists (no fancy-indexing copies)
_VELOCITY_ROWS = tuple(slice(RADAR_FIELDS.index(f"vx{s}"), RADAR_FIELDS.index(f"vy{s}") + 1) for s in ("", "_comp"))


class PointCloudError(ValueError):
    """A point file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class RadarFilters:
    """Radar states to keep (the devkit's defaults: valid, any dyn_prop but 7 "stopped", unambiguous)."""

    __pydantic_config__ = {"extra": "forbid"}

    invalid_states: tuple[int, ...] = DEFAULT_INVALID_STATES
    dynprop_states: tuple[int, ...] = DEFAULT_DYNPROP_STATES
    ambig_states: tuple[int, ...] = DEFAULT_AMBIG_STATES


def load_lidar(path: str) -> np.ndarray:
    """<4,N> float32 (x, y, z, intensity) from a nuScenes float32×5 ``.pcd.bin`` file."""
    try:
        data = np.fromfile(path, dtype=np.float32)
    except OSError as error:
        raise PointCloudError(f"{path}: cannot read LiDAR file ({error.strerror or error})") from None
    if data.size == 0 or data.size % 5:
        raise PointCloudError(f"{path}: truncated LiDAR file ({data.size * 4} bytes is not a multiple of 20)")
    if not np.isfinite(data).all():
        bad = int((~np.isfinite(data.reshape(-1, 5))).any(axis=1).sum())
        raise PointCloudError(f"{path}: {bad} LiDAR points are NaN/inf")
    return data.reshape(-1, 5)[:, :4].T


def read_filtered_radar(path, filters: RadarFilters = RadarFilters()) -> np.ndarray:
    """<18,N> float64 radar returns kept by ``filters``, unchecked values (OSError / PcdError on bad files)."""
    points = read_radar_pcd(path)
    return radar_points_matrix(points[radar_filter_mask(points, filters.invalid_states, filters.dynprop_states, filters.ambig_states)])


def load_radar(path: str, filters: RadarFilters = RadarFilters()) -> np.ndarray:
    """<18,N> float64 radar returns kept by ``filters`` (``RadarPointCloud.from_file``)."""
    try:
        matrix = read_filtered_radar(path, filters)
    except OSError as error:
        raise PointCloudError(f"{path}: cannot read radar file ({error.strerror or error})") from None
    except PcdError as error:
        raise PointCloudError(str(error)) from None
    if not np.isfinite(matrix[:3]).all():  # an all-NaN *first* point is the empty-cloud marker, handled by the reader
        raise PointCloudError(f"{path}: radar returns with NaN/inf coordinates")
    return matrix


def aggregate_sweeps(sweeps: tuple[SensorFrame, ...], load, min_distance: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``from_file_multisweep``: every sweep minus its close points, moved into ``sweeps[0]``'s frame.

    Returns (cloud <C,N>, time lag [N] in s, ≥ 0). Radar velocity rows are rotated with the points.
    """
    ref = sweeps[0]
    clouds, lags = [], []
    for sweep in sweeps:
        cloud = load(sweep.path)
        cloud = np.compress(not_close_mask(cloud, min_distance), cloud, axis=1)
        matrix = sweep_to_reference(sweep.sensor, sweep.ego, ref.ego, ref.sensor)
        cloud = apply_transform(cloud, matrix)
        if cloud.shape[0] == len(RADAR_FIELDS):
            cloud = _rotate_velocities(cloud, matrix[:3, :3])
        clouds.append(cloud)
        lags.append(np.full(cloud.shape[1], 1e-6 * ref.timestamp - 1e-6 * sweep.timestamp))
    return np.hstack(clouds), np.concatenate(lags)


def _rotate_velocities(cloud: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Rotate the planar radar velocities; the z part a pitch/roll change would add is dropped (radar has no vz)."""
    cloud = cloud.copy()
    for rows in _VELOCITY_ROWS:
        cloud[rows] = rotation[:2, :2] @ cloud[rows]
    return cloud


def radar_camera_velocities(cloud: np.ndarray, rotation: np.ndarray) -> dict[str, np.ndarray]:
    """[N,3] velocity vectors (raw and ego-compensated) rotated by ``rotation`` (sensor → camera)."""
    # (vx, vy, 0) rotated: only the first two columns of the rotation act on a planar vector
    return {name: (rotation[:, :2] @ cloud[rows]).T for name, rows in zip(("velocity", "velocity_comp"), _VELOCITY_ROWS)}


@dataclass(frozen=True)
class CameraPoints:
    """The returns of one point sensor that land in a camera image.

    uv [N,2] float64 native pixels; depth [N] (camera z, m); points [N,C] the kept columns of the
    sensor-frame cloud (rows of ``fields``); extra: per-point arrays such as ``time_lag`` [N] or the
    camera-frame radar velocities ``velocity`` / ``velocity_comp`` [N,3].
    """

    uv: np.ndarray
    depth: np.ndarray
    points: np.ndarray
    fields: tuple[str, ...]
    camera_xyz: np.ndarray
    extra: dict[str, np.ndarray]


def project_clouds(
    clouds: Sequence[tuple[np.ndarray, SensorFrame, dict | None]], camera: SensorFrame, min_dist: float = 1.0
) -> list[CameraPoints]:
    """Project <C,N> clouds, each given in its ``reference`` sensor frame with optional per-point ``extra``
    arrays, into ``camera`` (devkit-exact, one pinhole pass for all of them)."""
    chains = [chain_to_camera(reference, camera) for _, reference, _ in clouds]
    hits = project_many([(cloud, chain) for (cloud, _, _), chain in zip(clouds, chains)],
                        camera.intrinsic, camera.size[0], camera.size[1], min_dist)  # fmt: skip
    out = []
    for (cloud, _, extra), chain, hit in zip(clouds, chains, hits):
        kept = cloud.take(hit.index, axis=1)
        fields = RADAR_FIELDS if cloud.shape[0] == len(RADAR_FIELDS) else LIDAR_FIELDS
        extra = {name: values[hit.index] for name, values in (extra or {}).items()}
        if fields is RADAR_FIELDS:
            extra.update(radar_camera_velocities(kept, chain.rotation))
        out.append(CameraPoints(uv=hit.uv, depth=hit.depth, points=kept.T, fields=fields, camera_xyz=hit.camera_xyz, extra=extra))
    return out


def project_cloud(
    cloud: np.ndarray, reference: SensorFrame, camera: SensorFrame, min_dist: float = 1.0, extra=None
) -> CameraPoints:
    """Project a <C,N> cloud given in ``reference``'s sensor frame into ``camera`` (devkit-exact)."""
    return project_clouds([(cloud, reference, extra)], camera, min_dist)[0]


def sensor_cloud(sweeps: tuple[SensorFrame, ...], load) -> tuple[np.ndarray, SensorFrame, dict | None]:
    """(cloud, its reference frame, per-point extras) of one sweep, or of several aggregated like
    ``from_file_multisweep`` (with their ``time_lag``): the input ``project_clouds`` takes."""
    if len(sweeps) == 1:
        return load(sweeps[0].path), sweeps[0], None
    cloud, lag = aggregate_sweeps(sweeps, load)
    return cloud, sweeps[0], {"time_lag": lag}


def load_and_project(sweeps: tuple[SensorFrame, ...], camera: SensorFrame, load, min_dist: float = 1.0) -> CameraPoints:
    """One sweep: ``map_pointcloud_to_image``; several: ``from_file_multisweep`` then the same projection."""
    return project_clouds([sensor_cloud(sweeps, load)], camera, min_dist)[0]
