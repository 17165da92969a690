"""The deploy commands end to end: export (in the ``deploy_models`` fixture), record, vehicle, with their errors."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from deploy.runtime import ModelIntegrityError
from deploy.runtime.sequence import LOG_FILE, read_log
from deploy.vehicle_cli import app
from preprocessing.errors import UserError
from tests.fixtures.deploy import write_frame

runner = CliRunner()


@pytest.mark.parametrize("command", ["export", "record", "vehicle"])
def test_every_command_has_help(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output and "--out" in result.output


def test_vehicle_processes_a_world_recording_and_resumes(deploy_models, world_recording, tmp_path):
    recording, summary = world_recording
    out = tmp_path / "run"
    args = ["vehicle", "--models", str(deploy_models.onnx), "--input", str(recording), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    written = json.loads((out / "summary.json").read_text())
    assert written["frames"] == summary["frames"] and written["status"] == {"ok": summary["frames"]}
    assert written["redundancy"]["frames"] == summary["frames"]
    records = read_log(out / LOG_FILE)
    assert len(list((out / "frames").glob("*.png"))) == len(records) == summary["frames"]
    assert all(r["present"] == ["night", "radar", "lidar"] and r["points"]["lidar_in_view"] > 0 for r in records)
    again = runner.invoke(app, args)
    assert isinstance(again.exception, UserError) and "--resume" in str(again.exception)
    resumed = runner.invoke(app, [*args, "--resume"])
    assert resumed.exit_code == 0 and read_log(out / LOG_FILE) == records  # nothing redone


def test_vehicle_options_override_the_config(deploy_models, tmp_path):
    write_frame(tmp_path / "recording" / "000000")
    config = tmp_path / "deploy.yaml"
    config.write_text("vehicle:\n  precision: fp16\n  steps: 4\n")
    args = ["vehicle", "--models", str(deploy_models.onnx), "--input", str(tmp_path / "recording"), "--config", str(config)]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "a"), "--precision", "int8"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["models"]["precision"] == "int8"
    record = read_log(tmp_path / "a" / LOG_FILE)[0]
    assert record["latency_ms"]["denoise"] == pytest.approx(2 * record["latency_ms"]["per_step"])  # ⌊4 · 0.5⌋ steps
    config.write_text("vehicle:\n  precison: fp16\n")
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "b")])
    assert isinstance(result.exception, UserError) and "vehicle.precison" in str(result.exception)


def test_vehicle_refuses_tampered_models(deploy_models, tmp_path):
    models = tmp_path / "onnx"
    shutil.copytree(deploy_models.onnx, models)
    with open(models / "camera_decoder.onnx", "ab") as handle:
        handle.write(b"\0")
    write_frame(tmp_path / "recording" / "000000")
    result = runner.invoke(app, ["vehicle", "--models", str(models), "--input", str(tmp_path / "recording"),
                                 "--out", str(tmp_path / "out")])  # fmt: skip
    assert isinstance(result.exception, ModelIntegrityError) and isinstance(result.exception, UserError)
    assert "camera_decoder.onnx: checksum mismatch" in str(result.exception)
    assert not (tmp_path / "out").exists()


def test_export_and_record_report_bad_input(tmp_path):
    result = runner.invoke(app, ["export", "--model", str(tmp_path / "nope"), "--out", str(tmp_path / "onnx")])
    assert isinstance(result.exception, UserError) and "config.json" in str(result.exception)
    result = runner.invoke(app, ["record", "--dataroot", str(tmp_path), "--out", str(tmp_path / "rec")])
    assert isinstance(result.exception, UserError) and "v1.0-mini" in str(result.exception)
    result = runner.invoke(app, ["vehicle", "--models", str(tmp_path), "--input", str(tmp_path), "--out", str(tmp_path / "o")])
    assert isinstance(result.exception, ModelIntegrityError) and "manifest.json is missing" in str(result.exception)
