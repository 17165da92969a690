"""Run independent tasks on a local process pool (default), in-process, or on Ray.

``run_tasks(fn, tasks, executor=..., workers=...)`` yields ``fn(task)`` results as they complete.
``fn`` must be a module-level function and tasks picklable. ``workers=0`` with the local executor
runs in-process (handy for debugging). Local pools fork where the OS can (like torch's DataLoader):
"spawn" would re-import the ``__main__`` module — the whole ``nightfusion`` CLI with every stage —
in each worker; workers run numpy/OpenCV code only. Ray runs on a local ad-hoc cluster of
``workers`` CPUs, or on an existing cluster given ``address`` (workers must see the same paths).
Every worker runs OpenCV and BLAS single-threaded: parallelism comes from the workers. Every worker
dies with the process that runs the tasks (``preprocessing.lifetime``), even when that one is killed.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Callable, Iterable, Iterator

from preprocessing.errors import UserError
from preprocessing.lifetime import die_with

EXECUTORS = ("local", "ray")


@contextmanager
def _single_threaded_libraries() -> Iterator[None]:
    """OpenCV and BLAS on one thread while the block runs: a worker is one core's worth of work, and
    library threads inside each of N workers would only oversubscribe the machine. Set in the parent
    before forking (children inherit it); setting OpenCV's thread count inside a forked child whose
    parent already ran OpenCV's pool deadlocks."""
    import cv2
    from threadpoolctl import threadpool_limits

    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        cv2.setNumThreads(previous)


def _single_threaded(fn: Callable, task, owner: tuple[str, int]):
    """``fn(task)`` with single-threaded libraries (Ray workers are fresh processes, not forks), in a
    worker that dies with ``owner`` (host, PID) when it runs on the owner's host."""
    if owner[0] == socket.gethostname():
        die_with(owner[1])
    with _single_threaded_libraries():
        return fn(task)


def _inline(fn: Callable, tasks: Iterable) -> Iterator:
    for task in tasks:
        yield fn(task)


def _pool(fn: Callable, tasks: Iterable, workers: int) -> Iterator:
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with _single_threaded_libraries():
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context(method), initializer=die_with, initargs=(os.getpid(),)
        )
        try:
            pending = {pool.submit(fn, task) for task in tasks}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _ray(fn: Callable, tasks: Iterable, workers: int, address: str | None) -> Iterator:
    import ray  # heavy import, only when asked for

    started = not ray.is_initialized()
    if started:
        options = {"address": address} if address else {"num_cpus": max(workers, 1)}
        ray.init(include_dashboard=False, log_to_driver=False, **options)
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(_single_threaded)
        owner = (socket.gethostname(), os.getpid())
        pending = [remote.remote(fn, task, owner) for task in tasks]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        if started:
            ray.shutdown()


def run_tasks(
    fn: Callable, tasks: Iterable, executor: str = "local", workers: int = 1, address: str | None = None
) -> Iterator:
    """Yield ``fn(task)`` for every task, in completion order."""
    if executor not in EXECUTORS:
        raise UserError(f"--executor must be one of {EXECUTORS}, got {executor!r}")
    if workers < 0:
        raise UserError(f"--workers must be ≥ 0, got {workers}")
    if address and executor != "ray":
        raise UserError("--address is only used with --executor ray")
    if executor == "ray":
        return _ray(fn, tasks, workers, address)
    return _inline(fn, tasks) if workers == 0 else _pool(fn, tasks, workers)
