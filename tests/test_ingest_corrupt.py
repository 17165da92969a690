"""A corrupt copy of the world: every bad sample is skipped with its reason, the rest is ingested, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from preprocessing.errors import UserError
from preprocessing.shards import read_manifest
from tests.fixtures.shards import ingest_world
from tests.fixtures.world import replace_file, symlinked_copy
from tests.test_image_decoding import flipped

ROOT = Path(__file__).parents[1]


def record_of(rows: list[dict], token: str) -> dict:
    return next(row for row in rows if row["token"] == token)


@pytest.fixture(scope="module")
def corrupt_world(world, tmp_path_factory):
    """A symlinked copy of the world with one defect per sample; returns (world-like, {sample_token: expected reason})."""
    copy = symlinked_copy(world, tmp_path_factory.mktemp("corrupt") / "nuscenes")
    root, tables = copy.dataroot, copy.dataroot / world.version
    load = lambda name: json.loads((tables / f"{name}.json").read_text())  # noqa: E731
    samples, sample_data = load("sample"), load("sample_data")
    sensors, calibrations = load("sensor"), load("calibrated_sensor")
    keyframes = {}  # sample token → {channel: sample_data row}
    channel_of = {c["token"]: record_of(sensors, c["sensor_token"])["channel"] for c in calibrations}
    for row in sample_data:
        if row["is_key_frame"]:
            keyframes.setdefault(row["sample_token"], {})[channel_of[row["calibrated_sensor_token"]]] = row
    order = [s["token"] for s in samples]
    file = lambda i, channel: root / keyframes[order[i]][channel]["filename"]  # noqa: E731
    expected = {}

    replace_file(file(0, "LIDAR_TOP"), file(0, "LIDAR_TOP").read_bytes()[:-7])
    expected[order[0]] = "truncated LiDAR file"
    replace_file(file(1, "RADAR_FRONT"), file(1, "RADAR_FRONT").read_bytes()[:300])
    expected[order[1]] = "truncated PCD"
    lidar = np.fromfile(file(2, "LIDAR_TOP"), np.float32)
    lidar[50] = np.nan
    replace_file(file(2, "LIDAR_TOP"), lidar.tobytes())
    expected[order[2]] = "NaN"
    replace_file(file(3, "CAM_FRONT"), None)
    expected[order[3]] = "cannot read image"
    replace_file(file(4, "CAM_FRONT"), file(4, "CAM_FRONT").read_bytes()[:5000])
    expected[order[4]] = "truncated JPEG"
    replace_file(file(9, "CAM_FRONT"), flipped(file(9, "CAM_FRONT").read_bytes()))  # end marker intact
    expected[order[9]] = "corrupt JPEG"
    replace_file(file(5, "RADAR_BACK_RIGHT"), None)
    expected[order[5]] = "cannot read radar file"
    keyframes[order[6]]["RADAR_FRONT_LEFT"]["calibrated_sensor_token"] = "no-such-calibration"
    expected[order[6]] = "missing calibration"
    del keyframes[order[7]]["LIDAR_TOP"]["filename"]
    expected[order[7]] = "missing fields ['filename']"
    sensors.append({"token": "roof-radar", "channel": "RADAR_ROOF", "modality": "radar"})
    calibrations.append({**calibrations[0], "token": "roof-radar-calibration", "sensor_token": "roof-radar"})
    keyframes[order[8]]["RADAR_BACK_LEFT"]["calibrated_sensor_token"] = "roof-radar-calibration"
    expected[order[8]] = "unknown channel 'RADAR_ROOF'"
    sample_data.append(17)  # a row that is not even an object: dropped, affects no sample
    for name, rows in (("sample_data", sample_data), ("sensor", sensors), ("calibrated_sensor", calibrations)):
        replace_file(tables / f"{name}.json", json.dumps(rows).encode())
    return copy, expected


def test_every_bad_sample_is_skipped_with_its_reason(corrupt_world, tmp_path):
    world, expected = corrupt_world
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-c", "from preprocessing.cli import app; app()", "ingest", "--dataroot", str(world.dataroot),
         "--out", str(out), "--resolution", "64x112", "--workers", "2", "--shard-size", "3"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    manifest = read_manifest(out)
    counts = manifest["counts"]
    assert counts["planned"] == counts["written"] + counts["skipped"]
    assert counts["skipped"] == len(expected) and f"skipped {len(expected)}" in result.stderr
    reasons = {skip["sample_token"]: skip["reason"] for skip in manifest["skipped"]}
    for sample_token, fragment in expected.items():
        assert fragment in reasons[sample_token], (fragment, reasons[sample_token])
    assert counts["written"] >= 1
    assert not list(out.glob(".*")), "temporary files left behind"


def test_unreadable_table_is_one_user_error(world, tmp_path):
    broken = symlinked_copy(world, tmp_path / "nuscenes")
    replace_file(broken.dataroot / world.version / "scene.json", b'[{"token": ')
    with pytest.raises(UserError, match="scene.json is not valid JSON"):
        ingest_world(broken, tmp_path / "out")
    assert not (tmp_path / "out" / "manifest.json").exists()
