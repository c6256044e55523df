"""Benchmark of `plan-metrics run` (DESIGN.md section 12, runs): prints figures, asserts nothing.

Targets: one year of every compute notebook on the small district <= 15 s on 2 cores, all six years
<= 60 s; the large district, one year <= 60 s with peak memory <= 2 GB. Also prints the overhead of
papermill (a kernel per notebook, the executed notebooks, the edition) against the engine called
directly in one process for the same plan and year.

Each measured command runs in its own process; peak memory is the largest sum of the proportional
set size (PSS: resident memory, shared pages split between the processes sharing them) of that
process and all its children (the kernels), sampled every 100 ms. The plain RSS sum (shared
libraries counted once per kernel) is printed too.

    python bench/bench_runs.py [--skip-large] [--jobs N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
YEAR = "2024-25"


def measure(code: str) -> tuple[float, float, float, float]:
    """(wall seconds, CPU seconds, peak PSS MB, peak RSS MB) of ``python -c code`` and its
    children (the kernels). CPU time (user + system of the whole process tree) does not depend on
    what else the machine runs; on an idle 2-core machine the wall time is at least CPU / 2."""
    start = time.perf_counter()
    err = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([PY, "-c", code], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
    ps = psutil.Process(proc.pid)
    peak_pss = peak_rss = 0
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            try:
                procs = [ps, *ps.children(recursive=True)]
                infos = [p.memory_full_info() for p in procs]
                peak_pss = max(peak_pss, sum(i.pss for i in infos))
                peak_rss = max(peak_rss, sum(i.rss for i in infos))
            except psutil.Error:
                pass
            time.sleep(0.1)
    except BaseException:  # interrupted: stop the run and its kernels too
        for p in [*ps.children(recursive=True), ps]:
            try:
                p.kill()
            except psutil.Error:
                pass
        raise
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err.seek(0)
        sys.exit(f"benchmark command failed:\n{code}\n{err.read()[-3000:]}")
    return seconds, usage.ru_utime + usage.ru_stime, peak_pss / 2**20, peak_rss / 2**20


def run_code(plan: str, data: Path, years: str, out: Path, jobs: int, all_domains: bool) -> str:
    return (f"from plan_metrics.runs import run; run(plan={plan!r}, data_dir={str(data)!r}, "
            f"years={years!r}, out={str(out)!r}, jobs={jobs}, progress=False, "
            f"all_domains={all_domains})")


def direct_code(plan: str, data: Path, year: str) -> str:
    return ("from plan_metrics import engine, loading; from plan_metrics.options import Options; "
            f"t = loading.load_data({str(data)!r}); "
            f"r = engine.compute_measures({plan!r}, t, {year!r}, Options()); "
            f"engine.compute_status({plan!r}, t, {year!r}, Options(), results=r)")


def demo_data(folder: Path, size: str) -> Path:
    if not (folder / "enrollment.csv").exists():
        t = time.perf_counter()
        subprocess.run([PY, "-m", "plan_metrics.cli", "demo-data", "--out", str(folder),
                        "--size", size], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        print(f"generated the {size} district in {time.perf_counter() - t:.1f} s ({folder})")
    return folder


def row(label: str, m: tuple[float, float, float, float], target: str = "") -> None:
    seconds, cpu, pss, rss = m
    print(f"  {label:<56} {seconds:6.1f} s  CPU {cpu:6.1f} s  PSS {pss:5.0f} MB "
          f"(RSS {rss:5.0f})  {target}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    args = ap.parse_args()
    from plan_metrics.plan import available_plans, load_plan
    from plan_metrics.runs import domains_of

    tmp = Path(tempfile.mkdtemp(prefix="bench-runs-"))
    small = demo_data(tmp / "small", "small")
    plans = available_plans()
    n_nb = {p: len(domains_of(load_plan(p))) for p in plans}
    print(f"plan-metrics run, {os.cpu_count()} cores, --jobs {args.jobs}, load average "
          f"{os.getloadavg()[0]:.1f} at start; "
          f"notebooks with measures per plan-year: {n_nb}")
    print("small district:")
    for label, plan, years, every in [
            ("clayton, one year, all 9 notebooks", "clayton", YEAR, True),
            (f"clayton, one year, its {n_nb['clayton']} notebooks", "clayton", YEAR, False),
            ("clayton, six years, all 9 notebooks", "clayton", "all", True),
            (f"clayton, six years, its {n_nb['clayton']} notebooks", "clayton", "all", False),
            (f"all {len(plans)} plans, one year", "all", YEAR, False),
            (f"all {len(plans)} plans, six years (make demo)", "all", "all", False)]:
        out = tmp / f"reports-{label.replace(' ', '_').replace(',', '')}"
        target = ("(target <= 15 s)" if years == YEAR and every else
                  "(target <= 60 s)" if every else "")
        row(label, measure(run_code(plan, small, years, out, args.jobs, every)), target)

    direct = measure(direct_code("clayton", small, YEAR))
    papermill = measure(run_code("clayton", small, YEAR, tmp / "reports-ratio", args.jobs, False))
    row("engine in one process: load + clayton one year + status", direct)
    row("papermill run of the same", papermill)
    print(f"  overhead ratio papermill run / in-process engine: {papermill[0] / direct[0]:.2f}x")

    if not args.skip_large:
        large = demo_data(ROOT / "data" / "large", "large")
        print("large district:")
        row("clayton, one year, all 9 notebooks",
            measure(run_code("clayton", large, YEAR, tmp / "reports-large", args.jobs, True)),
            "(target <= 60 s, <= 2048 MB)")
        row("engine in one process: load + clayton one year + status",
            measure(direct_code("clayton", large, YEAR)))
    subprocess.run(["rm", "-rf", str(tmp)])


if __name__ == "__main__":
    main()
