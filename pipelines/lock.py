"""One run at a time: an advisory lock on a folder, naming the process that holds it.

The lock is `flock` on `<folder>/.cx.lock`: the operating system lets it go when its holder ends, even
after SIGKILL, so a crashed run never leaves a stale lock behind."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = ".cx.lock"


class RunLockError(Exception):
    """Another process holds the lock; the message names its pid."""


@contextmanager
def run_lock(folder: str | Path):
    """Hold the folder's lock for the duration of the block, or raise RunLockError at once."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise RunLockError(f"another run (pid {holder}) is in progress on {folder}; try again when it has ended") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
