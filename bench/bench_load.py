"""Load benchmark of ``plan-metrics serve`` for a board meeting (DESIGN.md section 12); prints
figures, is not a test.

Against one server (preheated pools, culling as configured):
- for each N in --viewers (default 1,5,10,20): N real Chromium pages open the board within 10 s
  (evenly spread), each as a first visit (no cookies). Per viewer: the time to first chart (the
  first chart SVG in a card on screen: the server's first paint, in the first-visit page or in
  the board's page); the time until the server had sent that first paint (the first-visit page's
  responseEnd, the part that does not depend on the viewers' Chromiums sharing the server's
  cores); the time until the live board (its kernel's widgets, filters working) has replaced it.
  Each as median, 95th percentile and slowest; the server tree's memory (server + kernels, RSS)
  before, at its peak during, and --after seconds (default 120) after the viewers close their
  tabs; the kernels alive then;
- --gets sequential GETs of the board without JavaScript (default 500), then the kernels left
  once the cull interval has passed (cull idle + 2 intervals).

Usage: python bench/bench_load.py --reports DIR [--viewers 1,5,10,20] [--gets 500] [--port 8934]
       [--pool 4] [--cull-idle 120] [--cull-interval 30] [--after 120]
Without --reports it computes the clayton plan for two years of the small synthetic district.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
MIB = 1024 * 1024


def tree(proc: psutil.Process) -> tuple[int, int]:
    """(RSS of the server and all its children in bytes, number of kernel processes)."""
    rss, kernels = 0, 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            rss += p.memory_info().rss
            kernels += "ipykernel" in " ".join(p.cmdline())
        except psutil.Error:
            pass
    return rss, kernels


def settle(proc: psutil.Process, seconds: float = 5, timeout: float = 300) -> tuple[int, int]:
    """Wait until the kernel count has not changed for ``seconds``; return tree()."""
    deadline, last, since = time.time() + timeout, None, time.time()
    while time.time() < deadline:
        rss, n = tree(proc)
        if n != last:
            last, since = n, time.time()
        elif time.time() - since >= seconds:
            return rss, n
        time.sleep(0.5)
    return tree(proc)


#: The first-visit page (no kernel) holds the server's first paint, then loads the page again
#: with its kernel; Chromium keeps it on screen until the next page paints. Its paint time
#: (epoch ms, the frame after its content was parsed) survives the reload in sessionStorage.
FIRST_PAINT_SCRIPT = """
document.addEventListener("DOMContentLoaded", () => {
  if (document.querySelector(".pm-card svg.marks") && !sessionStorage.getItem("pm_first_chart")) {
    const nav = performance.getEntriesByType("navigation")[0];
    sessionStorage.setItem("pm_first_bytes", String(performance.timeOrigin + nav.responseEnd));
    requestAnimationFrame(() => sessionStorage.setItem(
      "pm_first_chart", String(performance.timeOrigin + performance.now())));
  }
});
"""


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


async def viewers(base: str, n: int, proc: psutil.Process
                  ) -> tuple[list[float], list[float], list[float], int, int]:
    """N pages opening the board within 10 s; (times to first chart, times to the live board,
    times until the server had sent the first paint, peak RSS, failures)."""
    from playwright.async_api import async_playwright
    peak, done = [0], asyncio.Event()

    async def sample():
        while not done.is_set():
            peak[0] = max(peak[0], tree(proc)[0])
            await asyncio.sleep(0.5)

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        pages, times, live, served, failures = [], [], [], [], 0

        async def one(i: int):
            nonlocal failures
            await asyncio.sleep(i * 10.0 / n)
            ctx = await browser.new_context(viewport={"width": 1366, "height": 768})
            await ctx.add_init_script(FIRST_PAINT_SCRIPT)
            page = await ctx.new_page()
            pages.append(page)
            t0, epoch0 = time.perf_counter(), time.time()
            try:
                # "commit": the page shows while it still streams (the load event waits for the
                # kernel to finish the notebook)
                await page.goto(f"{base}/voila/render/board.ipynb", wait_until="commit",
                                timeout=180_000)
                await page.wait_for_selector(".pm-card svg.marks", timeout=180_000)
                seen = time.perf_counter() - t0
                await page.wait_for_selector("#rendered_cells .pm-card svg.marks", timeout=180_000)
                live.append(time.perf_counter() - t0)
                painted, delivered = await page.evaluate(
                    "[sessionStorage.getItem('pm_first_chart'), "
                    "sessionStorage.getItem('pm_first_bytes')]")
                times.append(min(seen, float(painted) / 1000 - epoch0) if painted else seen)
                if delivered:
                    served.append(float(delivered) / 1000 - epoch0)
            except Exception:                               # noqa: BLE001 - counted, reported
                failures += 1

        sampler = asyncio.create_task(sample())
        await asyncio.gather(*(one(i) for i in range(n)))
        done.set()
        await sampler
        for page in pages:
            await page.close(run_before_unload=True)
        await asyncio.sleep(2)
        await browser.close()
    return times, live, served, peak[0], failures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports")
    ap.add_argument("--viewers", default="1,5,10,20")
    ap.add_argument("--gets", type=int, default=500)
    ap.add_argument("--port", type=int, default=8934)
    ap.add_argument("--pool", type=int, default=4)
    ap.add_argument("--cull-idle", type=int, default=120)
    ap.add_argument("--cull-interval", type=int, default=30)
    ap.add_argument("--after", type=int, default=120)
    a = ap.parse_args()
    reports = Path(a.reports) if a.reports else None
    if reports is None:
        from plan_metrics.demo import demo_district, demo_editions
        tmp = Path(tempfile.mkdtemp(prefix="bench_load_"))
        reports = demo_editions(tmp / "reports", demo_district(tmp / "data"), ("clayton",),
                                ["2022-23", "2023-24"])
    log = open(Path(tempfile.gettempdir()) / f"bench_load_{a.port}.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "plan_metrics.cli", "serve", "--reports", str(reports),
         "--port", str(a.port), "--pool", str(a.pool), "--cull-idle", str(a.cull_idle),
         "--cull-interval", str(a.cull_interval)], stdout=log, stderr=log)
    proc = psutil.Process(server.pid)
    base = f"http://127.0.0.1:{a.port}"
    try:
        t0 = time.time()
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=5).close()
                break
            except OSError:
                time.sleep(0.5)
        log_path = Path(log.name)
        while "Ready:" not in log_path.read_text(errors="replace"):     # every pool warm
            if server.poll() is not None:
                print(f"the server stopped; its log: {log_path}")
                return 1
            time.sleep(0.5)
        idle_rss, idle_k = settle(proc, 10)
        print(f"server up, pools warm in {time.time() - t0:.0f} s: {idle_k} kernels, "
              f"{idle_rss / MIB:.0f} MiB (load {os.getloadavg()[0]:.2f})", flush=True)
        for n in [int(x) for x in a.viewers.split(",") if x]:
            before, _ = settle(proc, 5)
            times, live, served, peak, failed = asyncio.run(viewers(base, n, proc))
            time.sleep(a.after)
            after, kernels = tree(proc)
            if times:
                print(f"N={n:>2}: first chart median {statistics.median(times):5.1f} s, "
                      f"p95 {pct(times, 0.95):5.1f} s, slowest {max(times):5.1f} s, "
                      f"failed {failed}; first paint sent by the server median "
                      f"{statistics.median(served or [0]):4.1f} s, slowest {max(served or [0]):4.1f} s; "
                      f"live board median {statistics.median(live or [0]):5.1f} s, "
                      f"p95 {pct(live or [0], 0.95):5.1f} s, slowest {max(live or [0]):5.1f} s; memory {before / MIB:.0f} MiB before, "
                      f"{peak / MIB:.0f} MiB peak, {after / MIB:.0f} MiB {a.after} s after; "
                      f"{kernels} kernels alive (idle pools: {idle_k}); "
                      f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
            else:
                print(f"N={n:>2}: every viewer failed", flush=True)
        if a.gets:
            t1 = time.time()
            for _ in range(a.gets):
                with urllib.request.urlopen(f"{base}/voila/render/board.ipynb", timeout=300) as r:
                    r.read()
            took = time.time() - t1
            _, during = tree(proc)
            time.sleep(a.cull_idle + 2 * a.cull_interval)
            rss, kernels = tree(proc)
            print(f"{a.gets} GETs without JavaScript in {took:.0f} s: {during} kernels right "
                  f"after, {kernels} after the cull ({kernels - idle_k} beyond the idle pools), "
                  f"{rss / MIB:.0f} MiB", flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
