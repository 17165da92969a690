"""Day twins in the shards: a night-scene frame's ``day`` slot holds its rendered day twin, resized
like any day frame; a bad twin skips the sample like a bad camera image, a missing one leaves the
night frame in both slots."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from preprocessing.shards import list_samples, load_sample, read_manifest
from preprocessing.world.day_twins import day_twin_path
from tests.fixtures.shards import SHARDS_OPTIONS, ingest_world
from tests.fixtures.world import replace_file, symlinked_copy

HEIGHT, WIDTH = SHARDS_OPTIONS["resolution"]


def resized_rgb(path) -> np.ndarray:
    """What the ingest stores for a camera file: RGB, INTER_AREA down to the shard resolution."""
    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    return cv2.resize(rgb, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)


def camera_file(world, nusc, record: dict):
    return world.dataroot / nusc.get("sample_data", record["key"])["filename"]


def test_night_frames_pair_with_their_day_twin(world, nusc, shards):
    records = list_samples(shards)
    assert read_manifest(shards)["counts"]["day_twins"] == sum(r["night_scene"] for r in records) > 0
    for record in records:
        sample = load_sample(record)
        assert record["day_twin"] == sample["meta"]["day_twin"] == record["night_scene"]
        frame = resized_rgb(camera_file(world, nusc, record))
        if record["night_scene"]:
            twin = resized_rgb(day_twin_path(world.dataroot, "CAM_FRONT", camera_file(world, nusc, record)))
            np.testing.assert_array_equal(sample["night"], frame)
            np.testing.assert_array_equal(sample["day"], twin)
            assert sample["day"].mean() > 2 * sample["night"].mean()
        else:
            np.testing.assert_array_equal(sample["day"], frame)


@pytest.fixture(scope="module")
def broken_twins(world, nusc, tmp_path_factory):
    """The night scene's keyframes with a truncated, a downsized, a deleted and an intact day twin,
    ingested; returns (shard directory, sample tokens in that order)."""
    copy = symlinked_copy(world, tmp_path_factory.mktemp("twins") / "nuscenes")
    [night] = [s for s in nusc.scene if "night" in s["description"].lower()]
    tokens, token = [], night["first_sample_token"]
    while token:
        tokens.append(token)
        token = nusc.get("sample", token)["next"]
    cameras = [nusc.get("sample_data", nusc.get("sample", t)["data"]["CAM_FRONT"])["filename"] for t in tokens]
    twins = [day_twin_path(copy.dataroot, "CAM_FRONT", filename) for filename in cameras]
    replace_file(twins[0], twins[0].read_bytes()[:4000])
    replace_file(twins[1], cv2.imencode(".jpg", cv2.resize(cv2.imread(str(twins[1])), (240, 135)))[1].tobytes())
    replace_file(twins[2], None)
    out = tmp_path_factory.mktemp("twin_shards") / "ingest"
    ingest_world(copy, out, condition="night")
    return out, tokens


def test_a_bad_twin_skips_its_sample_with_the_reason(broken_twins):
    out, tokens = broken_twins
    reasons = {skip["sample_token"]: skip["reason"] for skip in read_manifest(out)["skipped"]}
    assert set(reasons) == set(tokens[:2])
    assert "daytwin" in reasons[tokens[0]] and "truncated JPEG" in reasons[tokens[0]]
    assert "daytwin" in reasons[tokens[1]] and "image is 240x135, its record says 480x270" in reasons[tokens[1]]


def test_a_missing_twin_leaves_the_night_frame_in_both_slots(broken_twins):
    out, tokens = broken_twins
    samples = {record["sample_token"]: load_sample(record) for record in list_samples(out)}
    assert set(samples) == set(tokens[2:])
    missing, intact = samples[tokens[2]], samples[tokens[3]]
    assert not missing["meta"]["day_twin"] and missing["meta"]["night_scene"]
    np.testing.assert_array_equal(missing["day"], missing["night"])
    assert intact["meta"]["day_twin"] and intact["day"].mean() > 2 * intact["night"].mean()
    assert read_manifest(out)["counts"]["day_twins"] == 1
