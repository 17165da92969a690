"""CLI commands of the preprocessing stage (mounted by ``deploy/cli.py``)."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from preprocessing.config import load_config, validate
from preprocessing.errors import NothingProducedError
from preprocessing.world.cli import app as world_app

app = typer.Typer()
app.registered_commands.extend(world_app.registered_commands)


@app.command()
def ingest(
    dataroot: Path = typer.Option(..., help="nuScenes dataroot (real nuScenes or a generated world)."),
    out: Path = typer.Option(..., help="Output directory for shards and manifest.json."),
    version: str = typer.Option(None, help="Table version folder, e.g. v1.0-mini or v1.0-trainval [config: v1.0-mini]."),
    config: Path = typer.Option(None, help="YAML config (e.g. configs/ingest.yaml); flags override its values."),
    resolution: str = typer.Option(None, help="Output HEIGHTxWIDTH, multiples of 8 [config: 288x512]."),
    nsweeps: int = typer.Option(None, help="LiDAR sweeps aggregated per frame [config: 1]."),
    radar_sweeps: int = typer.Option(None, help="Radar sweeps aggregated per radar [config: 1]."),
    camera_sweeps: bool = typer.Option(
        None, "--camera-sweeps/--keyframes", help="Every camera frame (12 Hz) or keyframes only [config: keyframes]."
    ),
    split: list[str] = typer.Option(None, help="Split(s) to ingest, e.g. --split train --split val [default: all]."),
    condition: str = typer.Option(None, help="Scenes to ingest: all, day or night [config: all]."),
    limit: int = typer.Option(None, help="Ingest only the first N frames (for trials)."),
    seed: int = typer.Option(None, help="Run seed for night synthesis [config: 0]."),
    shard_size: int = typer.Option(None, help="Samples per shard [config: 32]."),
    workers: int = typer.Option(None, help="Parallel workers; 0 = in-process [config: 2]."),
    executor: str = typer.Option(None, help="local (process pool) or ray [config: local]."),
    address: str = typer.Option(None, help="Ray cluster address (with --executor ray); default: a local Ray."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run in OUT (same settings)."),
) -> None:
    """Project LiDAR + radar into the camera, synthesise night frames and write resumable shards."""
    from preprocessing.ingest import ingest as run_ingest
    from preprocessing.ingest_config import IngestConfig

    flags = {
        "dataroot": dataroot.expanduser().resolve(), "out": out, "version": version, "resolution": resolution,
        "nsweeps": nsweeps, "radar_sweeps": radar_sweeps, "camera_sweeps": camera_sweeps, "splits": split or None,
        "condition": condition, "limit": limit, "seed": seed, "shard_size": shard_size, "workers": workers,
        "executor": executor, "address": address,
    }  # fmt: skip
    flags = {key: value for key, value in flags.items() if value is not None}
    settings = load_config(config, IngestConfig, flags) if config else validate(IngestConfig, flags)
    console = Console(stderr=True)
    columns = (TextColumn("[bold]ingest[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    bar, tasks = Progress(*columns, console=console), []

    def progress(done: int, total: int) -> None:
        if not tasks:  # shown once planning succeeded, so input errors print alone
            bar.start()
            tasks.append(bar.add_task("samples", total=total))
        bar.update(tasks[0], completed=done, total=total)

    start = time.perf_counter()
    try:
        manifest = run_ingest(settings, resume=resume, on_progress=progress)
    finally:
        if tasks:
            bar.stop()
    seconds = time.perf_counter() - start
    counts = manifest["counts"]
    console.print(
        f"[bold]{counts['written']}[/] samples in {len(manifest['shards'])} shards → {settings.out} "
        f"({seconds:.1f} s, {counts['written'] / max(seconds, 1e-9):.2f} samples/s); splits {counts['by_split']}, "
        f"real night frames {counts['night_scenes']} ({counts['day_twins']} with a day twin)"
    )
    if counts["skipped"]:
        why = counts["skipped_by_error"]
        console.print(f"[yellow]skipped {counts['skipped']}[/] of {counts['planned']}: {why} (reasons in manifest.json)")
    if not counts["written"]:
        raise NothingProducedError(f"no sample written to {settings.out}: all {counts['planned']} were skipped "
                                   f"(reasons in {Path(settings.out) / 'manifest.json'})")


@app.command()
def inspect(
    out: Path = typer.Argument(..., help="An ingest output directory (with manifest.json)."),
    png: Path = typer.Option(None, help="Where to write the contact sheet [default: OUT/contact_sheet.png]."),
    count: int = typer.Option(8, min=1, help="Number of samples (rows), spread over the output."),
    split: str = typer.Option(None, help="Only samples of this split."),
) -> None:
    """Write a contact-sheet PNG: day | night | LiDAR overlay | radar overlay, one row per sample."""
    from preprocessing.contact_sheet import write_contact_sheet

    path = write_contact_sheet(out, png or out / "contact_sheet.png", count, split)
    Console(stderr=True).print(f"contact sheet → {path}")
