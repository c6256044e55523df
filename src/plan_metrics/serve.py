"""``plan-metrics serve``: the dashboards on standalone Voila, bound to 127.0.0.1 (DESIGN.md 9, 11).

Voila (``plan_metrics.voila_app``: the project's home page at ``/``, the static reports, 404s and
security headers in front of Voila's routes) runs over notebooks/dashboards with the ``plan-metrics`` template (lab, every asset local),
preheated kernels (the board dashboard's notebook runs before the page is asked for), notebook sources
stripped, template and theme overrides off. The dashboards read the editions of ``--reports``
(passed to the kernels as $PLAN_METRICS_REPORTS). Voila standalone is not a Jupyter server: its
kernels refuse code sent from the browser.

For a meeting's audience (DESIGN.md 12): the board paints first from the server (``voila_app``'s
``/pm/board-preview``), kernels start "pending" (a page streams before its kernel answers), run
under ``nice`` and build their dashboards one per core at a time (``dashboard.slots``, in a
folder made per server), and a viewer who finds no started preheated kernel gets one of their own.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path

from .dashboard.data import REPORTS_ENV
from .dashboard.slots import SLOTS_ENV
from .dashboard.widgets import (CHART_JS_ENV, TEMPLATE_NAME, TEMPLATE_ROOT, bundle_url_path,
                                ensure_bundle)
from .editions import list_editions
from .errors import PlanMetricsError
from .paths import DASHBOARDS_DIR, REPORTS_DIR

HOST = "127.0.0.1"
#: Preheated kernels per dashboard notebook (voila.json in notebooks/dashboards says the same);
#: ``serve --pool N`` sets the board's. 4 board kernels of ~300 MiB fit a meeting on a 2-core box.
BOARD_POOL, OTHER_POOL = 4, 1
#: Kernel culling (DESIGN.md 12): a kernel with no browser connected (a closed tab whose shutdown
#: beacon was refused, a request that never ran JavaScript) and idle for CULL_IDLE seconds is shut
#: down; the check runs every CULL_INTERVAL seconds. Preheated pool kernels are never culled (Voila
#: skips them). Connected kernels are kept, however long the viewer reads.
CULL_IDLE, CULL_INTERVAL = 120, 30


def voila_command(port: int, pool: int = BOARD_POOL, cull_idle: int = CULL_IDLE,
                  cull_interval: int = CULL_INTERVAL, host: str = HOST,
                  base_url: str = "/") -> list[str]:
    """The Voila command line (run with cwd = notebooks/dashboards, which holds voila.json).

    ``pool`` preheated kernels for the board, OTHER_POOL for the other dashboards; kernels without a
    connected browser are culled after ``cull_idle`` seconds idle (checked every ``cull_interval``).
    ``host``: the address to listen on; ``base_url``: the path prefix under a reverse proxy.
    """
    pools = json.dumps({"default": {"pool_size": OTHER_POOL}, "board.ipynb": {"pool_size": pool}})
    return [sys.executable, "-m", "plan_metrics.voila_app", str(DASHBOARDS_DIR), f"--port={port}",
            "--no-browser", f"--Voila.ip={host}", f"--Voila.base_url={base_url}",
            "--Voila.port_retries=0", f"--template={TEMPLATE_NAME}", "--strip_sources=True",
            "--VoilaConfiguration.allow_template_override=NO",
            "--VoilaConfiguration.allow_theme_override=NO",
            "--VoilaConfiguration.show_tracebacks=False",
            "--preheat_kernel=True", f"--pool_size={OTHER_POOL}",
            f"--VoilaKernelManager.kernel_pools_config={pools}",
            f"--MappingKernelManager.cull_idle_timeout={cull_idle}",
            f"--MappingKernelManager.cull_interval={cull_interval}",
            "--MappingKernelManager.cull_connected=False",
            # a viewer's page streams as soon as their kernel's process is launched, not once it
            # answers (which takes seconds when a meeting's kernels all start at once)
            "--MappingKernelManager.use_pending_kernels=True",
            "--MappingKernelManager.kernel_manager_class="
            "plan_metrics.voila_app.NiceKernelManager"]


def voila_env(reports: Path, slots: Path | None = None) -> dict[str, str]:
    """The server's environment (inherited by its kernels): reports folder, template path, the
    chart bundle's URL, the folder of the build slots (``dashboard.slots``)."""
    env = os.environ.copy()
    env[REPORTS_ENV] = str(reports)
    if slots is not None:
        env[SLOTS_ENV] = str(slots)
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


def check_base_url(base_url: str) -> str:
    """The base URL as Voila wants it (``/`` or ``/prefix/``); one clear error when it is not a
    plain path."""
    url = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"
    if not re.fullmatch(r"/(?:[A-Za-z0-9._~-]+/)*", url) or "/../" in url or "/./" in url:
        raise PlanMetricsError(f"--base-url {base_url!r} is not a plain URL path",
                               f"--base-url {base_url}",
                               "pass the path the reverse proxy forwards, e.g. --base-url /plan-metrics/")
    return url


def check_port(port: int, host: str = HOST) -> None:
    """One clear error when another process listens on the port. SO_REUSEADDR as in Voila's own
    bind, so the TIME_WAIT sockets a stopped server leaves do not block an immediate restart."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except socket.gaierror:
            raise PlanMetricsError(f"{host!r} is not an address of this machine", f"--host {host}",
                                   "pass 127.0.0.1 (behind a reverse proxy on this machine), "
                                   "0.0.0.0 or one of this machine's addresses") from None
        except OSError as e:
            if e.errno == errno.EADDRNOTAVAIL:
                raise PlanMetricsError(f"{host!r} is not an address of this machine",
                                       f"--host {host}", "pass 127.0.0.1, 0.0.0.0 or one of this "
                                       "machine's addresses") from None
            raise PlanMetricsError(f"Port {port} on {host} is already in use", f"--port {port}",
                                   "stop the other server or pass another --port") from None


def check_pool(pool: int) -> None:
    """One clear error for a pool size that cannot work."""
    if pool < 1 or pool > 32:
        raise PlanMetricsError(f"--pool {pool} is outside 1..32", f"--pool {pool}",
                               f"pass a number of preheated board kernels from 1 to 32 "
                               f"(default {BOARD_POOL}; each holds about 300 MiB)")


def start(reports: Path | str, port: int, quiet: bool = False, pool: int = BOARD_POOL,
          cull_idle: int = CULL_IDLE, cull_interval: int = CULL_INTERVAL, host: str = HOST,
          base_url: str = "/", watch: bool = False) -> subprocess.Popen:
    """Start the Voila server (returns the process; the caller stops it). ``watch``: its log is
    piped (text) for ``announce_ready`` to read and forward."""
    reports = Path(reports).resolve()
    check_reports(reports)
    check_pool(pool)
    base_url = check_base_url(base_url)
    check_port(port, host)
    ensure_bundle()
    out = subprocess.DEVNULL if quiet else None
    err = subprocess.DEVNULL if quiet else (subprocess.PIPE if watch else None)
    slots = Path(tempfile.mkdtemp(prefix="plan-metrics-slots-"))
    proc = subprocess.Popen(voila_command(port, pool, cull_idle, cull_interval, host, base_url),
                            cwd=DASHBOARDS_DIR, env=voila_env(reports, slots), stdout=out,
                            stderr=err, text=True if watch and not quiet else None)
    proc.slots = slots
    weakref.finalize(proc, shutil.rmtree, slots, True)
    return proc


#: The dashboards whose preheated kernels must have built their page before ``serve`` says "ready".
DASHBOARD_NOTEBOOKS = ("board.ipynb", "equity.ipynb", "action_plan.ipynb")


def announce_ready(proc: subprocess.Popen, started: float, pool: int) -> threading.Thread:
    """Forward Voila's log to stderr; print "Ready" once every dashboard's preheated kernels have
    built their page (each leaves a mark in the build-slots folder: ``dashboard.slots``)."""
    from .dashboard.slots import warm_count
    wanted = {nb: (pool if nb == "board.ipynb" else OTHER_POOL) for nb in DASHBOARD_NOTEBOOKS}

    def forward():
        for line in proc.stderr:
            sys.stderr.write(line)

    def watch():
        while proc.poll() is None:
            if all(warm_count(proc.slots, nb) >= n for nb, n in wanted.items()):
                print(f"Ready: every dashboard has its preheated kernels "
                      f"({time.time() - started:.0f} s after start).", flush=True)
                return
            time.sleep(0.5)

    threading.Thread(target=forward, daemon=True).start()
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def main(args) -> int:
    """Entry point of ``plan-metrics serve [--reports reports] [--port 8866] [--pool N]``."""
    reports = Path(args.reports or REPORTS_DIR)
    def _given(name, default):
        value = getattr(args, name, None)
        return default if value is None else value
    host, base_url = _given("host", HOST), check_base_url(_given("base_url", "/"))
    started = time.time()
    proc = start(reports, args.port, pool=_given("pool", BOARD_POOL),
                 cull_idle=_given("cull_idle", CULL_IDLE),
                 cull_interval=_given("cull_interval", CULL_INTERVAL), host=host,
                 base_url=base_url, watch=True)
    announce_ready(proc, started, _given("pool", BOARD_POOL))
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    home = f"http://{shown}:{args.port}{base_url}"
    base = f"{home}voila/render"
    print(f"Serving the dashboards of {reports.resolve()}:\n"
          f"  home:        {home}\n"
          f"  board:       {base}/board.ipynb\n"
          f"  equity:      {base}/equity.ipynb\n"
          f"  action plan: {base}/action_plan.ipynb\n"
          f"Preheating the dashboards' kernels (about a minute); \"Ready\" follows. "
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
