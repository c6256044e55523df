"""One notebook execution with papermill (a job): retries of kernel-start failures, timeouts,
the memory gate that keeps large notebooks apart, and the one-paragraph error of a failed notebook."""

from __future__ import annotations

import random
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .. import engine
from ..errors import PlanMetricsError
from .publish import _Edition
from .kernels import _KernelPool, _kernel_start_failure, _pooled_engine, _quiet_kernel_manager

START_RETRIES = 3          # kernel-start failures are retried this many times
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class _Job:
    """One notebook execution."""
    edition: _Edition
    domain: str
    source: Path
    output: Path
    parameters: dict
    timeout: int
    memory: int = 0          # bytes of the tables the notebook will hold (estimate)


#: At most this many bytes of (in-memory) tables are read by the running notebooks at once; a
#: notebook over it runs alone. Never binding on the small demo district; on a large district it
#: keeps the surveys notebook (7 million answers, over 1 GB) from running beside another one, so
#: the run stays within the design's 2 GB (DESIGN.md section 12).
MEMORY_BUDGET = 1 << 30


class _MemoryGate:
    """Admits notebooks while their estimated table memory fits the budget (one always fits)."""

    def __init__(self, budget: int):
        self.budget, self.in_use = budget, 0
        self._cond = threading.Condition()

    def try_acquire(self, amount: int) -> bool:
        with self._cond:
            if self.in_use and self.in_use + amount > self.budget:
                return False
            self.in_use += amount
            return True

    def acquire(self, amount: int) -> None:
        with self._cond:
            while self.in_use and self.in_use + amount > self.budget:
                self._cond.wait(0.5)
            self.in_use += amount

    def release(self, amount: int) -> None:
        with self._cond:
            self.in_use -= amount
            self._cond.notify_all()


def _run_job(job: _Job, pool: "_KernelPool | None" = None,
             gate: _MemoryGate | None = None) -> dict:
    """Execute one notebook with papermill; retry kernel-start failures; return its record.

    With a ``pool``, the notebook runs on this worker thread's warm kernel (see _KernelPool);
    with a ``gate``, it waits until its tables fit the memory budget.
    """
    if gate is None:
        return _run_job_now(job, pool)
    if not gate.try_acquire(job.memory):
        if pool is not None:
            pool.discard()  # waiting for memory: give back this worker's idle kernel too
        gate.acquire(job.memory)
    try:
        return _run_job_now(job, pool)
    finally:
        gate.release(job.memory)
        if pool is not None:
            pool.recycle_if_large()


def _run_job_now(job: _Job, pool: "_KernelPool | None") -> dict:
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    started = time.perf_counter()
    for attempt in range(START_RETRIES + 1):
        kernel = {"kernel_manager_class": _quiet_kernel_manager()} if pool is None else \
            {"engine_name": _pooled_engine(), "kernel": pool.get()}
        try:
            # The executed notebook is written once at the end (also when a cell fails: papermill
            # writes it with the error marked); a cell over the timeout is interrupted, which
            # makes it a failed cell of that written notebook.
            pm.execute_notebook(
                str(job.source), str(job.output), parameters=job.parameters,
                request_save_on_cell_execute=False, interrupt_on_timeout=True,
                progress_bar=False, log_output=False, execution_timeout=job.timeout,
                kernel_name="python3", resources={"metadata": {"path": str(job.source.parent)}},
                **kernel)
            break
        except BaseException as e:
            if pool is not None:
                if pool.closed:
                    raise KeyboardInterrupt from None  # the run is being aborted: no record
                pool.discard()  # never reuse a kernel after an error: start the next one clean
            if isinstance(e, PapermillExecutionError):
                error = f"{e.ename}: {e.evalue}"
                if e.ename == "KeyboardInterrupt" and _ran_for(job.output, e.cell_index) \
                        >= job.timeout:
                    error = (f"the cell did not finish within {job.timeout} s (parameter "
                             f"cell_timeout) and was interrupted")
                raise _notebook_failed(job, e.cell_index, e.source, error,
                                       e.exec_count) from None
            if isinstance(e, CellTimeoutError):
                idx, src = _last_started_cell(job.output)
                raise _notebook_failed(job, idx, src, f"the cell did not finish within "
                                       f"{job.timeout} s (parameter cell_timeout)") from None
            if isinstance(e, DeadKernelError):
                idx, src = _last_started_cell(job.output)
                raise _notebook_failed(job, idx, src, f"the kernel died while running the cell "
                                       f"({e}); the machine may be out of memory") from None
            if not isinstance(e, Exception):
                raise  # KeyboardInterrupt, SystemExit
            if not _kernel_start_failure(e):
                raise PlanMetricsError(
                    f"The {job.domain} notebook could not be run for plan {job.edition.plan.id}, "
                    f"{job.edition.year} ({type(e).__name__}: "
                    f"{_ANSI.sub('', str(e)).strip()[:300]})", str(job.source),
                    "restore the notebook from the repository (git checkout notebooks/) and "
                    "rerun") from None
            # A kernel that did not start: a port race, "Kernel died before replying to
            # kernel_info", a start-up timeout on a busy machine. Retry with backoff.
            if attempt == START_RETRIES:
                raise PlanMetricsError(
                    f"The kernel of notebook {job.domain} (plan {job.edition.plan.id}, "
                    f"{job.edition.year}) did not start after {attempt + 1} attempts "
                    f"({type(e).__name__}: {_ANSI.sub('', str(e)).strip()[:300]})",
                    f"papermill kernel python3, notebook {job.source}",
                    "check that 'python -m ipykernel' starts in this environment and that the "
                    "machine is not short of memory, then rerun") from None
            time.sleep(0.5 * 2 ** attempt + random.random() * 0.5)
    return {"domain": job.domain, "path": f"notebooks/{job.domain}.ipynb",
            "measures": [m.id for m in job.edition.plan.measures()
                         if engine.domain_of(m) == job.domain],
            "parameters": job.parameters, "seconds": round(time.perf_counter() - started, 2),
            "attempts": attempt + 1}


def _ran_for(path: Path, cell_index: int) -> float:
    """Seconds the cell ``cell_index`` of an executed notebook ran (0 when unknown)."""
    try:
        import nbformat
        nb = nbformat.read(str(path), as_version=4)
        cells = [c for c in nb.cells if "papermill-error-cell-tag" not in c.metadata.get("tags", [])]
        return float(cells[cell_index].metadata.papermill.get("duration") or 0)
    except Exception:  # noqa: BLE001 - no notebook, no timing: not a timeout
        return 0.0


def _last_started_cell(path: Path) -> tuple[int | None, str]:
    try:
        import nbformat
        nb = nbformat.read(str(path), as_version=4)
    except Exception:  # noqa: BLE001 - the notebook may not have been written at all
        return None, ""
    last = (None, "")
    for i, cell in enumerate(nb.cells):
        if cell.get("metadata", {}).get("papermill", {}).get("start_time"):
            last = (i, cell.source)
    return last


def _notebook_failed(job: _Job, cell_index: int | None, source: str, error: str,
                     exec_count: int | None = None) -> PlanMetricsError:
    """The one-paragraph error of a failed notebook; keeps the executed notebook durably."""
    ed = job.edition
    kept = ed.target.parent / ".failed" / ed.year / f"{job.domain}.ipynb"
    kept.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copyfile(job.output, kept)
        from .publish import rewrite_tables
        rewrite_tables(kept, ed, job.domain, None)  # first-pass tables are not protected
        shown = f"the executed notebook with the error marked is kept at {kept}"
    except OSError:
        shown = f"the notebook {job.source} (its executed copy could not be written)"
    first = next((line for line in (source or "").splitlines() if line.strip()), "").strip()
    error = _ANSI.sub("", error).strip().replace("\n", " ")
    cell = f"cell {cell_index}" if cell_index is not None else "an unknown cell"
    if exec_count is not None:
        cell += f", In [{exec_count}]"
    return PlanMetricsError(
        f"The {job.domain} notebook failed for plan {ed.plan.id}, school year {ed.year}, at "
        f"{cell} (`{first}`): {error}. Nothing was published for {ed.plan.id} {ed.year}; its "
        f"previous edition, if any, is untouched", shown,
        "open that notebook to see the failing cell and its output, correct the cause (data, "
        "parameters or plan) and rerun this year")
