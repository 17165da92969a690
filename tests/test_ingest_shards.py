"""The shard format and readers on the ``shards`` fixture (the generated world at 64×112)."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from preprocessing.dataset import ShardDataset
from preprocessing.frames import SensorFrame
from preprocessing.geometry import Pose, project_points
from preprocessing.night import NightParams, synthesize_night
from preprocessing.raster import rasterize
from preprocessing.sample import SampleError, calibration_chains, read_rgb
from preprocessing.shards import FIELDS, ShardFormatError, iter_samples, list_samples, read_manifest, sha256

CONTRACT_KEYS = {"day", "night", "lidar", "radar", "sample_token", "scene_token", "night_scene", "day_twin"}


def test_dataset_items_follow_the_contract(shards, nusc):
    dataset = ShardDataset(shards)
    assert len(dataset) == len(nusc.sample)
    night_tokens = {s["token"] for s in nusc.scene if "night" in s["description"].lower()}
    for item in dataset:
        assert set(item) == CONTRACT_KEYS
        for key, channels in (("day", 3), ("night", 3), ("lidar", 3), ("radar", 4)):
            assert item[key].shape == (channels, 64, 112) and str(item[key].dtype) == "torch.float32"
        assert -1.0 <= float(item["day"].min()) and float(item["day"].max()) <= 1.0
        for key in ("lidar", "radar"):
            valid = item[key][-1]
            assert set(valid.unique().tolist()) <= {0.0, 1.0}
            assert bool((item[key][:, valid == 0] == 0).all())  # empty pixels are zero in every channel
            assert float(item[key][0][valid == 1].min()) > 1.0  # depth beyond min_dist where valid
        assert item["night_scene"] == (item["scene_token"] in night_tokens)
        assert item["day_twin"] == item["night_scene"]  # the world renders a day twin of every night frame
        assert float(item["night"].mean()) < float(item["day"].mean())  # synthesised night, or the twin by day
    assert sum(float(item["lidar"][2].sum()) > 200 for item in dataset) == len(dataset)  # LiDAR hits everywhere


def test_splits_partition_the_dataset(shards):
    total = len(ShardDataset(shards))
    train, val = len(ShardDataset(shards, "train")), len(ShardDataset(shards, "val"))
    assert train > 0 and val > 0 and train + val == total


def test_manifest_checksums_and_webdataset_layout(shards):
    manifest = read_manifest(shards)
    assert manifest["counts"]["written"] == sum(shard["samples"] for shard in manifest["shards"])
    for shard in manifest["shards"]:
        data = (shards / shard["tar"]).read_bytes()
        assert sha256(data) == shard["sha256"]
        with tarfile.open(shards / shard["tar"]) as tar:
            names = tar.getnames()
        keys = list(dict.fromkeys(name.split(".", 1)[0] for name in names))
        assert names == [f"{key}.{field}" for key in keys for field in FIELDS]  # grouped per sample, in order
    records = list_samples(shards)
    for record in records:
        for field in FIELDS:  # offsets point at the right bytes
            offset, size, digest = record["members"][field]
            assert sha256((Path(record["tar"])).read_bytes()[offset : offset + size]) == digest


def test_night_frames_reproduce_from_the_stored_parameters(shards):
    synthetic = 0
    for sample in iter_samples(shards, verify=True):
        stored = sample["meta"]["night_synthesis"]
        if stored is None:
            assert sample["meta"]["night_scene"]
            continue
        np.testing.assert_array_equal(synthesize_night(sample["day"], NightParams.from_json(stored)), sample["night"])
        synthetic += 1
    assert synthetic > 0


def test_stored_points_and_calibration_reproject_onto_the_stored_maps(shards):
    """What later stages (vehicle runtime) need: sensor-frame points + poses + intrinsics give back the maps."""
    for sample in iter_samples(shards):
        calibration = sample["meta"]["calibration"]
        camera = calibration["camera"]
        chain = calibration_chains(calibration)["lidar"]
        points = sample["lidar_points"]
        hit = project_points(points[:, :4].T.copy(), chain, np.array(camera["intrinsic"]), *camera["size"])
        assert len(hit.index) == len(points)  # every stored point is one that lands in the image
        lidar_map = rasterize(hit.uv, hit.depth, points[hit.index, 3], tuple(camera["size"]), tuple(camera["out_size"]))
        np.testing.assert_array_equal(lidar_map, sample["lidar"])


def test_read_rgb_returns_rgb_and_rejects_bad_images(tmp_path):
    bgr = np.zeros((20, 30, 3), np.uint8)
    bgr[..., 2] = 255  # red, in OpenCV's BGR order
    path = tmp_path / "red.jpg"
    cv2.imwrite(str(path), bgr)
    identity = Pose((1.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
    frame = SensorFrame("t", "CAM_FRONT", str(path), identity, identity, 0, ((1, 0, 0), (0, 1, 0), (0, 0, 1)), (30, 20))
    rgb = read_rgb(frame)
    assert rgb[..., 0].mean() > 240 and rgb[..., 2].mean() < 15
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(SampleError, match="truncated JPEG"):
        read_rgb(frame)
    missing = SensorFrame("t", "CAM_FRONT", str(tmp_path / "missing.jpg"), identity, identity, 0, frame.intrinsic, (30, 20))
    with pytest.raises(SampleError, match="cannot read image"):
        read_rgb(missing)


def test_reader_errors_name_the_directory(tmp_path):
    with pytest.raises(ShardFormatError, match="manifest.json not found"):
        ShardDataset(tmp_path)


def test_vehicle_side_modules_import_neither_torch_nor_the_devkit():
    modules = ", ".join(f"preprocessing.{m}" for m in ("geometry", "raster", "night", "headlights", "pointclouds", "shards"))
    forbidden = ("torch", "nuscenes", "pyquaternion")
    code = f"import sys, {modules}; bad = [m for m in {forbidden} if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert result.returncode == 0, result.stdout + result.stderr
