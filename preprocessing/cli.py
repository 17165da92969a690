"""CLI commands of the preprocessing stage (mounted by ``deploy/cli.py``)."""

from __future__ import annotations

import typer

from preprocessing.world.cli import app as world_app

app = typer.Typer()
app.registered_commands.extend(world_app.registered_commands)
