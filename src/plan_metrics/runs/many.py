"""`plan-metrics run-many --districts FILE [--dask ADDRESS]`: many districts' runs as tasks on one
executor (a state's districts), a failure of one not stopping the others, and a summary table.

The districts file is YAML (a list, or a mapping with a ``districts`` list) or CSV (one row per
district), each district with::

    name: north            # shown in the summary (unique)
    data: north/data       # its data folder (the data contract, DESIGN.md section 5)
    plans: clayton         # a plan id or YAML, a comma list, or all
    years: 2023-24         # a school year, a comma list, or all
    reports: north/reports # its reports folder (one per district)
    params: north/params.yaml   # optional: the --params file of its run
    min_n: 10                   # optional: its --min-n

Relative paths are read from the districts file's folder. Each district is one task: a whole
``run`` (validation, notebooks on a local pool, protection, atomic publishing) where the task
executes. Locally the districts run one after the other, each with every core for its notebooks;
with ``--dask`` each district runs on a worker of the cluster (its notebooks one at a time there),
so a cluster of W worker threads runs W districts at once. Data and reports must then be on a path
every worker sees.
"""

from __future__ import annotations

import csv
import sys
import time
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import PlanMetricsError
from ..texts import fill, text
from .executors import DaskPool, InlineExecutor, in_thread_context

FIELDS = ("name", "data", "plans", "years", "reports", "params", "min_n")
REQUIRED = ("name", "data", "plans", "years", "reports")


@dataclass(frozen=True)
class District:
    """One district of a run-many: its data, plans, years and reports folder."""
    name: str
    data: str
    plans: str
    years: str
    reports: str
    params: str | None = None
    min_n: int | None = None


@dataclass
class Outcome:
    """What one district's task did: the editions it published, its failure, its time."""
    name: str
    published: list[str] = field(default_factory=list)
    failure: str | None = None      # the one-line message
    detail: str | None = None       # the whole paragraph
    seconds: float = 0.0


def main(args) -> int:
    """Entry point of ``plan-metrics run-many``: 0 if every district published, 2 otherwise."""
    districts = read_districts(args.districts)
    outcomes = run_many(districts, dask=getattr(args, "dask", None))
    return 0 if all(o.failure is None for o in outcomes) else 2


def read_districts(path: str | Path) -> list[District]:
    """The districts of a YAML or CSV file, checked (one PlanMetricsError for the first fault)."""
    path = Path(path)
    if not path.is_file():
        raise PlanMetricsError(f"The districts file {str(path)!r} does not exist", "--districts",
                               "give a YAML or CSV file listing each district's name, data, "
                               "plans, years and reports (see the README, 'Many districts')")
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            if isinstance(raw, dict):
                raw = raw.get("districts")
        elif path.suffix.lower() == ".csv":
            with path.open(newline="", encoding="utf-8") as f:
                raw = [{k.strip(): (v or "").strip() for k, v in row.items() if k}
                       for row in csv.DictReader(f)]
        else:
            raise PlanMetricsError(f"The districts file {path.name} is neither YAML nor CSV",
                                   str(path), "name it .yaml, .yml or .csv")
    except (yaml.YAMLError, csv.Error, UnicodeDecodeError) as e:
        raise PlanMetricsError(f"The districts file cannot be read ({type(e).__name__}: "
                               f"{str(e).splitlines()[0] if str(e) else ''})", str(path),
                               "correct its syntax") from None
    if not isinstance(raw, list) or not raw:
        raise PlanMetricsError("The districts file lists no district", str(path),
                               "give a list of districts (YAML: a list or 'districts:' with a "
                               "list; CSV: a header row name,data,plans,years,reports and a row "
                               "per district)")
    out, names, folders = [], set(), set()
    for i, entry in enumerate(raw, start=1):
        where = f"{path}, district {i}"
        if not isinstance(entry, dict):
            raise PlanMetricsError("A district is not a mapping of fields", where,
                                   f"give each district {', '.join(REQUIRED)}")
        unknown = sorted(set(entry) - set(FIELDS))
        if unknown:
            raise PlanMetricsError(f"Unknown field(s) {', '.join(map(str, unknown))}", where,
                                   f"use only {', '.join(FIELDS)}")
        missing = [k for k in REQUIRED if entry.get(k) in (None, "")]
        if missing:
            raise PlanMetricsError(f"The district lacks {', '.join(missing)}", where,
                                   f"give each district {', '.join(REQUIRED)}")
        name = str(entry["name"])
        if name in names:
            raise PlanMetricsError(f"Two districts are named {name!r}", where,
                                   "give each district a name of its own")
        names.add(name)
        plans, years = (_listed(entry[k]) for k in ("plans", "years"))
        reports = _path(path, entry["reports"])
        if reports in folders:
            raise PlanMetricsError(f"District {name!r} shares its reports folder {reports} with "
                                   f"another district", where,
                                   "give each district a reports folder of its own")
        folders.add(reports)
        min_n = entry.get("min_n")
        if min_n in (None, ""):
            min_n = None
        else:
            try:
                min_n = int(min_n)
            except (TypeError, ValueError):
                raise PlanMetricsError(f"min_n {min_n!r} of district {name!r} is not a whole "
                                       f"number", where, "give a whole number such as 10") from None
        params = entry.get("params")
        out.append(District(name, _path(path, entry["data"]), plans, years, reports,
                            _path(path, params) if params not in (None, "") else None, min_n))
    return out


def run_many(districts: list[District], dask: str | None = None, jobs: int | None = None,
             out=None) -> list[Outcome]:
    """Run every district as a task (locally one after the other, or on the Dask cluster at
    ``dask``), print a line per finished district and the summary table; return the outcomes
    in the districts' order. ``jobs``: the notebooks of a district at a time (default: every core
    locally, 1 on a Dask worker)."""
    out = out or sys.stdout
    pool = DaskPool(dask) if dask else None
    try:
        if pool is not None:
            pool.check_paths([])  # the workers answer and import plan_metrics
            executor, per_task = pool.executor, jobs or 1
        else:
            executor, per_task = InlineExecutor(), jobs
        print(fill("run_many.started", count=len(districts),
                   where=dask or text("run_many.local")), file=out, flush=True)
        done: dict[str, Outcome] = {}
        for district, future in _submitted(executor, districts, per_task):
            started = time.perf_counter()
            try:
                outcome = future.result()
            except Exception as e:  # noqa: BLE001 - the cluster lost the task: that district fails
                outcome = Outcome(district.name, failure=_one_line(f"{type(e).__name__}: {e}"),
                                  detail=f"{type(e).__name__}: {e}",
                                  seconds=time.perf_counter() - started)
            done[district.name] = outcome
            if outcome.failure is None:
                print(fill("run_many.done", name=outcome.name, published=len(outcome.published),
                           seconds=outcome.seconds), file=out, flush=True)
            else:
                print(fill("run_many.failed", name=outcome.name, seconds=outcome.seconds,
                           message=outcome.failure), file=out, flush=True)
    finally:
        if pool is not None:
            pool.close()
    outcomes = [done[d.name] for d in districts]
    print(summary(outcomes), file=out, flush=True)
    return outcomes


def _submitted(executor, districts, jobs):
    """(district, future) as each finishes: inline, as each runs; on a cluster, as completed."""
    if isinstance(executor, InlineExecutor):
        for d in districts:
            yield d, executor.submit(district_task, d, jobs)
        return
    futures = {executor.submit(district_task, d, jobs): d for d in districts}
    for future in as_completed(futures):
        yield futures[future], future


def district_task(district: District, jobs: int | None = None) -> Outcome:
    """One district's whole run where this task executes; never raises for a district's fault."""
    return in_thread_context(_district_run, district, jobs)


def _district_run(district: District, jobs: int | None) -> Outcome:
    from .run import run

    started = time.perf_counter()
    try:
        published = run(plan=district.plans, data_dir=district.data, years=district.years,
                        params_file=district.params, out=district.reports, jobs=jobs,
                        min_n=district.min_n, progress=False)
        return Outcome(district.name, [str(p) for p in published],
                       seconds=time.perf_counter() - started)
    except PlanMetricsError as e:
        return Outcome(district.name, [str(p) for p in getattr(e, "published", [])],
                       _one_line(e.what), str(e), time.perf_counter() - started)
    except Exception as e:  # noqa: BLE001 - one district's bug must not stop the others
        return Outcome(district.name, failure=_one_line(f"{type(e).__name__}: {e}"),
                       detail=f"{type(e).__name__}: {e}", seconds=time.perf_counter() - started)


def summary(outcomes: list[Outcome]) -> str:
    """The table: district, editions published, failure (one line), time; then the failures in
    full."""
    head = text("run_many.columns")
    rows = [[o.name, str(len(o.published)), o.failure or text("run_many.no_failure"),
             fill("run_many.seconds", seconds=o.seconds)] for o in outcomes]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    line = lambda r: "  ".join(c.ljust(w) if i < 3 else c.rjust(w)  # noqa: E731
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip()
    lines = ["", line(head), line(["-" * w for w in widths]), *map(line, rows), "",
             fill("run_many.summary", ok=sum(o.failure is None for o in outcomes),
                  count=len(outcomes))]
    failed = [o for o in outcomes if o.failure is not None]
    if failed:
        lines += ["", text("run_many.details")] + [f"- {o.name}: {o.detail}" for o in failed]
    return "\n".join(lines)


def _listed(value) -> str:
    """A plans/years field as the run's comma text: 'all', 'a,b' from a YAML list or 'a;b'."""
    if isinstance(value, (list, tuple)):
        return ",".join(str(v).strip() for v in value)
    return str(value).replace(";", ",").strip()


def _path(base: Path, value) -> str:
    p = Path(str(value)).expanduser()
    return str(p if p.is_absolute() else (base.parent / p).resolve())


def _one_line(message: str, limit: int = 90) -> str:
    one = " ".join(str(message).split())
    return one if len(one) <= limit else one[:limit - 1].rstrip() + "…"
