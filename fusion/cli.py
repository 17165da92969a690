"""CLI commands of the fusion stage: the diffusion model, its regression baseline, the information estimators,
redundancy reports."""

from __future__ import annotations

import typer

from fusion.diffusion.cli import app as diffusion_app
from fusion.evaluation.cli import app as evaluation_app
from fusion.information.cli import app as information_app
from fusion.regression.cli import app as regression_app
from fusion.redundancy.cli import app as redundancy_app

app = typer.Typer()
for sub_app in (diffusion_app, regression_app, evaluation_app, information_app, redundancy_app):
    app.registered_commands.extend(sub_app.registered_commands)
