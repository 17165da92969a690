"""Degraded inputs: absent sensors, non-finite points, unreadable or corrupt images and calibrations never crash the
runtime; non-finite outputs are flagged, never written."""

import json
import os

import cv2
import numpy as np
import pytest

from deploy.runtime import RuntimeSettings, VehicleRuntime, run_recording
from deploy.runtime.sequence import LOG_FILE, read_log
from preprocessing.errors import UserError
from preprocessing.output_lock import LOCK_FILE, exclusive_output
from tests.fixtures.deploy import lidar_points, radar_points, write_frame
from tests.test_image_decoding import flipped


@pytest.fixture(scope="module")
def runtime(deploy_models) -> VehicleRuntime:
    return VehicleRuntime(deploy_models.onnx)


@pytest.fixture()
def reference(runtime, tmp_path):
    """(image, record) of the intact frame named "f" (seeds depend on the frame name)."""
    return runtime.process(write_frame(tmp_path / "intact" / "f"))


def test_an_intact_frame_uses_every_sensor(reference):
    image, record = reference
    assert record["status"] == "ok" and record["flags"] == [] and image.shape == (32, 48, 3)
    assert record["present"] == ["night", "radar", "lidar"]
    assert record["points"]["lidar_in_view"] > 100 and record["points"]["radar_in_view"] > 10
    assert set(record["latency_ms"]) >= {"total", "read", "project", "encode", "denoise", "per_step", "decode", "redundancy"}


def test_a_missing_lidar_leaves_it_absent(runtime, reference, tmp_path):
    deleted = write_frame(tmp_path / "deleted" / "f")
    (deleted / "LIDAR_TOP.pcd.bin").unlink()
    image, record = runtime.process(deleted)
    assert record["status"] == "ok" and record["present"] == ["night", "radar"]
    assert record["flags"] == ["lidar_missing"] and record["sensors"]["LIDAR_TOP"] == "missing"
    assert np.isfinite(record["redundancy"]["score"])  # scored with the LiDAR as a dead sensor
    assert not np.array_equal(image, reference[0])  # the model ran without the LiDAR
    uncalibrated = write_frame(tmp_path / "uncalibrated" / "f")
    calibration = json.loads((uncalibrated / "calibration.json").read_text())
    del calibration["lidar"]
    (uncalibrated / "calibration.json").write_text(json.dumps(calibration))
    same, _ = runtime.process(uncalibrated)
    np.testing.assert_array_equal(same, image)  # no LiDAR entry ≡ no LiDAR file


def test_missing_radars_leave_radar_absent_or_partial(runtime, tmp_path):
    partial = write_frame(tmp_path / "partial" / "f")
    (partial / "RADAR_FRONT.pcd").unlink()
    _, record = runtime.process(partial)
    assert "radar_partial" in record["flags"] and "radar" in record["present"]
    assert record["sensors"] == {"LIDAR_TOP": "ok", "RADAR_FRONT": "missing", "RADAR_FRONT_LEFT": "ok"}
    (partial / "RADAR_FRONT_LEFT.pcd").write_bytes(b"not a pcd")
    _, record = runtime.process(partial)
    assert "radar_missing" in record["flags"] and record["present"] == ["night", "lidar"]
    assert "PCD header" in record["sensors"]["RADAR_FRONT_LEFT"]


def test_nonfinite_points_are_dropped_and_counted(runtime, tmp_path):
    rng = np.random.default_rng(7)
    lidar = lidar_points(rng)
    radar = {"RADAR_FRONT": radar_points(rng), "RADAR_FRONT_LEFT": radar_points(rng)}
    clean, _ = runtime.process(write_frame(tmp_path / "clean" / "f", lidar=lidar, radar=radar))
    bad_rows = np.full((3, 5), np.nan, np.float32)
    bad_rows[1, 0], bad_rows[2, :] = np.inf, [10.0, 0.0, -np.inf, 3.0, 1.0]
    noisy_lidar = np.insert(lidar, [5, 100, 300], bad_rows, axis=0)
    broken = radar_points(rng, 2)
    broken["y"] = [np.nan, np.inf]
    noisy_radar = {**radar, "RADAR_FRONT": np.concatenate([radar["RADAR_FRONT"][:3], broken, radar["RADAR_FRONT"][3:]])}
    image, record = runtime.process(write_frame(tmp_path / "noisy" / "f", lidar=noisy_lidar, radar=noisy_radar))
    assert record["status"] == "ok"
    assert record["points"]["lidar_dropped"] == 3 and record["points"]["radar_dropped"] == 2
    assert {"lidar_nonfinite_points", "radar_nonfinite_points"} <= set(record["flags"])
    np.testing.assert_array_equal(image, clean)  # exactly the frame without those points


@pytest.mark.parametrize("content", [b"", b"garbage, not an image", "truncated"])
def test_an_unreadable_image_is_flagged_and_skipped(runtime, reference, tmp_path, content):
    if content == "truncated":
        content = (tmp_path / "intact" / "f" / "CAM_FRONT.jpg").read_bytes()[:-300]
    image, record = runtime.process(write_frame(tmp_path / "bad" / "f", image=content))
    assert image is None
    assert record["status"] == "skipped" and record["flags"] == ["image_unreadable"]
    assert "CAM_FRONT.jpg" in record["error"]


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda c: c["camera"].pop("intrinsic"), "camera.intrinsic"),
        (lambda c: c["lidar"]["sensor"].update(rotation=[0, 0, 0, 0]), "zero rotation"),
        (lambda c: c.update(radars={"RADAR_FRONT": {}}), "radars must be a list"),
        (lambda c: c["camera"].update(size=[96]), "camera.size"),
    ],
)
def test_a_bad_calibration_is_flagged_and_skipped(runtime, tmp_path, edit, message):
    frame = write_frame(tmp_path / "f")
    calibration = json.loads((frame / "calibration.json").read_text())
    edit(calibration)
    (frame / "calibration.json").write_text(json.dumps(calibration))
    image, record = runtime.process(frame)
    assert image is None and record["status"] == "skipped" and record["flags"] == ["calibration_invalid"]
    assert message in record["error"] and "calibration.json" in record["error"]


def test_an_unreadable_lidar_file_leaves_it_absent(runtime, tmp_path):
    frame = write_frame(tmp_path / "f")
    (frame / "LIDAR_TOP.pcd.bin").write_bytes(b"\x00" * 47)
    image, record = runtime.process(frame)
    assert image is not None and "lidar_unreadable" in record["flags"] and "lidar" not in record["present"]
    assert "47 bytes" in record["sensors"]["LIDAR_TOP"]


def test_an_unexpected_error_fails_the_frame_not_the_run(runtime, tmp_path, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("onnxruntime went away")

    monkeypatch.setattr(runtime.enhancer, "enhance", explode)
    image, record = runtime.process(write_frame(tmp_path / "f"))
    assert image is None and record["status"] == "failed" and record["flags"] == ["internal_error"]
    assert record["error"] == "RuntimeError: onnxruntime went away"


def degraded_recording(root):
    write_frame(root / "000000", 0)
    (write_frame(root / "000001", 1) / "LIDAR_TOP.pcd.bin").unlink()
    write_frame(root / "000002", 2, image=b"broken")
    (write_frame(root / "000003", 3) / "calibration.json").write_text("{not json")
    write_frame(root / "000004", 4)
    return root


def test_a_degraded_recording_runs_through_and_resumes(runtime, tmp_path):
    recording = degraded_recording(tmp_path / "recording")
    straight = run_recording(runtime, recording, tmp_path / "straight")
    assert straight["frames"] == 5 and straight["status"] == {"ok": 3, "skipped": 2}
    assert straight["flags"] == {"lidar_missing": 1, "image_unreadable": 1, "calibration_invalid": 1}
    assert straight["redundancy"]["frames"] == 3

    seen = []

    def interrupt_after_two(record):
        seen.append(record["frame"])
        if len(seen) == 2:
            raise KeyboardInterrupt

    out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        run_recording(runtime, recording, out, on_frame=interrupt_after_two)
    with open(out / LOG_FILE, "a") as log:
        log.write('{"frame": "000002", "sta')  # a line torn by the interruption
    with pytest.raises(UserError, match="--resume"):
        run_recording(runtime, recording, out)
    resumed = run_recording(runtime, recording, out, resume=True)
    records = read_log(out / LOG_FILE)
    assert [r["frame"] for r in records] == [f"{i:06d}" for i in range(5)]  # each frame once, torn line gone
    assert resumed["status"] == straight["status"] and resumed["flags"] == straight["flags"]
    for name in ("000000", "000001", "000004"):
        assert (out / "frames" / f"{name}.png").read_bytes() == (tmp_path / "straight" / "frames" / f"{name}.png").read_bytes()
    assert not (out / "frames" / "000002.png").exists()


def test_a_corrupt_image_is_flagged_and_never_enhanced(runtime, reference, tmp_path):
    intact = (tmp_path / "intact" / "f" / "CAM_FRONT.jpg").read_bytes()
    image, record = runtime.process(write_frame(tmp_path / "jpeg" / "f", image=flipped(intact)))
    assert image is None and record["status"] == "skipped" and record["flags"] == ["image_corrupt"]
    assert "CAM_FRONT.jpg: corrupt JPEG" in record["error"]
    png = write_frame(tmp_path / "png" / "f")
    pixels = cv2.imread(str(png / "CAM_FRONT.jpg"))
    data = bytearray(cv2.imencode(".png", pixels)[1].tobytes())
    data[len(data) // 2] ^= 0xFF  # libpng: CRC error
    (png / "CAM_FRONT.jpg").write_bytes(bytes(data))  # the name does not matter, the content does
    image, record = runtime.process(png)
    assert image is None and record["flags"] == ["image_corrupt"] and "corrupt PNG" in record["error"]


@pytest.mark.parametrize("entry", ["../intact/f/LIDAR_TOP.pcd.bin", "/etc/passwd", "sub/LIDAR_TOP.pcd.bin", ".."])
def test_calibration_files_stay_inside_the_frame_folder(runtime, tmp_path, entry):
    frame = write_frame(tmp_path / "f")
    calibration = json.loads((frame / "calibration.json").read_text())
    calibration["lidar"]["file"] = entry
    (frame / "calibration.json").write_text(json.dumps(calibration))
    image, record = runtime.process(frame)
    assert image is None and record["flags"] == ["calibration_invalid"]
    assert "lidar.file" in record["error"] and "not a plain file name" in record["error"]


def test_a_sensor_with_no_return_in_view_is_flagged(runtime, tmp_path):
    rng = np.random.default_rng(3)
    behind = lidar_points(rng)
    behind[:, 0] *= -1  # every LiDAR point behind the car
    radar = {"RADAR_FRONT": radar_points(rng)}
    radar["RADAR_FRONT"]["x"] *= -1
    image, record = runtime.process(write_frame(tmp_path / "f", lidar=behind, radar=radar))
    assert image is not None and record["status"] == "ok"
    assert record["points"]["lidar_in_view"] == record["points"]["radar_in_view"] == 0
    assert {"lidar_empty", "radar_empty"} <= set(record["flags"])


def test_a_nonfinite_output_is_flagged_not_written(deploy_models, runtime, tmp_path, monkeypatch):
    frame = write_frame(tmp_path / "f")
    unbounded = VehicleRuntime(deploy_models.onnx, RuntimeSettings(guidance=float("inf")))  # bypassing the config check
    image, record = unbounded.process(frame)
    assert image is None and record["status"] == "skipped" and record["flags"] == ["output_nonfinite"]

    score = runtime.redundancy.score
    monkeypatch.setattr(runtime.redundancy, "score", lambda latents: {**score(latents), "o_information": float("nan")})
    image, record = runtime.process(frame)
    assert image is not None and record["status"] == "ok"  # the frame itself is fine
    assert record["flags"] == ["output_nonfinite"] and record["redundancy"] is None
    json.loads(json.dumps(record), parse_constant=lambda name: pytest.fail(f"{name} in the log"))


def test_a_run_never_races_a_live_writer_of_its_output(runtime, tmp_path):
    recording = degraded_recording(tmp_path / "recording")
    out = tmp_path / "out"
    with exclusive_output(out):  # a live run holds the output
        with pytest.raises(UserError, match=f"being written by pid {os.getpid()} on"):
            run_recording(runtime, recording, out, resume=True)
        assert [path.name for path in out.iterdir()] == [LOCK_FILE]  # nothing written beside the lock
    assert run_recording(runtime, recording, out, resume=True)["frames"] == 5
    assert not (out / LOCK_FILE).exists()
