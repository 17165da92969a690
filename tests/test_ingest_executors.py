"""Executors: the local pool, in-process and Ray produce the same results and the same shards; workers die
with their owner (a killed ingest with its pool: ``test_ingest_resume.py``)."""

from __future__ import annotations

import signal
import subprocess
import sys

import cv2
import numpy as np
import pytest

from preprocessing.errors import UserError
from preprocessing.executors import run_tasks
from tests.fixtures.shards import ingest_world
from tests.test_ingest_resume import ROOT, tree


def square(x: int) -> int:
    return x * x


def opencv_threads(size: int) -> int:
    """Run an OpenCV op in the worker and report its thread count."""
    cv2.resize(np.zeros((size, size, 3), np.uint8), (size // 4, size // 4), interpolation=cv2.INTER_AREA)
    return cv2.getNumThreads()


def test_pool_and_inline_give_the_same_results():
    tasks = list(range(23))
    pooled = list(run_tasks(square, tasks, "local", workers=2))
    assert sorted(pooled) == list(run_tasks(square, tasks, "local", workers=0)) == [x * x for x in tasks]


@pytest.mark.timeout(120)
def test_pool_workers_are_single_threaded_even_after_the_parent_used_opencv_threads():
    """Regression: a forked child changing OpenCV's thread count after the parent ran its pool deadlocks."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(2)
    opencv_threads(2000)  # the parent's OpenCV thread pool is now running
    assert list(run_tasks(opencv_threads, [400] * 4, "local", workers=2)) == [1] * 4
    assert cv2.getNumThreads() == 2  # the parent's setting is restored
    cv2.setNumThreads(previous)


@pytest.mark.parametrize(
    ("executor", "workers", "address", "message"),
    [
        ("spark", 1, None, "--executor must be one of"),
        ("local", -1, None, "--workers must be"),
        ("local", 1, "x:1", "--address"),
    ],
)
def test_bad_executor_arguments_are_user_errors(executor, workers, address, message):
    with pytest.raises(UserError, match=message):
        run_tasks(square, [1], executor, workers, address)


@pytest.mark.slow
def test_ray_and_local_pool_write_identical_shards(world, shards, tmp_path):
    ingest_world(world, tmp_path / "pool", workers=2)
    ingest_world(world, tmp_path / "ray", executor="ray", workers=2)
    pool, ray, inline = tree(tmp_path / "pool"), tree(tmp_path / "ray"), tree(shards)
    assert len(pool) > 3 and pool == ray == inline


WATCHER = """
import sys, time
from preprocessing.lifetime import die_with
die_with(int(sys.argv[1]))
print("watching", flush=True)
time.sleep(60)
"""


def test_a_worker_that_is_no_child_of_its_owner_dies_with_it_too():
    """Ray workers are children of Ray's raylet, not of the ingest: the watchdog, not the kernel, ends them."""
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    watcher = subprocess.Popen([sys.executable, "-c", WATCHER, str(owner.pid)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert watcher.stdout.readline() == "watching\n"
        owner.kill()
        owner.wait()
        assert watcher.wait(timeout=10) == -signal.SIGKILL
    finally:
        for process in (owner, watcher):
            process.kill()
            process.wait()
