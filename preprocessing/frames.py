"""Plain, picklable descriptions of what one ingested sample needs (no devkit objects).

The devkit-facing planner (``preprocessing.planning``) resolves every token into these records once,
so workers — local processes or Ray tasks on other machines — never load the nuScenes tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from preprocessing.geometry import Chain, Pose


@dataclass(frozen=True)
class SensorFrame:
    """One sample_data record: file, calibration (sensor → ego), ego pose (ego → global), time in µs."""

    token: str
    channel: str
    path: str
    sensor: Pose
    ego: Pose
    timestamp: int
    intrinsic: tuple[tuple[float, ...], ...] | None = None  # cameras only: 3×3
    size: tuple[int, int] | None = None  # cameras only: (width, height) of the stored image


def chain_to_camera(frame: SensorFrame, camera: SensorFrame) -> Chain:
    """The SPEC §3 chain from ``frame``'s sensor at its time into ``camera`` at the camera's time."""
    return Chain(sensor=frame.sensor, ego_at_sensor=frame.ego, ego_at_camera=camera.ego, camera=camera.sensor)


@dataclass(frozen=True)
class SampleSpec:
    """One camera frame to ingest with the point-sensor sweeps projected into it.

    ``lidar`` and each entry of ``radars`` list sweeps newest first: the first is the reference
    frame the older ones are moved into (``from_file_multisweep``); one entry means a single sweep.
    ``day_twin`` is the path of the frame rendered again by day (synthetic worlds' night scenes,
    ``preprocessing.world.day_twins``), None when there is none.
    """

    key: str  # the camera sample_data token: unique per frame
    sample_token: str
    scene_token: str
    scene_name: str
    split: str
    night_scene: bool
    camera: SensorFrame
    lidar: tuple[SensorFrame, ...]
    radars: tuple[tuple[SensorFrame, ...], ...]
    day_twin: str | None = None
