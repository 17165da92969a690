"""CLI commands of the fusion stage: the diffusion model and the information estimators."""

from __future__ import annotations

import typer

from fusion.diffusion.cli import app as diffusion_app
from fusion.information.cli import app as information_app

app = typer.Typer()
for sub_app in (diffusion_app, information_app):
    app.registered_commands.extend(sub_app.registered_commands)
