"""Benchmark of the board dashboard (DESIGN.md section 12): prints figures, is not a test.

In one run:
- time to first chart (the first vega SVG rendered inside a card) after opening the page, median over
  several loads, for ``plan-metrics serve`` (preheated kernels, local chart bundle) and for a plain
  ``voila notebooks/dashboards/board.ipynb`` (a kernel started per page view); and their ratio;
- the time from a filter change (building, student group) to the first card's chart redrawn, and to
  every visible chart redrawn, median over several changes;
- a screenshot of the served page (PNG in /tmp).

Usage: python bench/bench_dashboard.py [--reports DIR] [--loads 5] [--changes 10]
Without --reports (or with an empty folder) it computes the clayton plan for three years of the
small synthetic district first (about a minute).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
YEARS = ["2021-22", "2022-23", "2023-24"]
FIRST_CHART = ".pm-card svg.marks"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_reports(root: Path) -> Path:
    from plan_metrics.demo import demo_district, demo_editions
    return demo_editions(root / "reports", demo_district(root / "district"), ("clayton",), YEARS)


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early ({proc.returncode})")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"no answer from {url}")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(2)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


#: Records, in the page, when the first chart SVG appears (ms since navigation start).
MARK_JS = """
new MutationObserver((_, obs) => {
  if (document.querySelector('.pm-card svg.marks')) {
    window.__first_chart = performance.now(); obs.disconnect();
  }
}).observe(document, {subtree: true, childList: true});
"""


def first_chart_times(browser, url: str, loads: int, pause: float) -> tuple[float, list[float]]:
    """Seconds from navigation start to the first chart SVG, timed in the page: (the first load
    with an empty browser cache, then ``loads`` reloads with the cache a returning visitor has)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    ctx.add_init_script(MARK_JS)
    out = []
    for _ in range(loads + 1):
        time.sleep(pause)  # let the server refill its kernel pool (preheated) / settle
        page = ctx.new_page()
        page.goto(url, timeout=180_000, wait_until="commit")
        page.wait_for_selector(FIRST_CHART, timeout=180_000)
        page.wait_for_function("() => window.__first_chart !== undefined", timeout=10_000)
        out.append(page.evaluate("window.__first_chart") / 1000)
        page.close()  # Voila shuts the page's kernel down
    ctx.close()
    return out[0], out[1:]


REDRAW_JS = """
([label, option]) => new Promise((resolve) => {
  const cards = [...document.querySelectorAll('.pm-card')].filter(c => c.offsetParent !== null);
  const first = cards[0].querySelectorAll('svg.marks');
  const watched = label === 'Student group' ? [first[1]] : [first[0], first[1]];
  let tFirst = null, tLast = null, t0 = 0;
  const obs = new MutationObserver((mutations) => {
    const now = performance.now() - t0;
    for (const m of mutations) {
      const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
      const svg = el && el.closest('svg.marks');
      if (!svg) continue;           // card text, not a chart
      tLast = now;
      if (tFirst === null && watched.includes(svg)) tFirst = now;
    }
  });
  obs.observe(document.querySelector('.pm-board'),
              {subtree: true, childList: true, attributes: true, characterData: true});
  const select = [...document.querySelectorAll('label')]
      .find(l => l.textContent === label).parentElement.querySelector('select');
  const opt = [...select.options].find(o => o.textContent === option);
  select.value = opt.value;
  t0 = performance.now();
  select.dispatchEvent(new Event('change', {bubbles: true}));
  setTimeout(() => { obs.disconnect(); resolve([tFirst, tLast]); }, 2500);
})
"""


def redraw_times(page, changes: int) -> tuple[list[float], list[float]]:
    """(ms to the first card's chart redrawn, ms to the last chart redraw of the goal's cards)
    per change."""
    def options(label):
        return page.evaluate(
            "label => [...[...document.querySelectorAll('label')].find(l => l.textContent === "
            "label).parentElement.querySelector('select').options].map(o => o.textContent)",
            label)
    b_opts = options("Building")
    g_opts = [g for g in options("Student group") if g in ("Race/ethnicity", "Gender")]
    first, every = [], []
    for i in range(changes):
        if i % 2 == 0:
            label, opt = "Building", b_opts[1 + (i // 2) % (len(b_opts) - 1)]
        else:
            label, opt = "Student group", g_opts[(i // 2) % len(g_opts) - 1]
        t_first, t_all = page.evaluate(REDRAW_JS, [label, opt])
        if t_first is not None:
            first.append(t_first)
        if t_all is not None:
            every.append(t_all)
        page.wait_for_timeout(300)
    return first, every


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports")
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--plain-loads", type=int, default=3, dest="plain_loads")
    ap.add_argument("--changes", type=int, default=10)
    ap.add_argument("--pause", type=float, default=20,
                    help="seconds between loads, for the server to refill its kernel pool")
    ap.add_argument("--screenshot", default="/tmp/board_dashboard.png")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright
    from plan_metrics.editions import list_editions
    from plan_metrics.paths import DASHBOARDS_DIR

    tmp = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    reports = Path(args.reports) if args.reports else None
    if reports is None or list_editions(reports).empty:
        print("computing editions of the clayton plan (3 years, small synthetic district) ...",
              flush=True)
        reports = build_reports(tmp)

    port_s, port_p = free_port(), free_port()
    url_s = f"http://127.0.0.1:{port_s}/voila/render/board.ipynb"
    url_p = f"http://127.0.0.1:{port_p}/"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        # 1. plan-metrics serve: preheated kernels, local chart bundle
        serve = subprocess.Popen([sys.executable, "-m", "plan_metrics.cli", "serve", "--reports",
                                  str(reports), "--port", str(port_s)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_http(f"http://127.0.0.1:{port_s}/voila/templates/plan-metrics/static/"
                      "fontawesome/css/all.min.css", serve)
            cold_s, served = first_chart_times(browser, url_s, args.loads, pause=args.pause)
            time.sleep(args.pause)
            ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
            page = ctx.new_page()
            page.goto(url_s, timeout=180_000)
            page.wait_for_selector(FIRST_CHART, timeout=180_000)
            page.wait_for_timeout(3000)  # every card in place
            first, every = redraw_times(page, args.changes)
            page.wait_for_timeout(1000)
            page.screenshot(path=args.screenshot, full_page=False)
            ctx.close()
        finally:
            stop(serve)
        # 2. plain voila of the same notebook: a kernel started and the notebook run per view
        env = {k: v for k, v in os.environ.items() if k != "PLAN_METRICS_CHART_JS"}
        env["PLAN_METRICS_REPORTS"] = str(Path(reports).resolve())
        plain = subprocess.Popen([sys.executable, "-m", "voila",
                                  str(DASHBOARDS_DIR / "board.ipynb"), f"--port={port_p}",
                                  "--no-browser", "--Voila.ip=127.0.0.1"],
                                 cwd=tmp, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        try:
            wait_http(f"http://127.0.0.1:{port_p}/voila/static/voila.js", plain)
            cold_p, plain_t = first_chart_times(browser, url_p, args.plain_loads, pause=3)
        finally:
            stop(plain)
        browser.close()

    med_s, med_p = statistics.median(served), statistics.median(plain_t)
    print(f"first chart, plan-metrics serve (preheated): median {med_s:.2f} s  "
          f"[{', '.join(f'{t:.2f}' for t in served)}]; first load, empty cache {cold_s:.2f} s")
    print(f"first chart, plain voila board.ipynb:        median {med_p:.2f} s  "
          f"[{', '.join(f'{t:.2f}' for t in plain_t)}]; first load, empty cache {cold_p:.2f} s")
    print(f"ratio plain / served: {med_p / med_s:.1f}x   (target: served <= 1.5 s)")
    if first:
        print(f"filter change -> first card's chart redrawn: median {statistics.median(first):.0f}"
              f" ms over {len(first)} changes  [{', '.join(f'{t:.0f}' for t in first)}]"
              f"   (target <= 150 ms)")
    if every:
        print(f"filter change -> last chart of the goal redrawn: median "
              f"{statistics.median(every):.0f} ms over {len(every)} changes")
    print(f"screenshot: {args.screenshot}")


if __name__ == "__main__":
    main()
