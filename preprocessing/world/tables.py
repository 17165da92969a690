"""nuScenes tables: the JSON records the devkit loads, with deterministic tokens.

Field names and conventions follow the nuScenes schema (quaternions w, x, y, z; sizes as
width, length, height; ``prev``/``next`` empty at the ends of every chain).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from preprocessing.atomic import atomic_write_text

TABLES = (
    "category", "attribute", "visibility", "instance", "sensor", "calibrated_sensor", "ego_pose",
    "log", "scene", "sample", "sample_data", "sample_annotation", "map",
)  # fmt: skip

CATEGORIES = (
    ("vehicle.car", "Vehicle designed primarily for personal use."),
    ("movable_object.barrier", "Temporary road barrier placed in the scene."),
)
ATTRIBUTES = (("vehicle.moving", "Vehicle is moving."), ("vehicle.parked", "Vehicle is stationary and parked."))
VISIBILITIES = (("1", "v0-40"), ("2", "v40-60"), ("3", "v60-80"), ("4", "v80-100"))


def make_token(seed: int, *parts) -> str:
    """A 32-hex token, stable for a seed and the record's identity."""
    return hashlib.md5("/".join(str(p) for p in (seed, *parts)).encode()).hexdigest()


class Tables:
    """Accumulates records and writes ``<dataroot>/<version>/<table>.json``."""

    def __init__(self, seed: int):
        self.seed = seed
        self.records: dict[str, list[dict]] = {name: [] for name in TABLES}

    def add_vocabulary(self, sensors: list[tuple[str, str]]) -> None:
        """The tables shared by all scenes: categories, attributes, visibilities and (channel, modality) sensors."""
        for name, description in CATEGORIES:
            self.add("category", {"token": self.token("category", name), "name": name, "description": description, "index": len(self.records["category"])})
        for name, description in ATTRIBUTES:
            self.add("attribute", {"token": self.token("attribute", name), "name": name, "description": description})
        for level, description in VISIBILITIES:
            self.add("visibility", {"token": level, "level": description, "description": f"visibility of whole object is between {description[1:].replace('-', ' and ')}%"})
        for channel, modality in sensors:
            self.add("sensor", {"token": self.token("sensor", channel), "channel": channel, "modality": modality})

    def extend(self, records: dict[str, list[dict]]) -> None:
        for name, rows in records.items():
            self.records[name].extend(rows)

    def token(self, *parts) -> str:
        return make_token(self.seed, *parts)

    def add(self, table: str, record: dict) -> dict:
        self.records[table].append(record)
        return record

    @staticmethod
    def link(records: list[dict]) -> None:
        """Fill ``prev``/``next`` along an ordered chain of records."""
        for i, record in enumerate(records):
            record["prev"] = records[i - 1]["token"] if i > 0 else ""
            record["next"] = records[i + 1]["token"] if i + 1 < len(records) else ""

    def write(self, dataroot: Path, version: str) -> None:
        folder = Path(dataroot) / version
        for name, records in self.records.items():
            atomic_write_text(folder / f"{name}.json", json.dumps(records, indent=0))
