"""Shared fixtures: the small synthetic demo district, generated once per test session, and what the
browser tests share: a real `plan-metrics serve` over a reports folder and headless Chromium."""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from plan_metrics.demo import demo_district

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


@pytest.fixture(scope="session", autouse=True)
def snapshot_cache_folder(tmp_path_factory):
    """The validated snapshots the tests' runs keep (runs.snapshot_cache) go to a folder of the
    test session (inherited by the commands the tests start), not to the user's cache."""
    folder = tmp_path_factory.mktemp("snapshot-cache")
    before = os.environ.get("PLAN_METRICS_CACHE")
    os.environ["PLAN_METRICS_CACHE"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("PLAN_METRICS_CACHE", None)
    else:
        os.environ["PLAN_METRICS_CACHE"] = before


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory):
    """The small demo district (seed 2024) in a temporary folder. Read-only: copy it to change it."""
    return demo_district(tmp_path_factory.mktemp("demo") / "data")


#: the editions the browser modules read: the strategic plan, the equity review and the action plan
BOARD_PLANS = ("clayton", "equity-review", "clayton-pl")
BOARD_YEARS = ["2021-22", "2022-23", "2023-24"]


def _run_root(tmp_path_factory) -> Path:
    """A folder of this test run that every xdist worker sees (each worker's base temp folder is
    a child of the run's)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def board_editions(tmp_path_factory, demo_data) -> Path:
    """Editions of BOARD_PLANS x BOARD_YEARS of the demo district (engine in process, protected
    together), computed once per test run whichever worker asks first; read-only: a module takes
    a copy (``board_reports``)."""
    from plan_metrics.demo import demo_editions
    root = _run_root(tmp_path_factory)
    done = root / "board-editions"
    with open(root / "board-editions.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            work = root / "board-editions.partial"
            shutil.rmtree(work, ignore_errors=True)
            demo_editions(work, demo_data, BOARD_PLANS, BOARD_YEARS)
            work.rename(done)
    return done


@pytest.fixture(scope="module")
def board_reports(board_editions, tmp_path_factory) -> Path:
    """A module's own copy of ``board_editions``."""
    return Path(shutil.copytree(board_editions, tmp_path_factory.mktemp("board") / "reports"))


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(reports, port: int | None = None, wait: float = 240, pool: int = 2):
    """Run `plan-metrics serve --reports REPORTS --port PORT --pool POOL` (a free port if none)
    until the block ends; yields its base URL once serve says it is ready (every dashboard's
    preheated kernels started). Its log goes to a file beside the reports (a pipe nobody reads
    would block the server once full). Stopped with SIGINT (serve stops Voila and its kernels),
    killed if it does not stop within 30 s."""
    port = port or free_port()
    log_path = Path(reports).parent / f"serve-{port}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "plan_metrics.cli", "serve", "--reports",
                                 str(reports), "--port", str(port), "--pool", str(pool)],
                                stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + wait
    while "Ready: " not in log_path.read_text():
        if proc.poll() is not None:
            pytest.fail(f"plan-metrics serve exited: {log_path.read_text()[-3000:]}")
        if time.time() > deadline:
            proc.kill()
            pytest.fail(f"plan-metrics serve was not ready within {wait:.0f} s: "
                        f"{log_path.read_text()[-3000:]}")
        time.sleep(0.5)
    try:
        yield base
    finally:
        proc.send_signal(2)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def serve():
    """``serve(reports, port=None)``: a context manager running `plan-metrics serve` (see serving);
    a module's ``server`` fixture does ``with serve(reports, PORT) as base: yield base``."""
    return serving


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (the system's /usr/bin/chromium) through Playwright, for the session.
    Every browser test takes this one (a fresh context each where it needs one): Playwright's sync
    API refuses a second ``sync_playwright()`` inside a process that already runs one."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
