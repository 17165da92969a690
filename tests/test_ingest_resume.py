"""Kill an ingest mid-run, resume it, and get byte-identical output; refuse unsafe resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from preprocessing.errors import UserError
from preprocessing.ingest import ingest
from preprocessing.ingest_config import IngestConfig
from tests.fixtures.shards import SHARDS_OPTIONS

ROOT = Path(__file__).parents[1]
# The child ingests with every sample slowed down so that the kill reliably lands mid-run.
SLOW_INGEST = """
import sys, time
import preprocessing.shard_worker as worker
from preprocessing.ingest import ingest
from preprocessing.ingest_config import IngestConfig
real = worker.process_sample
def slow(spec, settings):
    time.sleep(0.15)
    return real(spec, settings)
worker.process_sample = slow
ingest(IngestConfig.model_validate_json(sys.argv[1]))
"""


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def config(world, out: Path) -> IngestConfig:
    options = {**SHARDS_OPTIONS, "shard_size": 1}  # one shard per sample: a kill lands between shards
    return IngestConfig(dataroot=world.dataroot, version=world.version, out=out, workers=0, **options)


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def test_killed_run_resumes_to_identical_output(world, tmp_path):
    reference = tmp_path / "reference"
    ingest(config(world, reference))
    killed = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_INGEST, config(world, killed).model_dump_json()],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(killed / "shard-000002.json", process)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert not (killed / "manifest.json").exists()
    shards_done = len(list(killed.glob("shard-*.json")))
    assert 3 <= shards_done < len(list(reference.glob("shard-*.json")))  # really interrupted mid-run

    progress = []
    ingest(config(world, killed), resume=True, on_progress=lambda done, total: progress.append(done))
    assert progress[0] >= shards_done  # finished shards were not redone
    assert tree(killed) == tree(reference)


def test_resume_refuses_changed_settings_and_fresh_runs_refuse_leftovers(world, shards, tmp_path):
    out = tmp_path / "partial"
    out.mkdir()
    other = config(world, out).model_copy(update={"seed": 99})
    (out / "ingest.json").write_text(json.dumps(other.fingerprint()))
    with pytest.raises(UserError, match="different settings"):
        ingest(config(world, out), resume=True)
    with pytest.raises(UserError, match="not empty; pass --resume"):
        ingest(config(world, shards))
