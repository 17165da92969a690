"""Kill an ingest mid-run, resume it, and get byte-identical output; refuse unsafe resumes; no worker outlives\na killed ingest."""

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

# `nightfusion ingest ARGS` whose shards after the first wait until the file GATE exists: workers are
# mid-run when the test kills the ingest, and would write as soon as the gate opens if they survived it.
GATED_INGEST = """
import sys, time
from pathlib import Path
import preprocessing.ingest as ingest
from deploy.cli import main
gate, real = Path(sys.argv[1]), ingest.process_shard
def gated(task):
    while task.index > 0 and not gate.exists():
        time.sleep(0.02)
    return real(task)
ingest.process_shard = gated
main(sys.argv[2:])
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


def children(pid: int) -> list[int]:
    """PIDs of the processes whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` exists and is neither a zombie nor dead (a killed child may stay a zombie until reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_a_killed_ingest_takes_its_workers_along_and_a_resume_waits_for_a_live_one(world, shards, tmp_path):
    out, gate = tmp_path / "killed", tmp_path / "gate"
    args = ["ingest", "--dataroot", str(world.dataroot), "--version", world.version, "--out", str(out), "--workers", "2",
            "--resolution", "64x112", "--shard-size", str(SHARDS_OPTIONS["shard_size"]), "--seed", str(SHARDS_OPTIONS["seed"])]
    process = subprocess.Popen([sys.executable, "-c", GATED_INGEST, str(gate), *args], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(out / "shard-000000.json", process)
        workers = children(process.pid)
        assert len(workers) == 2 and all(running(pid) for pid in workers)  # both waiting at the gate, mid-run
        racing = subprocess.run([sys.executable, "-m", "deploy.cli", *args, "--resume"], cwd=ROOT, capture_output=True, text=True)
        assert racing.returncode == 2 and f"is being written by pid {process.pid}" in racing.stderr
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    deadline = time.monotonic() + 10
    while any(running(pid) for pid in workers):
        assert time.monotonic() < deadline, "a worker of the killed ingest is still running"
        time.sleep(0.05)
    written = tree(out)
    gate.touch()  # a surviving worker would now go on writing its shard
    time.sleep(1.0)
    assert tree(out) == written and not (out / "shard-000001.json").exists()

    resumed = subprocess.run([sys.executable, "-m", "deploy.cli", *args, "--resume"], cwd=ROOT, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert tree(out) == tree(shards)  # the stale lock of the killed run did not stand in the way
