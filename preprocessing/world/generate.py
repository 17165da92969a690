"""Write a synthetic world as a genuine nuScenes dataroot.

For every scene: lay out a street, drive the ego down it, ray-cast every sensor at its own rate
(keyframes at 2 Hz, camera sweeps at 12 Hz, LiDAR at 20 Hz, radars at ~13 Hz), write the sensor
files and the nuScenes tables. Night scenes also get a day twin of every camera frame
(``preprocessing.world.day_twins``). The dataroot appears atomically when everything is written.
"""

from __future__ import annotations

import functools
import json
import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from queue import Empty

import cv2
import numpy as np
from pyquaternion import Quaternion
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from preprocessing.atomic import atomic_directory, atomic_write_bytes, atomic_write_text
from preprocessing.errors import UserError
from preprocessing.pcd import radar_filter_mask, write_radar_pcd
from preprocessing.world.day_twins import day_twin_path
from preprocessing.world.geometry import SceneGeometry
from preprocessing.world.layout import ROAD_HALF_WIDTH, SceneLayout, make_layout, map_extent
from preprocessing.world.poses import ego_pose, sensor_pose
from preprocessing.world.rig import CAMERA_CHANNELS, CAMERA_HZ, KEYFRAME_HZ, LIDAR_HZ, RADAR_HZ, Sensor, build_rig
from preprocessing.world.sensors import render_camera, scan_lidar, scan_radar
from preprocessing.world.tables import Tables

MAP_RESOLUTION = 0.1  # m per map pixel (the devkit's native resolution)
LEAD_IN = 0.5  # s of sweeps before the first keyframe, so multi-sweep aggregation has history
BASE_TIMESTAMP = 1533151603_000000  # µs, an August 2018 afternoon as in nuScenes
JPEG_QUALITY = 92
DEPTH_SCALE = 256.0  # KITTI convention: uint16 depth · 256, 0 = no depth


@dataclass(frozen=True)
class Frame:
    sensor: Sensor
    time: float  # s since scene start
    sample: int  # index of the keyframe this frame belongs to (its own, or the next one)
    keyframe: bool


def _sensor_rate(sensor: Sensor) -> float:
    return {"camera": CAMERA_HZ, "lidar": LIDAR_HZ, "radar": RADAR_HZ}[sensor.modality]


def timeline(sensor: Sensor, offset: float, samples: int, camera_sweeps: bool) -> list[Frame]:
    """Frames of one sensor: its own rate from t = 0 to the last keyframe; the frame nearest to
    each keyframe time is that keyframe's frame."""
    keyframe_times = LEAD_IN + np.arange(samples) / KEYFRAME_HZ
    period = 1.0 / _sensor_rate(sensor)
    times = offset + np.arange(0.0, keyframe_times[-1] + period / 2 - offset, period)
    nearest = {int(np.argmin(np.abs(times - t))): k for k, t in enumerate(keyframe_times)}
    if sensor.modality == "camera" and not camera_sweeps:
        times = times[sorted(nearest)]
        nearest = {i: k for i, k in enumerate(nearest.values())}
    frames = []
    for i, t in enumerate(times):
        sample = nearest.get(i)
        if sample is None:
            sample = int(np.searchsorted(keyframe_times, t))
        frames.append(Frame(sensor, float(t), min(sample, samples - 1), i in nearest))
    return frames


def _quaternion(q: Quaternion) -> list[float]:
    return [float(v) for v in q.elements]


def _drivable_area(layout: SceneLayout) -> np.ndarray:
    """The map's semantic prior: 255 on the road surface, as a raster at ``MAP_RESOLUTION``."""
    extent_x, extent_y = map_extent(layout)
    height, width = math.ceil(extent_y / MAP_RESOLUTION), math.ceil(extent_x / MAP_RESOLUTION)
    corners = np.array([[-60.0, -ROAD_HALF_WIDTH, 0], [layout.length + 20.0, -ROAD_HALF_WIDTH, 0],
                        [layout.length + 20.0, ROAD_HALF_WIDTH, 0], [-60.0, ROAD_HALF_WIDTH, 0]])  # fmt: skip
    xy = layout.to_global(corners)[:, :2]
    pixels = np.column_stack([xy[:, 0] / MAP_RESOLUTION, height - xy[:, 1] / MAP_RESOLUTION])
    mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(mask, [np.round(pixels).astype(np.int32)], 255)
    return mask


@dataclass(frozen=True)
class WorldSpec:
    """Everything a scene job needs; picklable so scenes can render in worker processes."""

    dataroot: Path
    seed: int
    samples: int
    cameras: tuple[str, ...]
    camera_size: tuple[int, int]
    camera_sweeps: bool
    write_depth: bool
    day_twins: bool


def _write_jpeg(path: Path, rgb: np.ndarray) -> None:
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    atomic_write_bytes(path, jpeg.tobytes())


class SceneWriter:
    """Renders one scene's sensor files into the dataroot and collects its nuScenes records."""

    def __init__(self, spec: WorldSpec):
        self.dataroot, self.seed, self.samples = spec.dataroot, spec.seed, spec.samples
        self.rig = build_rig(spec.cameras, spec.camera_size)
        self.camera_sweeps, self.write_depth, self.day_twins = spec.camera_sweeps, spec.write_depth, spec.day_twins
        self.tables = Tables(spec.seed)
        self.frames_written = {"camera": 0, "lidar": 0, "radar": 0}
        self.day_twins_written = 0

    def frames(self) -> list[Frame]:
        """Every sensor frame of a scene, in time order (all scenes share one timeline)."""
        frames = []
        for n, sensor in enumerate(self.rig):
            # Cameras fire a few ms after the LiDAR passes them; radars run unsynchronised.
            offset = 0.008 if sensor.modality == "camera" else 0.0 if sensor.modality == "lidar" else 0.011 * (n % 7)
            frames.extend(timeline(sensor, offset, self.samples, self.camera_sweeps))
        return sorted(frames, key=lambda f: (f.time, f.sensor.channel))

    def camera_frames(self) -> int:
        """Camera frames per scene (each of a night scene's gets a day twin)."""
        return sum(frame.sensor.modality == "camera" for frame in self.frames())

    def scene(self, index: int, night: bool, on_frame) -> dict[str, list[dict]]:
        """Render scene ``index`` into the dataroot; returns its records (``on_frame`` ticks per frame
        and per day twin)."""
        tables, seed, samples = self.tables, self.seed, self.samples
        rng = np.random.default_rng([seed, index])
        duration = LEAD_IN + (samples - 1) / KEYFRAME_HZ
        layout = make_layout(rng, duration, night)
        geometry = SceneGeometry(layout)
        log_name = f"synthetic-{seed}-{index:04d}"
        base_time = BASE_TIMESTAMP + index * 3_600_000_000

        log = tables.add("log", {"token": tables.token("log", index), "logfile": log_name, "vehicle": "n015",
                                 "date_captured": "2018-08-01", "location": "synthetic-city"})  # fmt: skip
        map_token = tables.token("map", index)
        map_file = f"maps/{map_token}.png"
        ok, png = cv2.imencode(".png", _drivable_area(layout))
        atomic_write_bytes(self.dataroot / map_file, png.tobytes())
        tables.add("map", {"token": map_token, "log_tokens": [log["token"]], "category": "semantic_prior", "filename": map_file})

        calibration = {}
        for sensor in self.rig:
            calibration[sensor.channel] = tables.add("calibrated_sensor", {
                "token": tables.token("calibrated_sensor", index, sensor.channel),
                "sensor_token": tables.token("sensor", sensor.channel),
                "translation": [float(v) for v in sensor.translation],
                "rotation": _quaternion(sensor.rotation),
                "camera_intrinsic": sensor.intrinsic.tolist() if sensor.intrinsic is not None else [],
            })  # fmt: skip

        sample_records = [
            tables.add("sample", {"token": tables.token("sample", index, k), "timestamp": base_time + round((LEAD_IN + k / KEYFRAME_HZ) * 1e6),
                                  "scene_token": tables.token("scene", index)})  # fmt: skip
            for k in range(samples)
        ]
        Tables.link(sample_records)
        description = (
            "Night, street lamps, headlights, parked cars, oncoming traffic" if night else "Day, clear sky, parked cars, traffic, buildings"
        )
        tables.add("scene", {"token": tables.token("scene", index), "log_token": log["token"], "nbr_samples": samples,
                             "first_sample_token": sample_records[0]["token"], "last_sample_token": sample_records[-1]["token"],
                             "name": f"scene-{index:04d}", "description": description})  # fmt: skip

        chains: dict[str, list[dict]] = {sensor.channel: [] for sensor in self.rig}
        counts = {k: {} for k in range(samples)}  # keyframe → object → [lidar points, radar points]
        frame_rng = np.random.default_rng([seed, index, 1])
        # A day twin differs from its night frame in lighting only (same meshes, pose and instant).
        # Day rendering draws no noise, and a generator of its own keeps it that way: frame_rng's
        # stream, hence every night file, is the same with and without twins.
        twin = geometry.relit(replace(layout, night=False)) if night and self.day_twins else None
        twin_rng = np.random.default_rng([seed, index, 2])
        for n, frame in enumerate(self.frames()):
            sensor, channel = frame.sensor, frame.sensor.channel
            timestamp = base_time + round(frame.time * 1e6)
            pose = sensor_pose(layout, sensor, frame.time)
            ego = ego_pose(layout, frame.time)
            ego_token = tables.token("ego_pose", index, channel, n)
            tables.add("ego_pose", {"token": ego_token, "timestamp": timestamp, "translation": ego.translation.tolist(),
                                    "rotation": _quaternion(ego.rotation)})  # fmt: skip
            folder = "samples" if frame.keyframe else "sweeps"
            stem = f"{folder}/{channel}/{log_name}__{channel}__{timestamp}"
            if sensor.modality == "camera":
                filename, fileformat = stem + ".jpg", "jpg"
                image, depth = render_camera(geometry, sensor, pose, frame.time, frame_rng, seed + index)
                _write_jpeg(self.dataroot / filename, image)
                if twin is not None:
                    day, _ = render_camera(twin, sensor, pose, frame.time, twin_rng, seed + index)
                    _write_jpeg(day_twin_path(self.dataroot, channel, filename), day)
                    self.day_twins_written += 1
                    on_frame()
                if self.write_depth and frame.keyframe:
                    depth_u16 = np.clip(np.round(depth * DEPTH_SCALE), 0, 65535).astype(np.uint16)
                    ok, png = cv2.imencode(".png", depth_u16)
                    atomic_write_bytes(self.dataroot / "depth" / channel / f"{Path(filename).stem}.png", png.tobytes())
            elif sensor.modality == "lidar":
                filename, fileformat = stem + ".pcd.bin", "pcd"
                points, objects = scan_lidar(geometry, pose, frame.time, frame_rng, seed + index)
                atomic_write_bytes(self.dataroot / filename, points.tobytes())
                if frame.keyframe:
                    for obj, count in zip(*np.unique(objects, return_counts=True)):
                        counts[frame.sample].setdefault(int(obj), [0, 0])[0] += int(count)
            else:
                filename, fileformat = stem + ".pcd", "pcd"
                points, objects = scan_radar(geometry, pose, frame.time, frame_rng)
                write_radar_pcd(self.dataroot / filename, points)
                if frame.keyframe:
                    for obj in objects[radar_filter_mask(points)]:
                        counts[frame.sample].setdefault(int(obj), [0, 0])[1] += 1
            width, height = sensor.size if sensor.size else (0, 0)
            record = tables.add("sample_data", {
                "token": tables.token("sample_data", index, channel, n), "sample_token": sample_records[frame.sample]["token"],
                "ego_pose_token": ego_token, "calibrated_sensor_token": calibration[channel]["token"], "timestamp": timestamp,
                "fileformat": fileformat, "is_key_frame": frame.keyframe, "height": height, "width": width, "filename": filename,
            })  # fmt: skip
            chains[channel].append(record)
            self.frames_written[sensor.modality] += 1
            on_frame()
        for chain in chains.values():
            Tables.link(chain)
        self._annotate(index, layout, sample_records, counts)
        return self.tables.records

    def _annotate(self, index: int, layout: SceneLayout, samples: list[dict], counts: dict) -> None:
        """Boxes for every car seen by the LiDAR or a radar at a keyframe, chained per instance."""
        tables = self.tables
        category = tables.token("category", "vehicle.car")
        per_instance: dict[int, list[dict]] = {}
        for k, sample in enumerate(samples):
            t = LEAD_IN + k / KEYFRAME_HZ
            for obj_index, (lidar_points, radar_points) in sorted(counts[k].items()):
                obj = layout.objects[obj_index]
                if not obj.annotated:
                    continue
                length, width, height = obj.size
                centre = layout.to_global((obj.position_at(t) + [0.0, 0.0, height / 2])[None])[0]
                attribute = "vehicle.moving" if obj.velocity != 0.0 else "vehicle.parked"
                record = tables.add("sample_annotation", {
                    "token": tables.token("sample_annotation", index, obj_index, k), "sample_token": sample["token"],
                    "instance_token": tables.token("instance", index, obj_index), "visibility_token": "4",
                    "attribute_tokens": [tables.token("attribute", attribute)], "translation": centre.tolist(),
                    "size": [width, length, height],
                    "rotation": _quaternion(Quaternion(axis=[0.0, 0.0, 1.0], angle=layout.heading + obj.yaw)),
                    "num_lidar_pts": lidar_points, "num_radar_pts": radar_points,
                })  # fmt: skip
                per_instance.setdefault(obj_index, []).append(record)
        for obj_index, chain in per_instance.items():
            Tables.link(chain)
            tables.add("instance", {"token": tables.token("instance", index, obj_index), "category_token": category,
                                    "nbr_annotations": len(chain), "first_annotation_token": chain[0]["token"],
                                    "last_annotation_token": chain[-1]["token"]})  # fmt: skip


def night_scene_indices(scenes: int, night_fraction: float, seed: int) -> set[int]:
    count = round(scenes * night_fraction)
    if night_fraction > 0 and scenes >= 2:
        count = max(count, 1)
    return set(np.random.default_rng([seed, 7]).permutation(scenes)[:count].tolist())


def validation_scenes(scenes: int) -> set[int]:
    """Every fifth scene (at least one when there are two or more) is held out for validation."""
    held_out = {i for i in range(scenes) if i % 5 == 4}
    return held_out or ({scenes - 1} if scenes >= 2 else set())


def _render_scene(spec: WorldSpec, index: int, night: bool, on_frame) -> tuple[dict, dict, int]:
    """One scene job (also run in worker processes): its records, frame counts and day twins written."""
    writer = SceneWriter(spec)
    return writer.scene(index, night, on_frame), writer.frames_written, writer.day_twins_written


def _run_scenes(spec: WorldSpec, nights: set[int], scenes: int, workers: int, advance) -> list[tuple[dict, dict, int]]:
    """Render every scene; with ``workers`` > 1 in parallel processes. Results are in scene order."""
    if workers <= 1:
        return [_render_scene(spec, index, index in nights, advance) for index in range(scenes)]
    context = multiprocessing.get_context("spawn")  # open3d and forked threads do not mix
    with context.Manager() as manager, ProcessPoolExecutor(workers, mp_context=context) as pool:
        queue = manager.Queue()
        futures = [pool.submit(_render_scene, spec, i, i in nights, functools.partial(queue.put, 1)) for i in range(scenes)]
        while not all(f.done() for f in futures):
            try:
                queue.get(timeout=0.2)
                advance()
            except Empty:
                pass
        while not queue.empty():  # ticks that arrived after the last check
            queue.get()
            advance()
        return [f.result() for f in futures]


def generate_world(
    out: str | Path,
    *,
    scenes: int,
    samples: int,
    seed: int,
    night_fraction: float = 0.3,
    version: str = "v1.0-mini",
    cameras: tuple[str, ...] = ("CAM_FRONT",),
    camera_size: tuple[int, int] = (1600, 900),
    camera_sweeps: bool = True,
    write_depth: bool = False,
    day_twins: bool = True,
    workers: int = 1,
    overwrite: bool = False,
    progress: bool = True,
) -> dict:
    """Generate a synthetic nuScenes-format world at ``out``; returns a summary of what it holds.

    ``day_twins``: also render every camera frame of the night scenes by day (ground truth, not
    sample_data; see ``preprocessing.world.day_twins``)."""
    out = Path(out)
    if scenes < 1 or samples < 2:
        raise UserError(f"need at least 1 scene and 2 samples per scene, got --scenes {scenes} --samples {samples}")
    if not 0.0 <= night_fraction <= 1.0:
        raise UserError(f"--night-fraction must be within [0, 1], got {night_fraction}")
    unknown = [c for c in cameras if c not in CAMERA_CHANNELS]
    if unknown or not cameras:
        raise UserError(f"unknown camera channel(s) {unknown or '(none given)'}; choose from {', '.join(CAMERA_CHANNELS)}")
    width, height = camera_size
    if width < 16 or height < 16:
        raise UserError(f"camera size must be at least 16x16, got {width}x{height}")
    if workers < 1:
        raise UserError(f"--workers must be at least 1, got {workers}")
    if out.exists() and not overwrite:
        raise UserError(f"output {out} already exists (pass --overwrite to replace it)")

    nights = night_scene_indices(scenes, night_fraction, seed)
    held_out = validation_scenes(scenes)
    start = time.perf_counter()
    with atomic_directory(out, overwrite=overwrite) as root:
        spec = WorldSpec(root, seed, samples, tuple(cameras), tuple(camera_size), camera_sweeps, write_depth, day_twins)
        probe = SceneWriter(spec)
        tables = Tables(seed)
        tables.add_vocabulary([(sensor.channel, sensor.modality) for sensor in probe.rig])
        columns = (TextColumn("[bold]world[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("frames"), TimeRemainingColumn())
        with Progress(*columns, disable=not progress) as bar:
            twin_frames = len(nights) * probe.camera_frames() if day_twins else 0
            task = bar.add_task("frames", total=scenes * len(probe.frames()) + twin_frames)
            results = _run_scenes(spec, nights, scenes, min(workers, scenes), lambda: bar.advance(task))
        frames, twins = {"camera": 0, "lidar": 0, "radar": 0}, 0
        for records, counts, scene_twins in results:
            tables.extend(records)
            twins += scene_twins
            for modality, count in counts.items():
                frames[modality] += count
        tables.write(root, version)
        names = [f"scene-{i:04d}" for i in range(scenes)]
        splits = {"train": [n for i, n in enumerate(names) if i not in held_out], "val": [n for i, n in enumerate(names) if i in held_out]}
        atomic_write_text(root / "splits.json", json.dumps(splits, indent=2))
    seconds = time.perf_counter() - start
    return {
        "dataroot": str(out),
        "version": version,
        "scenes": scenes,
        "night_scenes": sorted(nights),
        "samples": scenes * samples,
        "frames": frames,
        "day_twins": twins,
        "annotations": len(tables.records["sample_annotation"]),
        "instances": len(tables.records["instance"]),
        "seconds": round(seconds, 2),
        "frames_per_second": round((sum(frames.values()) + twins) / seconds, 2),
        "splits": {k: len(v) for k, v in splits.items()},
    }
