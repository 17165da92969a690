"""Which camera frames to ingest, resolved through the devkit into picklable ``SampleSpec`` records.

Scenes are selected by split (``<dataroot>/splits.json`` when present, else the devkit's
``create_splits_scenes`` for real nuScenes scene names) and by condition (a scene is a night scene
when its description contains "night", case-insensitively). Frames are the camera keyframes, or
with ``camera_sweeps`` every camera sample_data (12 Hz); a keyframe uses its sample's LiDAR/radar
records, a sweep the records of each point sensor nearest in time. Samples whose records cannot be
resolved are skipped here with their reason; the rest is deterministic and ordered by scene
(table order) and time. A night-scene frame whose day twin file exists (synthetic worlds) gets its
path, so workers need no devkit to find it.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from pathlib import Path

from nuscenes.utils.splits import create_splits_scenes

from preprocessing.errors import UserError
from preprocessing.frames import SampleSpec, SensorFrame
from preprocessing.projection import sensor_frame, sweeps
from preprocessing.shards import skip_entry
from preprocessing.tables import LIDAR_CHANNEL, RADAR_CHANNELS, TolerantNuScenes
from preprocessing.world.day_twins import day_twin_path

CONDITIONS = ("all", "day", "night")
UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class Selection:
    """What to plan: camera channel, splits (None = all), condition, sweeps per point sensor, limit."""

    camera: str = "CAM_FRONT"
    splits: tuple[str, ...] | None = None
    condition: str = "all"
    camera_sweeps: bool = False
    lidar_sweeps: int = 1
    radar_sweeps: int = 1
    limit: int | None = None


@dataclass(frozen=True)
class Plan:
    specs: list[SampleSpec]
    skipped: list[dict]  # shards.skip_entry records


def scene_splits(dataroot: str | Path, scene_names: list[str]) -> dict[str, str]:
    """scene name → split name, from ``splits.json`` or the devkit's official splits."""
    path = Path(dataroot) / "splits.json"
    if path.is_file():
        try:
            splits = json.loads(path.read_text())
        except json.JSONDecodeError:
            splits = None
        if not isinstance(splits, dict) or not all(isinstance(names, list) for names in splits.values()):
            raise UserError(f"{path} must be a JSON object {{split: [scene names]}}")
    else:
        official = create_splits_scenes()
        splits = {name: official[name] for name in ("train", "val", "test")}
    lookup = {scene: split for split, names in splits.items() for scene in names}
    return {name: lookup.get(name, UNASSIGNED) for name in scene_names}


def is_night(scene: dict) -> bool:
    return "night" in str(scene.get("description", "")).lower()


def channel_timeline(nusc, start_token: str) -> tuple[list[int], list[str]]:
    """(timestamps, tokens) of every sample_data in the prev/next chain through ``start_token``, in time order."""
    first = start_token
    while (prev := nusc.get("sample_data", first)["prev"]) and nusc.has("sample_data", prev):
        first = prev
    times, tokens, token = [], [], first
    while token and nusc.has("sample_data", token):
        record = nusc.get("sample_data", token)
        times.append(record["timestamp"])
        tokens.append(token)
        token = record["next"]
    return times, tokens


def nearest(timeline: tuple[list[int], list[str]], timestamp: int) -> str:
    times, tokens = timeline
    i = bisect.bisect_left(times, timestamp)
    candidates = [j for j in (i - 1, i) if 0 <= j < len(times)]
    return tokens[min(candidates, key=lambda j: abs(times[j] - timestamp))]


def _scene_samples(nusc, scene: dict) -> list[dict]:
    samples, token = [], scene["first_sample_token"]
    while token and nusc.has("sample", token):
        samples.append(nusc.get("sample", token))
        token = samples[-1]["next"]
    return samples


def _frames_of_scene(nusc, samples: list[dict], selection: Selection) -> list[tuple[str, dict]]:
    """(camera sample_data token or "" if absent, its sample) in time order; keyframes only unless camera_sweeps."""
    frames = [(sample["data"].get(selection.camera, ""), sample) for sample in samples]
    first = next((token for token, _ in frames if token), None)
    if not selection.camera_sweeps or first is None:
        return frames
    _, tokens = channel_timeline(nusc, first)
    return [(token, nusc.get("sample", nusc.get("sample_data", token)["sample_token"])) for token in tokens]


def _point_token(nusc, sample: dict, channel: str, camera_record: dict, timelines: dict) -> str:
    if camera_record["is_key_frame"]:
        if channel not in sample["data"]:
            raise KeyError(f"no {channel} keyframe")
        return sample["data"][channel]
    if channel not in timelines:
        raise KeyError(f"no {channel} sweeps in this scene")
    return nearest(timelines[channel], camera_record["timestamp"])


def _day_twin(nusc, scene: dict, camera: SensorFrame) -> str | None:
    """The path of a night-scene frame's day twin if that file exists (only synthetic worlds have them)."""
    if not is_night(scene):
        return None
    path = day_twin_path(nusc.dataroot, camera.channel, camera.path)
    return str(path) if path.is_file() else None


def _spec(nusc, token: str, sample: dict, scene: dict, split: str, selection: Selection, timelines: dict) -> SampleSpec:
    camera_record = nusc.get("sample_data", token)
    camera = sensor_frame(nusc, token)
    counts = {LIDAR_CHANNEL: selection.lidar_sweeps} | dict.fromkeys(RADAR_CHANNELS, selection.radar_sweeps)
    point_sweeps = {
        channel: sweeps(nusc, _point_token(nusc, sample, channel, camera_record, timelines), count)
        for channel, count in counts.items()
    }
    return SampleSpec(
        key=token,
        sample_token=sample["token"],
        scene_token=scene["token"],
        scene_name=scene["name"],
        split=split,
        night_scene=is_night(scene),
        camera=camera,
        lidar=point_sweeps[LIDAR_CHANNEL],
        radars=tuple(point_sweeps[c] for c in RADAR_CHANNELS),
        day_twin=_day_twin(nusc, scene, camera),
    )


def _timelines(nusc, samples: list[dict]) -> dict:
    """channel → timeline, from the first sample holding that channel (for camera sweeps)."""
    timelines = {}
    for channel in (LIDAR_CHANNEL, *RADAR_CHANNELS):
        start = next((s["data"][channel] for s in samples if channel in s["data"]), None)
        if start:
            timelines[channel] = channel_timeline(nusc, start)
    return timelines


def plan(nusc: TolerantNuScenes, selection: Selection) -> Plan:
    """Resolve the selected frames into specs; unresolvable ones go to ``skipped`` with their reason."""
    if selection.condition not in CONDITIONS:
        raise UserError(f"condition must be one of {CONDITIONS}, got {selection.condition!r}")
    splits = scene_splits(nusc.dataroot, [scene["name"] for scene in nusc.scene])
    unknown = set(selection.splits or ()) - set(splits.values())
    if unknown:
        raise UserError(f"split(s) {sorted(unknown)} not found; this dataroot has {sorted(set(splits.values()))}")
    specs, skipped, seen = [], [], 0
    for scene in nusc.scene:
        if selection.splits and splits[scene["name"]] not in selection.splits:
            continue
        if selection.condition != "all" and is_night(scene) != (selection.condition == "night"):
            continue
        samples = _scene_samples(nusc, scene)
        frames = _frames_of_scene(nusc, samples, selection)
        timelines = _timelines(nusc, samples) if selection.camera_sweeps else {}
        for token, sample in frames:
            if selection.limit is not None and seen >= selection.limit:
                return Plan(specs, skipped)
            seen += 1
            try:
                if not token:
                    raise KeyError(f"no {selection.camera} keyframe")
                specs.append(_spec(nusc, token, sample, scene, splits[scene["name"]], selection, timelines))
            except (KeyError, ValueError, TypeError, OSError) as error:
                details = nusc.defects_of(sample["token"])
                skipped.append(skip_entry(token or sample["token"], sample["token"], scene["name"], "plan", error, details))
    return Plan(specs, skipped)

