"""Frame selection: splits, day/night, keyframes vs 12 Hz camera sweeps, nearest point-sensor frames."""

from __future__ import annotations

from pathlib import Path

import pytest

from preprocessing.planning import Selection, plan
from preprocessing.tables import LIDAR_CHANNEL, RADAR_CHANNELS, TolerantNuScenes
from preprocessing.world.day_twins import day_twin_path


@pytest.fixture(scope="module")
def tables(world):
    return TolerantNuScenes(world.version, world.dataroot)


def test_keyframes_use_their_samples_records(tables):
    specs = plan(tables, Selection()).specs
    assert len(specs) == len(tables.sample)
    for spec in specs:
        data = tables.get("sample", spec.sample_token)["data"]
        assert spec.key == data["CAM_FRONT"] and spec.lidar[0].token == data[LIDAR_CHANNEL]
        assert [sweeps[0].token for sweeps in spec.radars] == [data[c] for c in RADAR_CHANNELS]


def test_condition_and_split_select_scenes(tables):
    night = {s["token"] for s in tables.scene if "night" in s["description"].lower()}
    assert night and len(night) < len(tables.scene)
    assert {s.scene_token for s in plan(tables, Selection(condition="night")).specs} == night
    assert not {s.scene_token for s in plan(tables, Selection(condition="day")).specs} & night
    val = plan(tables, Selection(splits=("val",))).specs
    assert val and {s.split for s in val} == {"val"}
    assert len(plan(tables, Selection(limit=5)).specs) == 5


def test_camera_sweeps_take_every_frame_and_the_nearest_point_frames(tables):
    specs = plan(tables, Selection(camera_sweeps=True, lidar_sweeps=2)).specs
    cameras = [r for r in tables.sample_data if r["channel"] == "CAM_FRONT"]
    assert len(specs) == len(cameras) > len(tables.sample)  # 12 Hz, not only the 2 Hz keyframes
    lidar_times = {}  # scene token → LiDAR timestamps
    for r in tables.sample_data:
        if r["channel"] == LIDAR_CHANNEL:
            lidar_times.setdefault(tables.get("sample", r["sample_token"])["scene_token"], []).append(r["timestamp"])
    for spec in specs:
        best = min(abs(t - spec.camera.timestamp) for t in lidar_times[spec.scene_token])
        assert abs(spec.lidar[0].timestamp - spec.camera.timestamp) == best
        assert len(spec.lidar) <= 2 and all(a.timestamp > b.timestamp for a, b in zip(spec.lidar, spec.lidar[1:]))
    times = [s.camera.timestamp for s in specs if s.scene_token == specs[0].scene_token]
    assert times == sorted(times)


def test_night_frames_carry_the_path_of_their_day_twin(tables):
    specs = plan(tables, Selection(camera_sweeps=True)).specs
    night = [spec for spec in specs if spec.night_scene]
    assert night and all(spec.day_twin is None for spec in specs if not spec.night_scene)
    for spec in night:
        assert Path(spec.day_twin) == day_twin_path(tables.dataroot, "CAM_FRONT", spec.camera.path)
        assert Path(spec.day_twin).is_file()
