"""The sensor-redundancy report: conditions → descriptors → information measures → JSON + HTML.

Output directory::

    REPORT_DIR/report.json     sensors, conditions and per condition the fitting and measured frame sets
                               (count, scenes, SHA-256 of their sample keys), Ω, TC, DTC, S, ∂_iΩ,
                               I(X_i; X∖i), pairwise MI (value, bootstrap interval, per seed, MC stderr),
                               per-frame Ω/TC/DTC of the measured frames, attribution
    REPORT_DIR/report.html     self-contained page with the plots (``fusion.redundancy.html``)
    REPORT_DIR/work/           run.json (what defines the run), descriptors/<condition>.{npz,json},
                               estimates/<condition>.json — finished steps, reused by ``resume``

Every file is written atomically, so a killed run leaves only complete steps and ``resume``
continues after the last one; a directory made with other settings is refused.

Attribution: for a faulted (or control) condition, the change of each sensor's share
I(X_i; X∖i) against the reference condition (nominal day), as a fraction of its nominal share. A
sensor that stops carrying information loses all of its share, while another sensor j loses
I(X_j; X_i | X_k) of its I(X_j; X_i, X_k) = I(X_j; X_k) + I(X_j; X_i | X_k), a fraction below 1
(the absolute drops can tie when I(X_i; X_k) is small): the largest fractional drop names the ``suspect``.
``separated`` says whether the suspect's interval under the condition lies wholly below its
nominal one. The change of ∂_iΩ is kept for reference but does not name a suspect: with three
sensors ∂_iΩ = Ω(X) − Ω(pair) = Ω(X) for every i (the O-information of two variables is 0), so
their differences are estimator error.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fusion.redundancy.analysis import estimate_condition
from fusion.redundancy.collect import FrameDescriptors, collect, load_records, select_records
from fusion.redundancy.config import ConditionConfig, RedundancyConfig
from fusion.redundancy.controls import apply_control
from fusion.redundancy.extract import DescriptorExtractor
from fusion.redundancy.faults import target_of
from fusion.redundancy.html import render_html
from fusion.redundancy.sensors import data_sensors, sensors_of_kind
from preprocessing.atomic import atomic_write_json, atomic_write_text
from preprocessing.errors import UserError
from preprocessing.shards import read_manifest

FORMAT = "nightfusion.redundancy-report/1"


def fingerprint(data: Path, autoencoders: Path, config: RedundancyConfig) -> dict:
    """What defines a run: the config, the shards (their checksums) and the autoencoder weights."""
    shards = [shard["sha256"] for shard in read_manifest(data)["shards"]]
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(autoencoders).rglob("*") if p.is_file() and "checkpoints" not in p.parts):
        digest.update(path.relative_to(autoencoders).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return {"format": FORMAT, "config": config.model_dump(mode="json"), "shards": shards, "autoencoders": digest.hexdigest()}


def prepare_work(out: Path, identity: dict, resume: bool) -> Path:
    """Create ``out/work`` (or check it belongs to the same run when resuming)."""
    work, run_file = out / "work", out / "work" / "run.json"
    if run_file.is_file() and resume:
        if json.loads(run_file.read_text()) != identity:
            raise UserError(f"--resume: {out} was made with other data, autoencoders or settings; use a new --out")
    elif out.exists() and any(out.iterdir()):
        raise UserError(f"{out} is not empty; pass --resume to continue that run, or choose a new --out")
    atomic_write_json(run_file, identity)
    return work


class ConditionData:
    """Descriptors per condition, computed once and cached under ``work/descriptors``; a faulted
    condition re-encodes only the sensors its faults touch (the rest comes from its nominal scenes),
    a control condition changes its nominal scenes' descriptors."""

    def __init__(self, records: list[dict], extractor: DescriptorExtractor, config: RedundancyConfig, work: Path,
                 progress: bool):  # fmt: skip
        self.records, self.extractor, self.config, self.progress = records, extractor, config, progress
        self.folder = work / "descriptors"

    def __call__(self, condition: ConditionConfig) -> FrameDescriptors:
        nominal = ConditionConfig(name=f"nominal-{condition.scenes}", scenes=condition.scenes)
        if condition.control is not None:
            return apply_control(self(nominal), condition.control, self.config.fault_seed)
        stem = self.folder / (condition.name if condition.faults else nominal.name)
        if FrameDescriptors.exists(stem):
            return FrameDescriptors.load(stem)
        base = self(nominal) if condition.faults else None
        selected = select_records(self.records, condition.scenes, stride=self.config.frame_stride)
        result = collect(selected, condition, self.extractor, self.config.fault_seed, self.config.batch_frames, self.progress, base)
        result.save(stem)
        return result


def _changes(condition: dict, reference: dict, measure: str, sensors: list[str], relative: bool = False) -> dict[str, float]:
    now, before = condition["measures"][measure]["value"], reference["measures"][measure]["value"]
    return {name: (now[i] - before[i]) / (abs(before[i]) if relative else 1.0) for i, name in enumerate(sensors)}


def attribution(condition: dict, reference: dict, sensors: list[str]) -> dict:
    """Ω change, per-sensor share and ∂_iΩ changes against the reference, and the suspect (see the module docstring)."""
    change = _changes(condition, reference, "mi_rest", sensors, relative=True)
    suspect = min(change, key=change.get)
    i = sensors.index(suspect)
    separated = condition["measures"]["mi_rest"]["interval"][1][i] < reference["measures"]["mi_rest"]["interval"][0][i]
    out = {
        "omega_change": condition["measures"]["o_information"]["value"] - reference["measures"]["o_information"]["value"],
        "share_change_fraction": change, "suspect": suspect, "separated": bool(separated),
    }  # fmt: skip
    if "o_gradient" in condition["measures"]:
        out["gradient_change"] = _changes(condition, reference, "o_gradient", sensors)
    return out


def split_frames(descriptors: FrameDescriptors, config: RedundancyConfig) -> tuple[FrameDescriptors, FrameDescriptors]:
    """(fitting, measured) frames of a condition, whole scenes apart (``config.holdout``)."""
    fold = config.holdout.fold_of(descriptors.frames)
    held_out = [fold[f["scene_name"]] == config.holdout.held_out for f in descriptors.frames]
    return descriptors.subset([not h for h in held_out]), descriptors.subset(held_out)


def run_report(data: Path, autoencoders: Path, out: Path, config: RedundancyConfig, *, resume: bool = False,
               progress: bool = False) -> dict:  # fmt: skip
    """Build (or resume) the report in ``out``; returns the report dict also written to report.json."""
    from perception import load_autoencoders  # torch/diffusers only when a report is made

    records = load_records(data, config.split)
    sensors = data_sensors(records, config.sensors)
    work = prepare_work(out, fingerprint(data, autoencoders, config), resume)
    extractor = DescriptorExtractor(load_autoencoders(autoencoders), sensors, config.cell)
    descriptors = ConditionData(records, extractor, config, work, progress)
    conditions = {c.name: c for c in config.conditions}
    reference = descriptors(conditions[config.reference])
    silent = [s.name for s in sensors if reference.activity[s.name].sum() == 0]
    active = [s.name for s in sensors if s.name not in silent]
    if len(active) < 2:
        raise UserError(f"only {active} deliver data in the {config.reference!r} frames; need 2 sensors or more")
    for condition in conditions.values():
        control = condition.control
        if control is not None and not {control.sensor, control.source or control.sensor} <= set(active):
            raise UserError(f"condition {condition.name!r}: its control needs sensors that deliver data, from {active}")
    blocks, skipped = {}, {}
    for name in [config.reference, *(n for n in conditions if n != config.reference)]:
        path = work / "estimates" / f"{name}.json"
        if path.is_file():
            blocks[name] = json.loads(path.read_text())
            continue
        condition = conditions[name]
        if not select_records(records, condition.scenes):
            skipped[name] = f"no frames of {condition.scenes} scenes in {data}"
            continue
        frames = descriptors(condition)
        fit, measured = split_frames(frames, config)
        if not len(fit) or not len(measured):
            skipped[name] = f"its {condition.scenes} scenes do not fill both sides of the holdout ({config.holdout.folds} folds)"
            continue
        block = estimate_condition(fit, measured, active, config, progress)
        targets = sorted({n for f in condition.faults for n in sensors_of_kind(sensors, target_of(*f.spec)) if n in active})
        if condition.control is not None:
            targets = [condition.control.sensor]
        block |= {
            "scenes": condition.scenes,
            "faults": [f.label for f in condition.faults] + ([condition.control.label] if condition.control else []),
            "targets": targets,
            "activity": {s: float(measured.activity[s].mean()) for s in active},
        }
        atomic_write_json(path, block)
        blocks[name] = block
    for name, block in blocks.items():
        if name != config.reference and block["faults"]:
            block["attribution"] = attribution(block, blocks[config.reference], active)
    report = {
        "format": FORMAT,
        "unit": "nats",
        "sensors": active,
        "silent_sensors": silent,
        "descriptor": {"cell": config.cell, "cells_per_frame": reference.cells, "dither": config.dither},
        "holdout": config.holdout.model_dump(),
        "interval": config.interval.model_dump(),
        "seeds": list(config.seeds),
        "mc_repeats": config.mc_repeats,
        "reference": config.reference,
        "data": str(data),
        "autoencoders": str(autoencoders),
        "conditions": blocks,
        "skipped_conditions": skipped,
    }
    atomic_write_json(out / "report.json", report)
    atomic_write_text(out / "report.html", render_html(report))
    return report
