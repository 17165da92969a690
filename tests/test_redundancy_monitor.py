"""Online redundancy monitor: calibration on nominal frames, per-frame scores, flags and attribution."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fusion.redundancy.monitor import Monitor
from fusion.redundancy.online import check_frames
from preprocessing.errors import UserError


def test_monitor_folder_describes_itself(redundancy_monitor):
    meta = json.loads((redundancy_monitor / "monitor.json").read_text())
    assert [s["name"] for s in meta["sensors"]] == ["camera", "radar", "lidar"]
    statistics = meta["calibration"]["statistics"]
    assert statistics == ["o_information", "s_information", "mi_rest:camera", "mi_rest:radar", "mi_rest:lidar"]
    groups = meta["calibration"]["groups"]
    # fitted on one day scene and the night scene, thresholds from the other day scene (no night scene left)
    fit, calibration = meta["calibration"]["frames"]["fit"], meta["calibration"]["frames"]["calibration"]
    assert (fit["frames"], calibration["frames"]) == (50, 25) and not set(fit["scenes"]) & set(calibration["scenes"])
    assert {name: g["frames"] for name, g in groups.items()} == {"all": 25, "day": 25}
    for group in groups.values():
        cov = np.array(group["cov"])
        assert cov.shape == (5, 5) and np.allclose(cov, cov.T) and (np.linalg.eigvalsh(cov) > 0).all()
        assert group["threshold"] > 0 and list(group["flat_floor"]) == ["camera", "radar", "lidar"]
    monitor = Monitor.load(redundancy_monitor)
    assert set(monitor.null_latents) == {"camera", "radar", "lidar"}
    assert all(z.shape == (4, 8, 14) for z in monitor.null_latents.values())


def test_nominal_frames_score_like_calibration(redundancy_monitor, redundancy_shards, autoencoders, tmp_path):
    """A frame is scored alone with a fixed seed: re-checking the calibration frames reproduces its statistics."""
    out = tmp_path / "flags.json"
    result = check_frames(redundancy_shards, autoencoders, redundancy_monitor, out, [])
    assert json.loads(out.read_text()) == result
    calibration = Monitor.load(redundancy_monitor).calibration
    frames = [f for f in result["frames"] if f["scene"] in calibration["frames"]["calibration"]["scenes"]]
    mean = np.mean([[f["o_information"], f["s_information"], *f["shared"].values()] for f in frames], axis=0)
    assert np.allclose(mean, calibration["groups"]["day"]["mean"], atol=1e-6)
    assert np.mean([f["flagged"] for f in frames]) <= 2 * calibration["false_alarm"] + 1 / len(frames)
    for f in result["frames"]:
        group = calibration["groups"][f["group"]]
        assert f["flat"] == [name for name, floor in group["flat_floor"].items() if f["spread"][name] < floor]
        assert f["flagged"] == (f["distance"] > group["threshold"] or bool(f["flat"]))
    # each flat floor lies flat_factor below the flattest calibration frame of its group, so none of them is flat
    lowest = {name: min(f["spread"][name] for f in frames) for name in ("camera", "radar", "lidar")}
    floors = calibration["groups"]["day"]["flat_floor"]
    assert floors == pytest.approx({name: v - np.log(calibration["flat_factor"]) for name, v in lowest.items()}, abs=1e-6)  # float32 scores: batch layout moves the last digits
    assert not any(f["flat"] for f in frames)


@pytest.mark.parametrize("fault", ["camera_blackout", "lidar_dropout"])
def test_monitor_flags_dead_sensors(redundancy_monitor, redundancy_shards, autoencoders, fault):
    faulted = check_frames(redundancy_shards, autoencoders, redundancy_monitor, None, [fault], scenes="day")
    assert faulted["faults"] == [fault] and faulted["summary"]["frames"] == 50
    assert faulted["summary"]["rate"] >= 0.9, faulted["summary"]


def test_a_blacked_out_camera_is_flat_by_day_and_at_night(redundancy_monitor, redundancy_shards, autoencoders):
    """A dark night frame still varies over its cells (lit spots, sensor noise); a black one does not, by day or night:
    its spread sits at the round-off floor, orders of magnitude below every nominal frame's, and it alone is flat."""
    floor = Monitor.load(redundancy_monitor).calibration["groups"]["all"]["flat_floor"]["camera"]
    for scenes in ("day", "night"):
        nominal = check_frames(redundancy_shards, autoencoders, redundancy_monitor, None, [], scenes=scenes)["frames"]
        black = check_frames(redundancy_shards, autoencoders, redundancy_monitor, None, ["camera_blackout"], scenes=scenes)["frames"]
        assert all(f["flat"] == ["camera"] and f["flagged"] for f in black), scenes
        darkest = min(f["spread"]["camera"] for f in nominal)
        assert max(f["spread"]["camera"] for f in black) < min(floor, darkest - np.log(1000)), scenes


def test_monitor_input_errors(redundancy_monitor, redundancy_shards, autoencoders, tmp_path):
    with pytest.raises(UserError, match="no parameter"):
        check_frames(redundancy_shards, autoencoders, redundancy_monitor, None, ["lidar_dropout:beams=3"])
    with pytest.raises(UserError, match="no frames of night scenes in split 'val'"):
        check_frames(redundancy_shards, autoencoders, redundancy_monitor, None, [], scenes="night", split="val")
    with pytest.raises(UserError, match="not a redundancy monitor"):
        check_frames(redundancy_shards, autoencoders, tmp_path, None, [])
    assert not (tmp_path / "flags.json").exists()


def test_monitor_fits_and_calibrates_on_different_scenes():
    from fusion.redundancy.config import MonitorConfig
    from fusion.redundancy.online import monitor_frames

    records = [{"scene_name": f"scene-{s}", "night_scene": s >= 4, "split": "val" if s in (3, 7) else "train", "key": f"{s}-{f}",
                "timestamp": f}
               for s in range(8) for f in range(3)]  # fmt: skip
    fit, calibration = monitor_frames(records, MonitorConfig(fit_split="train"))
    fit_scenes, calibration_scenes = ({r["scene_name"] for r in part} for part in (fit, calibration))
    assert fit_scenes == {"scene-0", "scene-2", "scene-4", "scene-6"} and calibration_scenes == {"scene-1", "scene-5"}
    fit, calibration = monitor_frames(records, MonitorConfig(fit_split="train", calibration_split="val"))
    assert {r["scene_name"] for r in calibration} == {"scene-3", "scene-7"} and len(fit) == 18
    with pytest.raises(UserError, match="share the scenes"):
        monitor_frames(records, MonitorConfig(fit_split=None, calibration_split="val"))


def test_scene_out_threshold_keeps_the_false_alarm_rate_on_new_scenes():
    """Frames of one scene share an offset: an in-sample quantile underestimates how far new scenes fall."""
    from fusion.redundancy.monitor import location_and_scatter, nominal_band, squared_distances

    rng = np.random.default_rng(0)

    def scenes(count, frames=25, k=5):
        values = rng.normal(0, 1, (count, frames, k)) + rng.normal(0, 0.6, (count, 1, k))
        return values.reshape(-1, k), np.repeat([f"scene-{i}" for i in range(count)], frames)

    calibration, names = scenes(5)
    mean, cov, threshold = nominal_band(calibration, names, false_alarm=0.05)
    in_sample = np.quantile(squared_distances(calibration, *location_and_scatter(calibration)), 0.95)
    new_scenes, _ = scenes(400)
    distances = squared_distances(new_scenes, mean, cov)
    assert (distances > threshold).mean() <= 0.05 < (distances > in_sample).mean()
