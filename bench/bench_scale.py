"""Benchmark of scale (DESIGN.md section 12, scale): prints figures, asserts nothing.

For each district size (students): the time and peak memory of `plan-metrics demo-data --size N`,
`plan-metrics validate --data DIR` and one year of `plan-metrics run --plan clayton`, each in its
own process. Peak memory is that of the process tree (the command and its kernels), sampled every
100 ms: PSS (shared pages split between the processes sharing them) and the plain RSS sum.
The ratios of time and memory between consecutive sizes show how the cost grows with students.

Targets (issue 14): the large district (50k) one year <= 30 s and <= 1.5 GB; time from 100k to
200k x2.1 or less; 1,000,000 students one year <= 10 minutes and <= 16 GB.

    python bench/bench_scale.py                      # 50k and 100k
    python bench/bench_scale.py --big                # also 200k, 500k and 1M (long, much disk)
    python bench/bench_scale.py --sizes 50k,200k --keep /data/bench   # chosen sizes, data kept
    PLAN_METRICS_CACHE=off python bench/bench_scale.py   # the run validates the files again

The run follows validate on the same files, so by default it uses the tables validate kept
(runs.snapshot_cache); with PLAN_METRICS_CACHE=off it validates them again, as a first run does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_runs import measure  # noqa: E402  (the process-tree sampler of the runs benchmark)

DEFAULT = "50k,100k"
BIG = "200k,500k,1m"
PLAN, YEAR = "clayton", "2024-25"


def cli(*argv: str) -> str:
    """The python -c code of one plan-metrics command (its exit status checked)."""
    return f"import sys; from plan_metrics.cli import main; sys.exit(main({list(argv)!r}))"


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def bench_size(size: str, folder: Path, jobs: int) -> dict:
    """The three measurements of one size: {step: (wall, cpu, pss MB, rss MB)}."""
    from plan_metrics.synthetic.district import size_of

    students = size_of(size).students
    data, reports = folder / "data", folder / "reports"
    out = {}
    print(f"{size} ({students} students), {load()}", flush=True)
    for step, code in [
            ("demo-data", cli("demo-data", "--out", str(data), "--size", size)),
            ("validate", cli("validate", "--data", str(data))),
            (f"run --plan {PLAN} --years {YEAR}",
             cli("run", "--plan", PLAN, "--data", str(data), "--years", YEAR, "--out",
                 str(reports), "--jobs", str(jobs)))]:
        m = measure(code)
        out[step] = m
        seconds, cpu, pss, rss = m
        print(f"  {step:<34} {seconds:7.1f} s  CPU {cpu:7.1f} s  peak PSS {pss:6.0f} MB "
              f"(RSS {rss:6.0f})   {load()}", flush=True)
    manifest = reports / PLAN / YEAR / "manifest.json"
    if manifest.is_file():  # where the run's time went: the notebooks, the rest (protection...)
        man = json.loads(manifest.read_text())
        nbs = {n["domain"]: n["seconds"] for n in man.get("notebooks", [])}
        priv = man.get("privacy", {})
        print(f"    notebooks (each, wall): {', '.join(f'{d} {t:.0f} s' for d, t in nbs.items())}; "
              f"privacy: {priv.get('rounds')} rounds, {priv.get('hidden_primary')} + "
              f"{priv.get('hidden_complementary')} hidden cells", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=DEFAULT,
                    help=f"comma list of sizes (students: 50k, 200000, 1m); default {DEFAULT}")
    ap.add_argument("--big", action="store_true", help=f"also {BIG} (long; tens of GB of disk)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--keep", help="folder for the generated data and reports (kept); default: "
                                   "a temporary folder, deleted after each size")
    args = ap.parse_args()
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    if args.big:
        sizes += [s for s in BIG.split(",") if s not in sizes]
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-scale-"))
    base.mkdir(parents=True, exist_ok=True)
    from plan_metrics.runs.snapshot_cache import cache_folder
    kept = cache_folder()
    print(f"bench_scale: {os.cpu_count()} cores, {_memory_gb():.0f} GB, --jobs {args.jobs}, "
          f"sizes {', '.join(sizes)}, {load()}", flush=True)
    print("  the run after validate " + (
        f"uses the tables validate kept ({kept})" if kept else
        "validates again (PLAN_METRICS_CACHE=off)"), flush=True)
    results = {}
    try:
        for size in sizes:
            folder = base / f"district-{size}"
            results[size] = bench_size(size, folder, args.jobs)
            if not args.keep:
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print("\ngrowth between consecutive sizes (time, peak PSS):")
    for a, b in zip(sizes, sizes[1:]):
        for step in results[a]:
            ta, _, ma, _ = results[a][step]
            tb, _, mb, _ = results[b][step]
            print(f"  {a:>5} -> {b:<5} {step:<34} time x{tb / ta:4.2f}  memory x{mb / ma:4.2f}")
    run_step = f"run --plan {PLAN} --years {YEAR}"
    print("\ntargets (issue 14):")
    for size, seconds, mb in [("50k", 30, 1536), ("1m", 600, 16384)]:
        if size in results:
            t, _, m, _ = results[size][run_step]
            print(f"  {size}: one year {t:.0f} s (target <= {seconds} s), peak {m:.0f} MB "
                  f"(target <= {mb} MB)")
    if "100k" in results and "200k" in results:
        ratio = results["200k"][run_step][0] / results["100k"][run_step][0]
        print(f"  100k -> 200k: time x{ratio:.2f} (target <= x2.1)")


def _memory_gb() -> float:
    import psutil
    return psutil.virtual_memory().total / 2**30


if __name__ == "__main__":
    main()
