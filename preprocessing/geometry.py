"""Point-sensor → camera geometry in numpy, numba optional (shared with the torch-free vehicle runtime).

The transform chain is SPEC §3 / ``NuScenesExplorer.map_pointcloud_to_image``:
sensor → ego(t_s) → global → ego(t_c) → camera, then a pinhole projection with the devkit's
1-pixel margin. The devkit applies each step to a float32 (LiDAR) or float64 (radar) array and
rounds back to that dtype after every rotation and translation; at global coordinates of a few
hundred metres float32 rounding moves points by ~1e-5 m, i.e. up to a few hundredths of a pixel
near the camera. To give *the same* numbers, ``project_points`` replays that exact sequence of
operations on float32 clouds — but only on the points a cheap float32 pass says can land in the
image, which is what makes it fast. Float64 clouds (radar) take the composite transform, which
differs from the step-by-step one by ~1e-12 px. Point clouds are <C, N> like the devkit's
``PointCloud.points``.

With numba installed, culling and replay of float32 clouds run as compiled loops
(``geometry_kernels``), otherwise in numpy. The devkit rotates through BLAS, which may fuse
multiply-adds and so differ from plain float64 sums in the last bit; rounding each step to float32
absorbs that (no coordinate differed between the two replays over the benchmark world's clouds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache, reduce

import numpy as np

# Culling is conservative by these margins so the exact pass decides every borderline point.
_CULL_DEPTH_MARGIN = 0.05  # m
_CULL_PIXEL_MARGIN = 2.0  # px
_IMAGE_MARGIN = 1  # px, the devkit's "margin of 1 pixel for aesthetic reasons"
_CULL_MIN_POINTS = 2048  # below this (radar), culling costs more than it saves


@lru_cache(maxsize=1)  # imported on first use: numba takes a quarter of a second to import
def compiled():
    """The numba kernels (``geometry_kernels``), or None without numba (the vehicle runtime may run on numpy
    alone: the numpy path gives the same numbers)."""
    try:
        from preprocessing import geometry_kernels
    except ModuleNotFoundError as error:
        if error.name != "numba":
            raise
        return None
    return geometry_kernels


@lru_cache(maxsize=4096)  # rig calibrations and the camera's ego pose recur across calls
def _rotation_matrix(q: tuple[float, float, float, float]) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    sum_sq = np.dot(q, q)
    if not abs(1.0 - sum_sq) < 1e-14 and sum_sq > 0:  # pyquaternion normalises only when needed
        q = q / np.sqrt(sum_sq)
    w, x, y, z = q
    left = np.array([[w, -x, -y, -z], [x, w, -z, y], [y, z, w, -x], [z, -y, x, w]])
    right = np.array([[w, -x, -y, -z], [x, w, z, -y], [y, -z, w, x], [z, y, -x, w]])
    matrix = np.dot(left, right.conj().transpose())[1:][:, 1:]
    matrix.setflags(write=False)  # shared by the cache
    return matrix


def quaternion_to_matrix(q) -> np.ndarray:
    """Rotation matrix [3,3] of a quaternion (w, x, y, z), bit-identical to pyquaternion's ``rotation_matrix``."""
    return _rotation_matrix(tuple(float(e) for e in q))


@dataclass(frozen=True)
class Pose:
    """A rigid transform child → parent: p_parent = R p_child + t (nuScenes calibrated_sensor / ego_pose)."""

    rotation: tuple[float, float, float, float]  # quaternion w, x, y, z
    translation: tuple[float, float, float]

    @classmethod
    def from_record(cls, record: dict) -> "Pose":
        """From a record with ``rotation`` (w, x, y, z) and ``translation``; ValueError if malformed."""
        try:
            rotation, translation = tuple(map(float, record["rotation"])), tuple(map(float, record["translation"]))
        except (TypeError, ValueError):
            rotation = translation = ()
        if len(rotation) != 4 or len(translation) != 3 or not all(map(math.isfinite, rotation + translation)):
            where = record.get("token", "?")
            raise ValueError(f"malformed pose in record {where}: {record.get('rotation')}, {record.get('translation')}")
        if not any(rotation):
            raise ValueError(f"zero rotation quaternion in record {record.get('token', '?')}")
        return cls(rotation, translation)

    @property
    def matrix3(self) -> np.ndarray:
        # rotation is already a tuple of floats (from_record), the cache key of _rotation_matrix
        return _rotation_matrix(self.rotation)

    @lru_cache(maxsize=4096)  # poses recur across sweeps and sensors; the result is read-only
    def matrix(self, inverse: bool = False) -> np.ndarray:
        """Homogeneous [4,4], computed like the devkit's ``geometry_utils.transform_matrix``."""
        tm = np.eye(4)
        if inverse:
            rot_inv = self.matrix3.T
            tm[:3, :3] = rot_inv
            tm[:3, 3] = rot_inv.dot(np.transpose(-np.array(self.translation)))
        else:
            tm[:3, :3] = self.matrix3
            tm[:3, 3] = np.transpose(np.array(self.translation))
        tm.setflags(write=False)
        return tm

    def to_json(self) -> dict:
        """The record layout ``from_record`` reads back."""
        return {"rotation": list(self.rotation), "translation": list(self.translation)}


@dataclass(frozen=True)
class Chain:
    """The four poses that take points from a point sensor into a camera (SPEC §3 steps 1–4)."""

    sensor: Pose  # point sensor → ego at t_s
    ego_at_sensor: Pose  # ego(t_s) → global
    ego_at_camera: Pose  # ego(t_c) → global
    camera: Pose  # camera → ego

    @property
    def rotation(self) -> np.ndarray:
        """Sensor → camera rotation [3,3] (for velocities: free vectors ignore translations)."""
        return self.matrix[:3, :3]

    @cached_property
    def matrix(self) -> np.ndarray:
        """Composite sensor → camera [4,4] in float64 (for culling and re-projection)."""
        return reduce(
            np.dot,
            [self.camera.matrix(True), self.ego_at_camera.matrix(True), self.ego_at_sensor.matrix(), self.sensor.matrix()],
        )

    @cached_property
    def steps(self) -> np.ndarray:
        """[8,3,4] float64 affine maps [R|t]: the devkit's eight steps in its order (a rotation has t = 0,
        a translation R = I), each of which it rounds to the cloud's dtype."""
        steps = _STEPS_TEMPLATE.copy()  # slice assignments: fancy-indexed ones cost several times more
        steps[0, :, :3] = self.sensor.matrix3
        steps[1, :, 3] = self.sensor.translation
        steps[2, :, :3] = self.ego_at_sensor.matrix3
        steps[3, :, 3] = self.ego_at_sensor.translation
        np.negative(self.ego_at_camera.translation, out=steps[4, :, 3])
        steps[5, :, :3] = self.ego_at_camera.matrix3.T
        np.negative(self.camera.translation, out=steps[6, :, 3])
        steps[7, :, :3] = self.camera.matrix3.T
        steps.setflags(write=False)
        return steps


# Chain.steps before its poses are filled in: identity rotations at the four translation steps.
_STEPS_TEMPLATE = np.zeros((8, 3, 4))
_STEPS_TEMPLATE[[1, 3, 4, 6], :, :3] = np.eye(3)


def apply_chain(points: np.ndarray, chain: Chain) -> np.ndarray:
    """<C,N> points in the sensor frame → a copy with rows 0..2 in the camera frame, in the devkit's dtype arithmetic."""
    points = points.copy()
    for step in chain.steps:
        if step[:, 3].any():  # a translation: float64 sums rounded to the cloud's dtype, as the devkit's ``translate``
            points[:3, :] = points[:3, :] + step[:, 3:]
        else:  # a rotation (or a no-op), through BLAS as the devkit's ``rotate``
            points[:3, :] = np.dot(step[:, :3], points[:3, :])
    return points


def apply_transform(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """A copy of <C,N> ``points`` with rows 0..2 moved by a homogeneous [4,4], as ``PointCloud.transform`` does."""
    points = points.copy()
    points[:3, :] = matrix.dot(np.vstack((points[:3, :], np.ones(points.shape[1]))))[:3, :]
    return points


def not_close_mask(points: np.ndarray, radius: float) -> np.ndarray:
    """[N] bool: points outside the ±radius box around the sensor in x and y (``PointCloud.remove_close``)."""
    return ~((np.abs(points[0, :]) < radius) & (np.abs(points[1, :]) < radius))


def sweep_to_reference(sweep_sensor: Pose, sweep_ego: Pose, ref_ego: Pose, ref_sensor: Pose) -> np.ndarray:
    """[4,4] from a past sweep's sensor frame to the reference sensor frame (``from_file_multisweep``)."""
    return reduce(np.dot, [ref_sensor.matrix(True), ref_ego.matrix(True), sweep_ego.matrix(), sweep_sensor.matrix()])


def view_points(points: np.ndarray, intrinsic: np.ndarray) -> np.ndarray:
    """[3,N] camera-frame points → [3,N] float64 (u, v, 1): the devkit's ``view_points`` with ``normalize``
    (its 4×4 padding of K only adds exact zeros, so K @ points gives the same numbers)."""
    projected = np.asarray(intrinsic, dtype=np.float64) @ points
    with np.errstate(divide="ignore", invalid="ignore"):  # points behind the camera are masked afterwards
        projected /= projected[2]
    return projected


def in_image_mask(uv: np.ndarray, depth: np.ndarray, width: int, height: int, min_dist: float, margin=_IMAGE_MARGIN):
    """[N] bool: in front by more than ``min_dist`` and strictly inside the image minus ``margin`` pixels."""
    return (
        (depth > min_dist)
        & (uv[0] > margin)
        & (uv[0] < width - margin)
        & (uv[1] > margin)
        & (uv[1] < height - margin)
    )


def cull(xyz: np.ndarray, matrix: np.ndarray, intrinsic, width: int, height: int, min_dist: float) -> np.ndarray:
    """Indices of the points of ``xyz`` [3,N] that may project into the image: one float32 pass with generous margins.

    Works on homogeneous pixel coordinates (u·z, v·z, z) = K [R|t] p, without divisions: in numpy
    row by row, on a C-contiguous [3,N] a few vector operations, cheaper than a [3,3]×[3,N] product.
    """
    affine = (np.asarray(intrinsic, dtype=np.float64) @ matrix[:3, :]).astype(np.float32)
    min_depth, low = np.float32(min_dist - _CULL_DEPTH_MARGIN), np.float32(_IMAGE_MARGIN - _CULL_PIXEL_MARGIN)
    high_u, high_v = np.float32(width - _IMAGE_MARGIN + _CULL_PIXEL_MARGIN), np.float32(height - _IMAGE_MARGIN + _CULL_PIXEL_MARGIN)
    xyz = np.ascontiguousarray(xyz, dtype=np.float32)
    if kernels := compiled():
        return np.flatnonzero(kernels.cull_mask(xyz, affine, min_depth, low, high_u, high_v))
    x, y, z = xyz

    def row(i: int) -> np.ndarray:
        out = affine[i, 0] * x
        out += affine[i, 1] * y
        out += affine[i, 2] * z
        out += affine[i, 3]
        return out

    uz, vz, depth = row(0), row(1), row(2)
    keep = depth > min_depth
    keep &= uz > low * depth
    keep &= vz > low * depth
    keep &= uz < high_u * depth
    keep &= vz < high_v * depth
    return np.flatnonzero(keep)


@dataclass(frozen=True)
class Projected:
    """Points of a cloud that land in the image: ``index`` [M] into the input cloud, ``uv`` [M,2] float64 pixels at
    the camera's native resolution, ``depth`` [M] (camera z, in the cloud's dtype), ``camera_xyz`` [M,3]."""

    index: np.ndarray
    uv: np.ndarray
    depth: np.ndarray
    camera_xyz: np.ndarray


def _to_camera(points: np.ndarray, chain: Chain, intrinsic, width: int, height: int, min_dist: float):
    """(index [M] of the points that may land in the image, their camera-frame xyz [3, M] in the cloud's dtype)."""
    xyz = points[:3]
    if xyz.shape[1] < _CULL_MIN_POINTS:  # radar: a few dozen points, not worth culling
        index = np.arange(xyz.shape[1])
    else:
        xyz = np.ascontiguousarray(xyz)  # clouds are often strided views of the file's rows
        index = cull(xyz, chain.matrix, intrinsic, width, height, min_dist)
    if xyz.dtype == np.float32 and (kernels := compiled()):
        return index, kernels.replay_steps(np.ascontiguousarray(xyz), index, chain.steps)
    if len(index) < xyz.shape[1]:
        xyz = xyz.take(index, axis=1)  # take: several times faster than fancy indexing along axis 1
    if xyz.dtype == np.float64:  # per-step rounding is ~1e-16 relative here: one composite transform suffices
        return index, chain.matrix[:3, :3] @ xyz + chain.matrix[:3, 3:]
    return index, apply_chain(xyz, chain)


def project_many(
    clouds: Sequence[tuple[np.ndarray, Chain]], intrinsic, width: int, height: int, min_dist: float = 1.0
) -> list[Projected]:
    """``project_points`` of several <C,N> clouds into one camera, with one pinhole pass over all of them
    (the five radars of a sample are a few dozen points each: per-call overhead is most of their cost)."""
    staged = [_to_camera(points, chain, intrinsic, width, height, min_dist) for points, chain in clouds]
    if not staged:
        return []
    joined = np.concatenate([camera for _, camera in staged], axis=1)  # float32 clouds joined to float64 ones stay exact
    uv = view_points(joined, intrinsic)
    kept = np.flatnonzero(in_image_mask(uv, joined[2], width, height, min_dist))
    # gathered once for all clouds, then cut into per-cloud views at the clouds' boundaries
    index = np.concatenate([index for index, _ in staged]).take(kept)
    uv, camera_xyz = uv[:2].take(kept, axis=1).T, joined.take(kept, axis=1).T
    ends = np.searchsorted(kept, np.cumsum([camera.shape[1] for _, camera in staged])).tolist()
    out = []
    for (_, camera), start, stop in zip(staged, [0, *ends], ends):
        xyz = camera_xyz[start:stop].astype(camera.dtype, copy=False)  # in the cloud's dtype, like the devkit's
        out.append(Projected(index=index[start:stop], uv=uv[start:stop], depth=xyz[:, 2], camera_xyz=xyz))
    return out


def project_points(
    points: np.ndarray, chain: Chain, intrinsic, width: int, height: int, min_dist: float = 1.0
) -> Projected:
    """Project <C,N> sensor-frame points exactly as ``map_pointcloud_to_image`` does (see module docstring)."""
    return project_many([(points, chain)], intrinsic, width, height, min_dist)[0]
