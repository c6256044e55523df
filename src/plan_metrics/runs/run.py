"""`plan-metrics run`: the run of every plan-year's compute notebooks and the publishing of its
editions (see the package docstring)."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import tempfile
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path

import pandas as pd

from .. import contract, engine, manifest as manifest_mod
from ..errors import PlanMetricsError
from ..params import year_params
from ..paths import NOTEBOOKS_DIR, REPORTS_DIR
from . import snapshot_cache
from .context import tables_needed
from .execute import _Job
from .executors import executor_for, rows_written
from .kernels import release_memory
from .notebooks import DOMAIN_KNOBS
from .protection import protect_editions
from .publish import _Edition, _publish, _sweep_stale
from .snapshot import SnapshotTables, write_snapshot


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
                        params_file=args.params, out=args.out, jobs=args.jobs, min_n=args.min_n,
                        dask=getattr(args, "dask", None))
    finally:
        signal.signal(signal.SIGTERM, previous)
    for path in sorted(published):
        print(f"published {path}")
    return 0


def run(*, plan: str, data_dir: str | Path, years: str, params_file: str | Path | None = None,
        out: str | Path | None = None, jobs: int | None = None, min_n: int | None = None,
        notebooks_dir: Path | str = NOTEBOOKS_DIR, params_dir: Path | str | None = None,
        progress: bool = True, all_domains: bool = False,
        reuse_kernels: bool = True, dask: str | None = None) -> list[Path]:
    """Compute and publish the editions of ``plan`` ('all', an id or a YAML path) for ``years``
    ('all', 'YYYY-YY' or a comma list). Returns the published edition folders.

    ``notebooks_dir`` and ``params_dir`` default to the project's; tests point them elsewhere.
    ``all_domains`` runs every compute notebook, also those without measures in the plan (which
    save an empty table); by default they are skipped (see ``domains_of``). ``reuse_kernels``
    runs the notebooks on one warm kernel per worker (namespace emptied between notebooks, see
    _KernelPool); False starts a fresh kernel for every notebook (papermill's default).
    ``dask`` (a scheduler address) sends the notebooks to a Dask distributed cluster instead of
    the local pool (``executors``); data, reports and plan must then be on a path every worker
    sees. Protection and publishing stay here, on the client.
    Raises PlanMetricsError (one paragraph) for every problem a user can cause.
    """
    from .. import loading
    from ..plan import load_plan, available_plans

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
        from ..params import read_params_file
        read_params_file(params_file)

    # The executor first: an unreachable cluster fails before the (slow) data load.
    pool = executor_for(dask, jobs, reuse_kernels)
    try:
        return _run(pool, loading, data_dir, wanted_years, reports, plans, params_file, min_n,
                    pkw, all_domains, notebooks_dir, progress)
    finally:
        pool.close()


def _run(pool, loading, data_dir, wanted_years, reports, plans, params_file, min_n, pkw,
         all_domains, notebooks_dir, progress) -> list[Path]:
    """The run after its arguments were checked: load, snapshot, execute on ``pool``, publish."""
    from ..editions import RESULTS_FILE
    from ..plan import plan_hash, plan_path

    kept, key = snapshot_cache.lookup(data_dir)
    tables = SnapshotTables(kept) if kept is not None else _validated(loading, data_dir)
    _note_warnings(data_dir, tables, kept)
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
    _warn_coverage(plans, tables, run_years)

    reports.mkdir(parents=True, exist_ok=True)
    _sweep_stale(reports)
    scratch = Path(tempfile.mkdtemp(prefix=f".run-{os.getpid()}-", dir=reports))
    editions: list[_Edition] = []
    try:
        snapshot = scratch / "snapshot"
        if kept is not None:   # validated before, unchanged since (snapshot_cache)
            snapshot_cache.link_files(kept, snapshot)
        else:
            write_snapshot(tables, snapshot, data_dir)
            snapshot_cache.store(snapshot, key)
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
            in_folder = {path.parent.name for path in (reports / p.id).glob(f"*/{RESULTS_FILE}")}
            for y in run_years:
                # the earlier years whose rows the status computes (no edition publishes them):
                # the notebooks compute them ahead, in parallel
                status_years = [x for x in data_years if x < y and x not in run_years
                                and x not in in_folder]
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
                                 "status_years": status_years,
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
            pool.check_paths([snapshot, data_dir, notebooks_dir,
                              *{plan_path(ref).resolve() for ref, _ in plans}])
            published = _execute(all_jobs, editions, tables, pool, plan_hash, git, synthetic,
                                 data_dir, progress)
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


def _warn_coverage(plans, tables, years) -> None:
    """Before anything runs: the measures the data cannot compute in full, and why (the lines
    `plan-metrics validate --plan` prints; DESIGN.md section 5)."""
    from ..coverage import YES, format_coverage, plan_coverage
    from ..texts import text
    for _, p in plans:
        rows = plan_coverage(p, tables, years)
        short = [r for r in rows if r.state != YES]
        if short:
            body = format_coverage(p, short).split("\n", 1)[1]
            print(text("coverage.run_heading").format(plan=p.id, count=len(short),
                                                      total=len(rows)) + "\n" + body,
                  file=sys.stderr, end="", flush=True)


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
    return tables


def _note_warnings(data_dir: Path, tables, kept: Path | None) -> None:
    """One line on stderr: the data's warnings, and that an unchanged folder was not validated
    again (``kept``: the snapshot of its earlier validation)."""
    if kept is not None:
        print(f"{data_dir}: unchanged since it passed validation; its validated tables are "
              f"used (PLAN_METRICS_CACHE=off validates every time)", file=sys.stderr)
    count = getattr(tables, "warning_count", None)
    count = len(getattr(tables, "warnings", None) or []) if count is None else count
    if count:
        print(f"Note: {count} data warning(s) (rows that cannot be broken down by student "
              f"group); see plan-metrics validate --data {data_dir}", file=sys.stderr)


def _execute(all_jobs, editions, tables, pool, plan_hash, git, synthetic, data_dir,
             progress) -> list[Path]:
    """Run the notebooks on ``pool`` (executors.LocalPool or DaskPool); when they are done,
    protect the complete editions together (runs.protection) and publish each, here. On the first
    failure no new notebook starts; the editions already complete are protected and published."""
    from tqdm.auto import tqdm

    published: list[Path] = []
    failure: PlanMetricsError | None = None
    bar = tqdm(total=len(all_jobs), unit="notebook", desc="plan-metrics run", disable=not progress,
               file=sys.stderr)
    complete = [ed for ed in editions if ed.jobs_left == 0]  # plans without measures: empty
    pending: dict[Future, _Job] = {pool.submit(j): j for j in all_jobs}
    try:
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in done:
                job = pending.pop(fut)
                if fut.cancelled():
                    continue
                bar.update(1)
                try:
                    record = fut.result()
                    rows = job.edition.rows_dir / f"{job.domain}.parquet"
                    if pool.remote and not rows_written(rows):
                        raise PlanMetricsError(
                            f"The {job.domain} notebook of plan {job.edition.plan.id}, "
                            f"{job.edition.year} ran on a Dask worker, but its rows are not "
                            f"visible here ({rows})", "--dask",
                            "put the reports folder (--out) on a filesystem the workers and "
                            "this machine share, at the same path")
                    job.edition.notebooks.append(record)
                except Exception as e:  # noqa: BLE001 - a lost task is explained, not hidden
                    if not isinstance(e, PlanMetricsError):
                        e = pool.explain(job, e)
                        if e is None:
                            raise
                    if failure is None:
                        failure = e
                        for f in pending:
                            f.cancel()
                    continue
                ed = job.edition
                ed.jobs_left -= 1
                if ed.jobs_left == 0 and failure is None:
                    complete.append(ed)
                    if not pending:
                        pool.idle()  # no notebook left: give the memory back
    except BaseException:
        for f in pending:
            f.cancel()
        raise
    finally:
        bar.close()
        pool.close()  # the kernels' memory back before the protection step
    if complete:
        reports = complete[0].target.parent.parent
        if progress:
            print("protecting the editions together (privacy audit)...", file=sys.stderr)
        protected = protect_editions(complete, tables, reports)
        for ed in complete:
            final, record = protected[ed]
            earlier = _published_years(reports, ed.plan.id)
            earlier.update({o.year: protected[o][0] for o in complete if o.plan.id == ed.plan.id})
            published.append(_publish(ed, tables, plan_hash, git, synthetic, data_dir, final,
                                      record, earlier))
    if failure is not None:
        if published:
            failure = PlanMetricsError(
                failure.what + f". Editions published before the failure: "
                f"{', '.join(str(p) for p in published)}", failure.where, failure.fix)
        failure.published = list(published)  # read by run-many's summary
        raise failure
    return published


def _published_years(reports: Path, plan_id: str) -> dict:
    """{school_year: results} of the plan's editions already in the reports folder."""
    from ..editions import RESULTS_FILE

    out = {}
    for path in sorted((reports / plan_id).glob(f"*/{RESULTS_FILE}")):
        try:
            out[path.parent.name] = pd.read_parquet(path)
        except (OSError, ValueError):
            continue  # unreadable: the status then computes that year itself
    return out
