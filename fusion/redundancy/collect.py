"""Per-frame sensor descriptors of one condition: shard samples → faults → maps → descriptors.

``FrameDescriptors`` keeps, for n frames, their identity (key, scene, split, time, night flag) and
each sensor's descriptors [n, P, C]; ``samples`` flattens them into the estimator's variables
(one joint sample per frame cell). It is saved as ``<name>.npz`` (arrays, never pickled) plus
``<name>.json`` (frame identities; the JSON is written last and marks the pair complete), so an interrupted report reuses finished conditions.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

import numpy as np

from fusion.information.progress import progress_bar
from fusion.redundancy.config import ConditionConfig
from fusion.redundancy.extract import DescriptorExtractor
from fusion.redundancy.faults import affected_maps, apply_faults, fault_rng
from fusion.redundancy.frames import from_shard_sample, render_maps
from preprocessing.atomic import atomic_write_bytes, atomic_write_json
from preprocessing.errors import UserError
from preprocessing.shards import list_samples, load_sample

FRAME_FIELDS = ("key", "scene_name", "scene_token", "split", "night_scene", "timestamp")


def load_records(data: Path, split: str | None = None) -> list[dict]:
    """Sample records of an ingest output (UserError if it is not one or holds no such samples)."""
    records = list_samples(data, split)
    if not records:
        raise UserError(f"{data}: no samples" + (f" in split {split!r}" if split else ""))
    return records


def select_records(records: list[dict], scenes: str, split: str | None = None, stride: int = 1) -> list[dict]:
    """Shard records of day / night / all scenes (and one split), in time order within each scene; with
    ``stride`` k, every k-th frame of each scene counted from its first (not of the whole list: a
    scene's frames would otherwise start at an offset set by the length of the scenes before it)."""
    chosen = [
        r for r in records
        if (scenes == "all" or r["night_scene"] == (scenes == "night")) and (split is None or r["split"] == split)
    ]  # fmt: skip
    ordered = sorted(chosen, key=lambda r: (r["scene_name"], r["timestamp"]))
    return [r for _, scene in groupby(ordered, key=lambda r: r["scene_name"]) for r in list(scene)[::stride]]


@dataclass(frozen=True)
class FrameDescriptors:
    frames: list[dict]  # FRAME_FIELDS per frame
    values: dict[str, np.ndarray]  # sensor name → descriptors [n, P, C] float32
    activity: dict[str, np.ndarray]  # sensor name → [n] pixels with data (``Sensor.activity``)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def cells(self) -> int:
        return next(iter(self.values.values())).shape[1]

    def samples(self, sensors: list[str], dither: float = 0.0, seed: int = 0) -> list[np.ndarray]:
        """Estimator variables: per sensor [n·P, C] (frame-major), plus Gaussian ``dither`` of that std.

        The dither is a noise floor: a dead sensor (constant descriptor) stays a continuous
        variable that carries no information, instead of breaking the estimator.
        """
        rng = np.random.default_rng(seed)
        out = []
        for name in sensors:
            block = self.values[name].reshape(-1, self.values[name].shape[-1]).astype(np.float32)
            out.append(block + rng.normal(0.0, dither, block.shape).astype(np.float32) if dither else block)
        return out

    def subset(self, keep: list[bool]) -> "FrameDescriptors":
        """The frames where ``keep`` [n] is true."""
        mask = np.asarray(keep, dtype=bool)
        return FrameDescriptors([f for f, k in zip(self.frames, mask) if k], {n: v[mask] for n, v in self.values.items()},
                                {n: a[mask] for n, a in self.activity.items()})  # fmt: skip

    def per_frame(self, pointwise: np.ndarray) -> np.ndarray:
        """Pointwise contributions [n·P, ...] → per-frame means [n, ...]."""
        return pointwise.reshape(len(self), self.cells, *pointwise.shape[1:]).mean(axis=1)

    def save(self, stem: Path) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, **{f"values/{k}": v for k, v in self.values.items()}, **{f"activity/{k}": v for k, v in self.activity.items()})
        atomic_write_bytes(_with(stem, ".npz"), buffer.getvalue())
        atomic_write_json(_with(stem, ".json"), {"frames": self.frames, "sensors": list(self.values)})

    @staticmethod
    def exists(stem: Path) -> bool:
        return _with(stem, ".json").is_file()

    @classmethod
    def load(cls, stem: Path) -> "FrameDescriptors":
        meta = json.loads(_with(stem, ".json").read_text())
        with np.load(_with(stem, ".npz"), allow_pickle=False) as arrays:
            return cls(meta["frames"], *({name: arrays[f"{group}/{name}"] for name in meta["sensors"]} for group in ("values", "activity")))


def collect(
    records: list[dict], condition: ConditionConfig, extractor: DescriptorExtractor, fault_seed: int = 0,
    batch: int = 16, progress: bool = False, base: FrameDescriptors | None = None,
) -> FrameDescriptors:  # fmt: skip
    """Descriptors of every record under ``condition``'s faults (records already selected).

    ``base`` — the same records without faults — lets only the sensors whose input a fault
    changes be encoded again; the others are copied from it.
    """
    if not records:
        raise UserError(f"condition {condition.name!r}: no frames of {condition.scenes} scenes in the data")
    faults = [fault.spec for fault in condition.faults]
    changed = set().union(*(affected_maps(kind, params) for kind, params in faults))
    sensors = [s for s in extractor.sensors if base is None or s.kind in changed]
    seed = _fault_seed(fault_seed, condition.name)
    frames, parts, activity = [], [], {s.name: [] for s in sensors}
    with progress_bar(f"descriptors {condition.name}", len(records), progress) as bar:
        for start in range(0, len(records), batch):
            chunk = records[start : start + batch]
            maps = [render_maps(apply_faults(from_shard_sample(load_sample(r)), faults, seed)) for r in chunk]
            frames += [{field: r[field] for field in FRAME_FIELDS} for r in chunk]
            for sensor in sensors:
                activity[sensor.name] += [sensor.activity(m) for m in maps]
            parts.append(extractor(maps, sensors))
            bar.advance(len(chunk))
    values = {s.name: np.concatenate([part[s.name] for part in parts]) for s in sensors}
    active = {name: np.asarray(counts, dtype=np.int64) for name, counts in activity.items()}
    if base is not None:
        if [f["key"] for f in base.frames] != [f["key"] for f in frames]:
            raise ValueError("base descriptors are of other frames")
        values, active = {**base.values, **values}, {**base.activity, **active}
    order = [s.name for s in extractor.sensors]
    return FrameDescriptors(frames, {n: values[n] for n in order}, {n: active[n] for n in order})


def _with(stem: Path, suffix: str) -> Path:
    """``stem`` + suffix, keeping dots in the name (condition names like ``lidar_dropout:fraction=0.5``)."""
    return stem.parent / f"{stem.name}{suffix}"


def _fault_seed(seed: int, condition: str) -> int:
    """Conditions get independent fault draws (e.g. which beams drop) from one run seed."""
    return int(fault_rng(seed, condition).integers(2**62))
