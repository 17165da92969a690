"""CLI command of the enhancement evaluation: ``evaluate`` (mounted by ``fusion/cli.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from preprocessing.cli_types import FiniteFloat

app = typer.Typer()


@app.command()
def evaluate(
    model: Path = typer.Option(..., help="Trained MLD model folder (the --out of train)."),
    data: Path = typer.Option(..., help="Shard directory with held-out frames (and the train split for the constant floor)."),
    out: Path = typer.Option(..., help="Folder for metrics.json, metrics.md, grid.png and the plots."),
    regressor: Optional[Path] = typer.Option(None, help="Direct-regressor folder (the --out of train-regressor) to compare with."),
    split: str = typer.Option("val", help="Held-out split of the shards."),
    t_start: Optional[float] = typer.Option(
        None, click_type=FiniteFloat(min=0.0, max=1.0), help="Start time t̃ of the first sampler [default: the model's]."
    ),
    steps: Optional[int] = typer.Option(None, min=1, help="DDIM steps of the first sampler [default: the model's]."),
    guidance: Optional[float] = typer.Option(
        None, click_type=FiniteFloat(min=0.0), help="Guidance weight of the first sampler [default: the model's]."
    ),
    sampler: list[str] = typer.Option(
        [], help="Another group of MLD rows, e.g. 't_start=0.5,steps=20,guidance=1.5' (unset knobs: the model's); repeatable."
    ),
    seed: int = typer.Option(0, help="Seed of the sampling noise."),
    limit: Optional[int] = typer.Option(None, min=1, help="At most this many frames per test set, spread over it."),
    sweep_frames: int = typer.Option(8, min=0, help="Frames for the PSNR sweeps over t̃/guidance/steps (0: none)."),
    lpips_weights: Optional[Path] = typer.Option(
        None, help="Local AlexNet weights for LPIPS (torchvision alexnet-owt-7be5be79.pth); else LPIPS is unavailable."
    ),
    overwrite: bool = typer.Option(False, help="Replace an existing --out folder."),
) -> None:
    """Table 3.5 on two held-out test sets (synthetic night; rendered night against day twins): MLD per
    conditioning set and sampler against the constant mean day frame, night input, gamma, CLAHE, the direct regressor and the
    autoencoder ceiling; PSNR, SSIM, GMSD (and LPIPS), by darkness quartile."""
    from fusion.evaluation.report import markdown_tables
    from fusion.evaluation.run import evaluate as run_evaluation
    from fusion.evaluation.settings import EvaluationSettings, Sampler, parse_sampler
    from preprocessing.config import validate

    first = validate(Sampler, {"t_start": t_start, "steps": steps, "guidance": guidance})
    samplers = [first, *(parse_sampler(text) for text in sampler)]
    settings = validate(
        EvaluationSettings,
        {"split": split, "samplers": samplers, "seed": seed, "limit": limit, "sweep_frames": sweep_frames},
    )  # fmt: skip
    metrics = run_evaluation(model, data, out, settings, regressor=regressor, lpips_weights=lpips_weights, overwrite=overwrite)
    typer.echo(markdown_tables(metrics["test_sets"]))
