"""Where a run's tasks execute: the local pool (the default, no server) or a Dask distributed
cluster (``--dask SCHEDULER_ADDRESS``), both behind a standard ``concurrent.futures.Executor``.

The unit of work is one compute notebook of one edition (a ``_Job``: plan, school year, domain).
The local pool runs the jobs on ``--jobs`` threads of this process, each with its warm kernel and
the memory gate (``kernels``, ``execute``). The Dask pool sends the same jobs to the cluster's
workers through ``Client.get_executor()`` (``client.submit`` underneath); each worker process
keeps its own warm kernels and memory gate. Either way the task writes its domain's rows and its
executed notebook under the run's folders, which therefore must be on a path every worker sees
(a shared filesystem); protection and publishing stay on the client (``run._execute``).
"""

from __future__ import annotations

import contextvars
import os
import threading
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path

from ..errors import PlanMetricsError
from .execute import MEMORY_BUDGET, _Job, _MemoryGate, _run_job
from .kernels import _KernelPool

#: Seconds to wait for a Dask scheduler to answer before giving up.
CONNECT_TIMEOUT = 30


class LocalPool:
    """The default executor of a run: ``jobs`` threads of this process, one warm kernel each."""

    remote = False

    def __init__(self, jobs: int, reuse_kernels: bool = True):
        self.kernels = _KernelPool() if reuse_kernels else None
        self.gate = _MemoryGate(MEMORY_BUDGET)
        self.executor: Executor = ThreadPoolExecutor(max_workers=jobs,
                                                     thread_name_prefix="papermill")

    def submit(self, job: _Job) -> Future:
        """Start one notebook; the future's result is its manifest record."""
        return self.executor.submit(_run_job, job, self.kernels, self.gate)

    def check_paths(self, paths) -> None:
        """Nothing to check: the threads see this machine's files."""

    def idle(self) -> None:
        """No notebook is left to start: shut the warm kernels down (their memory back)."""
        if self.kernels is not None:
            self.kernels.close()

    def close(self) -> None:
        """Wait for the running notebooks, then shut every kernel down."""
        try:
            self.executor.shutdown(wait=True, cancel_futures=True)
        finally:
            if self.kernels is not None:
                self.kernels.close()

    def explain(self, job: _Job, error: BaseException) -> PlanMetricsError | None:
        """A local task fails with a PlanMetricsError or a programming error (not hidden)."""
        return None


class DaskPool:
    """``--dask ADDRESS``: the same notebook jobs on the workers of a Dask distributed cluster."""

    remote = True

    def __init__(self, address: str, reuse_kernels: bool = True):
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - a dependency of the package
            raise PlanMetricsError("--dask needs the 'distributed' package", "--dask",
                                   "pip install 'distributed' (a dependency of plan-metrics) "
                                   "or leave --dask out to run on this machine") from None
        self.address = address
        try:
            self.client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise PlanMetricsError(
                f"No Dask scheduler answered at {address!r} within {CONNECT_TIMEOUT} s "
                f"({type(e).__name__}: {str(e).strip()[:200]})", "--dask",
                "give the scheduler's address as printed by `dask scheduler` (for example "
                "tcp://10.0.0.5:8786), check that it runs and that this machine can reach it, "
                "or leave --dask out to run on this machine") from None
        self.reuse_kernels = reuse_kernels
        self.executor: Executor = self.client.get_executor(pure=False)

    def submit(self, job: _Job) -> Future:
        """Send one notebook to the cluster; the future's result is its manifest record."""
        return self.executor.submit(worker_task, job, self.reuse_kernels)

    def check_paths(self, paths) -> None:
        """Every worker must import plan_metrics and see the run's folders (a shared path)."""
        paths = [str(p) for p in paths]
        try:
            seen = self.client.run(_missing_paths, paths)
        except Exception as e:  # noqa: BLE001 - e.g. a worker without plan_metrics installed
            raise PlanMetricsError(
                f"The Dask workers at {self.address} could not run plan-metrics' tasks "
                f"({type(e).__name__}: {str(e).strip()[:200]})", "--dask",
                "install plan-metrics (the same version) in the workers' environment") from None
        if not seen:
            raise PlanMetricsError(f"The Dask cluster at {self.address} has no workers",
                                   "--dask", "start at least one `dask worker ADDRESS`")
        blind = {w: miss for w, miss in seen.items() if miss}
        if blind:
            worker, missing = next(iter(blind.items()))
            raise PlanMetricsError(
                f"{len(blind)} Dask worker(s) do not see the run's folders (worker {worker} "
                f"lacks {missing[0]})", "--dask",
                "put the data folder, the reports folder (--out) and the plan on a filesystem "
                "every worker mounts at the same path, and give those paths") from None

    def idle(self) -> None:
        """Kernels on the workers are shut down at close()."""

    def close(self) -> None:
        """Shut the workers' warm kernels down and disconnect (the cluster keeps running)."""
        if self.client.status in ("closing", "closed"):
            return
        try:
            self.client.run(close_worker_kernels)
        except Exception:  # noqa: BLE001 - workers gone: their kernels went with them
            pass
        try:
            self.executor.shutdown(wait=False)
        finally:
            self.client.close()

    def explain(self, job: _Job, error: BaseException) -> PlanMetricsError:
        """The one paragraph of a task the cluster lost (a worker died, the task was cancelled)."""
        ed = job.edition
        return PlanMetricsError(
            f"The {job.domain} notebook for plan {ed.plan.id}, school year {ed.year}, did not "
            f"run on the Dask cluster ({type(error).__name__}: {str(error).strip()[:300]}). "
            f"Nothing was published for {ed.plan.id} {ed.year}; its previous edition, if any, is "
            f"untouched", f"Dask scheduler {self.address}",
            "check the workers' logs (a worker out of memory is restarted by its nanny), give the "
            "workers more memory or fewer threads, and rerun")


class InlineExecutor(Executor):
    """A concurrent.futures.Executor that runs each task when it is submitted, in this thread
    (run-many's local default: one district after the other, each using every core for its
    notebooks, and Ctrl-C interrupts the district in progress like a plain run)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        future.set_running_or_notify_cancel()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as e:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(e)
        return future


def executor_for(dask: str | None, jobs: int, reuse_kernels: bool = True):
    """The run's executor: a DaskPool for ``dask`` (a scheduler address), else a LocalPool."""
    if dask:
        return DaskPool(dask, reuse_kernels)
    return LocalPool(jobs, reuse_kernels)


# --- the worker's side (a Dask worker process) ---------------------------------------------

_WORKER_STATE: tuple | None = None
_WORKER_LOCK = threading.Lock()


_THREAD = threading.local()


def worker_task(job: _Job, reuse_kernels: bool = True) -> dict:
    """Run one notebook on this Dask worker (its warm kernels and memory gate) -> its record.

    Dask runs every task in a copy of one shared ``contextvars`` context, and jupyter_core keeps
    each thread's asyncio loop in a context variable: two worker threads would then share one
    loop ("This event loop is already running"). Each worker thread therefore runs its tasks in
    a context of its own, kept from task to task like a thread of the local pool (its warm kernel
    lives on that loop).
    """
    return in_thread_context(_worker_job, job, reuse_kernels)


def in_thread_context(fn, *args):
    """``fn(*args)`` in this thread's own ``contextvars`` context (see worker_task)."""
    context = getattr(_THREAD, "context", None)
    if context is None:
        context = _THREAD.context = contextvars.Context()
    return context.run(fn, *args)


def _worker_job(job: _Job, reuse_kernels: bool) -> dict:
    global _WORKER_STATE
    with _WORKER_LOCK:
        if _WORKER_STATE is None or (_WORKER_STATE[0] is not None and _WORKER_STATE[0].closed):
            _WORKER_STATE = (_KernelPool() if reuse_kernels else None,
                             _MemoryGate(MEMORY_BUDGET))
        kernels, gate = _WORKER_STATE
    return _run_job(job, kernels, gate)


def close_worker_kernels() -> None:
    """Shut this worker's warm kernels down (run on every worker at the end of a run)."""
    global _WORKER_STATE
    with _WORKER_LOCK:
        state, _WORKER_STATE = _WORKER_STATE, None
    if state is not None and state[0] is not None:
        state[0].close()


def _missing_paths(paths: list[str]) -> list[str]:
    """The paths this worker does not see."""
    return [p for p in paths if not os.path.exists(p)]


def rows_written(path: Path) -> bool:
    """True if the task's rows file is visible here (on the client)."""
    return Path(path).is_file()
