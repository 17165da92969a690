"""Where a night camera frame's *day twin* lives: the frame rendered again by day, same geometry,
poses and instant (lamps and headlights off, moving cars where they are at night).

Twins are ground truth, not sensor data, so they sit beside the nuScenes tables instead of in
sample_data (the devkit never sees them): ``<dataroot>/daytwin/<channel>/<night frame's stem>.jpg``.
Kept free of open3d so the ingest planner can find twins without the world generator.
"""

from __future__ import annotations

from pathlib import Path

DAY_TWIN_FOLDER = "daytwin"


def day_twin_path(dataroot: str | Path, channel: str, frame_file: str | Path) -> Path:
    """The twin of the camera file ``frame_file`` (any path whose stem is the frame's file stem)."""
    return Path(dataroot) / DAY_TWIN_FOLDER / channel / f"{Path(frame_file).stem}.jpg"
