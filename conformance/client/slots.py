"""At most N requests in flight across processes: the xdist workers of a run against one shared
target hold N slots between them, so each worker may use all N while the others are idle (a
worker of example tests sends one request at a time for long stretches) and the target never
sees more than N at once.

A slot is a lock on one of N files (flock, which holds per open file: two threads of one process
with their own open files contend as two processes do). A request takes the first free slot;
when none is free it waits on one, in turn, without polling.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import threading
from collections.abc import Iterator
from pathlib import Path


class _Descriptors:
    """One thread's open slot files, closed when the thread's locals go (a pool's threads end
    with each fan-out): raw descriptors, as a file object left open would warn."""

    def __init__(self, paths: list[Path]):
        self.fds = [os.open(path, os.O_RDONLY) for path in paths]

    def __del__(self):
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)


class SharedSlots:
    def __init__(self, directory: Path, count: int):
        directory.mkdir(parents=True, exist_ok=True)
        self.paths = [directory / f"slot-{index}" for index in range(count)]
        for path in self.paths:
            path.touch(exist_ok=True)
        self.local = threading.local()  # each thread's open files, closed with the thread
        self.turn = itertools.count()

    def _fds(self) -> list[int]:
        mine = getattr(self.local, "descriptors", None)
        if mine is None:
            mine = self.local.descriptors = _Descriptors(self.paths)
        return mine.fds

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """One slot, for as long as the block runs (one request, sent and read)."""
        fds = self._fds()
        start = next(self.turn) % len(fds)
        order = fds[start:] + fds[:start]
        taken = None
        for fd in order:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            taken = fd
            break
        if taken is None:  # every slot in use: wait for one, each waiter on its own turn's
            taken = order[0]
            fcntl.flock(taken, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(taken, fcntl.LOCK_UN)
