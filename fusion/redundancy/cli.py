"""CLI commands of the redundancy stage: ``redundancy`` (report), ``monitor-calibrate`` and ``monitor``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from preprocessing.errors import UserError

app = typer.Typer()

CONFIG_HELP = "YAML config (configs/redundancy.yaml); unknown keys are errors."
SENSORS_HELP = "Sensor set (modalities, physical) or sensor names (camera, radar, lidar, CAM_FRONT, LIDAR_TOP, RADAR_FRONT, …); repeatable or comma-separated."


def _config(config: Optional[Path], sensors: Optional[list[str]], faults: Optional[list[str]] = None, seeds: Optional[int] = None):
    from fusion.redundancy.config import RedundancyConfig, with_faults
    from preprocessing.config import load_config, validate

    overrides = {}
    if sensors:
        overrides["sensors"] = [name.strip() for item in sensors for name in item.split(",") if name.strip()]
    if seeds is not None:
        overrides["seeds"] = list(range(seeds))
    settings = load_config(config, RedundancyConfig, overrides) if config else validate(RedundancyConfig, overrides)
    return with_faults(settings, faults) if faults else settings


def _existing(path: Path, what: str) -> Path:
    if not path.exists():
        raise UserError(f"{what} not found: {path}")
    return path


@app.command()
def redundancy(
    data: Path = typer.Option(..., help="Shard directory written by `nightfusion ingest`."),
    autoencoders: Path = typer.Option(..., help="Autoencoder directory (camera/, lidar/, radar/) from `nightfusion train-ae`."),
    out: Path = typer.Option(..., help="Report directory: report.json, report.html and work/ (resumable)."),
    config: Optional[Path] = typer.Option(None, help=CONFIG_HELP),
    sensors: Optional[list[str]] = typer.Option(None, help=SENSORS_HELP),
    faults: Optional[list[str]] = typer.Option(
        None, help="Fault condition KIND[:name=value,...] on day scenes, repeatable; replaces the config's faulted conditions. "
        "Kinds: camera_blackout, camera_overexposure, lidar_dropout, radar_ghosts, extrinsic_drift."),
    seeds: Optional[int] = typer.Option(None, min=1, help="Number of estimator seeds (drawn in the bootstrap intervals) [config: 3]."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted report in OUT (same data and settings)."),
) -> None:
    """Sensor-redundancy report: Ω, TC, DTC, S, ∂ᵢΩ and pairwise MI per condition (day, night, injected faults)."""
    from fusion.redundancy.report import run_report

    settings = _config(config, sensors, faults, seeds)
    report = run_report(_existing(data, "shard directory"), _existing(autoencoders, "autoencoder directory"), out, settings,
                        resume=resume, progress=True)  # fmt: skip
    console = Console()
    for name, block in report["conditions"].items():
        omega = block["measures"]["o_information"]
        suspect = block.get("attribution", {}).get("suspect")
        low, high = omega["interval"]
        console.print(f"{name:>24}: Ω = {omega['value']:.3f} [{low:.3f}, {high:.3f}] nats" + (f"  suspect {suspect}" if suspect else ""))
    console.print(f"report → {out / 'report.html'}")


@app.command("monitor-calibrate")
def monitor_calibrate(
    data: Path = typer.Option(..., help="Shard directory with nominal (fault-free) frames."),
    autoencoders: Path = typer.Option(..., help="Autoencoder directory (camera/, lidar/, radar/)."),
    out: Path = typer.Option(..., help="Monitor directory to write (monitor.json, estimator/, null_latents.safetensors)."),
    config: Optional[Path] = typer.Option(None, help=CONFIG_HELP),
    sensors: Optional[list[str]] = typer.Option(None, help=SENSORS_HELP),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing monitor directory."),
) -> None:
    """Fit the online redundancy monitor on nominal frames and calibrate its per-frame thresholds."""
    from fusion.redundancy.online import calibrate_monitor

    monitor = calibrate_monitor(_existing(data, "shard directory"), _existing(autoencoders, "autoencoder directory"), out,
                                _config(config, sensors), overwrite=overwrite, progress=True)  # fmt: skip
    groups = monitor.calibration["groups"]
    Console().print(f"monitor → {out}: calibrated on " + ", ".join(f"{groups[g]['frames']} {g}" for g in groups if g != "all") + " nominal frames")


@app.command()
def monitor(
    data: Path = typer.Option(..., help="Shard directory whose frames are checked."),
    autoencoders: Path = typer.Option(..., help="The autoencoder directory the monitor was calibrated with."),
    monitor_dir: Path = typer.Option(..., "--monitor", help="Monitor directory from `nightfusion monitor-calibrate`."),
    out: Path = typer.Option(..., help="JSON file with per-frame scores and flags."),
    faults: Optional[list[str]] = typer.Option(None, help="Inject KIND[:name=value,...] into every frame first (testing), repeatable."),
    split: Optional[str] = typer.Option(None, help="Only frames of this split."),
    scenes: str = typer.Option("all", help="Frames of day, night or all scenes."),
) -> None:
    """Score every frame with the online redundancy monitor and flag those outside the calibrated band."""
    from fusion.redundancy.online import check_frames

    if scenes not in ("day", "night", "all"):
        raise UserError(f"--scenes must be day, night or all, got {scenes!r}")
    result = check_frames(_existing(data, "shard directory"), _existing(autoencoders, "autoencoder directory"),
                          _existing(monitor_dir, "monitor directory"), out, faults or [], split, scenes, progress=True)  # fmt: skip
    summary = result["summary"]
    Console().print(f"{summary['flagged']} of {summary['frames']} frames flagged ({100 * summary['rate']:.1f} %) → {out}")
