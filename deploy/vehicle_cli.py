"""CLI commands of the deployment stage: ``export``, ``record``, ``vehicle`` (to be mounted by ``deploy/cli.py``).

torch is imported only inside ``export``, so ``vehicle`` runs on the torch-free runtime.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from deploy.config import DeployConfig
from preprocessing.cli_types import FiniteFloat
from preprocessing.config import load_config, validate
from preprocessing.errors import NothingProducedError

app = typer.Typer()

CONFIG_HELP = "YAML config (e.g. configs/deploy.yaml); flags override its values [default: built-in defaults]."


def read_config(path: Path | None, section: str, overrides: dict) -> DeployConfig:
    """The config file (or defaults) with the non-None ``overrides`` applied to ``section``."""
    loaded = load_config(path, DeployConfig) if path else DeployConfig()
    data = loaded.model_dump(mode="python")
    data[section] = {**data[section], **{k: v for k, v in overrides.items() if v is not None}}
    return validate(DeployConfig, data, str(path or "<defaults>"))


def progress_bar(console: Console, label: str) -> Progress:
    columns = (TextColumn(f"[bold]{label}[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
               TimeElapsedColumn(), TimeRemainingColumn())  # fmt: skip
    return Progress(*columns, console=console)


@app.command()
def export(
    model: Path = typer.Option(..., help="Trained MLD model folder (the --out of `nightfusion train`)."),
    out: Path = typer.Option(..., help="Output folder for the ONNX graphs and manifest.json (written atomically)."),
    autoencoders: Optional[Path] = typer.Option(None, help="Autoencoder folder [default: MODEL/autoencoders]."),
    info: Optional[Path] = typer.Option(None, help="Information estimator folder for the per-frame redundancy score."),
    fp16: bool = typer.Option(False, "--fp16", help="Also write fp16 variants of every graph."),
    int8: bool = typer.Option(False, "--int8", help="Also write int8 (dynamically quantised) variants."),
    config: Optional[Path] = typer.Option(None, help=CONFIG_HELP),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out (only once the export succeeded)."),
) -> None:
    """Export encoders, decoder, the DiT denoiser and the information denoiser to ONNX (opset 20, dynamic batch)."""
    from deploy.export import export_models

    settings = read_config(config, "export", {}).export
    precisions = tuple(p for p, wanted in (("fp16", fp16), ("int8", int8)) if wanted)
    console = Console(stderr=True)
    graphs = 6 if info else 5
    with progress_bar(console, "export") as bar:
        task = bar.add_task("loading models", total=graphs * (1 + len(precisions)))
        manifest = export_models(
            model, out, autoencoder_dir=autoencoders, info_dir=info, precisions=precisions, settings=settings,
            overwrite=overwrite, on_step=lambda message: bar.update(task, description=message, advance=1),
        )  # fmt: skip
        bar.update(task, description="done")
    table = Table("graph", "inputs", "max |onnx − torch|", title=f"exported to {out}")
    for name, graph in manifest["graphs"].items():
        inputs = ", ".join(f"{i['name']}{i['shape']}" for i in graph["inputs"])
        table.add_row(name, inputs, f"{graph['parity_max_abs_diff']:.2e}")
    console.print(table)


@app.command()
def record(
    dataroot: Path = typer.Option(..., help="nuScenes dataroot (real nuScenes or a generated world)."),
    out: Path = typer.Option(..., help="Output recording folder (one sub-folder per frame)."),
    version: str = typer.Option("v1.0-mini", help="Table version folder."),
    camera: str = typer.Option("CAM_FRONT", help="Camera channel."),
    condition: str = typer.Option("night", help="Scenes to record: all, day or night."),
    split: Optional[list[str]] = typer.Option(None, help="Split(s) to record [default: all]."),
    limit: Optional[int] = typer.Option(None, min=1, help="Record at most this many frames."),
    synthesize_night: bool = typer.Option(False, "--synthesize-night", help="Darken day frames with the night synthesis."),
    seed: int = typer.Option(0, help="Seed of the night synthesis (per frame, as in ingestion)."),
) -> None:
    """Write a vehicle recording (camera image, LiDAR and radar sweeps, calibration.json per frame) from nuScenes."""
    from deploy.record import write_recording

    console = Console(stderr=True)
    with progress_bar(console, "record") as bar:
        task = bar.add_task("frames", total=None)
        summary = write_recording(
            dataroot, out, version=version, camera=camera, condition=condition, splits=tuple(split) if split else None,
            limit=limit, synthesize=synthesize_night, seed=seed,
            on_frame=lambda done, total: bar.update(task, completed=done, total=total),
        )  # fmt: skip
    console.print(f"[bold]{summary['frames']}[/] frames → {out} ({summary['skipped']} unresolvable samples skipped)")


@app.command()
def vehicle(
    models: Path = typer.Option(..., help="ONNX folder written by `nightfusion export`."),
    frames: Path = typer.Option(..., "--input", help="Recording folder: <frame>/calibration.json + sensor files."),
    out: Path = typer.Option(..., help="Output folder: frames/<frame>.png, log.jsonl, summary.json."),
    config: Optional[Path] = typer.Option(None, help=CONFIG_HELP),
    precision: Optional[str] = typer.Option(None, help="fp32, fp16 or int8 [config: fp32]."),
    steps: Optional[int] = typer.Option(None, min=1, help="DDIM steps of the full schedule [default: the model's]."),
    guidance: Optional[float] = typer.Option(None, click_type=FiniteFloat(min=0.0), help="Classifier-free guidance weight [default: the model's]."),
    t_start: Optional[float] = typer.Option(None, click_type=FiniteFloat(min=0.0, max=1.0), help="Start time t̃ [default: the model's]."),
    seed: Optional[int] = typer.Option(None, help="Noise seed (combined with each frame's name) [config: 0]."),
    threads: Optional[int] = typer.Option(None, min=1, help="onnxruntime threads [config: 2]."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run in --out."),
) -> None:
    """Enhance a recording's night frames on onnxruntime (no torch) and log latency, redundancy score and flags."""
    from deploy.runtime import VehicleRuntime, run_recording

    overrides = {"precision": precision, "steps": steps, "guidance": guidance, "t_start": t_start, "seed": seed,
                 "threads": threads}  # fmt: skip
    settings = read_config(config, "vehicle", overrides).vehicle
    runtime = VehicleRuntime(models, settings)
    console = Console(stderr=True)
    with progress_bar(console, "vehicle") as bar:
        task = bar.add_task("", total=None)

        def on_frame(record: dict) -> None:
            score = record["redundancy"]["score"] if record["redundancy"] else None
            text = f"{record['frame']} {record['status']} {record['latency_ms']['total']:.0f} ms"
            bar.update(task, advance=1, description=text + (f" Ω={score:.3g}" if score is not None else ""))

        summary = run_recording(runtime, frames, out, resume=resume, on_frame=on_frame,
                                on_start=lambda total, done: bar.update(task, total=total, completed=done))  # fmt: skip
    latency, redundancy = summary["latency_ms"], summary["redundancy"]
    console.print(
        f"[bold]{summary['frames']}[/] frames → {out}: status {summary['status']}, flags {summary['flags'] or 'none'}; "
        + (f"latency mean {latency['mean']:.0f} ms" if latency else "no frame enhanced")
        + (f"; {redundancy['measure']} mean {redundancy['mean']:.3g} nats" if redundancy else "")
    )
    if not summary["status"].get("ok"):
        raise NothingProducedError(f"no frame of {frames} was enhanced (status {summary['status']}, flags "
                                   f"{summary['flags']}; reasons in {out / 'log.jsonl'})")
