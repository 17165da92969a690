"""Descriptors (pooled, null-offset latents), sensor sets and the redundancy config."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fusion.redundancy.config import RedundancyConfig, parse_fault, with_faults
from fusion.redundancy.descriptors import FLOOR, cell_count, cell_descriptors, cell_spread
from fusion.redundancy.sensors import resolve_sensors
from preprocessing.config import validate
from preprocessing.errors import UserError

RADARS = ("RADAR_FRONT", "RADAR_FRONT_LEFT", "RADAR_FRONT_RIGHT", "RADAR_BACK_LEFT", "RADAR_BACK_RIGHT")


@pytest.mark.parametrize("cell", [1, 2, 4])
def test_cell_descriptors_are_row_major_average_pools(cell):
    z = np.random.default_rng(0).normal(size=(3, 4, 8, 12)).astype(np.float32)
    d = cell_descriptors(z, cell)
    pooled = torch.nn.functional.avg_pool2d(torch.from_numpy(z), cell).numpy()  # [B, C, h/cell, w/cell]
    assert d.shape == (3, cell_count((8, 12), cell), 4) and d.dtype == np.float32
    assert np.allclose(d, pooled.reshape(3, 4, -1).transpose(0, 2, 1), atol=1e-6)
    row, column = 1, 2  # cell p = row·(w/cell) + column
    assert np.allclose(d[:, row * (12 // cell) + column], z[:, :, row * cell : (row + 1) * cell, column * cell : (column + 1) * cell].mean(axis=(2, 3)), atol=1e-6)


def test_cell_descriptors_reject_a_cell_that_does_not_divide_the_grid():
    with pytest.raises(ValueError, match="must divide"):
        cell_descriptors(np.zeros((1, 4, 8, 14)), 4)


def test_spread_is_the_log_scale_of_variation_over_cells():
    """Scaling a frame's descriptors by k shifts its spread by log k, an offset leaves it; a constant frame sits at
    log FLOOR, and each frame is measured over its own cells."""
    frame = np.random.default_rng(0).normal(size=(1, 50, 4))
    d = np.concatenate([frame, 0.01 * frame])
    spread = cell_spread(d)
    assert spread.shape == (2,) and spread[0] - spread[1] == pytest.approx(np.log(100), abs=1e-3)
    assert cell_spread(3.0 * d + 5.0) == pytest.approx(spread + np.log(3.0), abs=1e-6)
    assert cell_spread(np.full((1, 50, 4), 0.7, np.float32))[0] == pytest.approx(np.log(FLOOR), abs=1e-3)


def test_sensor_sets_expand_to_modalities_and_physical_channels():
    modalities = resolve_sensors(["modalities"], "CAM_FRONT", RADARS)
    assert [(s.name, s.kind) for s in modalities] == [("camera", "camera"), ("radar", "radar"), ("lidar", "lidar")]
    physical = resolve_sensors(["physical"], "CAM_FRONT", RADARS)
    assert [s.name for s in physical] == ["CAM_FRONT", *RADARS, "LIDAR_TOP"]
    assert [s.radar for s in physical if s.kind == "radar"] == [0, 1, 2, 3, 4]
    assert [s.name for s in resolve_sensors(["LIDAR_TOP", "camera", "LIDAR_TOP"], "CAM_FRONT", RADARS)] == ["LIDAR_TOP", "camera"]
    with pytest.raises(UserError, match="unknown sensor 'sonar'"):
        resolve_sensors(["camera", "sonar"], "CAM_FRONT", RADARS)
    with pytest.raises(UserError, match="at least 2 sensors"):
        resolve_sensors(["lidar"], "CAM_FRONT", RADARS)


def test_fault_options_parse_and_validate():
    fault = parse_fault("extrinsic_drift:sensor=camera,yaw=2,shift=0.1/0/0")
    assert fault.spec == ("extrinsic_drift", {"sensor": "camera", "yaw": 2.0, "shift": (0.1, 0.0, 0.0)})
    assert parse_fault(fault.label) == fault
    with pytest.raises(UserError, match="lidar_dropout has no parameter.*beams_lost.*fraction"):
        parse_fault("lidar_dropout:beams_lost=3")
    with pytest.raises(UserError, match="kind"):
        parse_fault("lens_flare")
    with pytest.raises(UserError, match="expected name=value"):
        parse_fault("radar_ghosts:ghosts")


def test_faults_option_replaces_the_faulted_conditions():
    config = with_faults(RedundancyConfig(), ["camera_blackout", "lidar_dropout:fraction=0.5"])
    assert [c.name for c in config.conditions] == ["day", "night", "camera_blackout", "lidar_dropout:fraction=0.5"]
    assert config.conditions[-1].faults[0].params == {"fraction": 0.5}


def test_config_rejects_unknown_reference_and_duplicate_conditions():
    with pytest.raises(UserError, match="reference condition 'dusk'"):
        validate(RedundancyConfig, {"reference": "dusk"})
    with pytest.raises(UserError, match="unique"):
        validate(RedundancyConfig, {"conditions": [{"name": "day"}, {"name": "day"}]})
    with pytest.raises(UserError, match="sensor: Extra inputs"):
        validate(RedundancyConfig, {"sensor": ["camera"]})


def test_null_input_has_the_zero_descriptor(autoencoders, redundancy_shards):
    """A sensor that delivers nothing is the constant 0 at every cell; a working one is not."""
    from fusion.redundancy.extract import DescriptorExtractor
    from fusion.redundancy.frames import from_shard_sample, render_maps
    from perception import load_autoencoders
    from preprocessing.shards import iter_samples

    sensors = resolve_sensors(["modalities"], "CAM_FRONT", RADARS)
    extractor = DescriptorExtractor(load_autoencoders(autoencoders), sensors, cell=1)
    maps = render_maps(from_shard_sample(next(iter_samples(redundancy_shards, split="train"))))
    empty = type(maps)(camera=np.full_like(maps.camera, -1.0), lidar=np.zeros_like(maps.lidar), radar=np.zeros_like(maps.radar), radars=maps.radars)
    dead, live = extractor([empty, empty]), extractor([maps])
    grid = extractor.null_latents["camera"].shape[1:]
    for name in ("camera", "radar", "lidar"):
        assert dead[name].shape == (2, grid[0] * grid[1], 4)
        assert np.abs(dead[name]).max() < 1e-3
    assert np.abs(live["camera"]).mean() > 0.05 and np.abs(live["lidar"]).mean() > 0.05
