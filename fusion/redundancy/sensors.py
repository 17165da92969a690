"""Sensor variables: which sensors are analysed and which network input each one is.

Two built-in sets (plus any list of names from either):

- ``modalities``: ``camera``, ``radar``, ``lidar`` — the modality order of SPEC §2 with the one
  physical camera standing for ``day``/``night`` (it records whichever the scene is);
- ``physical``: one variable per physical sensor that reaches the camera's image plane — the camera
  channel (e.g. ``CAM_FRONT``), every ``RADAR_*`` on its own map, ``LIDAR_TOP``.

Each sensor is encoded by the autoencoder of its ``kind`` (camera / lidar / radar).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fusion.redundancy.frames import SensorMaps
from preprocessing.errors import UserError

SETS = ("modalities", "physical")
MODALITIES = ("camera", "radar", "lidar")
LIDAR_CHANNEL = "LIDAR_TOP"


@dataclass(frozen=True)
class Sensor:
    """A sensor variable: ``kind`` ∈ {camera, lidar, radar}; ``radar`` = index of one physical radar (None: all)."""

    name: str
    kind: str
    radar: int | None = None

    def inputs(self, maps: SensorMaps) -> np.ndarray:
        """This sensor's network input [C, H, W] from a frame's maps."""
        if self.kind == "radar":
            return maps.radar if self.radar is None else maps.radars[self.radar]
        return getattr(maps, self.kind)

    def activity(self, maps: SensorMaps) -> int:
        """Pixels with data: non-black camera pixels, or valid LiDAR / radar pixels."""
        x = self.inputs(maps)
        return int((x.max(axis=0) > -1.0).sum()) if self.kind == "camera" else int(x[-1].sum())


def resolve_sensors(names: list[str], camera_channel: str, radar_channels: tuple[str, ...]) -> tuple[Sensor, ...]:
    """Expand set names and check sensor names against the data's channels (UserError on unknown names)."""
    physical = {camera_channel: Sensor(camera_channel, "camera"), LIDAR_CHANNEL: Sensor(LIDAR_CHANNEL, "lidar")}
    physical |= {channel: Sensor(channel, "radar", i) for i, channel in enumerate(radar_channels)}
    known = {name: Sensor(name, name) for name in MODALITIES} | physical
    expanded: list[str] = []
    for name in names:
        if name == "modalities":
            expanded += MODALITIES
        elif name == "physical":
            expanded += [camera_channel, *radar_channels, LIDAR_CHANNEL]
        elif name in known:
            expanded.append(name)
        else:
            raise UserError(f"unknown sensor {name!r}; choose a set ({', '.join(SETS)}) or names from {', '.join(known)}")
    sensors = tuple(known[name] for name in dict.fromkeys(expanded))
    if len(sensors) < 2:
        raise UserError(f"need at least 2 sensors to measure redundancy, got {[s.name for s in sensors]}")
    return sensors


def sensors_of_kind(sensors: tuple[Sensor, ...], kind: str) -> list[str]:
    """Names of the sensors a fault on ``kind`` degrades."""
    return [s.name for s in sensors if s.kind == kind]


def data_sensors(records: list[dict], names: tuple[str, ...]) -> tuple[Sensor, ...]:
    """Resolve sensor names against the channels recorded in shard samples' calibration."""
    calibration = records[0]["calibration"]
    radars = tuple(radar["channel"] for radar in calibration["radars"])
    return resolve_sensors(list(names), calibration["camera"]["channel"], radars)
