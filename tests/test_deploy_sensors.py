"""On a recording made from the test world, the runtime's network inputs equal the ingested shards'."""

import json
from pathlib import Path

import numpy as np
import pytest

from deploy.record import write_recording
from deploy.runtime.recording import read_calibration, read_lidar, read_radar
from deploy.runtime.sensors import camera_input, lidar_map, radar_map
from preprocessing.dataset import ShardDataset
from preprocessing.errors import UserError
from preprocessing.pointclouds import RadarFilters
from preprocessing.sample import read_rgb


def test_record_writes_every_keyframe_with_its_sensors(world_recording, world):
    out, summary = world_recording
    frames = sorted(out.iterdir())
    assert summary["frames"] == len(frames) == world.summary["samples"]
    calibration = read_calibration(frames[0])
    assert calibration.camera.size == (480, 270) and calibration.lidar.channel == "LIDAR_TOP"
    assert len(calibration.radars) == 5


def test_runtime_inputs_equal_the_shard_maps(world_recording, shards):
    out, _ = world_recording
    dataset = ShardDataset(shards)
    items = {dataset.records[i]["sample_token"]: i for i in range(len(dataset))}
    out_size = (112, 64)
    compared = 0
    for frame in sorted(out.iterdir()):
        calibration = read_calibration(frame)
        token = json.loads((frame / "calibration.json").read_text())["source"]["sample_token"]
        item = dataset[items[token]]
        recorded = item["night"] if item["night_scene"] else item["day"]  # a night scene's day slot holds its day twin
        np.testing.assert_array_equal(camera_input(read_rgb(calibration.camera), out_size), recorded.numpy())
        cloud, dropped = read_lidar(Path(calibration.lidar.path))
        assert dropped == 0
        lidar, in_view = lidar_map(cloud, calibration.lidar, calibration.camera, out_size, 1.0)
        np.testing.assert_array_equal(lidar, item["lidar"].numpy())
        assert in_view > 0
        sweeps = [(read_radar(Path(r.path), RadarFilters())[0], r) for r in calibration.radars]
        radar, _ = radar_map(sweeps, calibration.camera, out_size, 1.0)
        np.testing.assert_array_equal(radar, item["radar"].numpy())
        compared += 1
    assert compared == len(dataset)


def test_record_can_synthesise_night_frames(world, tmp_path):
    out = tmp_path / "night"
    write_recording(world.dataroot, out, version=world.version, condition="day", limit=2, synthesize=True)
    day = tmp_path / "day"
    write_recording(world.dataroot, day, version=world.version, condition="day", limit=2)
    for name in ("000000", "000001"):
        dark = read_rgb(read_calibration(out / name).camera)
        bright = read_rgb(read_calibration(day / name).camera)
        assert dark.shape == bright.shape and dark.mean() < 0.7 * bright.mean()
    with pytest.raises(UserError, match="already exists"):
        write_recording(world.dataroot, out, version=world.version)
