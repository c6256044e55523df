"""Helper processes for the privacy LPs (privacy.lp): a small process pool, started on first use
and kept until ``close`` (the end of a protection or an audit), or none where helpers cannot or
should not start."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

#: at most this many helpers: with more, each batch pools its witnesses too late to spare LPs
MAX_HELPERS = 4
_pool: "ProcessPoolExecutor | None | bool" = None    # None: not started yet; False: none
_count = 0


def pool():
    """The helper processes (one fewer than the CPUs this process may use, at most
    ``MAX_HELPERS``), started on first use and kept; None where there is a single CPU or a
    process may not start children (a daemonic worker, e.g. some Dask workers): the LPs are
    then all solved in the calling process. The helpers are
    started by ``spawn``, which imports the caller's main module again: a script that calls the
    audit must keep its work under ``if __name__ == "__main__":`` (else the helpers fail and
    every LP is solved here)."""
    global _pool, _count
    if _pool is None:
        _pool = False
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
            (os.cpu_count() or 1)
        n = min(cpus - 1, MAX_HELPERS)
        if n >= 1 and not multiprocessing.current_process().daemon:
            # spawn: the caller may hold threads (the run's kernel pool), which fork would copy
            _pool = ProcessPoolExecutor(max_workers=n,
                                        mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_leave_with_parent, initargs=(os.getpid(),))
            _count = n
    return _pool or None


def _leave_with_parent(parent: int) -> None:
    """In each helper: exit when the process that started it is gone. A caller killed outright
    (SIGKILL, out of memory) cannot shut its pool down, and an orphaned helper would otherwise
    wait on its task queue for ever."""
    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)
    threading.Thread(target=watch, name="pm-parent-watch", daemon=True).start()


def stop() -> None:
    """No helper processes from now on in this process (they could not start, or died)."""
    global _pool
    if _pool:
        _pool.shutdown(wait=False, cancel_futures=True)
    _pool = False


def none_here() -> None:
    """This process starts no helpers of its own (it is a helper: its LPs are all solved in it;
    a helper process is not daemonic, so ``pool`` alone would start a pool in it)."""
    global _pool
    if _pool is None:
        _pool = False


def close() -> None:
    """Shut the helpers down and wait for them (the next ``pool`` starts new ones): called when
    a protection or an audit ends, so no helper outlives the work (an interpreter that exits
    with the pool still up may warn of leaked semaphores)."""
    global _pool
    if _pool:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None


def count() -> int:
    """How many helper processes ``pool`` runs."""
    return _count if _pool else 0
