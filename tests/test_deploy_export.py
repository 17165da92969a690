"""ONNX export: every graph equals its torch module, the manifest describes the folder, export is atomic."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from deploy.export import export_models
from deploy.export_graphs import OPSET
from deploy.runtime.manifest import MANIFEST_FILE, sha256_file
from fusion.diffusion.checkpoint import load_model
from fusion.diffusion.schedule import make_scheduler
from fusion.information.backbones import build_backbone
from fusion.information.config import EstimatorConfig
from fusion.information.estimator import InformationEstimator
from fusion.information.variables import Standardizer
from perception import load_autoencoders
from preprocessing.errors import UserError


def onnx_run(folder, manifest, graph, precision="fp32", **inputs):
    session = ort.InferenceSession(str(folder / manifest["graphs"][graph]["files"][precision]))
    return session.run(None, {name: value.numpy() for name, value in inputs.items()})[0]


@pytest.fixture(scope="module")
def exported(deploy_models):
    manifest = json.loads((deploy_models.onnx / MANIFEST_FILE).read_text())
    model, schedule, sample = load_model(deploy_models.mld)
    return manifest, model, schedule, sample, load_autoencoders(deploy_models.mld / "autoencoders")


def sparse(batch, channels, generator):
    valid = (torch.rand(batch, 1, 32, 48, generator=generator) < 0.3).float()
    values = torch.cat([1 + 50 * torch.rand(batch, 1, 32, 48, generator=generator),
                        10 * torch.randn(batch, channels - 2, 32, 48, generator=generator)], dim=1)
    return torch.cat([values * valid, valid], dim=1)


@pytest.mark.parametrize("batch", [1, 4])
def test_every_fp32_graph_matches_its_torch_module(deploy_models, exported, batch):
    manifest, model, _, _, autoencoders = exported
    folder, g = deploy_models.onnx, torch.Generator().manual_seed(batch)
    image, z = torch.rand(batch, 3, 32, 48, generator=g) * 2 - 1, torch.randn(batch, 4, 4, 6, generator=g)
    lidar, radar = sparse(batch, 3, g), sparse(batch, 4, g)
    latents, noise = torch.randn(batch, 4, 4, 4, 6, generator=g), torch.randn(batch, 4, 4, 4, 6, generator=g)
    tau = torch.randint(0, 1001, (batch, 4), generator=g).float()
    presence = torch.rand(batch, 4, generator=g) < 0.7
    estimator = InformationEstimator.load(deploy_models.info)
    x_info, tau_info = torch.randn(batch, 12, generator=g), torch.rand(batch, 3, generator=g)
    with torch.no_grad():
        cases = {
            "camera_encoder": (autoencoders.encode("night", image), {"x": image}),
            "camera_decoder": (autoencoders.decode("day", z), {"z": z}),
            "lidar_encoder": (autoencoders.encode("lidar", lidar), {"x": lidar}),
            "radar_encoder": (autoencoders.encode("radar", radar), {"x": radar}),
            "denoiser": (model(latents, tau, presence, noise), {"latents": latents, "tau": tau, "presence": presence, "noise": noise}),
            "info_denoiser": (estimator.net(x_info, tau_info), {"x": x_info, "tau": tau_info}),
        }
    assert set(cases) == set(manifest["graphs"])
    for graph, (expected, inputs) in cases.items():
        actual = onnx_run(folder, manifest, graph, **inputs)
        assert actual.shape == tuple(expected.shape), graph
        assert np.abs(expected.numpy()).max() > 1e-2, f"{graph}: degenerate test output"
        assert np.abs(actual - expected.numpy()).max() <= 1e-4, graph


def test_graphs_have_opset_20_and_a_dynamic_batch_as_the_manifest_says(deploy_models, exported):
    manifest = exported[0]
    for graph, entry in manifest["graphs"].items():
        model = onnx.load(str(deploy_models.onnx / entry["files"]["fp32"]))
        assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) == OPSET == 20
        if graph == "denoiser":  # why 20: the DiT's tanh-GELU is one node, not its eight-op expansion
            ops = [node.op_type for node in model.graph.node]
            assert "Gelu" in ops and "Tanh" not in ops and "Pow" not in ops
        assert [i.name for i in model.graph.input] == [i["name"] for i in entry["inputs"]]
        for value in model.graph.input:
            assert value.type.tensor_type.shape.dim[0].dim_param, f"{graph}.{value.name}: batch axis is static"
        assert entry["parity_max_abs_diff"] <= 1e-4


def test_manifest_checksums_every_file_and_carries_the_model_constants(deploy_models, exported):
    manifest, model, schedule, sample, autoencoders = exported
    files = {p.name for p in deploy_models.onnx.iterdir()} - {MANIFEST_FILE}
    assert set(manifest["files"]) == files
    for name in files:
        assert manifest["files"][name]["sha256"] == sha256_file(deploy_models.onnx / name)
    np.testing.assert_array_equal(manifest["schedule"]["alphas_cumprod"], make_scheduler(schedule).alphas_cumprod.numpy())
    assert manifest["sampling"] == sample.model_dump(mode="json")
    camera = autoencoders.model("camera").normalizer
    np.testing.assert_allclose(manifest["normalization"]["camera"]["std"], camera.std.flatten().numpy())
    assert (manifest["frame"]["height"], manifest["frame"]["width"]) == (32, 48)
    assert manifest["precisions"] == ["fp32", "fp16", "int8"]
    assert manifest["versions"]["opset"] == OPSET and manifest["versions"]["torch"].startswith("2.13")


def _initializer_types(path) -> set[int]:
    return {t.data_type for t in onnx.load(str(path)).graph.initializer}


def test_fp16_and_int8_variants_are_converted_and_stay_close(deploy_models, exported):
    manifest = exported[0]
    folder, entry = deploy_models.onnx, manifest["graphs"]["camera_encoder"]
    assert onnx.TensorProto.FLOAT16 in _initializer_types(folder / entry["files"]["fp16"])
    assert onnx.TensorProto.INT8 in _initializer_types(folder / manifest["graphs"]["denoiser"]["files"]["int8"])
    image = torch.rand(2, 3, 32, 48, generator=torch.Generator().manual_seed(3)) * 2 - 1
    reference = onnx_run(folder, manifest, "camera_encoder", x=image)
    for precision, tolerance in (("fp16", 0.02), ("int8", 0.25)):
        reduced = onnx_run(folder, manifest, "camera_encoder", precision, x=image)
        assert reduced.dtype == np.float32  # inputs/outputs stay float32
        error = np.abs(reduced - reference).max() / np.abs(reference).max()
        assert 0 < error < tolerance, precision  # converted (not a copy), yet close


def test_a_failed_export_leaves_nothing_behind(deploy_models, tmp_path, monkeypatch):
    calls = []

    def fail_on_second_graph(spec, path, generator):
        calls.append(spec.name)
        if len(calls) == 2:
            raise RuntimeError("simulated exporter crash")
        path.write_bytes(b"partial")
        return {"inputs": [], "outputs": []}, 0.0

    monkeypatch.setattr("deploy.export.export_graph", fail_on_second_graph)
    out = tmp_path / "onnx"
    with pytest.raises(RuntimeError, match="simulated"):
        export_models(deploy_models.mld, out)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_export_refuses_an_existing_output_and_a_mismatched_estimator(deploy_models, tmp_path):
    with pytest.raises(UserError, match="already exists"):
        export_models(deploy_models.mld, deploy_models.onnx)
    estimator = InformationEstimator(EstimatorConfig(width=16, depth=1, tau_features=4))
    estimator.dims, estimator.measures = (2, 2), ("tc",)
    estimator.standardizer = Standardizer(np.zeros(4, np.float32), np.ones(4, np.float32))
    estimator.net = build_backbone(estimator.config, estimator.dims, estimator.schedule)
    estimator.save(tmp_path / "info")
    with pytest.raises(UserError, match="dimensions \\[2, 2\\]"):
        export_models(deploy_models.mld, tmp_path / "onnx", info_dir=tmp_path / "info")
    assert not (tmp_path / "onnx").exists()
