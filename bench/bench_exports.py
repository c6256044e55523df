"""Exports benchmark (DESIGN.md section 12): goal deck <= 5 s, static HTML report <= 5 MB.

Builds the small demo district and three years of plan clayton with the engine (or reuses
--reports), then times: the goal deck, the whole-plan deck, the HTML report (and its size), the
workbook, and one chart as PNG (2x), SVG and PDF. Prints the figures; not a test.

    .venv/bin/python bench/bench_exports.py [--reports DIR] [--goal G1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from plan_metrics import exports
from plan_metrics.exports import images
from plan_metrics.exports.context import load_context  # noqa: E402

YEAR = "2024-25"


def timed(fn, repeat: int) -> tuple[float, object]:
    """Median wall time of ``repeat`` cold runs (rendered images forgotten before each)."""
    times, out = [], None
    for _ in range(repeat):
        images.clear_cache()
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


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
        tmp = Path(tempfile.mkdtemp(prefix="bench_exports_"))
        t = time.perf_counter()
        reports = demo_editions(tmp / "reports", demo_district(tmp / "demo"), ("clayton",),
                                ("2022-23", "2023-24", "2024-25"))
        print(f"setup: demo district + 3 editions of clayton in {time.perf_counter() - t:.1f} s")
    ctx = load_context(reports, "clayton", YEAR, a.goal)
    n_goal = len(ctx.measures())
    exports.goal_deck_bytes(reports, "clayton", YEAR, a.goal)          # warm vl-convert
    rows = []
    t, deck = timed(lambda: exports.goal_deck_bytes(reports, "clayton", YEAR, a.goal), a.repeat)
    rows.append((f"goal deck {a.goal} ({n_goal} measures)", t, len(deck), "target <= 5 s"))
    t, deck = timed(lambda: exports.goal_deck_bytes(reports, "clayton", YEAR, None), 1)
    rows.append(("whole-plan deck (34 measures)", t, len(deck), ""))
    t, page = timed(lambda: exports.html_report_bytes(reports, "clayton", YEAR), 1)
    rows.append(("HTML report", t, len(page), f"size {len(page) / 2**20:.2f} MB, target <= 5 MB"))
    t, wb = timed(lambda: exports.workbook_bytes(reports, "clayton", YEAR), a.repeat)
    rows.append(("workbook (whole plan)", t, len(wb), ""))
    m = ctx.measures()[0]
    ce = images.trend_export(ctx, m)
    for fmt in ("png", "svg", "pdf"):
        t, data = timed(lambda: images.chart_bytes(ce.spec, fmt), a.repeat)
        rows.append((f"one trend chart as {fmt}", t, len(data), ""))
    t, _ = timed(lambda: images.measure_exports(ctx, m), a.repeat)
    rows.append(("building one measure's decorated specs", t, 0, ""))
    exports.goal_deck_bytes(reports, "clayton", YEAR, a.goal)
    t = time.perf_counter()
    exports.goal_deck_bytes(reports, "clayton", YEAR, a.goal)
    rows.append((f"goal deck {a.goal} again (images cached)", time.perf_counter() - t, 0, ""))
    print(f"{'export':40} {'median s':>9} {'bytes':>10}  note")
    for name, secs, size, note in rows:
        print(f"{name:40} {secs:9.2f} {size:10,d}  {note}")
    if hasattr(os, "getloadavg"):
        print(f"load average during the run: {os.getloadavg()[0]:.1f} (2 cores)")
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
