"""Board packet benchmark (DESIGN.md section 12): a goal's PDF packet <= 10 s, the whole plan's <= 30 s.

Builds the small demo district and three years of plan clayton with the engine (or reuses
--reports), then times cold packets (rendered charts forgotten before each run): one goal's, one
building's goal, the whole plan's. Prints wall time, CPU time of the process (all its threads:
what the work costs on a machine that is not shared) and file size, with the load average.
Not a test.

    .venv/bin/python bench/bench_packet.py [--reports DIR] [--goal G1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from plan_metrics.exports import images, packet
from plan_metrics.exports.context import load_context

YEAR = "2024-25"


def timed(fn, repeat: int) -> tuple[float, float, bytes]:
    """Median wall and CPU seconds of ``repeat`` cold runs, and the last result."""
    walls, cpus, out = [], [], b""
    for _ in range(repeat):
        images.clear_cache()
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports", help="a reports folder with clayton editions (default: build)")
    ap.add_argument("--goal", default="G1")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    tmp = None
    if a.reports:
        reports = Path(a.reports)
    else:
        from plan_metrics.demo import demo_district, demo_editions
        tmp = Path(tempfile.mkdtemp(prefix="bench_packet_"))
        t = time.perf_counter()
        reports = demo_editions(tmp / "reports", demo_district(tmp / "demo"), ("clayton",),
                                ("2022-23", "2023-24", "2024-25"))
        print(f"setup: demo district + 3 editions of clayton in {time.perf_counter() - t:.1f} s")
    ctx = load_context(reports, "clayton", YEAR)
    building = next(iter(ctx.buildings()), "ALL")
    packet.packet_bytes(reports, "clayton", YEAR, a.goal)          # warm Typst and vl-convert
    cases = [
        (f"goal {a.goal} ({len(ctx.measures(a.goal))} measures)", "target <= 10 s",
         lambda: packet.packet_bytes(reports, "clayton", YEAR, a.goal)),
        (f"goal {a.goal} at building {building}", "target <= 10 s",
         lambda: packet.packet_bytes(reports, "clayton", YEAR, a.goal, building=building)),
        (f"whole plan ({len(ctx.plan.measures())} measures)", "target <= 30 s",
         lambda: packet.packet_bytes(reports, "clayton", YEAR)),
    ]
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} cores)")
    for name, target, fn in cases:
        wall, cpu, pdf = timed(fn, a.repeat)
        from pypdf import PdfReader
        import io
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        print(f"{name:<40} {wall:6.2f} s wall  {cpu:6.2f} s CPU  {len(pdf) / 1e6:5.2f} MB  "
              f"{pages:3d} pages  ({target})")
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
