"""`plan-metrics run` (DESIGN.md sections 8, 9, 11): papermill runs per school year -> editions.

A run, for each plan and school year:

1. reads and checks the parameters (params/defaults.yaml < params/<year>.yaml < --params < --min-n),
2. loads and validates the data directory ONCE (nothing is published from invalid data), and writes
   the validated tables as a parquet *snapshot* in the run's scratch folder, so that every notebook
   reads typed tables instead of parsing and validating the CSV files again,
3. executes the compute notebooks (``notebooks/<domain>.ipynb``, one per data domain that has
   measures in the plan) with papermill, ``--jobs`` at a time, each saving its domain's rows.
   Each worker keeps one warm kernel (see ``_KernelPool``): the notebook runs top to bottom as
   always, but pandas and the library are already imported, which halves a notebook's cost,
4. combines the rows, computes the status (engine.compute_status, from the snapshot), validates
   both and publishes the edition atomically: everything is written to
   ``reports/<plan>/.<year>.tmp-<pid>-XXXX`` and moved into place with ``os.replace`` only when
   every notebook succeeded. A failed or interrupted run leaves the previous edition untouched and
   no temporary folder behind; a failed notebook is kept, executed with its error marked, in
   ``reports/<plan>/.failed/<year>/<domain>.ipynb``.

The second half of this module is the notebooks' side: ``notebook_context`` gives a compute notebook
its plan, tables and options, computes its measures, shows them and saves them, so that a notebook
holds no logic of its own. The last part writes the compute notebooks themselves
(``write_compute_notebooks``).
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import contract, engine, manifest as manifest_mod
from .errors import PlanMetricsError
from .options import Options
from .params import OPTION_KEYS, options_of, year_params
from .paths import NOTEBOOKS_DIR, REPORTS_DIR

#: Parameters every compute notebook declares besides its domain's knobs.
COMMON_PARAMETERS = ("school_year", "plan", "data_dir", "output_dir", "snapshot_dir",
                     "min_n", "cell_size", "n_size")
#: The run options a domain's notebook declares as its own knobs (beyond min_n, cell_size, n_size).
DOMAIN_KNOBS: dict[str, tuple[str, ...]] = {d: () for d in engine.DOMAINS}
DOMAIN_KNOBS["attendance"] = ("chronic_threshold",)

SNAPSHOT_INFO = "snapshot.json"
START_RETRIES = 3          # kernel-start failures are retried this many times
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# ==== the run ====================================================================================

def main(args) -> int:
    """Entry point of ``plan-metrics run`` (args from cli.py).

    SIGTERM is turned into KeyboardInterrupt for the run, so that a terminated run, like an
    interrupted one, removes its temporary folders and shuts its kernels down.
    """
    def terminate(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        published = run(plan=args.plan, data_dir=args.data, years=args.years,
                        params_file=args.params, out=args.out, jobs=args.jobs, min_n=args.min_n)
    finally:
        signal.signal(signal.SIGTERM, previous)
    for path in sorted(published):
        print(f"published {path}")
    return 0


@dataclass
class _Edition:
    """One plan-year being computed."""
    plan: Any
    plan_ref: str
    plan_file: Path
    year: str
    params: dict
    param_files: list[str]
    target: Path
    tmp: Path
    rows_dir: Path
    domains: list[str]
    started: str
    jobs_left: int = 0
    notebooks: list[dict] = field(default_factory=list)


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


def run(*, plan: str, data_dir: str | Path, years: str, params_file: str | Path | None = None,
        out: str | Path | None = None, jobs: int | None = None, min_n: int | None = None,
        notebooks_dir: Path | str = NOTEBOOKS_DIR, params_dir: Path | str | None = None,
        progress: bool = True, all_domains: bool = False,
        reuse_kernels: bool = True) -> list[Path]:
    """Compute and publish the editions of ``plan`` ('all', an id or a YAML path) for ``years``
    ('all', 'YYYY-YY' or a comma list). Returns the published edition folders.

    ``notebooks_dir`` and ``params_dir`` default to the project's; tests point them elsewhere.
    ``all_domains`` runs every compute notebook, also those without measures in the plan (which
    save an empty table); by default they are skipped (see ``domains_of``). ``reuse_kernels``
    runs the notebooks on one warm kernel per worker (namespace emptied between notebooks, see
    _KernelPool); False starts a fresh kernel for every notebook (papermill's default).
    Raises PlanMetricsError (one paragraph) for every problem a user can cause.
    """
    from . import loading
    from .plan import load_plan, plan_hash, plan_path, available_plans

    reports = Path(out if out is not None else REPORTS_DIR).resolve()
    data_dir = Path(data_dir).resolve()
    notebooks_dir = Path(notebooks_dir).resolve()
    if jobs is not None and jobs < 1:
        raise PlanMetricsError(f"--jobs {jobs}: at least one notebook must run at a time",
                               "--jobs", "give --jobs 1 or more, or leave it out to use every "
                               "core")
    jobs = jobs or os.cpu_count() or 1
    if not data_dir.is_dir():
        raise PlanMetricsError(f"The data directory {str(data_dir)!r} does not exist",
                               "--data", "give the folder holding the district's CSV files "
                               "(make demo-data writes the demo district to data/demo)")
    wanted_years = parse_years(years)
    refs = available_plans() if plan == "all" else \
        list(dict.fromkeys(p.strip() for p in plan.split(",") if p.strip()))
    if not refs:
        raise PlanMetricsError("No plan to run", "--plan", "give a plan id, a plan YAML or 'all'")
    plans = [(ref, load_plan(ref)) for ref in refs]
    pkw = {} if params_dir is None else {"params_dir": params_dir}
    # Parameters are checked before the (slower) data load: a typo fails fast.
    for y in (wanted_years if wanted_years != "all" else []):
        year_params(y, params_file, {"min_n": min_n}, **pkw)
    if wanted_years == "all" and params_file is not None:
        from .params import read_params_file
        read_params_file(params_file)

    tables = _validated(loading, data_dir)
    data_years = sorted(tables.years)
    if wanted_years == "all":
        run_years = data_years
    else:
        missing = [y for y in wanted_years if y not in data_years]
        if missing:
            raise PlanMetricsError(
                f"School year {', '.join(missing)} is not in the data", str(data_dir),
                f"choose among {', '.join(data_years) or '(no years)'} or --years all")
        run_years = wanted_years
    if not run_years:
        raise PlanMetricsError("The data has no school years", str(data_dir),
                               "check the school_year columns of the CSV files")

    reports.mkdir(parents=True, exist_ok=True)
    _sweep_stale(reports)
    scratch = Path(tempfile.mkdtemp(prefix=f".run-{os.getpid()}-", dir=reports))
    editions: list[_Edition] = []
    try:
        snapshot = write_snapshot(tables, scratch / "snapshot", data_dir)
        # From here on the runner reads the snapshot, lazily, like the notebooks: the CSV-typed
        # tables are dropped so that the kernels have the memory (a large district's tables take
        # over a gigabyte); only the status step reads (and caches) the tables it needs.
        tables = SnapshotTables(snapshot)
        release_memory()
        memory = tables.memory
        git = manifest_mod.git_info()
        synthetic = manifest_mod.is_synthetic(data_dir)
        all_jobs: list[_Job] = []
        for ref, p in plans:
            pfile = plan_path(ref).resolve()
            for y in run_years:
                params, files = year_params(y, params_file, {"min_n": min_n}, **pkw)
                domains = list(engine.DOMAINS) if all_domains else domains_of(p)
                target = reports / p.id / y
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = Path(tempfile.mkdtemp(prefix=f".{y}.tmp-{os.getpid()}-", dir=target.parent))
                ed = _Edition(p, ref, pfile, y, params, files, target, tmp,
                              scratch / "rows" / p.id / y, domains, manifest_mod.now())
                ed.rows_dir.mkdir(parents=True)
                (tmp / "notebooks").mkdir()
                editions.append(ed)
                for d in domains:
                    nb_params = {"school_year": y, "plan": str(pfile), "data_dir": str(data_dir),
                                 "output_dir": str(ed.rows_dir), "snapshot_dir": str(snapshot),
                                 **{k: params[k] for k in ("min_n", "cell_size", "n_size",
                                                           *DOMAIN_KNOBS[d])}}
                    needs = tables_needed([m for m in p.measures() if engine.domain_of(m) == d])
                    all_jobs.append(_Job(ed, d, notebooks_dir / f"{d}.ipynb",
                                         tmp / "notebooks" / f"{d}.ipynb", nb_params,
                                         params["cell_timeout"],
                                         sum(memory.get(t, 0) for t in needs)))
                ed.jobs_left = len(domains)
        for j in all_jobs:
            if not j.source.is_file():
                raise PlanMetricsError(f"The compute notebook {j.source.name} is missing",
                                       str(j.source), "restore it from the repository")
        # papermill logs a timeout or an unknown parameter itself; the run reports every failure
        # as one paragraph, so its log would only garble the progress bar.
        pm_log = logging.getLogger("papermill")
        level, pm_log.level = pm_log.level, logging.CRITICAL
        try:
            published = _execute(all_jobs, editions, tables, jobs, plan_hash, git, synthetic,
                                 data_dir, progress, _KernelPool() if reuse_kernels else None)
        finally:
            pm_log.setLevel(level)
    finally:
        for ed in editions:
            shutil.rmtree(ed.tmp, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
    return published


def parse_years(years: str) -> list[str] | str:
    """'all' -> 'all'; '2023-24' or '2023-24,2024-25' -> the list (checked, sorted, unique)."""
    text = (years or "").strip()
    if text == "all":
        return "all"
    out = []
    for part in text.split(","):
        part = part.strip()
        try:
            contract.parse_school_year(part)
        except ValueError:
            raise PlanMetricsError(f"--years {years!r}: {part!r} is not a school year", "--years",
                                   "write school years as YYYY-YY of consecutive years, e.g. "
                                   "--years 2023-24, --years 2022-23,2023-24 or --years all") from None
        out.append(part)
    return sorted(set(out))


def domains_of(plan) -> list[str]:
    """The data domains (compute notebooks) that compute at least one of the plan's measures.

    A domain without measures in the plan would only save an empty table; the runner skips it and
    the manifest records which notebooks ran.
    """
    used = {engine.domain_of(m) for m in plan.measures()}
    return [d for d in engine.DOMAINS if d in used]


def _validated(loading, data_dir: Path):
    """Load and validate every table once; print a summary of the problems before raising."""
    try:
        tables = loading.load_data(data_dir)
    except PlanMetricsError as e:
        errors = [p for p in e.problems if getattr(p, "severity", "error") == "error"]
        if errors:
            # a summary entry stands for `count` lines with the same fault
            total = sum(getattr(p, "count", 1) or 1 for p in errors)
            print(f"Validation of {data_dir} found {total} problem(s); nothing was "
                  f"computed or published:", file=sys.stderr)
            for p in errors[:20]:
                print(f"  - {p}", file=sys.stderr)
            if len(errors) > 20:
                print(f"  ... and {len(errors) - 20} more kinds of fault (plan-metrics validate --data "
                      f"{data_dir} lists them all)", file=sys.stderr)
        raise
    warnings = getattr(tables, "warnings", None) or []
    if warnings:
        print(f"Note: {len(warnings)} data warning(s) (rows that cannot be broken down by student "
              f"group); see plan-metrics validate --data {data_dir}", file=sys.stderr)
    return tables


def _execute(all_jobs, editions, tables, jobs, plan_hash, git, synthetic, data_dir,
             progress, kernels: "_KernelPool | None") -> list[Path]:
    """Run the notebooks (up to ``jobs`` at once), publishing each edition when its notebooks are
    done. On the first failure no new notebook starts; editions already complete are published."""
    from tqdm.auto import tqdm

    published: list[Path] = []
    failure: PlanMetricsError | None = None
    bar = tqdm(total=len(all_jobs), unit="notebook", desc="plan-metrics run", disable=not progress,
               file=sys.stderr)
    for ed in editions:
        if ed.jobs_left == 0:  # a plan without measures: an empty edition, no notebook
            published.append(_publish(ed, tables, plan_hash, git, synthetic, data_dir))
    try:
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="papermill") as pool:
            gate = _MemoryGate(MEMORY_BUDGET)
            pending: dict[Future, _Job] = {pool.submit(_run_job, j, kernels, gate): j
                                           for j in all_jobs}
            try:
                while pending:
                    done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                    for fut in done:
                        job = pending.pop(fut)
                        if fut.cancelled():
                            continue
                        bar.update(1)
                        try:
                            job.edition.notebooks.append(fut.result())
                        except PlanMetricsError as e:
                            if failure is None:
                                failure = e
                                for f in pending:
                                    f.cancel()
                            continue
                        ed = job.edition
                        ed.jobs_left -= 1
                        if ed.jobs_left == 0 and failure is None:
                            if not pending and kernels is not None:
                                kernels.close()  # no notebook left: give the memory back
                            bar.set_postfix_str(f"publishing {ed.plan.id} {ed.year}")
                            published.append(_publish(ed, tables, plan_hash, git, synthetic,
                                                      data_dir))
            except BaseException:
                for f in pending:
                    f.cancel()
                raise
            finally:
                bar.close()
    finally:
        if kernels is not None:
            kernels.close()
    if failure is not None:
        if published:
            failure = PlanMetricsError(
                failure.what + f". Editions published before the failure: "
                f"{', '.join(str(p) for p in published)}", failure.where, failure.fix)
        raise failure
    return published


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


def _kernel_start_failure(e: Exception) -> bool:
    """True for the errors of a kernel that failed to start or connect (worth a retry), False
    for problems of the notebook itself (bad JSON, a missing parameter...)."""
    from papermill.exceptions import PapermillException
    from zmq import ZMQError

    if isinstance(e, PapermillException):
        return False
    return isinstance(e, (RuntimeError, TimeoutError, ConnectionError, ZMQError))


_KM_CLASS = None
_ENGINE = None
_LOCK = threading.Lock()


def _quiet_kernel_manager():
    """A kernel manager on IPC sockets (no TCP port races) whose kernel's stderr is discarded
    (ipykernel's start-up warnings would otherwise garble the progress bar)."""
    global _KM_CLASS
    with _LOCK:
        if _KM_CLASS is None:
            import subprocess
            import uuid

            from jupyter_client.manager import AsyncKernelManager
            ipc_dir = tempfile.mkdtemp(prefix="plan-metrics-ipc-")

            class QuietKernelManager(AsyncKernelManager):
                def __init__(self, **kw):
                    super().__init__(**kw)
                    self.transport = "ipc"
                    self.ip = os.path.join(ipc_dir, uuid.uuid4().hex[:12])

                async def start_kernel(self, **kw):
                    kw.setdefault("stderr", subprocess.DEVNULL)
                    return await super().start_kernel(**kw)

            _KM_CLASS = QuietKernelManager
    return _KM_CLASS


#: Run (silently) in a reused kernel after each notebook: an empty namespace (%reset also
#: garbage-collects), memory back to the system, the execution counter at 1.
_RESET = ("get_ipython().run_line_magic('reset', '-f')\n"
          "from plan_metrics.runner import release_memory as _r; _r(collect=False); del _r\n"
          "get_ipython().execution_count = 1\n")


def _pooled_engine() -> str:
    """Register (once) the papermill engine that runs a notebook on a given, running kernel.

    papermill's own engine (nbclient) starts a kernel for every notebook and shuts it down after;
    starting a kernel and importing pandas and the library costs more than most notebooks' work.
    This engine takes the kernel manager ``km`` of a warm kernel, empties its namespace and resets
    its execution counter, runs the notebook exactly as papermill does, and leaves the kernel up.
    """
    global _ENGINE
    with _LOCK:
        if _ENGINE is None:
            from papermill.clientwrap import PapermillNotebookClient
            from papermill.engines import NBClientEngine, papermill_engines
            from papermill.log import logger
            from papermill.utils import merge_kwargs, remove_args

            class ResettingClient(PapermillNotebookClient):
                def papermill_execute_cells(self):
                    super().papermill_execute_cells()
                    # Empty the namespace, free the notebook's tables while the kernel waits,
                    # and number the next notebook's cells from 1 again.
                    self.wait_for_reply(self.kc.execute(_RESET, silent=True, store_history=False))

            class PooledEngine(NBClientEngine):
                @classmethod
                def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False,
                                             stdout_file=None, stderr_file=None,
                                             start_timeout=60, execution_timeout=None, **kwargs):
                    kernel = kwargs.pop("kernel")
                    kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
                    final = merge_kwargs(kwargs, timeout=execution_timeout,
                                         startup_timeout=start_timeout, kernel_name=kernel_name,
                                         log=logger, log_output=log_output,
                                         stdout_file=stdout_file, stderr_file=stderr_file)
                    client = ResettingClient(nb_man, km=kernel.km, **final)
                    # The client (its zmq channels) is kept too: connecting a new one costs more
                    # than a small notebook's whole run (jupyter_client waits for the channels).
                    client.kc = kernel.kc
                    try:
                        return client.execute()
                    finally:
                        kernel.kc = client.kc

            papermill_engines.register("plan-metrics-pooled", PooledEngine)
            _ENGINE = "plan-metrics-pooled"
    return _ENGINE


@dataclass
class _Kernel:
    """A pooled kernel: its manager and, once connected, its client."""
    km: Any
    kc: Any = None


class _KernelPool:
    """One warm kernel per worker thread, reused by the notebooks that thread runs.

    Each notebook still runs top to bottom in a kernel whose namespace was emptied; what carries
    over is only the imported modules (pandas, plan_metrics), which is the point. A kernel that
    saw any error is shut down and replaced.
    """

    def __init__(self):
        self._local = threading.local()
        self._all: list[_Kernel] = []
        self._lock = threading.Lock()
        self.closed = False

    def get(self) -> _Kernel:
        if self.closed:
            raise KeyboardInterrupt
        kernel = getattr(self._local, "kernel", None)
        if kernel is not None and not _sync(kernel.km.is_alive)():
            self.discard()
            kernel = None
        if kernel is None:
            kernel = _Kernel(_quiet_kernel_manager()(kernel_name="python3"))
            self._local.kernel = kernel
            with self._lock:
                if self.closed:
                    raise KeyboardInterrupt
                self._all.append(kernel)
        return kernel

    #: A kernel that still holds more than this after its reset is replaced by a fresh one
    #: (a large district's surveys leave some hundred MB behind in the allocator).
    RECYCLE_BYTES = 300 << 20

    def recycle_if_large(self) -> None:
        """Shut this thread's kernel down if it keeps much memory after its last notebook."""
        kernel = getattr(self._local, "kernel", None)
        if kernel is None:
            return
        try:
            import psutil
            pid = kernel.km.provisioner.process.pid
            large = psutil.Process(pid).memory_full_info().uss > self.RECYCLE_BYTES
        except Exception:  # noqa: BLE001 - no psutil, no process: keep the kernel
            return
        if large:
            self.discard()

    def discard(self) -> None:
        """Shut this thread's kernel down (the next get() starts a new one)."""
        kernel = getattr(self._local, "kernel", None)
        self._local.kernel = None
        if kernel is not None:
            _shutdown(kernel)

    def close(self) -> None:
        """Shut every kernel down (also those running a notebook: used to abort a run)."""
        with self._lock:
            self.closed = True
            kernels, self._all = self._all, []
        for kernel in kernels:
            _shutdown(kernel)


def release_memory(collect: bool = True) -> None:
    """Give freed memory back to the operating system: garbage-collect (unless ``collect`` is
    False), empty pyarrow's pool (pandas' strings live there) and trim the C heap (Linux)."""
    import ctypes
    import gc

    if collect:
        gc.collect()
    try:
        import pyarrow as pa
        pa.default_memory_pool().release_unused()
    except Exception:  # noqa: BLE001 - an older pyarrow
        pass
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc


def _sync(coro_fn):
    from jupyter_core.utils import run_sync
    return run_sync(coro_fn)


def _shutdown(kernel: _Kernel) -> None:
    try:
        if kernel.kc is not None:
            kernel.kc.stop_channels()
            kernel.kc = None
    except Exception:  # noqa: BLE001 - closing sockets of a dead kernel
        pass
    try:
        if kernel.km.has_kernel:
            _sync(kernel.km.shutdown_kernel)(now=True)
    except Exception:  # noqa: BLE001 - already gone
        pass


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


def _publish(ed: _Edition, tables, plan_hash, git, synthetic, data_dir) -> Path:
    """Combine, check and write one edition into its temporary folder, then move it into place."""
    from .editions import write_edition
    from .results import validate_results, validate_status

    parts = [pd.read_parquet(ed.rows_dir / f"{d}.parquet") for d in ed.domains]
    order = {m.id: i for i, m in enumerate(ed.plan.measures())}
    results = pd.concat(parts, ignore_index=True) if parts else _empty_rows()
    results = results.iloc[results["measure_id"].map(order).argsort(kind="stable")]
    options = options_of(ed.params)
    results = validate_results(results, options.min_n)
    status = validate_status(_status(ed, tables, results, options))
    ed.notebooks.sort(key=lambda r: engine.DOMAINS.index(r["domain"]))
    man = manifest_mod.build(
        plan_id=ed.plan.id, plan_file=str(ed.plan_file), plan_hash=plan_hash(ed.plan_file),
        school_year=ed.year, parameters=ed.params, parameter_files=ed.param_files,
        data_dir=str(data_dir), input_hashes=dict(getattr(tables, "hashes", {}) or {}),
        row_counts=dict(getattr(tables, "row_counts", {}) or {}), notebooks=ed.notebooks,
        started=ed.started, ended=manifest_mod.now(), synthetic=synthetic, git=git,
        previous=manifest_mod.read(ed.target / "manifest.json"))
    man["notebooks_skipped"] = [d for d in engine.DOMAINS if d not in ed.domains]  # no measures
    # the public list of schools, so an edition names its buildings wherever it is copied
    bld = tables.get("buildings")
    man["buildings"] = ({} if bld is None else
                        dict(zip(bld["building_id"].astype(str), bld["name"].astype(str))))
    write_edition(ed.tmp, results, status, man)
    replace_dir(ed.tmp, ed.target)
    failed = ed.target.parent / ".failed"
    shutil.rmtree(failed / ed.year, ignore_errors=True)  # an old failure of this year is moot
    try:
        failed.rmdir()
    except OSError:
        pass  # absent, or other years' failures remain
    return ed.target


def _status(ed: _Edition, tables, results: pd.DataFrame, options: Options) -> pd.DataFrame:
    """engine.compute_status of an edition, one domain's measures at a time: a large district's
    snapshot then holds only one domain's tables in memory (the status of a measure depends on
    that measure alone, so the rows are those of a single call)."""
    from .results import empty_status

    parts = []
    for d in ed.domains:
        ids = [m.id for m in ed.plan.measures() if engine.domain_of(m) == d]
        mine = results[results["measure_id"].isin(ids)]
        if len(mine):
            parts.append(engine.compute_status(ed.plan, tables, ed.year, options, results=mine))
        if isinstance(tables, SnapshotTables) and tables.large:
            tables.evict()
    if not parts:
        return empty_status()
    status = pd.concat(parts, ignore_index=True)
    order = {m.id: i for i, m in enumerate(ed.plan.measures())}
    return status.iloc[status["measure_id"].map(order).argsort(kind="stable")]


def _empty_rows() -> pd.DataFrame:
    from .results import empty_results
    return empty_results()


def replace_dir(new: Path, target: Path) -> None:
    """Move folder ``new`` to ``target`` atomically enough: the old target is first renamed to a
    trash name (one os.replace), the new one renamed into place (another), the trash deleted.
    An interrupt (Ctrl-C) arriving during the two renames takes effect after them."""
    trash = None
    with _interrupts_deferred():
        if target.exists():
            trash = target.parent / f".{target.name}.trash-{os.getpid()}-{random.randrange(16**6):06x}"
            os.replace(target, trash)
        try:
            os.replace(new, target)
        except BaseException:
            if trash is not None:
                os.replace(trash, target)
            raise
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)


class _interrupts_deferred:
    """Hold SIGINT/SIGTERM during a critical section (main thread only) and re-deliver after."""

    def __enter__(self):
        self.caught, self.saved = [], {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.saved[sig] = signal.signal(sig, lambda s, f: self.caught.append(s))
        return self

    def __exit__(self, *exc):
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)
        if self.caught:
            raise KeyboardInterrupt
        return False


_STALE = re.compile(r"^\.(?:run|.+\.tmp|.+\.trash)-(\d+)-")


def _sweep_stale(reports: Path) -> None:
    """Delete temporary folders left by runs that were killed (their process no longer exists)."""
    candidates = [*reports.glob(".run-*"), *reports.glob("*/.*.tmp-*"), *reports.glob("*/.*.trash-*")]
    for path in candidates:
        m = _STALE.match(path.name)
        if m and not _alive(int(m.group(1))):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ==== the snapshot: validated tables handed to the notebooks =====================================

def write_snapshot(tables, folder: Path, data_dir: Path) -> Path:
    """Write the validated tables as parquet files plus snapshot.json (hashes, row counts, years)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    info = {"data_dir": str(data_dir), "tables": sorted(tables.keys()),
            "memory": {name: int(df.memory_usage(deep=True).sum()) for name, df in tables.items()},
            "hashes": dict(getattr(tables, "hashes", {}) or {}),
            "row_counts": dict(getattr(tables, "row_counts", {}) or {}),
            "years": sorted(getattr(tables, "years", []) or [])}
    (folder / SNAPSHOT_INFO).write_text(json.dumps(info, indent=1, default=str))
    return folder


class SnapshotTables(Mapping):
    """The validated tables of a snapshot, each read from parquet the first time a kind asks for
    it (so a notebook reads only the tables its measures use). Same interface as loading.Tables:
    a mapping of table name -> DataFrame with ``hashes``, ``row_counts`` and ``years``."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        info = json.loads((self.folder / SNAPSHOT_INFO).read_text())
        self._names = list(info["tables"])
        self.hashes, self.row_counts = info["hashes"], info["row_counts"]
        self.years = info["years"]
        self.data_dir = info["data_dir"]
        self.memory: dict[str, int] = info.get("memory", {})
        self._cache: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._names:
            raise KeyError(name)
        if name not in self._cache:
            self._cache[name] = pd.read_parquet(self.folder / f"{name}.parquet")
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    @property
    def read(self) -> list[str]:
        """The tables read so far."""
        return list(self._cache)

    #: Above this many rows in all, the runner's status step drops tables after each domain.
    LARGE_ROWS = 2_000_000

    @property
    def large(self) -> bool:
        return sum(self.row_counts.values()) > self.LARGE_ROWS

    def evict(self) -> None:
        """Forget the tables read so far (they are read again when asked for) and free memory."""
        self._cache.clear()
        release_memory()


# ==== the notebooks' side ========================================================================

def resolve(path: str | Path) -> Path:
    """A notebook parameter path: absolute as given; relative ones are read from the notebooks
    folder (where the notebook lives), whatever the kernel's working directory."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (NOTEBOOKS_DIR / p).resolve()


def tables_needed(measures) -> list[str]:
    """The tables to load from CSV for some measures: their sources plus what every kind joins
    (enrollment for student groups, buildings, survey_items for survey answers)."""
    need = {"buildings", "enrollment"} | {m.source for m in measures}
    if any(m.kind == "percent_favorable" for m in measures):
        need.add("survey_items")
    return sorted(need & set(contract.TABLES))


@dataclass
class NotebookContext:
    """What a compute notebook works with: its domain's measures, tables and options."""
    domain: str
    plan: Any
    school_year: str
    options: Options
    tables: Mapping
    output_dir: Path
    measures: list

    def compute(self) -> pd.DataFrame:
        """The domain's rows for the year: engine.compute_measures for the domain's measures."""
        if not self.measures:
            from .results import empty_results
            return empty_results()
        return engine.compute_measures(self.plan, self.tables, self.school_year, self.options,
                                       measure_ids=[m.id for m in self.measures])

    def district_table(self, results: pd.DataFrame) -> pd.DataFrame:
        """District, all-students rows: measure, title, the displayed value, n, note."""
        titles = {m.id: m.title for m in self.measures}
        d = results[(results["building_id"] == "ALL") & (results["group_by"] == "all")]
        out = pd.DataFrame({"measure": d["measure_id"], "title": d["measure_id"].map(titles),
                            "value": d["display"], "n": d["n"], "note": d["note"].fillna("")})
        return out.set_index("measure")

    def group_table(self, results: pd.DataFrame) -> pd.DataFrame:
        """District rows of each student group: measure, group_by, group, displayed value, n."""
        d = results[(results["building_id"] == "ALL") & (results["group_by"] != "all")]
        return pd.DataFrame({"measure": d["measure_id"], "group_by": d["group_by"],
                             "group": d["group"], "value": d["display"], "n": d["n"],
                             "note": d["note"].fillna("")}).set_index(
                                 ["measure", "group_by", "group"])

    def building_table(self, results: pd.DataFrame) -> pd.DataFrame:
        """All-students values per building (columns) and measure (rows), as displayed."""
        d = results[results["group_by"] == "all"]
        if d.empty:
            return pd.DataFrame()
        return d.pivot_table(index="measure_id", columns="building_id", values="display",
                             aggfunc="first", sort=False)

    def save(self, results: pd.DataFrame) -> Path:
        """Write the domain's rows to ``output_dir/<domain>.parquet`` (the runner combines them)."""
        from .results import RESULTS_COLUMNS, conform
        self.output_dir.mkdir(parents=True, exist_ok=True)
        path = self.output_dir / f"{self.domain}.parquet"
        conform(results, RESULTS_COLUMNS).to_parquet(path, index=False)
        return path

    def inputs(self) -> pd.DataFrame:
        """The tables read so far (the computation's inputs): rows and the source file's hash."""
        hashes = getattr(self.tables, "hashes", {}) or {}
        rows = [{"table": t, "rows": len(self.tables[t]),
                 "sha256": str(hashes.get(f"{t}.csv") or hashes.get(t) or "")[:12]}
                for t in self._loaded()]
        return pd.DataFrame(rows, columns=["table", "rows", "sha256"]).set_index("table")

    def _repr_html_(self) -> str:
        rows = "".join(f"<li><code>{m.id}</code> {m.title} ({m.kind}, {m.source})</li>"
                       for m in self.measures) or "<li>none: this notebook saves an empty table</li>"
        read = ", ".join(f"{t} ({len(self.tables[t]):,} rows)" for t in self._loaded())
        return (f"<p><b>{self.plan.title}</b>, school year <b>{self.school_year}</b>, "
                f"domain <b>{self.domain}</b>.<br>Options: {self.options.to_dict()}<br>"
                f"Tables loaded: {read or 'none yet'}</p><p>Measures:</p><ul>{rows}</ul>")

    def __repr__(self) -> str:
        ids = ", ".join(m.id for m in self.measures) or "none"
        return (f"{self.domain} of plan {self.plan.id}, {self.school_year}: measures {ids}; "
                f"options {self.options.to_dict()}")

    def _loaded(self) -> list[str]:
        return self.tables.read if isinstance(self.tables, SnapshotTables) else list(self.tables)


def notebook_context(domain: str, *, plan: str, school_year: str, data_dir: str,
                     output_dir: str, snapshot_dir: str | None = None, **options) -> NotebookContext:
    """Everything a compute notebook needs, from its parameters.

    Reads the plan, picks the measures of ``domain`` and the tables they use: from the runner's
    parquet snapshot of the validated tables when ``snapshot_dir`` is given (fast), otherwise from
    ``data_dir``'s CSV files, validated by the loader. ``options`` are the notebook's run options
    (min_n, cell_size, n_size and its domain's knobs); the others keep their defaults.
    """
    from .plan import load_plan

    if domain not in engine.DOMAINS:
        raise PlanMetricsError(f"Unknown domain {domain!r}", "notebook_context",
                               f"use one of {', '.join(engine.DOMAINS)}")
    try:
        contract.parse_school_year(school_year)
    except ValueError as e:
        raise PlanMetricsError(str(e), "parameter school_year", "write it as YYYY-YY") from None
    unknown = set(options) - set(OPTION_KEYS)
    if unknown:
        raise PlanMetricsError(f"Unknown option(s) {', '.join(sorted(unknown))}",
                               "notebook_context", f"use only {', '.join(OPTION_KEYS)}")
    plan_obj = load_plan(resolve(plan) if str(plan).endswith((".yaml", ".yml")) else plan)
    opts = Options.from_params(options)
    measures = [m for m in plan_obj.measures() if engine.domain_of(m) == domain]
    if snapshot_dir:
        tables: Mapping = SnapshotTables(resolve(snapshot_dir))
    elif measures:
        from . import loading
        tables = loading.load_data(resolve(data_dir), tables=tables_needed(measures))
    else:
        tables = {}
    return NotebookContext(domain, plan_obj, school_year, opts, tables, resolve(output_dir),
                           measures)


# ==== the compute notebooks themselves ===========================================================

_DOMAIN_TEXT = {
    "surveys": "percent favorable on the student, staff and family surveys (survey_responses, "
               "survey_items)",
    "discipline": "discipline rates, risk ratios and incidents per 100 students (discipline)",
    "staffing": "staff diversity and retention (staff)",
    "achievement": "proficiency, the MAP Performance Index and proficiency gaps (assessments)",
    "attendance": "attendance and chronic absence (enrollment)",
    "graduation": "the four-year adjusted cohort graduation rate (graduation_cohort)",
    "programs": "program participation risk ratios and service hours (programs, service_hours)",
    "rubrics_and_audits": "progression rubrics, educator evaluations and the curriculum audit",
    "action_steps": "completion of the plan's action steps (action_steps)",
}
_PARAM_COMMENTS = {
    "school_year": "the school year, YYYY-YY",
    "plan": "a plan id (data/plans/<id>.yaml) or a plan YAML",
    "data_dir": "CSV files (relative: from notebooks/)",
    "output_dir": "where the rows are saved",
    "snapshot_dir": "the run's parquet tables; None: read data_dir",
    "min_n": "suppress cells of fewer people",
    "cell_size": "risk ratio: min. students with an event",
    "n_size": "risk ratio: min. students enrolled",
    "chronic_threshold": "chronically absent: this share of days or more",
}
_DEMO_DEFAULTS = {"school_year": "2024-25", "plan": "clayton", "data_dir": "../data/demo",
                  "output_dir": "../reports/.scratch/clayton/2024-25", "snapshot_dir": None,
                  **{k: getattr(Options, k) for k in OPTION_KEYS}}


def compute_notebook(domain: str):
    """The compute notebook of a domain, without outputs (an nbformat v4 NotebookNode)."""
    import nbformat.v4 as v4

    names = [*COMMON_PARAMETERS, *DOMAIN_KNOBS[domain]]
    width = max(len(f"{n} = {_DEMO_DEFAULTS[n]!r}") for n in names) + 2
    param_lines = ["# Parameters: papermill replaces these values; the defaults run on the demo "
                   "district."]
    for n in names:
        assign = f"{n} = {_DEMO_DEFAULTS[n]!r}".replace("'", '"')
        param_lines.append(f"{assign:<{width}}# {_PARAM_COMMENTS[n]}")
    params = v4.new_code_cell("\n".join(param_lines))
    params.metadata["tags"] = ["parameters"]
    knobs = ", ".join(f"{n}={n}" for n in ("min_n", "cell_size", "n_size", *DOMAIN_KNOBS[domain]))
    title = domain.replace("_", " ").capitalize()
    cells = [
        v4.new_markdown_cell(
            f"# {title}: compute notebook\n\n"
            f"Computes, for one school year, the plan's measures of this data domain: "
            f"{_DOMAIN_TEXT[domain]}. `plan-metrics run` executes it with papermill for each plan "
            f"and year and publishes the rows in the year's edition; the executed copy is the audit "
            f"record. Every formula lives in the library (`plan_metrics.kinds`, DESIGN.md section 6): "
            f"this notebook only calls it and shows the result. A plan with no measure in this "
            f"domain gets an empty table."),
        params,
        v4.new_markdown_cell("## Plan, measures and options"),
        v4.new_code_cell(
            "from plan_metrics.runner import notebook_context\n\n"
            f"ctx = notebook_context(\n    \"{domain}\", plan=plan, school_year=school_year, "
            f"data_dir=data_dir,\n    output_dir=output_dir, snapshot_dir=snapshot_dir,\n"
            f"    {knobs})\nctx"),
        v4.new_markdown_cell(
            "## Compute\n\nEvery measure for the district (`ALL`) and each building, for all "
            "students and each student group, with privacy suppression applied (cells under "
            "`min_n` people are blank) and the text the dashboards display."),
        v4.new_code_cell("results = ctx.compute()\nctx.inputs()"),
        v4.new_markdown_cell("## District, all students"),
        v4.new_code_cell("ctx.district_table(results)"),
        v4.new_markdown_cell("## District, by student group\n\nRisk ratios and gaps are "
                             "reported on these rows (the all-students row has none)."),
        v4.new_code_cell("ctx.group_table(results)"),
        v4.new_markdown_cell("## Each building, all students"),
        v4.new_code_cell("ctx.building_table(results)"),
        v4.new_markdown_cell("## Save the rows for the edition"),
        v4.new_code_cell("ctx.save(results)"),
    ]
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{domain.replace('_', '-')}-{i}"  # stable ids: regenerating changes nothing
    return nb


def write_compute_notebooks(folder: Path | str = NOTEBOOKS_DIR) -> list[Path]:
    """(Re)write every domain's compute notebook into ``folder``; returns their paths.

    ``python -c "from plan_metrics.runner import write_compute_notebooks as w; w()"`` regenerates
    the committed notebooks after a change here.
    """
    import nbformat

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for d in engine.DOMAINS:
        path = folder / f"{d}.ipynb"
        nbformat.write(compute_notebook(d), str(path))
        out.append(path)
    return out
