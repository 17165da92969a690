"""Faults injected before projection: pure functions on raw frames, and their effect on the rendered maps."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.redundancy.faults import FAULTS, affected_maps, apply_faults, drifted
from fusion.redundancy.frames import LIDAR_ELEVATION_DEG, RawFrame, from_shard_sample, render_maps, ring_from_elevation
from preprocessing.geometry import Chain, Pose, project_points
from preprocessing.shards import iter_samples

IDENTITY = Pose((1.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
CAMERA = Pose((0.5, -0.5, 0.5, -0.5), (0.0, 0.0, 0.0))  # z forward = ego x, x right = ego −y, y down = ego −z
INTRINSIC = np.array([[100.0, 0.0, 80.0], [0.0, 100.0, 45.0], [0.0, 0.0, 1.0]])


def synthetic_frame(key: str = "frame") -> RawFrame:
    """A camera at the ego origin looking along x, LiDAR and two radars at the origin with the ego's axes."""
    rng = np.random.default_rng(0)
    elevations = np.radians(np.linspace(*LIDAR_ELEVATION_DEG, 32))
    azimuth = np.radians(np.linspace(-30, 30, 41))  # includes the optical axis
    el, az = np.meshgrid(elevations, azimuth, indexing="ij")
    distance = 20.0
    xyz = np.stack([distance * np.cos(el) * np.cos(az), distance * np.cos(el) * np.sin(az), distance * np.sin(el)], -1).reshape(-1, 3)
    lidar = np.column_stack([xyz, rng.uniform(0, 100, len(xyz)), np.zeros(len(xyz))]).astype(np.float32)
    radar = np.zeros((6, 8))
    radar[:, 0], radar[:, 1], radar[:, 3], radar[:, 7] = np.linspace(10, 40, 6), np.linspace(-3, 3, 6), 5.0, [0, 0, 0, 1, 1, 1]
    chain = Chain(IDENTITY, IDENTITY, IDENTITY, CAMERA)
    image = rng.integers(0, 200, (45, 80, 3), dtype=np.uint8)
    return RawFrame(key, image, lidar, ring_from_elevation(lidar), radar, chain, (chain, chain), ("RADAR_A", "RADAR_B"),
                    INTRINSIC, (160, 90), (80, 45))  # fmt: skip


def test_ring_from_elevation_recovers_every_beam():
    frame = synthetic_frame()
    assert np.array_equal(np.unique(frame.ring), np.arange(32))
    assert np.array_equal(frame.ring, np.repeat(np.arange(32), 41))


def test_camera_faults_are_pure_and_behave():
    frame = synthetic_frame()
    before = frame.image.copy()
    black = FAULTS["camera_blackout"](frame, np.random.default_rng(0))
    bright = FAULTS["camera_overexposure"](frame, np.random.default_rng(0), gain=6.0)
    neutral = FAULTS["camera_overexposure"](frame, np.random.default_rng(0), gain=1.0)
    assert np.array_equal(frame.image, before)  # the input is never modified
    assert not black.image.any()
    assert (bright.image.astype(int) >= before.astype(int) - 1).all() and bright.image.mean() > before.mean() + 40
    assert (bright.image == 255).mean() > (before == 255).mean() + 0.2
    assert np.abs(neutral.image.astype(int) - before.astype(int)).max() <= 1


@pytest.mark.parametrize("fraction", [0.25, 0.5, 1.0])
def test_lidar_dropout_removes_whole_beams(fraction):
    frame = synthetic_frame()
    dropped = FAULTS["lidar_dropout"](frame, np.random.default_rng(3), fraction=fraction)
    kept_rings = np.unique(dropped.ring)
    assert len(kept_rings) == 32 - round(32 * fraction)
    # every surviving beam keeps all of its points, every dropped beam loses all of them
    assert len(dropped.lidar) == 41 * len(kept_rings)
    assert np.array_equal(ring_from_elevation(dropped.lidar), dropped.ring)
    if fraction == 1.0:
        assert not render_maps(dropped).lidar.any()


def test_radar_ghosts_add_returns_inside_the_field_of_view():
    frame = synthetic_frame()
    noisy = FAULTS["radar_ghosts"](frame, np.random.default_rng(1), ghosts=50, max_range=60.0, fov_deg=60.0)
    real, ghosts = noisy.radar[: len(frame.radar)], noisy.radar[len(frame.radar) :]
    assert len(ghosts) == 50 * 2 and set(ghosts[:, 7]) == {0.0, 1.0}
    distance, azimuth = np.hypot(ghosts[:, 0], ghosts[:, 1]), np.degrees(np.arctan2(ghosts[:, 1], ghosts[:, 0]))
    assert (distance <= 60.0).all() and (np.abs(azimuth) <= 30.0).all() and not ghosts[:, 2].any()
    moved = np.hypot(*(real[:, :2] - frame.radar[:, :2]).T)
    assert (moved > 0).all() and moved.max() < 10.0
    assert np.array_equal(real[:, 7], frame.radar[:, 7])


def test_drifted_pose_turns_about_the_vehicle_axes():
    pose = Pose((0.5, -0.5, 0.5, -0.5), (1.0, 2.0, 3.0))
    turned = drifted(pose, yaw=10.0, shift=(0.1, 0.0, 0.0))
    c, s = np.cos(np.radians(10.0)), np.sin(np.radians(10.0))
    yaw = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    assert np.allclose(turned.matrix3, yaw @ pose.matrix3, atol=1e-12)
    assert np.allclose(turned.translation, (1.1, 2.0, 3.0))


def test_lidar_drift_shifts_projections_by_focal_tan_yaw():
    frame = synthetic_frame()
    moved = FAULTS["extrinsic_drift"](frame, np.random.default_rng(0), sensor="lidar", yaw=2.0)
    points = frame.lidar[:, :4].T
    before = project_points(points, frame.lidar_chain, INTRINSIC, 160, 90)
    after = project_points(points, moved.lidar_chain, INTRINSIC, 160, 90)
    common, a, b = np.intersect1d(before.index, after.index, return_indices=True)
    assert len(common) > 100
    # a yaw of the LiDAR mount moves every return left by f·tan(yaw) (points at the sensor's height
    # on the optical axis exactly; elsewhere to first order)
    on_axis = np.abs(points[1, common]) < 1e-6
    assert on_axis.sum() >= 10
    assert np.allclose(after.uv[b][on_axis, 0] - before.uv[a][on_axis, 0], -100.0 * np.tan(np.radians(2.0)), atol=1e-3)
    assert moved.radar_chains == frame.radar_chains


def test_apply_faults_is_reproducible_per_frame_key():
    spec = [("lidar_dropout", {"fraction": 0.5}), ("radar_ghosts", {"ghosts": 3})]
    first, again = apply_faults(synthetic_frame("a"), spec, seed=5), apply_faults(synthetic_frame("a"), spec, seed=5)
    other = apply_faults(synthetic_frame("b"), spec, seed=5)
    assert np.array_equal(first.lidar, again.lidar) and np.array_equal(first.radar, again.radar)
    assert not np.array_equal(np.unique(first.ring), np.unique(other.ring))
    with pytest.raises(ValueError, match="unknown fault"):
        apply_faults(synthetic_frame(), [("lens_flare", {})])


def test_render_maps_reproduces_the_ingested_maps(redundancy_shards):
    """Re-projecting the stored raw returns with the stored calibration gives the stored maps bit for bit."""
    count = 0
    for sample in iter_samples(redundancy_shards):
        maps = render_maps(from_shard_sample(sample))
        assert np.array_equal(maps.lidar, sample["lidar"]) and np.array_equal(maps.radar, sample["radar"])
        assert np.array_equal(maps.radars[:, -1].sum(axis=0) > 0, sample["radar"][-1] > 0)
        count += 1
    assert count == 75


@pytest.mark.parametrize(
    "kind, params",
    [("camera_blackout", {}), ("camera_overexposure", {}), ("lidar_dropout", {"fraction": 0.5}), ("radar_ghosts", {}),
     ("extrinsic_drift", {"sensor": "lidar"}), ("extrinsic_drift", {"sensor": "radar", "yaw": 4.0}),
     ("extrinsic_drift", {"sensor": "camera", "pitch": 2.0})],
)  # fmt: skip
def test_faults_change_exactly_the_maps_they_declare(redundancy_shards, kind, params):
    """``affected_maps`` is what lets a faulted condition re-encode only some sensors: it must be exact."""
    sample = next(iter_samples(redundancy_shards, split="train"))
    frame = from_shard_sample(sample)
    nominal, faulted = render_maps(frame), render_maps(apply_faults(frame, [(kind, params)], seed=0))
    changed = {name for name in ("camera", "lidar", "radar") if not np.array_equal(getattr(nominal, name), getattr(faulted, name))}
    assert changed == affected_maps(kind, params)
