"""Ingest a nuScenes dataroot into shards: plan → process shards in parallel → manifest.

Each shard (``shard_size`` consecutive planned samples) is one task; a worker writes its tar and
then its index JSON atomically, and a shard is done when its index exists and the tar matches
the recorded checksum. ``resume=True`` skips done shards and redoes the rest; since the plan and
every shard are deterministic, a resumed run ends byte-identical to an uninterrupted one. The
manifest is written last, so a directory without ``manifest.json`` is an unfinished run. One run
at a time writes a directory (``preprocessing.output_lock``).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Callable

from preprocessing.atomic import atomic_write_json
from preprocessing.errors import UserError
from preprocessing.executors import run_tasks
from preprocessing.geometry import compiled
from preprocessing.ingest_config import IngestConfig
from preprocessing.output_lock import exclusive_output, has_content
from preprocessing.planning import Plan, Selection, plan
from preprocessing.sample import SampleSettings
from preprocessing.shard_worker import ShardTask, process_shard
from preprocessing.shards import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    read_shard_index,
    shard_is_complete,
    shard_name,
)
from preprocessing.tables import TolerantNuScenes

RUN_FILE = "ingest.json"


def _prepare_output(out: Path, fingerprint: dict, resume: bool) -> None:
    """Check that ``out`` is empty or, on resume, was made by the same configuration; drop stale temp files."""
    run_file = out / RUN_FILE
    if resume and run_file.is_file():
        previous = _read_run_file(run_file)
        changed = sorted(key for key in fingerprint.keys() | previous.keys() if fingerprint.get(key) != previous.get(key))
        if changed:
            raise UserError(f"--resume: {out} was ingested with different settings ({', '.join(changed)}); use a new --out")
    elif has_content(out):
        raise UserError(f"{out} is not empty; pass --resume to continue that run, or choose a new --out")
    for stale in out.glob(".*.tmp"):  # left by a killed writer; never a complete file
        stale.unlink(missing_ok=True)
    atomic_write_json(run_file, fingerprint)


def _read_run_file(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        raise UserError(f"{path} is corrupt; cannot resume this run, use a new --out") from None


def _settings(config: IngestConfig) -> SampleSettings:
    return SampleSettings(
        out_size=config.out_size,
        seed=config.seed,
        min_dist=config.min_dist,
        radar_filters=config.radar_filters,
        night=config.night,
    )


def _selection(config: IngestConfig) -> Selection:
    return Selection(
        camera=config.camera,
        splits=config.splits,
        condition=config.condition,
        camera_sweeps=config.camera_sweeps,
        lidar_sweeps=config.nsweeps,
        radar_sweeps=config.radar_sweeps,
        limit=config.limit,
    )


def _manifest(config: IngestConfig, out: Path, shard_count: int, planned: int, plan_skipped: list[dict]) -> dict:
    shards, samples, skipped = [], [], list(plan_skipped)
    for index in range(shard_count):
        shard = read_shard_index(out, shard_name(index))
        shards.append({key: shard[key] for key in ("name", "tar", "sha256", "size")} | {"samples": len(shard["samples"])})
        samples.extend(shard["samples"])
        skipped.extend(shard["skipped"])
    counts = {
        "planned": planned,
        "written": len(samples),
        "skipped": len(skipped),
        "skipped_by_error": dict(sorted(Counter(s["error"] for s in skipped).items())),
        "by_split": dict(sorted(Counter(s["split"] for s in samples).items())),
        "night_scenes": sum(s["night_scene"] for s in samples),
        "day_twins": sum(s["day_twin"] for s in samples),
    }
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "config": config.fingerprint()}
    return header | {"shards": shards, "counts": counts, "skipped": skipped}


def ingest(config: IngestConfig, resume: bool = False, on_progress: Callable[[int, int], None] | None = None) -> dict:
    """Run an ingest; ``on_progress(done, total)`` is called as samples finish. Returns the manifest."""
    out = Path(config.out)
    nusc = TolerantNuScenes(config.version, config.dataroot)
    if config.camera not in {record["channel"] for record in nusc.sensor}:
        raise UserError(f"camera channel {config.camera!r} not in {config.dataroot}/{config.version}/sensor.json")
    planned = plan(nusc, _selection(config))  # before touching OUT: bad selections leave nothing behind
    with exclusive_output(out):  # a --resume never races a live run (or a live worker of it) on OUT
        return _write(config, out, planned, resume, on_progress)


def _write(config: IngestConfig, out: Path, planned: Plan, resume: bool, on_progress: Callable[[int, int], None] | None) -> dict:
    _prepare_output(out, config.fingerprint(), resume)
    chunks = [tuple(planned.specs[i : i + config.shard_size]) for i in range(0, len(planned.specs), config.shard_size)]
    settings = _settings(config)
    done_shards = {i for i in range(len(chunks)) if resume and shard_is_complete(out, i)}
    total = len(planned.specs)
    done = sum(len(chunks[i]) for i in done_shards)
    if on_progress:
        on_progress(done, total)
    tasks = [ShardTask(out, i, chunk, settings) for i, chunk in enumerate(chunks) if i not in done_shards]
    if tasks and config.executor == "local":
        compiled()  # numba's kernels load once, here, and the pool's forked workers inherit them
    for result in run_tasks(process_shard, tasks, config.executor, config.workers, config.address):
        done += result["samples"] + result["skipped"]
        if on_progress:
            on_progress(done, total)
    manifest = _manifest(config, out, len(chunks), len(planned.specs) + len(planned.skipped), planned.skipped)
    atomic_write_json(out / MANIFEST, manifest)
    return manifest
