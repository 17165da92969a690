"""The onnxruntime enhancement and redundancy score reproduce the torch pipeline given the same noise."""

import json
import shutil

import numpy as np
import pytest
import torch

from deploy.export_redundancy import DRAWS_FILE, redundancy_section, score_source
from deploy.runtime import RedundancyScore
from deploy.runtime.enhance import Enhancer as OnnxEnhancer
from deploy.runtime.graphs import Graphs
from deploy.runtime.manifest import MANIFEST_FILE, file_entry, load_manifest
from fusion.diffusion.enhance import Enhancer as TorchEnhancer
from fusion.information.estimator import InformationEstimator
from fusion.redundancy.collect import FrameDescriptors
from fusion.redundancy.extract import DescriptorExtractor
from fusion.redundancy.frames import SensorMaps
from fusion.redundancy.monitor import Monitor
from fusion.redundancy.sensors import Sensor
from perception import load_autoencoders


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """dB between images in [-1, 1] (peak-to-peak 2)."""
    return float(10 * np.log10(4.0 / max(np.mean((a.astype(np.float64) - b) ** 2), 1e-20)))


@pytest.fixture(scope="module")
def pipelines(deploy_models):
    graphs = Graphs(load_manifest(deploy_models.onnx))
    return TorchEnhancer(deploy_models.mld), OnnxEnhancer(graphs), graphs


def frames(batch: int, names, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    out = {"night": torch.rand(batch, 3, 32, 48, generator=g) * 1.2 - 1}
    for name, channels in (("radar", 4), ("lidar", 3)):
        if name in names:
            valid = (torch.rand(batch, 1, 32, 48, generator=g) < 0.2).float()
            values = torch.cat([2 + 40 * torch.rand(batch, 1, 32, 48, generator=g),
                                5 * torch.randn(batch, channels - 2, 32, 48, generator=g)], dim=1)
            out[name] = torch.cat([values * valid, valid], dim=1)
    return out


def torch_noise(shape, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The two draws ``fusion.diffusion.sampling.sample`` makes from ``Generator().manual_seed(seed)``."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g).numpy(), torch.randn(shape, generator=g).numpy()


@pytest.mark.parametrize(
    "names,guidance,t_start", [(("night", "radar", "lidar"), 2.0, 0.5), (("night", "lidar"), 1.0, 0.7), (("night",), 3.0, 1.0)]
)
def test_onnx_enhancement_matches_the_torch_pipeline(pipelines, names, guidance, t_start):
    torch_enhancer, onnx_enhancer, _ = pipelines
    inputs = frames(2, names)
    expected = torch_enhancer.enhance(inputs, t_start=t_start, steps=6, guidance=guidance, seed=11).numpy()
    start, absent = torch_noise((2, 4, 4, 4, 6), 11)
    numpy_inputs = {name: x.numpy() for name, x in inputs.items()}
    result = onnx_enhancer.enhance(numpy_inputs, steps=6, guidance=guidance, t_start=t_start,
                                   start_noise=start, absent_noise=absent)  # fmt: skip
    assert result.image.shape == expected.shape == (2, 3, 32, 48)
    assert psnr(result.image, expected) >= 40.0
    other = onnx_enhancer.enhance(numpy_inputs, steps=6, guidance=guidance, t_start=t_start, seed=1)
    assert psnr(other.image, expected) < 40.0  # the comparison is sensitive: other noise, other frame
    assert set(result.latents) == set(names)


def test_default_settings_come_from_the_model(pipelines):
    _, onnx_enhancer, graphs = pipelines
    assert onnx_enhancer.defaults == graphs.manifest.data["sampling"] == {"steps": 6, "guidance": 2.0, "t_start": 0.5}
    inputs = {name: x.numpy() for name, x in frames(1, ("night",)).items()}
    a = onnx_enhancer.enhance(inputs, seed=3)
    b = onnx_enhancer.enhance(inputs, steps=6, guidance=2.0, t_start=0.5, seed=3)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.seconds["per_step"] * 3 == pytest.approx(a.seconds["denoise"])  # ⌊6 · 0.5⌋ steps


STATISTICS = ["o_information", "s_information", "mi_rest:camera", "mi_rest:radar", "mi_rest:lidar"]
NOMINAL = {"frames": 12, "mean": [0.5, 2.0, 0.3, 0.4, 0.5], "cov": (np.diag([1.0, 4.0, 0.5, 0.5, 0.5]) + 0.1).tolist(), "threshold": 3.0}


def monitor_export(deploy_models, folder, cell: int = 2, nominal: dict = NOMINAL):
    """A copy of the export whose redundancy score comes from a monitor folder (the fixture's estimator)."""
    autoencoders = load_autoencoders(deploy_models.mld / "autoencoders")
    sensors = tuple(Sensor(name, name) for name in ("camera", "radar", "lidar"))
    extractor = DescriptorExtractor(autoencoders, sensors, cell)
    shapes = {"camera": (3, 32, 48), "radar": (4, 32, 48), "lidar": (3, 32, 48)}
    nulls = {kind: extractor.null_latent(kind, shape) for kind, shape in shapes.items()}
    monitor = Monitor(sensors=sensors, cell=cell, mc_repeats=3, seed=5, estimator=InformationEstimator.load(deploy_models.info),
                      null_latents=nulls, calibration={"false_alarm": 0.05, "statistics": STATISTICS, "groups": {"all": nominal}})  # fmt: skip
    source = score_source(monitor.save(folder / "monitor"), autoencoders, (4, 6), 16, 0)
    models = folder / "onnx"
    shutil.copytree(deploy_models.onnx, models)
    manifest = json.loads((models / MANIFEST_FILE).read_text())
    manifest["redundancy"] = redundancy_section(source, 4, (4, 6), models)
    manifest["files"][DRAWS_FILE] = file_entry(models / DRAWS_FILE)
    (models / MANIFEST_FILE).write_text(json.dumps(manifest))
    return monitor, extractor, models


def test_redundancy_statistics_are_the_monitors(deploy_models, pipelines, tmp_path):
    _, onnx_enhancer, _ = pipelines
    monitor, extractor, models = monitor_export(deploy_models, tmp_path)
    score = RedundancyScore(Graphs(load_manifest(models)))
    inputs = {k: v.numpy() for k, v in frames(1, ("night", "radar", "lidar"), seed=4).items()}
    result = onnx_enhancer.enhance(inputs, seed=0)
    assert score.descriptors(result.latents).shape == (6, 12)  # 2×3 cells of 3 sensors × 4 channels
    maps = SensorMaps(camera=inputs["night"][0], lidar=inputs["lidar"][0], radar=inputs["radar"][0], radars=np.zeros((0, 4, 32, 48)))
    (statistics,) = monitor.statistics(FrameDescriptors([{}], extractor([maps]), {}))
    values = score.score(result.latents)
    for name, value in zip(STATISTICS, statistics):
        assert values[name] == pytest.approx(value, rel=1e-3), name  # float32 noise of two backends
    assert values["o_information"] == pytest.approx(values["tc"] - values["dtc"]) and abs(values["tc"]) > 1e-3
    delta = statistics - NOMINAL["mean"]
    assert values["distance"] == pytest.approx(delta @ np.linalg.inv(NOMINAL["cov"]) @ delta, rel=1e-2)
    assert values["in_band"] == (values["distance"] <= NOMINAL["threshold"])


def test_a_flat_sensor_is_out_of_band_as_in_the_monitor(deploy_models, pipelines, tmp_path):
    _, onnx_enhancer, _ = pipelines
    floors = {"camera": -8.0, "radar": -8.0, "lidar": -8.0}  # between a working sensor's spread and round-off (−13.8)
    monitor, extractor, models = monitor_export(deploy_models, tmp_path, nominal=NOMINAL | {"threshold": 1e9, "flat_floor": floors})
    score = RedundancyScore(Graphs(load_manifest(models)))
    inputs = {k: v.numpy() for k, v in frames(1, ("night", "radar", "lidar"), seed=4).items()}
    for dead in (None, "lidar", "night"):
        given = {k: np.full_like(v, -1.0 if k == "night" else 0.0) if k == dead else v for k, v in inputs.items()}  # black / empty
        maps = SensorMaps(camera=given["night"][0], lidar=given["lidar"][0], radar=given["radar"][0], radars=np.zeros((0, 4, 32, 48)))
        descriptors = FrameDescriptors([{"night_scene": True}], extractor([maps]), {})
        expected = [n for n, f in zip(monitor.names, monitor.flat(descriptors.frames, monitor.spreads(descriptors))[0]) if f]
        values = score.score(onnx_enhancer.enhance(given, seed=0).latents)
        assert values["flat"] == expected == ({None: [], "lidar": ["lidar"], "night": ["camera"]}[dead]), dead
        assert values["in_band"] == (dead is None)  # the distance threshold admits everything here


def test_a_dead_sensor_has_the_zero_descriptor(deploy_models, pipelines, tmp_path):
    _, onnx_enhancer, _ = pipelines
    _, extractor, models = monitor_export(deploy_models, tmp_path)
    score = RedundancyScore(Graphs(load_manifest(models)))
    inputs = {k: v.numpy() for k, v in frames(1, ("night", "radar"), seed=2).items()}
    latents = onnx_enhancer.enhance(inputs, seed=0).latents
    empty_lidar = np.zeros((1, 3, 32, 48), np.float32)  # what a LiDAR that delivers nothing records
    with_empty = {**latents, **onnx_enhancer.encode({"lidar": empty_lidar})}
    np.testing.assert_allclose(score.descriptors(latents), score.descriptors(with_empty), atol=1e-5)
    assert np.abs(score.descriptors(latents)[:, 8:]).max() == 0 and np.abs(score.descriptors(latents)[:, :8]).max() > 0


def test_a_bare_estimator_scores_one_whole_frame_cell(pipelines):
    _, onnx_enhancer, graphs = pipelines
    score = RedundancyScore(graphs)
    spec = graphs.manifest.data["redundancy"]
    assert spec["window"] == [4, 6] and spec["cells"] == 1 and spec["repeats"] == 16 and spec["nominal"] is None
    latents = onnx_enhancer.enhance({k: v.numpy() for k, v in frames(1, ("night", "radar", "lidar")).items()}, seed=0).latents
    np.testing.assert_allclose(score.descriptors(latents)[0, :4],
                               (latents["night"][0] - score.null["camera"]).mean(axis=(1, 2)), rtol=1e-5)
    values = score.score(latents)
    assert values["in_band"] is None and values["distance"] is None and values["flat"] is None
    assert np.isfinite(values["score"]) and values["measure"] == "o_information"
