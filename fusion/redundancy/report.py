"""The sensor-redundancy report: conditions → descriptors → information measures → JSON + HTML.

Output directory::

    REPORT_DIR/report.json     sensors, conditions and per condition Ω, TC, DTC, S, ∂_iΩ, pairwise MI
                               (value, std over seeds, MC stderr), per-frame Ω/TC/DTC, attribution
    REPORT_DIR/report.html     self-contained page with the plots (``fusion.redundancy.html``)
    REPORT_DIR/work/           run.json (what defines the run), descriptors/<condition>.{npz,json},
                               estimates/<condition>.json — finished steps, reused by ``resume``

Every file is written atomically, so a killed run leaves only complete steps and ``resume``
continues after the last one; a directory made with other settings is refused.

Attribution: for a faulted condition, the change of each sensor's ∂_iΩ against the reference
condition (nominal day). A sensor that stops carrying information stops contributing to the
redundancy, so its gradient drops the most: that sensor is the ``suspect``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fusion.redundancy.analysis import estimate_condition
from fusion.redundancy.collect import FrameDescriptors, collect, load_records, select_records
from fusion.redundancy.config import ConditionConfig, RedundancyConfig
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
    condition re-encodes only the sensors its faults touch (the rest comes from its nominal scenes)."""

    def __init__(self, records: list[dict], extractor: DescriptorExtractor, config: RedundancyConfig, work: Path,
                 progress: bool):  # fmt: skip
        self.records, self.extractor, self.config, self.progress = records, extractor, config, progress
        self.folder = work / "descriptors"

    def __call__(self, condition: ConditionConfig) -> FrameDescriptors:
        stem = self.folder / (condition.name if condition.faults else f"nominal-{condition.scenes}")
        if FrameDescriptors.exists(stem):
            return FrameDescriptors.load(stem)
        base = self(ConditionConfig(name=f"nominal-{condition.scenes}", scenes=condition.scenes)) if condition.faults else None
        selected = select_records(self.records, condition.scenes)
        result = collect(selected, condition, self.extractor, self.config.fault_seed, self.config.batch_frames, self.progress, base)
        result.save(stem)
        return result


def attribution(condition: dict, reference: dict, sensors: list[str]) -> dict:
    """Ω change and per-sensor ∂_iΩ change against the reference; the suspect is the largest drop."""
    out = {"omega_change": condition["measures"]["o_information"]["value"] - reference["measures"]["o_information"]["value"]}
    if "o_gradient" in condition["measures"]:
        now, before = condition["measures"]["o_gradient"]["value"], reference["measures"]["o_gradient"]["value"]
        change = {name: now[i] - before[i] for i, name in enumerate(sensors)}
        out |= {"gradient_change": change, "suspect": min(change, key=change.get)}
    return out


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
        block = estimate_condition(frames, active, config, progress)
        targets = sorted({n for f in condition.faults for n in sensors_of_kind(sensors, target_of(*f.spec)) if n in active})
        block |= {
            "scenes": condition.scenes,
            "faults": [f.label for f in condition.faults],
            "targets": targets,
            "activity": {s: float(frames.activity[s].mean()) for s in active},
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
