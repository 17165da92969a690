"""CLI commands of this stage (mounted by ``deploy/cli.py``): ``train-ae``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from perception.config import AUTOENCODER_NAMES, AutoencodersConfig
from preprocessing.config import load_config
from preprocessing.errors import UserError

app = typer.Typer()


def train_autoencoders(
    config: AutoencodersConfig,
    data: Path,
    out: Path,
    names: tuple[str, ...] = AUTOENCODER_NAMES,
    *,
    resume: bool = False,
    pretrained: Path | None = None,
    console: Console | None = None,
) -> dict[str, dict]:
    """Train the named autoencoders one after the other on the shards in ``data``; returns their metrics."""
    # imported here so that `nightfusion --help` does not pay for torch/diffusers
    from perception.train import train_autoencoder
    from preprocessing.dataset import ShardDataset

    train_set, val_set = ShardDataset(data, "train"), ShardDataset(data, "val")
    if len(train_set) == 0:
        raise UserError(f"{data}: no samples in the train split")
    console = console or Console()
    if len(val_set) == 0:
        console.print(f"[yellow]warning:[/] {data} has no val split; no validation metrics")
    results = {}
    for name in names:
        results[name] = train_autoencoder(
            name,
            config,
            train_set,
            val_set or None,
            out,
            resume=resume,
            pretrained=pretrained if name == "camera" else None,
            console=console,
        )
    return results


@app.command("train-ae")
def train_ae(
    config: Path = typer.Option(..., "--config", help="YAML config, e.g. configs/autoencoder_demo.yaml"),
    data: Path = typer.Option(..., "--data", help="shard directory written by `nightfusion ingest`"),
    out: Path = typer.Option(..., "--out", help="output directory: <out>/camera, <out>/lidar, <out>/radar"),
    modality: list[str] | None = typer.Option(
        None, "--modality", help="camera, lidar or radar (repeatable); default: all three"
    ),
    resume: bool = typer.Option(False, "--resume", help="continue from the newest checkpoint under <out>/checkpoints"),
    pretrained: Path | None = typer.Option(
        None,
        "--pretrained",
        help="diffusers AutoencoderKL folder (or SD pipeline with vae/) to fine-tune the camera AE from",
    ),
) -> None:
    """Train the per-modality autoencoders (camera for day+night, LiDAR, radar) with normalised latents."""
    names = tuple(modality or AUTOENCODER_NAMES)
    unknown = sorted(set(names) - set(AUTOENCODER_NAMES))
    if unknown:
        raise UserError(f"--modality {', '.join(unknown)}: expected camera, lidar or radar")
    if pretrained is not None and "camera" not in names:
        raise UserError("--pretrained initialises the camera autoencoder; add --modality camera")
    cfg = load_config(config, AutoencodersConfig)
    console = Console()
    results = train_autoencoders(cfg, data, out, names, resume=resume, pretrained=pretrained, console=console)
    for name, metrics in results.items():
        summary = ", ".join(f"{key} {value:.4g}" for key, value in metrics.get("validation", {}).items())
        console.print(f"[green]{name}[/] → {out / name}  {summary}")
