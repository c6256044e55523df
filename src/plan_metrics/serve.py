"""``plan-metrics serve``: the dashboards on standalone Voila, bound to 127.0.0.1 (DESIGN.md 9, 11).

Voila runs over notebooks/dashboards with the ``plan-metrics`` template (lab, every asset local),
preheated kernels (the board dashboard's notebook runs before the page is asked for), notebook sources
stripped, template and theme overrides off. The dashboards read the editions of ``--reports``
(passed to the kernels as $PLAN_METRICS_REPORTS). Voila standalone is not a Jupyter server: its
kernels refuse code sent from the browser.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from .dashboard.data import REPORTS_ENV
from .dashboard.widgets import (CHART_JS_ENV, TEMPLATE_NAME, TEMPLATE_ROOT, bundle_url_path,
                                ensure_bundle)
from .editions import list_editions
from .errors import PlanMetricsError
from .paths import DASHBOARDS_DIR, REPORTS_DIR

HOST = "127.0.0.1"
#: Preheated kernels per dashboard notebook (voila.json in notebooks/dashboards says the same).
BOARD_POOL, OTHER_POOL = 2, 1


def voila_command(port: int) -> list[str]:
    """The Voila command line (run with cwd = notebooks/dashboards, which holds voila.json)."""
    return [sys.executable, "-m", "voila", str(DASHBOARDS_DIR), f"--port={port}", "--no-browser",
            f"--Voila.ip={HOST}", f"--template={TEMPLATE_NAME}", "--strip_sources=True",
            "--VoilaConfiguration.allow_template_override=NO",
            "--VoilaConfiguration.allow_theme_override=NO",
            "--VoilaConfiguration.show_tracebacks=False",
            "--preheat_kernel=True", f"--pool_size={OTHER_POOL}"]


def voila_env(reports: Path) -> dict[str, str]:
    """The server's environment (inherited by its kernels): reports folder, template path, the
    chart bundle's URL."""
    env = os.environ.copy()
    env[REPORTS_ENV] = str(reports)
    env[CHART_JS_ENV] = bundle_url_path()
    env["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(TEMPLATE_ROOT), env.get("JUPYTER_PATH", "")) if p)
    return env


def check_reports(reports: Path) -> None:
    """One clear error when there is nothing to serve."""
    if not reports.is_dir() or list_editions(reports).empty:
        raise PlanMetricsError(
            "There are no published editions to show", str(reports),
            "run 'plan-metrics run --plan clayton --data data/demo --years all' first "
            "(or 'make demo'), or pass --reports with the folder that run wrote")


def check_port(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            raise PlanMetricsError(f"Port {port} on {HOST} is already in use", f"--port {port}",
                                   "stop the other server or pass another --port") from None


def start(reports: Path | str, port: int, quiet: bool = False) -> subprocess.Popen:
    """Start the Voila server (returns the process; the caller stops it)."""
    reports = Path(reports).resolve()
    check_reports(reports)
    check_port(port)
    ensure_bundle()
    out = subprocess.DEVNULL if quiet else None
    return subprocess.Popen(voila_command(port), cwd=DASHBOARDS_DIR, env=voila_env(reports),
                            stdout=out, stderr=out)


def main(args) -> int:
    """Entry point of ``plan-metrics serve [--reports reports] [--port 8866]``."""
    reports = Path(args.reports or REPORTS_DIR)
    proc = start(reports, args.port)
    base = f"http://{HOST}:{args.port}/voila/render"
    print(f"Serving the dashboards of {reports.resolve()}:\n"
          f"  board:       {base}/board.ipynb\n"
          f"  equity:      {base}/equity.ipynb\n"
          f"  action plan: {base}/action_plan.ipynb\n"
          f"Press Ctrl+C to stop.", flush=True)
    # Ctrl+C and a plain `kill` both stop Voila and its kernels (SIGINT may be ignored when the
    # command was started in the background, so both handlers are set here).
    def _stop(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        return 0
