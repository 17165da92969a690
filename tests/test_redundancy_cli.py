"""The redundancy commands: help texts, input errors that leave nothing behind, a monitor run."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fusion.redundancy.cli import app
from preprocessing.errors import UserError

runner = CliRunner()


@pytest.mark.parametrize(
    "command, options",
    [("redundancy", ["--data", "--autoencoders", "--out", "--sensors", "--faults", "--seeds", "--resume"]),
     ("monitor-calibrate", ["--data", "--autoencoders", "--out", "--sensors"]),
     ("monitor", ["--data", "--monitor", "--faults", "--split", "--scenes"])],
)  # fmt: skip
def test_every_command_has_help(command, options):
    result = runner.invoke(app, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    for option in options:
        assert option in result.output


def test_missing_inputs_are_user_errors(tmp_path):
    result = runner.invoke(app, ["redundancy", "--data", str(tmp_path / "nope"), "--autoencoders", str(tmp_path), "--out", str(tmp_path / "r")])
    assert isinstance(result.exception, UserError) and "shard directory not found" in str(result.exception)
    result = runner.invoke(app, ["redundancy", "--data", str(tmp_path), "--autoencoders", str(tmp_path), "--out", str(tmp_path / "r"),
                                 "--faults", "lidar_dropout:fraction"])  # fmt: skip
    assert isinstance(result.exception, UserError) and "expected name=value" in str(result.exception)
    assert not (tmp_path / "r").exists()


def test_unknown_sensor_is_refused_before_any_work(redundancy_shards, autoencoders, tmp_path):
    out = tmp_path / "report"
    result = runner.invoke(app, ["redundancy", "--data", str(redundancy_shards), "--autoencoders", str(autoencoders), "--out", str(out),
                                 "--sensors", "camera,sonar"])  # fmt: skip
    assert isinstance(result.exception, UserError) and "unknown sensor 'sonar'" in str(result.exception)
    assert not out.exists()


def test_monitor_command_writes_flags(redundancy_monitor, redundancy_shards, autoencoders, tmp_path):
    out = tmp_path / "flags.json"
    result = runner.invoke(app, ["monitor", "--data", str(redundancy_shards), "--autoencoders", str(autoencoders),
                                 "--monitor", str(redundancy_monitor), "--out", str(out), "--split", "val", "--faults", "lidar_dropout"])  # fmt: skip
    assert result.exit_code == 0, result.output
    flags = json.loads(out.read_text())
    assert flags["faults"] == ["lidar_dropout"] and flags["summary"]["frames"] == 25
    assert f"{flags['summary']['flagged']} of 25 frames flagged" in result.output
