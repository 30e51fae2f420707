"""The writers' turn on a SQLite file: one writing transaction at a time, across the threads of
a process and across the processes on the file, each served as soon as the last lets go.

SQLite lets one writer in at a time. A second ``BEGIN IMMEDIATE`` waits in SQLite's busy
handler, which sleeps in growing steps (1, 2, 5, 10 ... 100 ms) and polls: under contention a
writer sleeps on long after the lock is free, and latency turns into seconds. So writers queue
here instead: the threads of a process on a lock of the process, then the process on an
exclusive ``flock`` of a file beside the database (``<database>.writer``), on which the kernel
wakes a waiter the moment the holder lets go. Several ``engagebill serve`` workers, a separate
``engagebill worker`` and CLI commands on the same file therefore take turns instead of
sleeping, and a process that dies holding the turn gives it up with its file descriptors.

The lock file is opened when the turn is built, in the process that uses it: a descriptor
inherited through ``fork`` would share its lock with the parent.
"""

from __future__ import annotations

import os
import threading

try:
    import fcntl
except ImportError:  # not a POSIX system: the process's own lock is all there is
    fcntl = None  # type: ignore[assignment]


class WriterTurn:
    """Re-entrant: a use case that opens a unit of work inside another keeps its turn."""

    def __init__(self, lock_path: str | None = None) -> None:
        self._threads = threading.RLock()
        self._depth = 0  # only the thread holding _threads reads or writes it
        self._fd: int | None = None
        if lock_path is not None and fcntl is not None:
            self._fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def acquire(self) -> None:
        self._threads.acquire()
        if self._depth == 0 and self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._threads.release()
                raise
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def lock_path_for(database: str) -> str:
    """The turn's lock file for a SQLite database file."""
    return f"{database}.writer"
