"""The synthetic world is genuine nuScenes: the devkit loads it, renders it, projects and aggregates
its point clouds, and what the sensors report agrees with the geometry they were cast against."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import matplotlib
import numpy as np
import pytest
from nuscenes.utils.data_classes import LidarPointCloud, RadarPointCloud
from nuscenes.utils.geometry_utils import transform_matrix
from pyquaternion import Quaternion

from preprocessing.pcd import radar_filter_mask, read_radar_pcd
from preprocessing.world import generate_world
from preprocessing.world.day_twins import DAY_TWIN_FOLDER, day_twin_path
from preprocessing.world.generate import DEPTH_SCALE
from preprocessing.world.geometry import SceneGeometry
from preprocessing.world.layout import make_layout
from preprocessing.world.poses import sensor_pose
from preprocessing.world.rig import RADAR_CHANNELS, build_rig
from preprocessing.world.sensors import camera_rays, render_camera
from tests.fixtures.world import WORLD_SAMPLES, WORLD_SCENES

matplotlib.use("Agg")


def keyframe_depth(world, nusc, camera_token: str) -> np.ndarray:
    record = nusc.get("sample_data", camera_token)
    path = world.dataroot / "depth" / "CAM_FRONT" / (Path(record["filename"]).stem + ".png")
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.float64) / DEPTH_SCALE


def test_devkit_loads_every_table_with_consistent_links(world, nusc):
    assert len(nusc.scene) == WORLD_SCENES
    assert len(nusc.sample) == WORLD_SCENES * WORLD_SAMPLES
    night = [s for s in nusc.scene if "night" in s["description"].lower()]
    assert len(night) == len(world.summary["night_scenes"]) >= 1
    channels = {"CAM_FRONT", "LIDAR_TOP", *RADAR_CHANNELS}
    for sample in nusc.sample:
        assert set(sample["data"]) == channels
    for scene in nusc.scene:
        tokens, token = [], scene["first_sample_token"]
        while token:
            tokens.append(token)
            token = nusc.get("sample", token)["next"]
        assert len(tokens) == scene["nbr_samples"] and tokens[-1] == scene["last_sample_token"]
    for record in nusc.sample_data:
        assert (world.dataroot / record["filename"]).is_file()
        if record["next"]:
            assert nusc.get("sample_data", record["next"])["timestamp"] > record["timestamp"]
    assert all(nusc.get("instance", a["instance_token"])["nbr_annotations"] >= 1 for a in nusc.sample_annotation)


def test_sensors_run_at_their_own_rates(nusc):
    scene = nusc.scene[0]
    first = nusc.get("sample", scene["first_sample_token"])
    for channel, rate in (("CAM_FRONT", 12.0), ("LIDAR_TOP", 20.0), ("RADAR_FRONT", 13.0)):
        record = nusc.get("sample_data", first["data"][channel])
        stamps = [record["timestamp"]]
        while record["next"]:
            record = nusc.get("sample_data", record["next"])
            stamps.append(record["timestamp"])
        period = np.median(np.diff(stamps)) * 1e-6
        assert period == pytest.approx(1.0 / rate, rel=0.02)
    keyframes = [nusc.get("sample", t)["timestamp"] for t in (first["token"], first["next"])]
    assert (keyframes[1] - keyframes[0]) * 1e-6 == pytest.approx(0.5)


def test_devkit_render_functions_run(world, nusc, tmp_path):
    sample = nusc.sample[1]
    outputs = {
        "camera": lambda p: nusc.render_sample_data(sample["data"]["CAM_FRONT"], out_path=p, verbose=False),
        "lidar_map": lambda p: nusc.render_sample_data(sample["data"]["LIDAR_TOP"], underlay_map=True, out_path=p, verbose=False),
        "radar": lambda p: nusc.render_sample_data(sample["data"]["RADAR_FRONT"], nsweeps=3, out_path=p, verbose=False),
        "overlay": lambda p: nusc.render_pointcloud_in_image(sample["token"], out_path=p, verbose=False),
    }
    for name, render in outputs.items():
        path = tmp_path / f"{name}.png"
        render(str(path))
        image = cv2.imread(str(path))
        assert image is not None and image.std() > 5, name  # a real picture, not a blank canvas
    matplotlib.pyplot.close("all")


def test_multisweep_aggregation_walks_the_sweep_chains(nusc):
    sample = nusc.get("sample", nusc.scene[0]["last_sample_token"])
    lidar, times = LidarPointCloud.from_file_multisweep(nusc, sample, "LIDAR_TOP", "LIDAR_TOP", nsweeps=5)
    assert len(np.unique(times)) == 5 and lidar.points.shape[1] > 5 * 10_000
    radar, times = RadarPointCloud.from_file_multisweep(nusc, sample, "RADAR_FRONT", "LIDAR_TOP", nsweeps=3)
    assert len(np.unique(times)) == 3 and radar.points.shape[1] > 0


def test_projected_lidar_depth_matches_camera_raycast_depth(world, nusc):
    errors = []
    for sample in nusc.sample:
        camera = sample["data"]["CAM_FRONT"]
        points, depths, _ = nusc.explorer.map_pointcloud_to_image(sample["data"]["LIDAR_TOP"], camera)
        depth = keyframe_depth(world, nusc, camera)
        u = np.clip(np.round(points[0]).astype(int), 0, depth.shape[1] - 1)
        v = np.clip(np.round(points[1]).astype(int), 0, depth.shape[0] - 1)
        errors.append(np.abs(depth[v, u] - depths))
    errors = np.concatenate(errors)
    assert len(errors) > 1000
    assert np.median(errors) < 0.1
    assert np.mean(errors < 0.25) > 0.8  # the rest are silhouette edges and moving cars (8 ms apart)


def sensor_to_global(nusc, sample_data_token: str) -> tuple[np.ndarray, np.ndarray]:
    record = nusc.get("sample_data", sample_data_token)
    cs = nusc.get("calibrated_sensor", record["calibrated_sensor_token"])
    pose = nusc.get("ego_pose", record["ego_pose_token"])
    matrix = transform_matrix(pose["translation"], Quaternion(pose["rotation"])) @ transform_matrix(cs["translation"], Quaternion(cs["rotation"]))
    return matrix, np.asarray(matrix[:3, 3])


def test_radar_returns_lie_on_vehicle_surfaces_with_their_motion(world, nusc):
    """Returns inside an annotated car box (moved to the radar's timestamp with the devkit's box
    velocity) sit on the box's side faces, and their ego-compensated radial velocity is the car's
    velocity projected on the line of sight."""
    on_cars, moving = 0, 0
    for sample in nusc.sample:
        t_sample = sample["timestamp"] * 1e-6
        boxes = [(nusc.get("sample_annotation", a), nusc.box_velocity(a)) for a in sample["anns"]]
        for channel in RADAR_CHANNELS:
            token = sample["data"][channel]
            record = nusc.get("sample_data", token)
            points = read_radar_pcd(world.dataroot / record["filename"])
            points = points[radar_filter_mask(points)]
            if len(points) == 0:
                continue
            matrix, origin = sensor_to_global(nusc, token)
            xyz = np.column_stack([points["x"], points["y"], points["z"], np.ones(len(points))]) @ matrix.T
            v_comp = np.column_stack([points["vx_comp"], points["vy_comp"], np.zeros(len(points))]) @ matrix[:3, :3].T
            ray = xyz[:, :3] - origin
            ray /= np.linalg.norm(ray, axis=1, keepdims=True)
            dt = record["timestamp"] * 1e-6 - t_sample
            for annotation, velocity in boxes:
                if np.isnan(velocity).any():  # a single annotation: the devkit cannot tell its velocity
                    continue
                rotation = Quaternion(annotation["rotation"]).rotation_matrix
                local = (xyz[:, :3] - (np.asarray(annotation["translation"]) + velocity * dt)) @ rotation
                width, length, height = annotation["size"]
                half = np.array([length, width, height]) / 2
                inside = np.all(np.abs(local) <= half + 0.05, axis=1)
                for i in np.flatnonzero(inside):
                    gap = np.min(half[:2] - np.abs(local[i, :2]))
                    assert gap < 0.05, f"radar return {gap:.2f} m inside a car"
                    assert v_comp[i] @ ray[i] == pytest.approx(velocity @ ray[i], abs=0.05)
                    on_cars += 1
                    moving += np.linalg.norm(velocity) > 1.0
    assert on_cars > 20 and moving > 5


def test_night_scenes_are_dark_and_day_scenes_bright(world, nusc):
    def mean_luminance(scene):
        sample = nusc.get("sample", scene["first_sample_token"])
        image = cv2.imread(str(world.dataroot / nusc.get("sample_data", sample["data"]["CAM_FRONT"])["filename"]))
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).mean()

    night = [mean_luminance(s) for s in nusc.scene if "night" in s["description"].lower()]
    day = [mean_luminance(s) for s in nusc.scene if "night" not in s["description"].lower()]
    assert max(night) < 0.5 * min(day)


def luminance(image: np.ndarray) -> float:
    return float(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).mean())


def test_day_twin_render_sees_the_night_geometry_at_the_same_instant():
    """Lighting changes no mesh: a day render of a night layout has the night render's depth at every
    pixel, moving cars included, from a geometry built afresh as from the shared one."""
    layout = make_layout(np.random.default_rng([0, 0]), 2.0, night=True)
    night = SceneGeometry(layout)
    day = replace(layout, night=False)
    [camera] = build_rig(("CAM_FRONT",), (96, 54))[:1]
    for t in (0.5, 1.5):
        pose = sensor_pose(layout, camera, t)
        night_image, night_depth = render_camera(night, camera, pose, t, np.random.default_rng(0), 0)
        for twin in (night.relit(day), SceneGeometry(day)):
            twin_image, twin_depth = render_camera(twin, camera, pose, t, np.random.default_rng(1), 0)
            np.testing.assert_array_equal(twin_depth, night_depth)
            assert luminance(twin_image) > 2 * luminance(night_image)
        hits = night.cast(t, pose.translation, camera_rays(camera)[0] @ pose.matrix.T)
        assert np.isin(hits.object, night.dynamic).sum() > 20  # moving cars are in the picture
    moved = render_camera(night, camera, sensor_pose(layout, camera, 1.5), 1.0, np.random.default_rng(0), 0)[1]
    assert not np.array_equal(moved, night_depth)  # same pose, another instant: the cars have moved
    with pytest.raises(ValueError, match="same objects"):
        night.relit(make_layout(np.random.default_rng([0, 1]), 2.0, night=False))


def test_every_night_camera_frame_has_a_day_twin_beside_the_tables(world, nusc):
    night_scenes = {s["token"] for s in nusc.scene if "night" in s["description"].lower()}
    twins = set((world.dataroot / DAY_TWIN_FOLDER).rglob("*.jpg"))
    expected, sweeps = set(), 0
    for record in nusc.sample_data:
        if record["sensor_modality"] != "camera":
            continue
        assert not record["filename"].startswith(DAY_TWIN_FOLDER)  # ground truth, not sample_data
        if nusc.get("sample", record["sample_token"])["scene_token"] in night_scenes:
            path = day_twin_path(world.dataroot, record["channel"], record["filename"])
            twin, frame = cv2.imread(str(path)), cv2.imread(str(world.dataroot / record["filename"]))
            assert twin.shape == frame.shape == (record["height"], record["width"], 3)
            assert luminance(twin) > 2 * luminance(frame)
            expected.add(path)
            sweeps += not record["is_key_frame"]
    assert twins == expected and len(expected) == world.summary["day_twins"]
    assert 0 < sweeps < len(expected)  # keyframes and 12 Hz sweeps alike


def test_day_twins_are_rendered_with_the_night_pose_and_leave_the_night_files_untouched(tmp_path, monkeypatch):
    from preprocessing.world import generate

    renders = []

    def spy(geometry, sensor, pose, t, rng, seed):
        image, depth = render_camera(geometry, sensor, pose, t, rng, seed)
        renders.append((geometry.layout, pose, t, depth))
        return image, depth

    kwargs = dict(scenes=2, samples=2, seed=5, night_fraction=0.5, camera_size=(64, 36), progress=False)
    monkeypatch.setattr(generate, "render_camera", spy)
    summary = generate_world(tmp_path / "twins", **kwargs)
    monkeypatch.undo()
    pairs = [(a, b) for a, b in zip(renders, renders[1:]) if a[0].night and not b[0].night]
    assert len(pairs) == summary["day_twins"] == summary["frames"]["camera"] // 2 > 0  # one night scene of two
    for (night, pose, t, depth), (day, twin_pose, twin_t, twin_depth) in pairs:
        assert day.objects is night.objects and twin_pose is pose and twin_t == t
        np.testing.assert_array_equal(twin_depth, depth)
    with_twins = digest(tmp_path / "twins")
    without = digest(Path(generate_world(tmp_path / "plain", day_twins=False, **kwargs)["dataroot"]))
    assert without == {name: h for name, h in with_twins.items() if not name.startswith(f"{DAY_TWIN_FOLDER}/")}
    assert len(with_twins) - len(without) == summary["day_twins"]


def test_no_day_twins_option_reaches_the_generator(tmp_path, monkeypatch, capsys):
    from preprocessing.world import generate

    calls = []
    monkeypatch.setattr(generate, "generate_world", lambda out, **kwargs: calls.append(kwargs) or {"dataroot": str(out)})
    for flags, expected in (([], True), (["--no-day-twins"], False)):
        code, stderr = run_cli(["world", "--out", str(tmp_path / "w"), *flags], monkeypatch, capsys)
        assert code == 0, stderr
        assert calls[-1]["day_twins"] is expected


def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path):
    kwargs = dict(scenes=2, samples=2, night_fraction=0.5, camera_size=(64, 36), progress=False)
    first = digest(Path(generate_world(tmp_path / "a", seed=5, **kwargs)["dataroot"]))
    second = digest(Path(generate_world(tmp_path / "b", seed=5, workers=2, **kwargs)["dataroot"]))
    other = digest(Path(generate_world(tmp_path / "c", seed=6, **kwargs)["dataroot"]))
    assert first == second  # also across the parallel scene path
    assert len(first) > 100
    changed = [name for name in first if first[name] != other.get(name)]
    assert len(changed) > 0.9 * len(first)


def test_failed_generation_leaves_nothing_behind(tmp_path, monkeypatch):
    from preprocessing.world import generate

    def explode(*args, **kwargs):
        raise RuntimeError("simulated crash while rendering")

    monkeypatch.setattr(generate, "scan_radar", explode)
    with pytest.raises(RuntimeError, match="simulated crash"):
        generate_world(tmp_path / "w", scenes=1, samples=2, seed=0, camera_size=(32, 18), progress=False)
    assert list(tmp_path.iterdir()) == []


def run_cli(arguments: list[str], monkeypatch, capsys) -> tuple[int, str]:
    """Run ``nightfusion`` in-process as the console script does; returns (exit code, stderr)."""
    from deploy.cli import main

    monkeypatch.setattr(sys, "argv", ["nightfusion", *arguments])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return exit_info.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--scenes", "0"], "Invalid value for '--scenes'"),
        (["--camera-size", "wide"], "expected WIDTHxHEIGHT"),
        (["--cameras", "CAM_SIDEWAYS"], "unknown camera channel"),
        (["--night-fraction", "1.5"], "Invalid value for '--night-fraction'"),
    ],
)
def test_bad_arguments_give_a_short_error_not_a_traceback(tmp_path, monkeypatch, capsys, arguments, message):
    code, stderr = run_cli(["world", "--out", str(tmp_path / "w"), *arguments], monkeypatch, capsys)
    assert code == 2
    assert message in stderr and "Traceback" not in stderr
    assert not (tmp_path / "w").exists()


def test_existing_output_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "w").mkdir()
    code, stderr = run_cli(["world", "--out", str(tmp_path / "w")], monkeypatch, capsys)
    assert code == 2 and stderr.startswith("error: output") and stderr.count("\n") == 1


def test_console_script_entry_point_reports_errors_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "world", "--out", str(tmp_path / "w"), "--cameras", "CAM_X"],
        capture_output=True, text=True, cwd=Path(__file__).parents[1],
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: unknown camera channel") and "Traceback" not in result.stderr
