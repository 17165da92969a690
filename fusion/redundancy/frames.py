"""One instant's raw sensor inputs, and their projection into the camera's image plane (numpy only).

A ``RawFrame`` holds what the sensors delivered *before* projection and encoding, so faults can be
injected where they physically happen (``fusion.redundancy.faults``):

    image        uint8 [H, W, 3] RGB, the recorded camera frame at the output resolution
    lidar        float32 [N, 5]  (x, y, z, intensity, time_lag) in the LiDAR frame
    ring         int64 [N]       beam index of each LiDAR point (0 = lowest beam)
    radar        float64 [M, 8]  (x, y, z, rcs, vx_comp, vy_comp, time_lag, radar index) in each radar's frame
    lidar_chain  LiDAR → camera ``Chain``; radar_chains: one per radar (index = column 7 of ``radar``)

``from_shard_sample`` rebuilds it from an ingested sample (``preprocessing.shards.load_sample``):
the shards store the returns that reached the camera frustum with their calibration, so
``render_maps`` of an unfaulted frame reproduces the stored LiDAR and radar maps exactly (same
projection and rasteriser as ingestion). The vehicle runtime builds ``RawFrame`` from its own
sensor buffers and calls the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from preprocessing.geometry import Chain, Pose, project_points
from preprocessing.raster import radial_velocity, rasterize

# nuScenes LIDAR_TOP (Velodyne HDL-32E): 32 beams evenly spread over this elevation range.
LIDAR_BEAMS = 32
LIDAR_ELEVATION_DEG = (-30.67, 10.67)


@dataclass(frozen=True)
class RawFrame:
    """See the module docstring; ``intrinsic`` [3,3] and ``native_size`` (width, height) are the camera's
    own, ``out_size`` (width, height) the resolution of ``image`` and of the rendered maps."""

    key: str
    image: np.ndarray
    lidar: np.ndarray
    ring: np.ndarray
    radar: np.ndarray
    lidar_chain: Chain
    radar_chains: tuple[Chain, ...]
    radar_channels: tuple[str, ...]
    intrinsic: np.ndarray
    native_size: tuple[int, int]
    out_size: tuple[int, int]
    min_dist: float = 1.0

    def with_(self, **changes) -> "RawFrame":
        return replace(self, **changes)


@dataclass(frozen=True)
class SensorMaps:
    """The network inputs of one frame in the ShardDataset layout (float32, channels first).

    camera [3,H,W] in [-1, 1]; lidar [3,H,W]; radar [4,H,W] (all radars); radars [R,4,H,W] one map per radar.
    """

    camera: np.ndarray
    lidar: np.ndarray
    radar: np.ndarray
    radars: np.ndarray


def ring_from_elevation(xyz: np.ndarray, beams: int = LIDAR_BEAMS, elevation_deg=LIDAR_ELEVATION_DEG) -> np.ndarray:
    """[N] beam index of LiDAR points [N, ≥3] (sensor frame) from their elevation angle.

    Shards keep (x, y, z, intensity) like the devkit's ``LidarPointCloud``, which drops the ring
    column, so the beam is recovered as the nearest of ``beams`` evenly spaced elevations.
    """
    elevation = np.degrees(np.arctan2(xyz[:, 2], np.hypot(xyz[:, 0], xyz[:, 1])))
    low, high = elevation_deg
    index = np.rint((elevation - low) / (high - low) * (beams - 1))
    return np.clip(index, 0, beams - 1).astype(np.int64)


def _pose(record: dict) -> Pose:
    return Pose(tuple(record["rotation"]), tuple(record["translation"]))


def _chain(point_sensor: dict, camera: dict) -> Chain:
    return Chain(
        sensor=_pose(point_sensor["sensor"]), ego_at_sensor=_pose(point_sensor["ego"]),
        ego_at_camera=_pose(camera["ego"]), camera=_pose(camera["sensor"]),
    )  # fmt: skip


def from_shard_sample(sample: dict) -> RawFrame:
    """A ``RawFrame`` from ``preprocessing.shards.load_sample`` output. The recorded camera frame is ``day`` in
    day scenes and ``night`` in night scenes (where ``day`` may hold the rendered day twin, never recorded)."""
    calibration = sample["meta"]["calibration"]
    camera = calibration["camera"]
    lidar = np.asarray(sample["lidar_points"], dtype=np.float32).reshape(-1, 5)
    return RawFrame(
        key=sample["meta"]["key"],
        image=sample["night"] if sample["meta"]["night_scene"] else sample["day"],
        lidar=lidar,
        ring=ring_from_elevation(lidar),
        radar=np.asarray(sample["radar_points"], dtype=np.float64).reshape(-1, 8),
        lidar_chain=_chain(calibration["lidar"], camera),
        radar_chains=tuple(_chain(radar, camera) for radar in calibration["radars"]),
        radar_channels=tuple(radar["channel"] for radar in calibration["radars"]),
        intrinsic=np.asarray(camera["intrinsic"], dtype=np.float64),
        native_size=tuple(camera["size"]),
        out_size=tuple(camera["out_size"]),
    )


def _lidar_map(frame: RawFrame) -> np.ndarray:
    width, height = frame.native_size
    hit = project_points(frame.lidar[:, :4].T, frame.lidar_chain, frame.intrinsic, width, height, frame.min_dist)
    return rasterize(hit.uv, hit.depth, frame.lidar[hit.index, 3], frame.native_size, frame.out_size)


def _radar_hits(frame: RawFrame, radar: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(uv [K,2], depth [K], (rcs, radial velocity) [K,2]) of one radar's returns in the image."""
    points = frame.radar[frame.radar[:, 7] == radar]
    chain = frame.radar_chains[radar]
    width, height = frame.native_size
    hit = project_points(points[:, :3].T, chain, frame.intrinsic, width, height, frame.min_dist)
    kept = points[hit.index]
    planar = np.column_stack([kept[:, 4], kept[:, 5], np.zeros(len(kept))])  # radar has no vertical velocity
    velocity = planar @ chain.matrix[:3, :3].T
    return hit.uv, hit.depth, np.column_stack([kept[:, 3], radial_velocity(hit.camera_xyz, velocity)])


def _radar_map(hits, frame: RawFrame) -> np.ndarray:
    uv = np.concatenate([h[0] for h in hits]).reshape(-1, 2)
    depth = np.concatenate([h[1] for h in hits])
    values = np.concatenate([h[2] for h in hits]).reshape(-1, 2)
    return rasterize(uv, depth, values, frame.native_size, frame.out_size)


def render_maps(frame: RawFrame) -> SensorMaps:
    """Project and rasterise a (possibly faulted) frame into the ShardDataset layout."""
    hits = [_radar_hits(frame, r) for r in range(len(frame.radar_chains))]
    camera = frame.image.astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0
    per_radar = np.stack([_radar_map([hit], frame) for hit in hits]) if hits else np.zeros((0, 4, *frame.out_size[::-1]), np.float32)
    return SensorMaps(camera=camera, lidar=_lidar_map(frame), radar=_radar_map(hits, frame), radars=per_radar)
