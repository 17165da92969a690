"""CLI command of the direct regressor: ``train-regressor`` (mounted by ``fusion/cli.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer()


@app.command("train-regressor")
def train_regressor(
    config: Path = typer.Option(Path("configs/regressor_demo.yaml"), help="Regressor config YAML."),
    data: Path = typer.Option(..., help="Shard directory written by ingestion (its train split is used)."),
    out: Path = typer.Option(..., help="Run folder; becomes the model folder that `evaluate --regressor` takes."),
    resume: bool = typer.Option(False, help="Continue the run in --out from its last checkpoint."),
    steps: Optional[int] = typer.Option(None, min=1, help="Override train.steps."),
    max_minutes: Optional[float] = typer.Option(
        None, min=0.01, help="Override train.max_minutes: end earlier if the steps would take longer (the first steps' pace)."
    ),
) -> None:
    """Train the supervised baseline: a small U-Net night (+LiDAR +radar) → day with L1, on the same frames as MLD."""
    from fusion.regression.config import RegressorConfig
    from fusion.regression.train import train_regressor as run
    from preprocessing.config import load_config, with_train

    loaded = load_config(config, RegressorConfig)
    loaded = with_train(loaded, steps=steps, max_minutes=max_minutes)
    typer.echo(json.dumps(run(loaded, data, out, resume=resume), indent=2))
