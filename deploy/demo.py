"""The end-to-end demo: every stage on a generated world, each resumable from its finished output.

Stages write their outputs atomically, so a stage whose output exists is complete and is skipped
when an interrupted demo is run again.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field
from rich.console import Console

from preprocessing.atomic import atomic_write_json
from preprocessing.config import StrictModel, load_config


class WorldStage(StrictModel):
    scenes: int = Field(6, ge=1)
    samples: int = Field(12, ge=2)
    seed: int = 0
    night_fraction: float = Field(0.34, ge=0.0, le=1.0)
    camera_size: tuple[int, int] = (800, 450)
    camera_sweeps: bool = True
    workers: int = Field(2, ge=1)


class DemoConfig(StrictModel):
    world: WorldStage = WorldStage()


def describe_world(dataroot: Path, version: str, console: Console) -> dict:
    """What the world holds, as the devkit sees it."""
    from nuscenes.nuscenes import NuScenes

    nusc = NuScenes(version, str(dataroot), verbose=False)
    scenes = [{"name": s["name"], "description": s["description"], "samples": s["nbr_samples"]} for s in nusc.scene]
    console.print(f"[bold]devkit view of {dataroot}[/]")
    nusc.list_scenes()
    channels = sorted({nusc.get("calibrated_sensor", r["calibrated_sensor_token"])["sensor_token"] for r in nusc.sample_data})
    return {
        "scenes": scenes,
        "sample_data": len(nusc.sample_data),
        "sensors": len(channels),
        "annotations": len(nusc.sample_annotation),
    }


def run_demo(out: Path, config_path: Path) -> dict:
    from preprocessing.world import generate_world
    from preprocessing.world.cli import print_summary

    console = Console()
    config = load_config(config_path, DemoConfig)
    out.mkdir(parents=True, exist_ok=True)
    world_dir = out / "world"
    if world_dir.exists():
        console.print(f"[green]world[/]: {world_dir} exists, skipping")
    else:
        summary = generate_world(world_dir, **config.world.model_dump())
        print_summary(summary)
        atomic_write_json(out / "world_summary.json", summary)
    report = {"world": describe_world(world_dir, "v1.0-mini", console)}
    atomic_write_json(out / "summary.json", report)
    console.print(f"[bold green]demo summary[/] written to {out / 'summary.json'}")
    console.print_json(json.dumps({k: v for k, v in report["world"].items() if k != "scenes"}))
    return report
