"""Reading, multi-sweep aggregation and projection of LiDAR and radar clouds, numpy only.

Clouds use the devkit's layout and dtypes so results match it exactly: LiDAR <4,N> float32
(x, y, z, intensity; the ring index is dropped as ``LidarPointCloud`` does), radar <18,N> float64
in ``RADAR_DTYPE`` field order after the state filters. Unlike the devkit, radar velocities are
rotated along with the points (into the reference frame when aggregating sweeps, and into the
camera frame when projecting).
"""

from __future__ import annotations

import itertools
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
# vx, vy, vx_comp, vy_comp are adjacent rows: both planar velocities as one [2,2,N] block (no copies)
_VELOCITIES = slice(RADAR_FIELDS.index("vx"), RADAR_FIELDS.index("vy_comp") + 1)
assert RADAR_FIELDS[_VELOCITIES] == ("vx", "vy", "vx_comp", "vy_comp")


class PointCloudError(ValueError):
    """A point file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class RadarFilters:
    """Radar states to keep (the devkit's defaults: valid, any dyn_prop but 7 "stopped", unambiguous)."""

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


def filtered_radar_matrices(records: Sequence[np.ndarray], filters: RadarFilters = RadarFilters()) -> list[np.ndarray]:
    """<18,N> float64 matrices of the returns kept by ``filters``, one per structured array of ``records``
    (values unchecked). Arrays of one dtype are filtered and converted in one pass: a radar file holds
    a few dozen returns, so per-call numpy overhead would be most of the cost."""
    if len({points.dtype for points in records}) > 1:  # files with other header fields: convert each alone
        return [matrix for points in records for matrix in filtered_radar_matrices([points], filters)]
    if not records:
        return []
    # joined as bytes, converted, then filtered: copying packed records field by field is what is slow
    joined = np.concatenate([points.view(np.uint8) for points in records]).view(records[0].dtype)
    keep = radar_filter_mask(joined, filters.invalid_states, filters.dynprop_states, filters.ambig_states)
    matrix = radar_points_matrix(joined).compress(keep, axis=1)
    kept_so_far = np.cumsum(keep)
    ends = [int(kept_so_far[end - 1]) if end else 0 for end in itertools.accumulate(len(points) for points in records)]
    return [matrix[:, start:end] for start, end in zip([0, *ends], ends)]


def read_filtered_radar(path, filters: RadarFilters = RadarFilters()) -> np.ndarray:
    """<18,N> float64 radar returns kept by ``filters``, unchecked values (OSError / PcdError on bad files)."""
    return filtered_radar_matrices([read_radar_pcd(path)], filters)[0]


def _read_radar_records(path: str) -> np.ndarray:
    try:
        return read_radar_pcd(path)
    except OSError as error:
        raise PointCloudError(f"{path}: cannot read radar file ({error.strerror or error})") from None
    except PcdError as error:
        raise PointCloudError(str(error)) from None


def load_radars(paths: Sequence[str], filters: RadarFilters = RadarFilters()) -> list[np.ndarray]:
    """<18,N> float64 radar returns kept by ``filters``, one per file (``RadarPointCloud.from_file``),
    read and converted together; PointCloudError names the first bad file."""
    matrices = filtered_radar_matrices([_read_radar_records(path) for path in paths], filters)
    # an all-NaN *first* point is the empty-cloud marker, handled by the reader; any other NaN is an error
    if matrices and not np.isfinite(np.concatenate([matrix[:3] for matrix in matrices], axis=1)).all():
        path = next(path for path, matrix in zip(paths, matrices) if not np.isfinite(matrix[:3]).all())
        raise PointCloudError(f"{path}: radar returns with NaN/inf coordinates")
    return matrices


def aggregate_sweeps(sweeps: tuple[SensorFrame, ...], clouds: Sequence[np.ndarray], min_distance: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``from_file_multisweep``: every sweep's cloud minus its close points, moved into ``sweeps[0]``'s frame.

    Returns (cloud <C,N>, time lag [N] in s, ≥ 0). Radar velocity rows are rotated with the points.
    """
    ref = sweeps[0]
    moved, lags = [], []
    for sweep, cloud in zip(sweeps, clouds, strict=True):
        cloud = np.compress(not_close_mask(cloud, min_distance), cloud, axis=1)
        matrix = sweep_to_reference(sweep.sensor, sweep.ego, ref.ego, ref.sensor)
        cloud = apply_transform(cloud, matrix)
        if cloud.shape[0] == len(RADAR_FIELDS):
            cloud = _rotate_velocities(cloud, matrix[:3, :3])
        moved.append(cloud)
        lags.append(np.full(cloud.shape[1], 1e-6 * ref.timestamp - 1e-6 * sweep.timestamp))
    return np.hstack(moved), np.concatenate(lags)


def _rotate_velocities(cloud: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Rotate the planar radar velocities; the z part a pitch/roll change would add is dropped (radar has no vz)."""
    cloud = cloud.copy()
    cloud[_VELOCITIES] = (rotation[:2, :2] @ cloud[_VELOCITIES].reshape(2, 2, -1)).reshape(4, -1)
    return cloud


def radar_camera_velocities(cloud: np.ndarray, rotation: np.ndarray) -> dict[str, np.ndarray]:
    """[N,3] velocity vectors (raw and ego-compensated) rotated by ``rotation`` (sensor → camera)."""
    # (vx, vy, 0) rotated: only the first two columns of the rotation act on a planar vector
    velocity, velocity_comp = rotation[:, :2] @ cloud[_VELOCITIES].reshape(2, 2, -1)
    return {"velocity": velocity.T, "velocity_comp": velocity_comp.T}


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
        points = take_points(cloud, hit.index)
        fields = RADAR_FIELDS if cloud.shape[0] == len(RADAR_FIELDS) else LIDAR_FIELDS
        extra = {name: values[hit.index] for name, values in (extra or {}).items()}
        if fields is RADAR_FIELDS:
            extra.update(radar_camera_velocities(points.T, chain.rotation))
        out.append(CameraPoints(uv=hit.uv, depth=hit.depth, points=points, fields=fields, camera_xyz=hit.camera_xyz, extra=extra))
    return out


def take_points(cloud: np.ndarray, index: np.ndarray) -> np.ndarray:
    """[M,C] the points ``index`` of a <C,N> cloud."""
    rows = cloud.T
    if rows.strides[1] != rows.itemsize:
        return cloud.take(index, axis=1).T
    # each point's values are adjacent (a file's rows, as LiDAR clouds are): copying whole points as
    # opaque records is ~2x faster than gathering the C rows one by one
    point = np.dtype((np.void, rows.shape[1] * rows.itemsize))
    return rows.view(point)[:, 0].take(index).view(rows.dtype).reshape(-1, rows.shape[1])


def project_cloud(
    cloud: np.ndarray, reference: SensorFrame, camera: SensorFrame, min_dist: float = 1.0, extra=None
) -> CameraPoints:
    """Project a <C,N> cloud given in ``reference``'s sensor frame into ``camera`` (devkit-exact)."""
    return project_clouds([(cloud, reference, extra)], camera, min_dist)[0]


def load_sensor_clouds(
    sensors: Sequence[tuple[SensorFrame, ...]], radar_filters: RadarFilters = RadarFilters()
) -> list[tuple[np.ndarray, SensorFrame, dict | None]]:
    """The input of ``project_clouds`` for point sensors given as sweeps (newest first): one sweep's
    cloud as read, several aggregated like ``from_file_multisweep`` with their ``time_lag``.

    LiDAR files are read one by one, all radar files together (``load_radars``); PointCloudError on
    bad files, ValueError for channels that are neither LiDAR nor radar.
    """
    kinds = [_kind(sweeps[0]) for sweeps in sensors]
    paths: dict[str, list[str]] = {"LIDAR": [], "RADAR": []}
    for kind, sweeps in zip(kinds, sensors):
        paths[kind].extend(sweep.path for sweep in sweeps)
    loaded = {"LIDAR": iter([load_lidar(path) for path in paths["LIDAR"]]), "RADAR": iter(load_radars(paths["RADAR"], radar_filters))}
    out = []
    for kind, sweeps in zip(kinds, sensors):
        clouds = [next(loaded[kind]) for _ in sweeps]
        if len(sweeps) == 1:
            out.append((clouds[0], sweeps[0], None))
        else:
            cloud, lag = aggregate_sweeps(sweeps, clouds)
            out.append((cloud, sweeps[0], {"time_lag": lag}))
    return out


def _kind(frame: SensorFrame) -> str:
    kind = frame.channel.split("_")[0]
    if kind not in ("LIDAR", "RADAR"):
        raise ValueError(f"{frame.channel} (sample_data {frame.token}) is not a LiDAR or radar channel")
    return kind
