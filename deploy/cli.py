"""The ``nightfusion`` command: one sub-command per stage.

Each stage package owns a typer app in its ``cli.py``; this module (at the end of the data flow, so
it may import every stage) mounts their commands side by side and turns ``UserError`` (bad input:
exit code 2; a run that produced nothing: 3) and ``OSError`` (permission denied, disk full, a file
that vanished: 2) into a one-line ``error:`` message naming the path instead of a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from deploy.vehicle_cli import app as vehicle_app
from fusion.cli import app as fusion_app
from perception.cli import app as perception_app
from preprocessing.cli import app as preprocessing_app
from preprocessing.errors import UserError

app = typer.Typer(
    name="nightfusion",
    help="Sensor fusion for night driving: synthetic nuScenes world, ingestion, enhancement, redundancy, ONNX runtime.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

for stage_app in (preprocessing_app, perception_app, fusion_app, vehicle_app):
    app.registered_commands.extend(stage_app.registered_commands)


@app.command()
def demo(
    out: Path = typer.Option(Path("runs/demo"), help="Where every stage writes its outputs."),
    config: Path = typer.Option(Path("configs/demo.yaml"), help="Demo configuration (stage sizes)."),
) -> None:
    """Run the whole product on a generated world; an interrupted demo resumes after its last finished stage."""
    from deploy.demo import run_demo

    run_demo(out, config)


def describe_os_error(error: OSError) -> str:
    """'PATH: reason' of a failed file operation."""
    paths = [str(path) for path in (error.filename, error.filename2) if path is not None]
    reason = error.strerror or str(error)
    return f"{' -> '.join(paths)}: {reason}" if paths else reason


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv)
    except UserError as error:
        fail(str(error), error.exit_code)
    except OSError as error:
        fail(describe_os_error(error), UserError.exit_code)


def fail(message: str, code: int) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
