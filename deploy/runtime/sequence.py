"""Run the vehicle runtime over a recording: enhanced frames, a per-frame log, a summary; resumable.

Output folder::

    frames/<frame>.png     enhanced frame (model resolution, RGB PNG), written atomically
    log.jsonl              one record per processed frame (``deploy.runtime.vehicle``), appended and
                           fsynced after the frame's image, so an interrupted run loses at most the
                           frame in flight; ``resume`` skips the frames it already holds
    summary.json           counts by status and flag, latency and redundancy statistics

An existing output is never overwritten without ``resume``, and one run at a time writes it
(``preprocessing.output_lock``).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from deploy.runtime.manifest import MANIFEST_FILE, sha256_file
from deploy.runtime.vehicle import VehicleRuntime
from preprocessing.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from preprocessing.errors import UserError
from preprocessing.output_lock import exclusive_output, has_content

LOG_FILE, SUMMARY_FILE, FRAMES_DIR = "log.jsonl", "summary.json", "frames"


def list_frames(recording: Path) -> list[Path]:
    """The frame folders of a recording, in name order."""
    if not recording.is_dir():
        raise UserError(f"recording folder not found: {recording}")
    frames = sorted(p for p in recording.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not frames:
        raise UserError(f"{recording} holds no frame folders (expected <frame>/calibration.json, see deploy.runtime.recording)")
    return frames


def read_log(path: Path) -> list[dict]:
    """Complete records of a log; a line torn by an interruption is dropped."""
    records = []
    for line in path.read_text().splitlines() if path.is_file() else []:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def prepare_output(out: Path, resume: bool) -> list[dict]:
    """The records already done (resume), after rewriting the log without any torn line."""
    log = out / LOG_FILE
    if has_content(out) and not resume:
        raise UserError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    (out / FRAMES_DIR).mkdir(parents=True, exist_ok=True)
    done = read_log(log)
    atomic_write_text(log, "".join(json.dumps(record) + "\n" for record in done))
    return done


def append_record(log: Path, record: dict) -> None:
    with open(log, "a") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def summarise(records: list[dict], runtime: VehicleRuntime) -> dict:
    status = Counter(record["status"] for record in records)
    flags = Counter(flag for record in records for flag in record["flags"])
    ok = [record for record in records if record["status"] == "ok"]
    latency = np.array([record["latency_ms"]["total"] for record in ok])
    scores = np.array([record["redundancy"]["score"] for record in ok if record["redundancy"]])
    return {
        "frames": len(records),
        "status": dict(status),
        "flags": dict(flags),
        "latency_ms": {"mean": float(latency.mean()), "median": float(np.median(latency)), "max": float(latency.max())}
        if len(latency) else None,
        "redundancy": {"measure": runtime.redundancy.score_name, "mean": float(scores.mean()), "min": float(scores.min()),
                       "max": float(scores.max()), "frames": len(scores),
                       "out_of_band": flags["redundancy_out_of_band"]} if len(scores) else None,
        "models": {"folder": str(runtime.manifest.folder), "precision": runtime.settings.precision,
                   "manifest_sha256": sha256_file(runtime.manifest.folder / MANIFEST_FILE)},
    }


def run_recording(
    runtime: VehicleRuntime,
    recording: Path,
    out: Path,
    *,
    resume: bool = False,
    on_frame: Callable[[dict], None] = lambda _: None,
    on_start: Callable[[int, int], None] = lambda total, done: None,
) -> dict:
    """Process every frame of ``recording`` into ``out``; returns the summary (also written to ``out``)."""
    recording, out = Path(recording), Path(out)
    frames = list_frames(recording)
    with exclusive_output(out):  # a --resume never races a live run on the same output
        done = prepare_output(out, resume)
        finished = {record["frame"] for record in done}
        on_start(len(frames), len(finished & {frame.name for frame in frames}))
        records = list(done)
        for frame in frames:
            if frame.name in finished:
                continue
            image, record = runtime.process(frame)
            if image is not None:
                target = out / FRAMES_DIR / f"{frame.name}.png"
                _, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
                atomic_write_bytes(target, png.tobytes())
                record["output"] = str(target.relative_to(out))
            append_record(out / LOG_FILE, record)
            records.append(record)
            on_frame(record)
        summary = summarise(records, runtime)
        atomic_write_json(out / SUMMARY_FILE, summary)
    return summary
