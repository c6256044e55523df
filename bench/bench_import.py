"""Benchmark of `plan-metrics import` (issue 13, point 6): prints figures, asserts nothing.

Target: the import of the large district's raw export (about 50,000 students, 6 years, 14 tables,
a students workbook joined onto the enrollments) <= 60 s and <= 2 GB on 2 cores.

The raw export is written from a data directory (default data/large, made by `plan-metrics
demo-data --out data/large --size large`) by plan_metrics.importing.example, once, into
data/large-raw/ (kept for later runs; --fresh writes it again). The import runs as the real console
script in its own process; peak memory is that process's peak resident set size (ru_maxrss of
the child: it starts no children), CPU time its user + system time. The load average is printed
with the figures: the machine is shared.

    python bench/bench_import.py [--data data/large] [--raw data/large-raw] [--fresh]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "data" / "examples" / "mapping.yaml"
EXE = ROOT / ".venv" / "bin" / "plan-metrics"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT / "data" / "large"))
    ap.add_argument("--raw", default=str(ROOT / "data" / "large-raw"))
    ap.add_argument("--fresh", action="store_true", help="write the raw export again")
    args = ap.parse_args()
    data, raw = Path(args.data), Path(args.raw)
    if not (data / "enrollment.csv").is_file():
        print(f"{data} has no enrollment.csv: run `plan-metrics demo-data --out {data} --size "
              f"large` first", file=sys.stderr)
        return 2
    if args.fresh or not raw.is_dir():
        shutil.rmtree(raw, ignore_errors=True)
        t0 = time.perf_counter()
        # in a process of its own: a child forked from a process that grew to gigabytes reports
        # that process's high-water mark as its own ru_maxrss (Linux keeps it across exec)
        subprocess.run([sys.executable, "-c", "import sys; from plan_metrics.importing.example "
                        "import write_raw_export; write_raw_export(sys.argv[1], sys.argv[2])",
                        str(data), str(raw)], check=True)
        files = [p for p in raw.rglob("*") if p.is_file()]
        print(f"raw export written to {raw} in {time.perf_counter() - t0:.0f} s "
              f"({len(files)} files)")
    size = sum(p.stat().st_size for p in raw.rglob("*") if p.is_file())
    rows = 0
    for p in raw.rglob("*.csv"):
        with open(p, "rb") as fh:
            rows += sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b"")) - 1
    print(f"raw export: {size / 1e6:,.0f} MB, {rows:,} CSV rows (+ 2 workbooks)")
    cmd = [str(EXE) if EXE.exists() else sys.executable, *([] if EXE.exists() else
                                                            ["-m", "plan_metrics.cli"])]
    with tempfile.TemporaryDirectory(dir=ROOT / "data", prefix=".bench-import-") as tmp:
        out = Path(tmp) / "imported"
        t0 = time.perf_counter()
        with tempfile.TemporaryFile("w+") as log:
            proc = subprocess.Popen([*cmd, "import", "--mapping", str(MAPPING), "--source",
                                     str(raw), "--out", str(out)], stdout=log,
                                    stderr=subprocess.STDOUT, text=True)
            # wait4: this child's own rusage (RUSAGE_CHILDREN would be the max over every child
            # this process ever waited for)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            log.seek(0)
            output = log.read()
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            print(output, file=sys.stderr)
            return 1
        cpu = usage.ru_utime + usage.ru_stime
        peak_mb = usage.ru_maxrss / 1024          # kilobytes on Linux
        written = {p.name: p.stat().st_size for p in out.glob("*.csv")}
    load = os.getloadavg()
    print(output.strip().splitlines()[-1].split(";")[0])
    print(f"import of the large raw export: {wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS "
          f"{peak_mb:,.0f} MB; {len(written)} contract files, {sum(written.values()) / 1e6:,.0f} "
          f"MB written")
    print(f"targets: <= 60 s, <= 2,048 MB; load average {load[0]:.2f}, {load[1]:.2f}, "
          f"{load[2]:.2f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
