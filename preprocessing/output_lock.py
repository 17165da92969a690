"""One writer per output folder: a lock that the kernel releases when its holder dies.

``with exclusive_output(folder):`` holds an exclusive ``flock`` on ``folder/.nightfusion.lock``, whose
content names the owner (PID and host). A second run on the folder — a ``--resume`` while the first
run (or a forked worker of it, which inherits the lock) still writes — is refused with that name
instead of racing it. A killed owner's lock is free again as soon as its last process is gone, so the
stale file left behind does not block the resume. The file is removed when the run ends.
"""

from __future__ import annotations

import fcntl
import os
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from preprocessing.errors import UserError

LOCK_FILE = ".nightfusion.lock"


def has_content(folder: Path) -> bool:
    """Whether ``folder`` holds anything besides a lock file."""
    return folder.is_dir() and any(path.name != LOCK_FILE for path in folder.iterdir())


@contextmanager
def exclusive_output(folder: Path) -> Iterator[None]:
    """Create ``folder`` if needed and hold its lock while the block runs; UserError naming the owner if taken."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    handle = _acquire(path)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)  # before unlocking: a run that opened this file retries on a fresh one
        handle.close()


def _acquire(path: Path) -> IO[str]:
    while True:
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise UserError(f"{path.parent} is being written by {owner}; wait for it to end (or stop it) first") from None
        try:
            if os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                break
        except FileNotFoundError:
            pass
        handle.close()  # the owner finished and removed the file between our open and our lock
    handle.truncate(0)
    handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
    handle.flush()
    return handle
