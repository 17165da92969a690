"""Monitor workflows on shards: calibrate a monitor on nominal frames, check (optionally faulted) frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fusion.information.progress import progress_bar
from fusion.redundancy.collect import collect, load_records, select_records
from fusion.redundancy.config import ConditionConfig, MonitorConfig, RedundancyConfig, parse_fault
from fusion.redundancy.extract import DescriptorExtractor
from fusion.redundancy.monitor import Monitor, fit_monitor
from fusion.redundancy.scenes import describe
from fusion.redundancy.sensors import data_sensors
from preprocessing.atomic import atomic_write_json
from preprocessing.errors import UserError

NOMINAL = ConditionConfig(name="nominal", scenes="all")


def monitor_frames(records: list[dict], settings: MonitorConfig) -> tuple[list[dict], list[dict]]:
    """(fitting, calibration) records, whole scenes apart: ``calibration_split``'s scenes, or the holdout
    fold of ``fit_split``'s scenes; UserError if a scene would be on both sides."""
    fitting = select_records(records, "all", settings.fit_split)
    if settings.calibration_split is None:
        return settings.holdout.split(fitting)
    calibrating = select_records(records, "all", settings.calibration_split)
    shared = {r["scene_name"] for r in fitting} & {r["scene_name"] for r in calibrating}
    if shared:
        raise UserError(f"monitor: fit_split and calibration_split share the scenes {sorted(shared)}; calibrate on other scenes")
    return fitting, calibrating


def calibrate_monitor(data: Path, autoencoders: Path, out: Path, config: RedundancyConfig, *, overwrite: bool = False,
                      progress: bool = False) -> Monitor:  # fmt: skip
    """Fit on the nominal frames of ``monitor.fit_split`` and set thresholds on other scenes (``MonitorConfig``), save.

    ``monitor.json`` records the fitting and calibration frame sets (count, scenes, SHA-256 of the keys).
    """
    from perception import load_autoencoders

    if out.exists() and not overwrite:
        raise UserError(f"{out} already exists; pass --overwrite to replace it")
    settings = config.monitor
    records = load_records(data)
    sensors = data_sensors(records, config.sensors)
    extractor = DescriptorExtractor(load_autoencoders(autoencoders), sensors, config.cell)

    fitting, calibrating = monitor_frames(records, settings)

    def nominal(chosen: list[dict], role: str):
        if not chosen:
            raise UserError(f"{data}: no {role} frames (fit_split {settings.fit_split!r}, calibration_split "
                            f"{settings.calibration_split!r}, {settings.holdout.folds} scene folds)")
        return collect(chosen, NOMINAL, extractor, config.fault_seed, config.batch_frames, progress)

    train = nominal(fitting, "fitting")
    active = tuple(s for s in sensors if train.activity[s.name].sum() > 0)
    if len(active) < 2:
        raise UserError(f"only {[s.name for s in active]} deliver data in the nominal frames; need 2 sensors or more")
    calibration = nominal(calibrating, "calibration")
    monitor = fit_monitor(train, active, extractor.null_latents, config, progress)
    with progress_bar("calibrating", len(calibration), progress) as bar:
        monitor.calibrate(calibration, settings, bar)
    monitor.calibration["frames"] = {"fit": describe(train.frames), "calibration": describe(calibration.frames)}
    monitor.save(out, overwrite=overwrite)
    return monitor


def check_frames(data: Path, autoencoders: Path, monitor_dir: Path, out: Path | None, faults: list[str],
                 split: str | None = None, scenes: str = "all", fault_seed: int = 0, progress: bool = False) -> dict:  # fmt: skip
    """Score and flag every selected frame (with ``faults`` injected); writes ``out`` (JSON) if given."""
    from perception import load_autoencoders

    monitor = Monitor.load(monitor_dir)
    records = select_records(load_records(data, split), scenes)
    if not records:
        raise UserError(f"{data}: no frames of {scenes} scenes" + (f" in split {split!r}" if split else ""))
    resolved = data_sensors(records, tuple(monitor.names))
    if [(s.kind, s.radar) for s in resolved] != [(s.kind, s.radar) for s in monitor.sensors]:
        raise UserError(f"{data}: its sensors do not match the monitor's {monitor.names}")
    extractor = DescriptorExtractor(load_autoencoders(autoencoders), monitor.sensors, monitor.cell)
    condition = ConditionConfig(name="check", scenes=scenes, faults=tuple(parse_fault(text) for text in faults))
    frames = collect(records, condition, extractor, fault_seed, progress=progress)
    for kind, null in monitor.null_latents.items():
        if not np.allclose(extractor.null_latents[kind], null, atol=1e-4):
            raise UserError(f"{autoencoders}: the {kind} autoencoder is not the one {monitor_dir} was calibrated with")
    with progress_bar("scoring", len(frames), progress) as bar:
        statistics = monitor.statistics(frames, bar)
    distances = monitor.distances(frames.frames, statistics)
    spreads = monitor.spreads(frames)
    flat = monitor.flat(frames.frames, spreads)
    flags = monitor.flags(frames.frames, distances, flat)
    named = [dict(zip(monitor.statistic_names, row.tolist())) for row in statistics]

    def per_sensor(values: dict, measure: str) -> dict:
        return {name: values[f"{measure}:{name}"] for name in monitor.names}

    result = {
        "monitor": str(monitor_dir),
        "faults": [fault.label for fault in condition.faults],
        "frames": [
            {
                "key": f["key"], "scene": f["scene_name"], "timestamp": f["timestamp"], "night_scene": f["night_scene"],
                "group": monitor.group_of(f), "o_information": values["o_information"], "s_information": values["s_information"],
                "shared": per_sensor(values, "mi_rest"),
                "spread": dict(zip(monitor.names, spreads[i].tolist())), "distance": float(distances[i]),
                "flat": [name for name, f in zip(monitor.names, flat[i]) if f], "flagged": bool(flags[i]),
            }  # fmt: skip
            for i, (f, values) in enumerate(zip(frames.frames, named))
        ],
        "summary": {"frames": len(flags), "flagged": int(flags.sum()), "rate": float(flags.mean())},
    }
    if out is not None:
        atomic_write_json(out, result)
    return result
