"""CLI commands of the diffusion model: ``train`` and ``enhance`` (mounted by ``fusion/cli.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from fusion.diffusion.config import MLDConfig
from preprocessing.cli_types import FiniteFloat
from preprocessing.config import load_config, with_train
from preprocessing.errors import UserError

app = typer.Typer()


@app.command()
def train(
    config: Path = typer.Option(..., help="MLD config YAML, e.g. configs/mld_demo.yaml."),
    data: Path = typer.Option(..., help="Shard directory written by ingestion (its train split is used)."),
    autoencoders: Path = typer.Option(..., help="Folder with camera/, lidar/, radar/ autoencoders."),
    out: Path = typer.Option(..., help="Run folder; becomes the self-contained model folder."),
    resume: bool = typer.Option(False, help="Continue the run in --out from its last checkpoint."),
    pretrained: Optional[Path] = typer.Option(
        None, help="Reference DiT checkpoint (e.g. DiT-XL-2-256x256.pt) to initialise the trunk."
    ),
    steps: Optional[int] = typer.Option(None, min=1, help="Override train.steps (e.g. to extend a resumed run)."),
    max_minutes: Optional[float] = typer.Option(
        None, min=0.01, help="Override train.max_minutes: end earlier if the steps would take longer (the first steps' pace)."
    ),
) -> None:
    """Train the multimodal DiT with masked multi-time diffusion (target: day; conditions: night/radar/lidar)."""
    from fusion.diffusion.run import train_run

    loaded = load_config(config, MLDConfig)
    loaded = with_train(loaded, steps=steps, max_minutes=max_minutes)
    summary = train_run(loaded, data, autoencoders, out, resume=resume, pretrained=pretrained)
    typer.echo(json.dumps(summary, indent=2))


@app.command()
def enhance(
    model: Path = typer.Option(..., help="Trained model folder (the --out of train)."),
    out: Path = typer.Option(..., help="Output image file (PNG recommended); a folder for many frames."),
    night: Optional[Path] = typer.Option(
        None, help="Night image, or a folder of them (every frame enhanced); resized to the model size if the aspect matches."
    ),
    lidar: Optional[Path] = typer.Option(None, help="LiDAR map .npy [3, H, W] (depth, intensity, valid), or a folder of <stem>.npy."),
    radar: Optional[Path] = typer.Option(None, help="Radar map .npy [4, H, W] (depth, RCS, velocity, valid), or a folder of <stem>.npy."),
    sample: Optional[str] = typer.Option(None, help="Sample token: take night/lidar/radar from --data."),
    data: Optional[Path] = typer.Option(None, help="Shard directory: holds --sample, or without it every frame of --split is enhanced."),
    split: Optional[str] = typer.Option(None, help="With --data and no --sample: enhance only this split (e.g. val)."),
    batch_size: int = typer.Option(16, min=1, help="Frames per batch when enhancing many."),
    t_start: Optional[float] = typer.Option(None, click_type=FiniteFloat(min=0.0, max=1.0), help="Start time t̃ (default: the model's own)."),
    steps: Optional[int] = typer.Option(None, min=1, help="DDIM steps of the full schedule (default 50)."),
    guidance: Optional[float] = typer.Option(None, click_type=FiniteFloat(min=0.0), help="Classifier-free guidance weight (default 2.0)."),
    seed: int = typer.Option(0, help="Seed of the noise: same inputs and seed give the same image."),
) -> None:
    """Turn night frames (+ optional LiDAR/radar maps) into day frames, starting from the night latent at t̃.

    One frame (--night IMG or --sample TOKEN --data SHARDS) → --out IMG; many (--data SHARDS [--split val], or
    --night FOLDER) → one PNG per frame in the folder --out, all in one process."""
    from rich.progress import Progress

    from fusion.diffusion.enhance import Enhancer
    from fusion.diffusion.frames import enhancement_frames, frame_batches
    from fusion.diffusion.images import to_uint8, write_rgb

    if t_start == 0:
        raise UserError("--t-start must be > 0")
    knobs = {"t_start": t_start, "steps": steps, "guidance": guidance}
    many = (data is not None and sample is None and night is None) or (night is not None and night.is_dir())
    if not many:
        enhancer = Enhancer(model)
        frames = enhancement_frames(enhancer.frame_size, night=night, lidar=lidar, radar=radar, sample=sample, data=data)
        write_rgb(out, to_uint8(enhancer.enhance(frames, seed=seed, **knobs))[0])
        typer.echo(f"wrote {out} (conditioned on {', '.join(frames)})")
        return
    if out.suffix.lower() in (".png", ".jpg", ".jpeg"):
        raise UserError(f"--out {out}: many frames are written into a folder, not one image file")
    enhancer = Enhancer(model)
    batches = frame_batches(enhancer.frame_size, night=night, lidar=lidar, radar=radar, data=data, split=split,
                            batch_size=batch_size)  # fmt: skip
    written = 0
    with Progress() as progress:
        task = progress.add_task("enhancing", total=None)
        for names, frames in batches:
            for name, image in zip(names, to_uint8(enhancer.enhance(frames, seed=seed + written, **knobs))):
                write_rgb(out / f"{name}.png", image)
            written += len(names)
            progress.update(task, completed=written)
    typer.echo(f"wrote {written} frames to {out}/ (conditioned on {', '.join(frames)})")
