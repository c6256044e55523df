"""At most one dashboard build per CPU core at a time (DESIGN.md section 12: a meeting's audience).

When twenty viewers open the board at once, twenty kernels build it at once: on two cores each
takes twenty times as long, the server that streams pages and first paints is starved, and every
viewer waits for the slowest. Under ``plan-metrics serve`` (which sets $PLAN_METRICS_SLOTS to a
folder of its own) a kernel builds its dashboard only while it holds one of ``os.cpu_count()``
slots (an ``flock`` on a file, released by the OS if the kernel dies); the others wait their
turn, asleep, showing the server's first paint. Elsewhere (Jupyter, a plain ``voila``) there is no
limit.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path

SLOTS_ENV = "PLAN_METRICS_SLOTS"


@contextmanager
def build_slot(poll: float = 0.05):
    """Hold one of the server's build slots for the duration of the ``with`` block."""
    folder = os.environ.get(SLOTS_ENV)
    if not folder or not Path(folder).is_dir():
        yield
        return
    paths = [Path(folder) / f"slot-{i}.lock" for i in range(os.cpu_count() or 1)]
    while True:
        for path in paths:
            fh = open(path, "a")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.close()
                continue
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
                fh.close()
            return
        time.sleep(poll)


def mark_warm(notebook: str) -> None:
    """A preheated kernel under ``plan-metrics serve`` has built its dashboard: leave a mark in the
    slots folder (``serve`` says "Ready" once every pool's kernels have)."""
    folder = os.environ.get(SLOTS_ENV)
    if folder and os.environ.get("VOILA_PREHEAT") == "True" and Path(folder).is_dir():
        (Path(folder) / f"warm-{notebook}-{os.getpid()}").touch()


def warm_count(folder: Path | str, notebook: str) -> int:
    """How many preheated kernels have built ``notebook`` since the server started."""
    return sum(1 for _ in Path(folder).glob(f"warm-{notebook}-*"))
