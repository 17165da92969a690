"""The vehicle runtime works without torch (and numba) and refuses models that were modified or do not belong together."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from deploy.runtime import ModelIntegrityError, RuntimeSettings, VehicleRuntime, load_manifest
from deploy.runtime.graphs import Graphs
from deploy.runtime.manifest import MANIFEST_FILE
from tests.fixtures.deploy import write_frame

REPO = Path(__file__).resolve().parents[1]

NO_TORCH = """
import json, sys
sys.modules["torch"] = None  # any `import torch` in the import graph now raises ImportError
sys.modules["numba"] = None  # the projection takes its numpy path
from deploy.runtime import VehicleRuntime
runtime = VehicleRuntime(sys.argv[1])
image, record = runtime.process(sys.argv[2])
heavy = sorted(m for m, module in sys.modules.items()
               if module is not None and m.split(".")[0] in ("torch", "diffusers", "timm", "nuscenes", "pydantic", "typer", "numba", "llvmlite"))
print(json.dumps({"record": record, "image": image.tolist(), "heavy": heavy}))
"""


def test_runtime_imports_and_runs_a_frame_with_torch_unimportable(deploy_models, tmp_path):
    frame = write_frame(tmp_path / "000000")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", NO_TORCH, str(deploy_models.onnx), str(frame)],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["record"]["status"] == "ok" and out["record"]["flags"] == []
    assert out["heavy"] == []
    assert out["record"]["redundancy"]["measure"] == "o_information"
    image, _ = VehicleRuntime(deploy_models.onnx).process(frame)  # same frame with torch and numba's projection
    np.testing.assert_array_equal(np.asarray(out["image"], dtype=np.uint8), image)


@pytest.fixture()
def models_copy(deploy_models, tmp_path) -> Path:
    copy = tmp_path / "onnx"
    shutil.copytree(deploy_models.onnx, copy)
    return copy


def test_a_modified_model_file_is_refused(models_copy):
    path = models_copy / "denoiser.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit in the weights
    path.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="denoiser.onnx: checksum mismatch"):
        load_manifest(models_copy)
    with pytest.raises(ModelIntegrityError, match="checksum mismatch"):
        VehicleRuntime(models_copy)


def test_a_graph_from_elsewhere_or_a_missing_one_is_refused(models_copy):
    shutil.copyfile(models_copy / "lidar_encoder.onnx", models_copy / "camera_encoder.onnx")
    with pytest.raises(ModelIntegrityError, match="camera_encoder.onnx: checksum mismatch"):
        load_manifest(models_copy)
    (models_copy / "camera_encoder.onnx").unlink()
    with pytest.raises(ModelIntegrityError, match="camera_encoder.onnx: missing"):
        load_manifest(models_copy)


def edit_manifest(folder: Path, edit) -> None:
    path = folder / MANIFEST_FILE
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def test_a_manifest_that_does_not_match_its_graphs_is_refused(models_copy):
    edit_manifest(models_copy, lambda m: m["graphs"]["denoiser"]["inputs"][2].update(name="mask"))
    with pytest.raises(ModelIntegrityError, match="graph denoiser has inputs"):
        Graphs(load_manifest(models_copy))
    edit_manifest(models_copy, lambda m: m.update(format="nightfusion.onnx/0"))
    with pytest.raises(ModelIntegrityError, match="unsupported format"):
        load_manifest(models_copy)


def test_only_exported_precisions_can_be_chosen(models_copy):
    assert load_manifest(models_copy, "int8").graph_file("denoiser", "int8").name == "denoiser.int8.onnx"
    edit_manifest(models_copy, lambda m: m["graphs"]["denoiser"]["files"].pop("int8"))
    with pytest.raises(ModelIntegrityError, match="no int8 variant"):
        load_manifest(models_copy, "int8")
    with pytest.raises(ModelIntegrityError, match="unknown precision"):
        load_manifest(models_copy, "fp8")


@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_reduced_precision_runtimes_run_a_frame(deploy_models, tmp_path, precision):
    frame = write_frame(tmp_path / "f")
    reference, _ = VehicleRuntime(deploy_models.onnx).process(frame)
    image, record = VehicleRuntime(deploy_models.onnx, RuntimeSettings(precision=precision)).process(frame)
    assert record["status"] == "ok" and np.isfinite(record["redundancy"]["score"])
    assert image.shape == reference.shape == (32, 48, 3)
    assert np.abs(image.astype(int) - reference).mean() < 20  # same picture within quantisation error


def test_only_the_denoiser_keeps_its_threads_spinning_between_runs(deploy_models):
    graphs = Graphs(load_manifest(deploy_models.onnx), threads=2)
    spinning = {
        name: session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning")
        for name, session in graphs.sessions.items()
    }
    assert spinning.pop("denoiser") == "1"
    assert spinning and set(spinning.values()) == {"0"}  # encoders, decoder (and info denoiser) run once per frame


def test_concurrent_runs_share_the_threads_and_equal_runs_one_by_one(deploy_models):
    graphs = Graphs(load_manifest(deploy_models.onnx), threads=4)
    threads = {name: session.get_session_options().intra_op_num_threads for name, session in graphs.sessions.items()}
    assert threads["camera_encoder"] == threads["lidar_encoder"] == 1  # three encoders side by side on 4 threads
    assert threads["denoiser"] == 2 and threads["camera_decoder"] == 4  # guidance's two passes; the lone decoder
    rng = np.random.default_rng(0)
    calls = [
        (name, {"x": rng.standard_normal((2, channels, 32, 48)).astype(np.float32)})
        for name, channels in (("camera_encoder", 3), ("radar_encoder", 4), ("lidar_encoder", 3), ("camera_encoder", 3))
    ]
    together = graphs.run_concurrently(calls)
    for (name, inputs), result in zip(calls, together):
        np.testing.assert_array_equal(result, graphs.run_one(name, **inputs))


def test_onnxruntime_loads_the_very_bytes_that_were_checked(models_copy, monkeypatch):
    loaded = []
    real = ort.InferenceSession

    def recording_session(model, *args, **kwargs):
        loaded.append(model)
        return real(model, *args, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", recording_session)
    manifest = load_manifest(models_copy)
    Graphs(manifest)
    assert loaded and all(isinstance(model, bytes) for model in loaded)  # never a path to open again
    checked = {entry["sha256"] for entry in manifest.data["files"].values()}
    assert {hashlib.sha256(model).hexdigest() for model in loaded} <= checked
    assert len(loaded) == len(manifest.data["graphs"])
