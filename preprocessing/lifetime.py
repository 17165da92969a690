"""Worker processes die with the process that started them, even when it is killed with SIGKILL.

A pool worker that outlives a killed ``nightfusion ingest`` is re-parented to PID 1, goes on writing
shards the user believes abandoned (overlapping a ``--resume``) and then blocks forever. On Linux
the kernel kills a child when its parent dies (``prctl(PR_SET_PDEATHSIG)``); everywhere (POSIX), a
watchdog thread polls the owner and kills the worker once it is gone — which also covers Ray
workers, whose parent is Ray's raylet rather than the ingest.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL_SECONDS = 0.5
_watched: set[int] = set()


def die_with(owner: int) -> None:
    """Kill this process as soon as process ``owner`` (on this host) is gone; once per owner."""
    if owner in _watched or os.name != "posix":
        return
    _watched.add(owner)
    child = os.getppid() == owner
    if child and sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    threading.Thread(target=_watch, args=(owner, child), name="owner-watchdog", daemon=True).start()


def _watch(owner: int, child: bool) -> None:
    # A child compares its parent PID, immune to the owner's PID being reused; anyone else probes the PID.
    while os.getppid() == owner if child else alive(owner):
        time.sleep(POLL_SECONDS)
    os.kill(os.getpid(), signal.SIGKILL)


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (a killed process waiting to be reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no procfs: trust the signal probe
        return True
    return stat[stat.rindex(")") + 2] != "Z"
