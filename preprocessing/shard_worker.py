"""The unit of parallel work of an ingest: process one shard's samples and write the shard.

Kept apart from ``preprocessing.ingest`` so that workers (pool processes, Ray tasks) import only
numpy/OpenCV code, never the devkit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from preprocessing.frames import SampleSpec
from preprocessing.sample import SampleSettings, process_sample
from preprocessing.shards import skip_entry, write_shard


@dataclass(frozen=True)
class ShardTask:
    out: Path
    index: int
    specs: tuple[SampleSpec, ...]
    settings: SampleSettings


def process_shard(task: ShardTask) -> dict:
    """Process every sample of a shard, skip bad ones with their reason, write the shard; returns counts."""
    samples, skipped = [], []
    for spec in task.specs:
        try:
            samples.append(process_sample(spec, task.settings))
        except Exception as error:  # noqa: BLE001 — one bad sample must never stop the run; the reason is kept
            skipped.append(skip_entry(spec.key, spec.sample_token, spec.scene_name, "process", error))
    write_shard(task.out, task.index, samples, skipped)
    return {"index": task.index, "samples": len(samples), "skipped": len(skipped)}
