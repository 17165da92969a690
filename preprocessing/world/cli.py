"""``nightfusion world``: generate a synthetic nuScenes-format world."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from preprocessing.cli_types import FiniteFloat
from preprocessing.world.rig import CAMERA_CHANNELS

app = typer.Typer()


def parse_size(text: str) -> tuple[int, int]:
    """'WIDTHxHEIGHT' → (width, height)."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise typer.BadParameter(f"expected WIDTHxHEIGHT such as 1600x900, got {text!r}") from None
    return width, height


def print_summary(summary: dict) -> None:
    table = Table(title=f"synthetic world at {summary['dataroot']}", show_header=False)
    for key, value in summary.items():
        if key != "dataroot":
            table.add_row(key, json.dumps(value) if isinstance(value, (dict, list)) else str(value))
    Console().print(table)


@app.command()
def world(
    out: Path = typer.Option(..., help="Dataroot to create (must not exist unless --overwrite)."),
    scenes: int = typer.Option(4, min=1, help="Number of scenes (one street and one log each)."),
    samples: int = typer.Option(10, min=2, help="Keyframes (2 Hz samples) per scene."),
    seed: int = typer.Option(0, help="Random seed: the same seed gives identical files."),
    night_fraction: float = typer.Option(0.3, click_type=FiniteFloat(min=0.0, max=1.0), help="Fraction of night scenes."),
    version: str = typer.Option("v1.0-mini", help="nuScenes version folder name for the tables."),
    cameras: list[str] = typer.Option(["CAM_FRONT"], "--cameras", help=f"Camera channels: {', '.join(CAMERA_CHANNELS)}."),
    camera_size: str = typer.Option("1600x900", help="Camera resolution WIDTHxHEIGHT (intrinsics scale with it)."),
    camera_sweeps: bool = typer.Option(True, help="Render 12 Hz camera sweeps between keyframes."),
    depth: bool = typer.Option(False, help="Also write ray-cast camera depth for keyframes (depth/<channel>/*.png, uint16 m·256)."),
    day_twins: bool = typer.Option(True, help="Render night scenes' camera frames again by day (daytwin/<channel>/*.jpg, ground truth)."),
    workers: int = typer.Option(1, min=1, help="Scenes rendered in parallel processes."),
    overwrite: bool = typer.Option(False, help="Replace an existing output directory."),
) -> None:
    """Generate a procedural street world written in genuine nuScenes format (devkit-loadable)."""
    from preprocessing.world.generate import generate_world

    summary = generate_world(
        out, scenes=scenes, samples=samples, seed=seed, night_fraction=night_fraction, version=version,
        cameras=tuple(cameras), camera_size=parse_size(camera_size), camera_sweeps=camera_sweeps,
        write_depth=depth, day_twins=day_twins, workers=workers, overwrite=overwrite,
    )  # fmt: skip
    print_summary(summary)
