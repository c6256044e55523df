"""Shared fixtures: the small synthetic demo district, generated once per test session, and what the
browser tests share: a real `plan-metrics serve` over a reports folder and headless Chromium."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager

import pytest

from plan_metrics.demo import demo_district

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory):
    """The small demo district (seed 2024) in a temporary folder. Read-only: copy it to change it."""
    return demo_district(tmp_path_factory.mktemp("demo") / "data")


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(reports, port: int | None = None, wait: float = 120):
    """Run `plan-metrics serve --reports REPORTS --port PORT` (a free port if none) until the block
    ends; yields its base URL once the server answers. Stopped with SIGINT (serve stops Voila and
    its kernels), killed if it does not stop within 30 s."""
    port = port or free_port()
    proc = subprocess.Popen([sys.executable, "-m", "plan_metrics.cli", "serve", "--reports",
                             str(reports), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + wait
    while time.time() < deadline:
        try:
            urllib.request.urlopen(base + "/voila/templates/plan-metrics/static/fontawesome/"
                                   "css/all.min.css", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"plan-metrics serve exited: {proc.stdout.read()}")
            time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail(f"plan-metrics serve did not answer within {wait:.0f} s")
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
