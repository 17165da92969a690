"""``project_pointcloud`` against the devkit on every keyframe of the generated world.

Single sweeps are compared with ``NuScenesExplorer.map_pointcloud_to_image``; multi-sweep clouds
with ``from_file_multisweep`` followed by the same devkit transform calls. Same point set (same
points, same order), |Δu|, |Δv| < 1e-3 px, |Δdepth| < 1e-4 m, and the same point features.
"""

from __future__ import annotations

import numpy as np
import pytest
from nuscenes.utils.data_classes import LidarPointCloud, RadarPointCloud
from nuscenes.utils.geometry_utils import view_points
from pyquaternion import Quaternion

from preprocessing.tables import LIDAR_CHANNEL, RADAR_CHANNELS
from preprocessing.projection import project_pointcloud, project_sample

CAMERA = "CAM_FRONT"
POINT_CHANNELS = (LIDAR_CHANNEL, *RADAR_CHANNELS)
UV_TOL, DEPTH_TOL = 1e-3, 1e-4


def devkit_projection(nusc, cloud, pointsensor_token: str, camera_token: str, min_dist: float = 1.0):
    """The body of ``map_pointcloud_to_image`` applied to a given devkit cloud: (uv [2,N], depth [N], mask)."""
    cam = nusc.get("sample_data", camera_token)
    pointsensor = nusc.get("sample_data", pointsensor_token)
    cs = nusc.get("calibrated_sensor", pointsensor["calibrated_sensor_token"])
    cloud.rotate(Quaternion(cs["rotation"]).rotation_matrix)
    cloud.translate(np.array(cs["translation"]))
    pose = nusc.get("ego_pose", pointsensor["ego_pose_token"])
    cloud.rotate(Quaternion(pose["rotation"]).rotation_matrix)
    cloud.translate(np.array(pose["translation"]))
    pose = nusc.get("ego_pose", cam["ego_pose_token"])
    cloud.translate(-np.array(pose["translation"]))
    cloud.rotate(Quaternion(pose["rotation"]).rotation_matrix.T)
    cs = nusc.get("calibrated_sensor", cam["calibrated_sensor_token"])
    cloud.translate(-np.array(cs["translation"]))
    cloud.rotate(Quaternion(cs["rotation"]).rotation_matrix.T)
    depths = cloud.points[2, :]
    uv = view_points(cloud.points[:3, :], np.array(cs["camera_intrinsic"]), normalize=True)
    width, height = cam["width"], cam["height"]
    mask = (depths > min_dist) & (uv[0] > 1) & (uv[0] < width - 1) & (uv[1] > 1) & (uv[1] < height - 1)
    return uv[:2, mask], depths[mask], mask


def assert_same_projection(mine, uv, depth) -> None:
    assert mine.uv.shape == (uv.shape[1], 2), "different point sets"
    if len(depth):
        assert np.abs(mine.uv - uv.T).max() < UV_TOL
        assert np.abs(mine.depth - depth).max() < DEPTH_TOL


def _load(channel: str, path: str):
    return LidarPointCloud.from_file(path) if channel == LIDAR_CHANNEL else RadarPointCloud.from_file(path)


def test_single_sweep_equals_map_pointcloud_to_image(nusc):
    counts = dict.fromkeys(POINT_CHANNELS, 0)
    for sample in nusc.sample:
        camera_token = sample["data"][CAMERA]
        whole_sample = project_sample(nusc, sample["token"], CAMERA)
        for channel in POINT_CHANNELS:
            token = sample["data"][channel]
            points, depth, _ = nusc.explorer.map_pointcloud_to_image(token, camera_token)
            uv = points[:2]
            mine = project_pointcloud(nusc, token, camera_token)
            assert_same_projection(mine, uv, depth)
            # Features: the kept columns of the devkit's own cloud, in the same order.
            path = str(nusc.dataroot) + "/" + nusc.get("sample_data", token)["filename"]
            original = _load(channel, path).points.copy()
            _, _, mask = devkit_projection(nusc, _load(channel, path), token, camera_token)
            np.testing.assert_array_equal(mine.points, original[:, mask].T)
            np.testing.assert_array_equal(whole_sample[channel].uv, mine.uv)
            counts[channel] += len(depth)
    assert counts[LIDAR_CHANNEL] > 1000 * len(nusc.sample), counts  # not vacuous: real clouds were compared
    assert counts["RADAR_FRONT"] > 0, counts


@pytest.mark.parametrize("channel", [LIDAR_CHANNEL, "RADAR_FRONT"])
def test_multisweep_equals_from_file_multisweep(nusc, channel):
    nsweeps, compared = 3, 0
    cloud_class = LidarPointCloud if channel == LIDAR_CHANNEL else RadarPointCloud
    for sample in nusc.sample:
        token, camera_token = sample["data"][channel], sample["data"][CAMERA]
        cloud, times = cloud_class.from_file_multisweep(nusc, sample, channel, channel, nsweeps=nsweeps)
        original = cloud.points.copy()
        uv, depth, mask = devkit_projection(nusc, cloud, token, camera_token)
        mine = project_pointcloud(nusc, token, camera_token, nsweeps=nsweeps)
        assert_same_projection(mine, uv, depth)
        np.testing.assert_array_equal(mine.points[:, :3], original[:3, mask].T)
        np.testing.assert_allclose(mine.extra["time_lag"], times[0, mask], atol=1e-9)
        if channel == LIDAR_CHANNEL:
            np.testing.assert_array_equal(mine.points[:, 3], original[3, mask])
        else:  # velocities are rotated into the reference frame (the devkit leaves them): same planar speeds
            np.testing.assert_array_equal(mine.points[:, 5], original[5, mask])  # rcs
            speed_mine, speed_devkit = np.hypot(mine.points[:, 8], mine.points[:, 9]), np.hypot(*original[8:10, mask])
            np.testing.assert_allclose(speed_mine, speed_devkit, rtol=1e-5, atol=1e-9)  # up to the dropped vertical part
        compared += int(np.ptp(times) > 0)
    assert compared > 0, "no sample had past sweeps: the multi-sweep path was not exercised"


def test_radar_velocities_are_rotated_into_the_camera_frame(nusc):
    checked = 0
    for sample in nusc.sample:
        token, camera_token = sample["data"]["RADAR_FRONT"], sample["data"][CAMERA]
        mine = project_pointcloud(nusc, token, camera_token)
        radar, camera = nusc.get("sample_data", token), nusc.get("sample_data", camera_token)
        rotations = [
            Quaternion(nusc.get("calibrated_sensor", camera["calibrated_sensor_token"])["rotation"]).rotation_matrix.T,
            Quaternion(nusc.get("ego_pose", camera["ego_pose_token"])["rotation"]).rotation_matrix.T,
            Quaternion(nusc.get("ego_pose", radar["ego_pose_token"])["rotation"]).rotation_matrix,
            Quaternion(nusc.get("calibrated_sensor", radar["calibrated_sensor_token"])["rotation"]).rotation_matrix,
        ]
        rotation = rotations[0] @ rotations[1] @ rotations[2] @ rotations[3]
        planar = np.column_stack([mine.points[:, 8], mine.points[:, 9], np.zeros(len(mine.depth))])
        np.testing.assert_allclose(mine.extra["velocity_comp"], planar @ rotation.T, atol=1e-9)
        checked += int(np.abs(planar).sum() > 0)
    assert checked > 0, "no moving radar returns in view"
