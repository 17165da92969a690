"""CLI commands of the diffusion model: ``train``, ``enhance``, ``evaluate`` (mounted by ``fusion/cli.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from fusion.diffusion.config import MLDConfig
from preprocessing.cli_types import FiniteFloat
from preprocessing.config import load_config
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
) -> None:
    """Train the multimodal DiT with masked multi-time diffusion (target: day; conditions: night/radar/lidar)."""
    from fusion.diffusion.run import train_run

    loaded = load_config(config, MLDConfig)
    if steps is not None:
        loaded = loaded.model_copy(update={"train": loaded.train.model_copy(update={"steps": steps})})
    summary = train_run(loaded, data, autoencoders, out, resume=resume, pretrained=pretrained)
    typer.echo(json.dumps(summary, indent=2))


@app.command()
def enhance(
    model: Path = typer.Option(..., help="Trained model folder (the --out of train)."),
    out: Path = typer.Option(..., help="Output image file (PNG recommended)."),
    night: Optional[Path] = typer.Option(None, help="Night image; resized to the model size if the aspect matches."),
    lidar: Optional[Path] = typer.Option(None, help="LiDAR map .npy [3, H, W] (depth, intensity, valid)."),
    radar: Optional[Path] = typer.Option(None, help="Radar map .npy [4, H, W] (depth, RCS, velocity, valid)."),
    sample: Optional[str] = typer.Option(None, help="Sample token: take night/lidar/radar from --data."),
    data: Optional[Path] = typer.Option(None, help="Shard directory holding --sample."),
    t_start: Optional[float] = typer.Option(None, click_type=FiniteFloat(min=0.0, max=1.0), help="Start time t̃ (default: the model's, 0.5)."),
    steps: Optional[int] = typer.Option(None, min=1, help="DDIM steps of the full schedule (default 50)."),
    guidance: Optional[float] = typer.Option(None, click_type=FiniteFloat(min=0.0), help="Classifier-free guidance weight (default 2.0)."),
    seed: int = typer.Option(0, help="Seed of the noise: same inputs and seed give the same image."),
) -> None:
    """Turn a night frame (+ optional LiDAR/radar maps) into a day frame, starting from the night latent at t̃."""
    from fusion.diffusion.enhance import Enhancer
    from fusion.diffusion.frames import enhancement_frames
    from fusion.diffusion.images import to_uint8, write_rgb

    if t_start == 0:
        raise UserError("--t-start must be > 0")
    enhancer = Enhancer(model)
    frames = enhancement_frames(enhancer.frame_size, night=night, lidar=lidar, radar=radar, sample=sample, data=data)
    enhanced = enhancer.enhance(frames, t_start=t_start, steps=steps, guidance=guidance, seed=seed)
    write_rgb(out, to_uint8(enhanced)[0])
    typer.echo(f"wrote {out} (conditioned on {', '.join(frames)})")


@app.command()
def evaluate(
    model: Path = typer.Option(..., help="Trained model folder (the --out of train)."),
    data: Path = typer.Option(..., help="Shard directory with held-out frames."),
    out: Path = typer.Option(..., help="Folder for metrics.json, metrics.md, grid.png and the sweep plots."),
    split: str = typer.Option("val", help="Held-out split of the shards."),
    t_start: float = typer.Option(0.5, click_type=FiniteFloat(min=0.0, max=1.0), help="Start time t̃."),
    steps: int = typer.Option(50, min=1, help="DDIM steps of the full schedule."),
    guidance: float = typer.Option(2.0, click_type=FiniteFloat(min=0.0), help="Classifier-free guidance weight."),
    seed: int = typer.Option(0, help="Seed of the sampling noise."),
    limit: Optional[int] = typer.Option(None, min=1, help="Evaluate at most this many frames."),
    sweep_frames: int = typer.Option(8, min=0, help="Frames for the PSNR sweeps over t̃/guidance/steps (0: none)."),
    lpips_weights: Optional[Path] = typer.Option(
        None, help="Local AlexNet weights for LPIPS (torchvision alexnet-owt-7be5be79.pth); else LPIPS is unavailable."
    ),
    overwrite: bool = typer.Option(False, help="Replace an existing --out folder."),
) -> None:
    """Table 3.5: PSNR/SSIM/LPIPS of night→day enhancement per conditioning set, against night/CLAHE/gamma."""
    from fusion.diffusion.evaluate import EvaluationSettings, evaluate as run_evaluation, markdown_table
    from preprocessing.config import validate

    settings = validate(
        EvaluationSettings,
        {"split": split, "t_start": t_start, "steps": steps, "guidance": guidance, "seed": seed,
         "limit": limit, "sweep_frames": sweep_frames},
    )  # fmt: skip
    try:
        metrics = run_evaluation(model, data, out, settings, lpips_weights=lpips_weights, overwrite=overwrite)
    except ValueError as error:
        raise UserError(f"{data}: {error}") from None
    typer.echo(markdown_table(metrics["methods"]))
