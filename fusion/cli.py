"""CLI commands of the fusion stage: the diffusion model, the information estimators, redundancy reports."""

from __future__ import annotations

import typer

from fusion.diffusion.cli import app as diffusion_app
from fusion.information.cli import app as information_app
from fusion.redundancy.cli import app as redundancy_app

app = typer.Typer()
for sub_app in (diffusion_app, information_app, redundancy_app):
    app.registered_commands.extend(sub_app.registered_commands)
