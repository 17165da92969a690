"""Headlight illumination: ground-plane depth, 1/r² and cone falloff, and reproducibility from a shard."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from preprocessing.geometry import Pose
from preprocessing.headlights import ground_depth, headlight_light, pixel_rays, scene_depth
from preprocessing.night import NightParams, NightRanges, sample_night_params, synthesize_night
from preprocessing.shards import iter_samples
from tests.fixtures.shards import ingest_world

WIDTH, HEIGHT = 112, 64
INTRINSIC = np.array([[90.0, 0.0, 56.0], [0.0, 90.0, 30.0], [0.0, 0.0, 1.0]])
LEVEL_CAMERA = Pose((0.5, -0.5, 0.5, -0.5), (1.7, 0.0, 1.5))  # optical axis = ego x, 1.5 m above the ground


def test_ground_depth_of_a_level_camera_is_f_h_over_row_offset():
    depth = ground_depth(pixel_rays(INTRINSIC, WIDTH, HEIGHT), LEVEL_CAMERA)
    rows = np.arange(HEIGHT)
    below = rows > INTRINSIC[1, 2] + 0.5
    expected = 90.0 * 1.5 / (rows[below] - INTRINSIC[1, 2])
    np.testing.assert_allclose(depth[below, 40], expected, rtol=1e-9)
    assert not depth[~below].any()  # at and above the horizon: no ground


def test_scene_depth_prefers_lidar_returns_over_the_ground():
    lidar = np.zeros((3, HEIGHT, WIDTH), np.float32)
    lidar[0, 50, 56], lidar[2, 50, 56] = 4.0, 1.0  # one return 4 m away, on a pixel whose ground is farther
    depth = scene_depth(lidar, INTRINSIC, LEVEL_CAMERA)
    ground = ground_depth(pixel_rays(INTRINSIC, WIDTH, HEIGHT), LEVEL_CAMERA)
    assert depth[50, 56] == pytest.approx(4.0) and depth[52, 57] == pytest.approx(4.0)  # filled nearby
    assert depth[62, 10] == pytest.approx(ground[62, 10])


def test_light_falls_off_with_distance_and_angle():
    near, far = np.full((HEIGHT, WIDTH), 5.0), np.full((HEIGHT, WIDTH), 10.0)
    light_near = headlight_light(near, INTRINSIC, gain=0.4, spread_deg=15.0, tilt_deg=0.0)
    light_far = headlight_light(far, INTRINSIC, gain=0.4, spread_deg=15.0, tilt_deg=0.0)
    centre = (30, 56)  # on the optical axis
    # 1/r² between 5 m and 10 m, up to the slant of the pixel ray
    assert light_near[centre] / light_far[centre] == pytest.approx(4.0, rel=1e-3)
    assert light_far[centre] == pytest.approx(0.4, rel=1e-3)  # the gain is the light at 10 m on the axis
    assert light_near[centre] > light_near[30, 100] > light_near[30, 111]  # cone falloff off-axis
    assert not headlight_light(np.zeros((HEIGHT, WIDTH)), INTRINSIC, 0.4, 15.0).any()  # unknown depth: no light


def test_headlights_brighten_what_they_light_and_are_off_by_default():
    assert sample_night_params(3).headlight_gain == 0.0
    day = np.full((HEIGHT, WIDTH, 3), 140, np.uint8)
    params = replace(sample_night_params(3, NightRanges(headlight_gain=(0.3, 0.3))), shot_noise=1e-6, read_noise=1e-9)
    light = headlight_light(np.full((HEIGHT, WIDTH), 8.0), INTRINSIC, params.headlight_gain, params.headlight_spread_deg)
    lit, dark = synthesize_night(day, params, light), synthesize_night(day, params)
    assert lit[30, 56].mean() > dark[30, 56].mean() + 20
    assert abs(int(lit[30, 0].mean()) - int(dark[30, 0].mean())) < abs(int(lit[30, 56].mean()) - int(dark[30, 56].mean()))


def test_headlit_night_frames_reproduce_from_the_shard(world, tmp_path):
    ranges = NightRanges(headlight_gain=(0.2, 0.5))
    ingest_world(world, tmp_path / "out", limit=6, condition="day", night=ranges)
    checked = 0
    for sample in iter_samples(tmp_path / "out"):
        params = NightParams.from_json(sample["meta"]["night_synthesis"])
        camera = sample["meta"]["calibration"]["camera"]
        intrinsic = np.array(camera["intrinsic_out"])
        depth = scene_depth(sample["lidar"], intrinsic, Pose.from_record(camera["sensor"]))
        light = headlight_light(depth, intrinsic, params.headlight_gain, params.headlight_spread_deg)
        assert 0.2 <= params.headlight_gain <= 0.5
        np.testing.assert_array_equal(synthesize_night(sample["day"], params, light), sample["night"])
        assert not np.array_equal(synthesize_night(sample["day"], params), sample["night"])
        checked += 1
    assert checked > 0
