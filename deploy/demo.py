"""The end-to-end demo: every stage of the product on a generated world, resumable stage by stage.

world → ingest → autoencoders → diffusion → regressor → evaluation → redundancy report → monitor → export →
recording → vehicle → summary page. Each stage writes into its own folder under ``OUT``; when it
has finished, its result is recorded in ``OUT/stages.json`` (atomically). Running the demo again
skips the recorded stages and lets an interrupted one continue with its own resume support (ingest,
training and the redundancy report resume; the others start their folder again). The ledger also
keeps a fingerprint of the settings each stage read (its demo config section and the config files
it names, comments aside): a stage whose settings changed runs again from scratch, and so does
every stage after it, since each reads what the ones before it wrote.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Callable

from pydantic import Field
from rich.console import Console

from fusion.evaluation.settings import Sampler
from preprocessing.atomic import atomic_write_json
from preprocessing.config import StrictModel, load_config, read_config, with_train
from preprocessing.errors import UserError

STAGES_FILE = "stages.json"


# ----------------------------------------------------------------------------- configuration
class WorldStage(StrictModel):
    scenes: int = Field(6, ge=2)
    samples: int = Field(12, ge=2)
    seed: int = 0
    night_fraction: float = Field(0.34, gt=0.0, lt=1.0)
    camera_size: tuple[int, int] = (800, 450)
    camera_sweeps: bool = False
    workers: int = Field(2, ge=1)


class IngestStage(StrictModel):
    resolution: tuple[int, int] = (64, 112)
    camera_sweeps: bool = False
    nsweeps: int = Field(3, ge=1)
    workers: int = Field(2, ge=0)


class TrainingStage(StrictModel):
    autoencoders: Path = Path("configs/autoencoder_demo.yaml")
    autoencoder_steps: int | None = Field(None, ge=1, description="overrides train.steps of every autoencoder")
    diffusion: Path = Path("configs/mld_demo.yaml")
    diffusion_steps: int | None = Field(None, ge=1, description="overrides train.steps of the diffusion model")
    regressor: Path = Path("configs/regressor_demo.yaml")
    regressor_steps: int | None = Field(None, ge=1, description="overrides train.steps of the direct regressor")


class EvaluationStage(StrictModel):
    limit: int | None = Field(None, ge=1, description="frames per test set (None: every held-out frame)")
    samplers: tuple[Sampler, ...] = Field((Sampler(),), min_length=1, description="one group of MLD rows each (unset knobs: the model's)")
    grid_frames: int = Field(3, ge=1)
    sweep_frames: int = Field(0, ge=0)


class RedundancyStage(StrictModel):
    config: Path = Path("configs/redundancy.yaml")
    faults: tuple[str, ...] = ("camera_blackout", "lidar_dropout", "radar_ghosts")


class VehicleStage(StrictModel):
    config: Path = Path("configs/deploy.yaml")
    frames: int = Field(8, ge=1)


class DemoConfig(StrictModel):
    world: WorldStage = WorldStage()
    ingest: IngestStage = IngestStage()
    training: TrainingStage = TrainingStage()
    evaluation: EvaluationStage = EvaluationStage()
    redundancy: RedundancyStage = RedundancyStage()
    vehicle: VehicleStage = VehicleStage()


# ----------------------------------------------------------------------------- stages
def stage_world(out: Path, config: DemoConfig, console: Console) -> dict:
    from nuscenes.nuscenes import NuScenes

    from preprocessing.world import generate_world

    world = out / "world"
    if world.exists():  # generate_world writes atomically: an existing dataroot is complete
        summary = json.loads((out / "world_summary.json").read_text()) if (out / "world_summary.json").is_file() else {}
    else:
        summary = generate_world(world, **config.world.model_dump())
        atomic_write_json(out / "world_summary.json", summary)
    nusc = NuScenes("v1.0-mini", str(world), verbose=False)
    scenes = [{"name": s["name"], "description": s["description"], "samples": s["nbr_samples"]} for s in nusc.scene]
    return {"dataroot": str(world), "scenes": scenes, "sample_data": len(nusc.sample_data),
            "annotations": len(nusc.sample_annotation), "frames_per_second": summary.get("frames_per_second")}  # fmt: skip


def stage_ingest(out: Path, config: DemoConfig, console: Console) -> dict:
    from preprocessing.dataset import ShardDataset
    from preprocessing.ingest import ingest
    from preprocessing.ingest_config import IngestConfig

    shards = out / "shards"
    settings = IngestConfig(dataroot=out / "world", out=shards, shard_size=16, **config.ingest.model_dump())
    manifest = ingest(settings, resume=shards.exists())
    held_out = manifest["counts"]["by_split"].get("val", 0) - sum(r["night_scene"] for r in ShardDataset(shards, "val").records)
    if held_out == 0:  # evaluation and the monitor's checks compare with true day frames
        raise UserError(f"{shards}: the validation split holds no day frame; choose another world seed or more scenes")
    return {"shards": str(shards), **manifest["counts"]}


def stage_autoencoders(out: Path, config: DemoConfig, console: Console) -> dict:
    from perception.cli import train_autoencoders
    from perception.config import AutoencodersConfig

    settings = load_config(config.training.autoencoders, AutoencodersConfig)
    steps = config.training.autoencoder_steps
    settings = settings.model_copy(update={name: with_train(getattr(settings, name), steps=steps) for name in ("camera", "lidar", "radar")})
    target = out / "autoencoders"
    metrics = train_autoencoders(settings, out / "shards", target, resume=target.exists(), console=console)
    return {"folder": str(target),
            "metrics": {name: {**(m.get("validation") or {}), **{k: m.get(k) for k in ("step", "precision", "samples_per_second")}}
                        for name, m in metrics.items()}}  # fmt: skip


def stage_diffusion(out: Path, config: DemoConfig, console: Console) -> dict:
    from fusion.diffusion.config import MLDConfig
    from fusion.diffusion.run import train_run

    settings = load_config(config.training.diffusion, MLDConfig)
    settings = with_train(settings, steps=config.training.diffusion_steps)
    target = out / "mld"
    summary = train_run(settings, out / "shards", out / "autoencoders", target, resume=target.exists())
    return {"folder": str(target), **{k: summary[k] for k in ("loss_before", "loss_after", "steps", "precision") if k in summary}}


def stage_regressor(out: Path, config: DemoConfig, console: Console) -> dict:
    from fusion.regression.config import RegressorConfig
    from fusion.regression.train import train_regressor

    settings = load_config(config.training.regressor, RegressorConfig)
    settings = with_train(settings, steps=config.training.regressor_steps)
    target = out / "regressor"
    summary = train_regressor(settings, out / "shards", target, resume=target.exists())
    return {"folder": str(target), **summary}


def stage_evaluation(out: Path, config: DemoConfig, console: Console) -> dict:
    from fusion.evaluation.report import markdown_tables
    from fusion.evaluation.run import evaluate
    from fusion.evaluation.settings import EvaluationSettings

    settings = EvaluationSettings(**config.evaluation.model_dump())
    metrics = evaluate(out / "mld", out / "shards", out / "evaluation", settings, regressor=out / "regressor", overwrite=True)
    console.print(markdown_tables(metrics["test_sets"]))
    return {"folder": str(out / "evaluation"), "test_sets": metrics["test_sets"]}


def redundancy_config(config: DemoConfig):
    from fusion.redundancy.config import RedundancyConfig

    return load_config(config.redundancy.config, RedundancyConfig)


def stage_redundancy(out: Path, config: DemoConfig, console: Console) -> dict:
    from fusion.redundancy.report import run_report

    target = out / "redundancy"
    report = run_report(out / "shards", out / "autoencoders", target, redundancy_config(config), resume=target.exists(),
                        progress=True)  # fmt: skip
    conditions = {}
    for name, block in report["conditions"].items():
        measures = block["measures"]
        conditions[name] = {"o_information": measures["o_information"]["value"],
                            "s_information": measures["s_information"]["value"],
                            "suspect": block.get("attribution", {}).get("suspect")}  # fmt: skip
    return {"page": str(target / "report.html"), "conditions": conditions}


def stage_monitor(out: Path, config: DemoConfig, console: Console) -> dict:
    from fusion.redundancy.online import calibrate_monitor, check_frames

    settings = redundancy_config(config)
    target = out / "monitor"
    calibrate_monitor(out / "shards", out / "autoencoders", target, settings, overwrite=True, progress=True)
    held_out = settings.monitor.calibration_split or "val"
    rates = {}
    for fault in ("nominal", *config.redundancy.faults):
        result = check_frames(out / "shards", out / "autoencoders", target, out / "monitor_checks" / f"{fault}.json",
                              [] if fault == "nominal" else [fault], split=held_out, scenes="day")  # fmt: skip
        rates[fault] = result["summary"]
    return {"folder": str(target), "split": held_out, "flag_rates": rates}


def stage_export(out: Path, config: DemoConfig, console: Console) -> dict:
    from deploy.config import DeployConfig
    from deploy.export import export_models

    settings = load_config(config.vehicle.config, DeployConfig).export
    manifest = export_models(out / "mld", out / "onnx", info_dir=out / "monitor", settings=settings, overwrite=True)
    return {"folder": str(out / "onnx"), "parity_max_abs_diff": {n: g["parity_max_abs_diff"] for n, g in manifest["graphs"].items()}}


def stage_recording(out: Path, config: DemoConfig, console: Console) -> dict:
    from deploy.record import write_recording

    target = out / "recording"
    shutil.rmtree(target, ignore_errors=True)
    return write_recording(out / "world", target, condition="night", limit=config.vehicle.frames)


def stage_vehicle(out: Path, config: DemoConfig, console: Console) -> dict:
    from deploy.config import DeployConfig
    from deploy.runtime import VehicleRuntime, run_recording

    settings = load_config(config.vehicle.config, DeployConfig).vehicle
    runtime = VehicleRuntime(out / "onnx", settings)
    target = out / "vehicle"
    return run_recording(runtime, out / "recording", target, resume=target.exists())


STAGES: dict[str, Callable[[Path, DemoConfig, Console], dict]] = {
    "world": stage_world,
    "ingest": stage_ingest,
    "autoencoders": stage_autoencoders,
    "diffusion": stage_diffusion,
    "regressor": stage_regressor,
    "evaluation": stage_evaluation,
    "redundancy": stage_redundancy,
    "monitor": stage_monitor,
    "export": stage_export,
    "recording": stage_recording,
    "vehicle": stage_vehicle,
}


# What each stage writes under OUT (removed when its settings changed) and which settings it reads.
OUTPUTS = {
    "world": ("world", "world_summary.json"), "ingest": ("shards",), "autoencoders": ("autoencoders",),
    "diffusion": ("mld",), "regressor": ("regressor",), "evaluation": ("evaluation",), "redundancy": ("redundancy",),
    "monitor": ("monitor", "monitor_checks"), "export": ("onnx",), "recording": ("recording",), "vehicle": ("vehicle",),
}  # fmt: skip


def stage_settings(config: DemoConfig) -> dict[str, str]:
    """Per stage, the SHA-256 of the settings it reads: its section of the demo config and the parsed
    contents of the config files that names (so an edited comment changes nothing)."""
    training, redundancy, vehicle = config.training, config.redundancy, config.vehicle
    redundancy_file, vehicle_file = read_config(redundancy.config), read_config(vehicle.config)  # each read by two stages
    read = {
        "world": config.world.model_dump(mode="json"),
        "ingest": config.ingest.model_dump(mode="json"),
        "autoencoders": [read_config(training.autoencoders), training.autoencoder_steps],
        "diffusion": [read_config(training.diffusion), training.diffusion_steps],
        "regressor": [read_config(training.regressor), training.regressor_steps],
        "evaluation": config.evaluation.model_dump(mode="json"),
        "redundancy": redundancy_file,
        "monitor": [redundancy_file, list(redundancy.faults)],
        "export": vehicle_file,
        "recording": vehicle.frames,
        "vehicle": vehicle_file,
    }
    return {name: hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest() for name, value in read.items()}


# ----------------------------------------------------------------------------- driver
def first_changed(ledger: dict, settings: dict[str, str]) -> str | None:
    """The first stage (in order) that has a ledger entry whose settings differ from ``settings``."""
    return next((name for name in STAGES if name in ledger and ledger[name].get("settings") != settings[name]), None)


def run_demo(out: Path, config_path: Path, console: Console | None = None) -> dict:
    """Run every unfinished stage in order, then write the summary page; returns the stage results."""
    from deploy.demo_page import write_summary_page

    console = console or Console()
    config = load_config(config_path, DemoConfig)
    settings = stage_settings(config)
    out.mkdir(parents=True, exist_ok=True)
    ledger_path = out / STAGES_FILE
    ledger = json.loads(ledger_path.read_text()) if ledger_path.is_file() else {}
    changed = first_changed(ledger, settings)
    if changed is not None:
        redo = list(STAGES)[list(STAGES).index(changed):]
        console.print(f"[yellow]the settings of {changed} changed since it ran[/]: running {', '.join(redo)} again")
        for name in redo:
            ledger.pop(name, None)
            for part in OUTPUTS[name]:
                path = out / part
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        atomic_write_json(ledger_path, ledger)
    for name, stage in STAGES.items():
        if "result" in ledger.get(name, {}):
            console.print(f"[green]✓ {name}[/] finished earlier ({ledger[name]['seconds']:.0f} s), skipping")
            continue
        console.rule(f"[bold]{name}")
        ledger[name] = {"settings": settings[name]}  # an interrupted stage resumes only with these settings
        atomic_write_json(ledger_path, ledger)
        start = time.perf_counter()
        result = stage(out, config, console)
        ledger[name] = {"settings": settings[name], "seconds": time.perf_counter() - start, "result": result}
        atomic_write_json(ledger_path, ledger)
    page = write_summary_page(out, ledger)
    console.print(f"[bold green]demo finished[/]: summary page {page}")
    return ledger
