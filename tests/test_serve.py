"""``plan-metrics serve`` as a service: the port check, a clear error for a bad pool, and culling of
kernels that no viewer holds (a real Voila server; the kernels are counted as its child processes).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from plan_metrics.errors import PlanMetricsError
from plan_metrics.serve import HOST, check_pool, check_port


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def test_port_free_right_after_a_stop():
    """A stopped server leaves TIME_WAIT sockets on its port; the check must not refuse it."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, 0))
    port = listener.getsockname()[1]
    listener.listen()
    client = socket.create_connection((HOST, port))
    conn, _ = listener.accept()
    conn.close()           # the server side closes first: its end goes to TIME_WAIT
    client.close()
    listener.close()
    check_port(port)       # no error


def test_port_in_use_is_one_clear_error():
    with socket.socket() as listener:
        listener.bind((HOST, 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(PlanMetricsError, match=f"Port {port} .* already in use"):
            check_port(port)


@pytest.mark.parametrize("pool", [0, -1, 33])
def test_bad_pool_is_one_clear_error(pool):
    with pytest.raises(PlanMetricsError, match="--pool"):
        check_pool(pool)


def _kernels(proc: subprocess.Popen) -> int:
    try:
        return sum("ipykernel" in " ".join(c.cmdline())
                   for c in psutil.Process(proc.pid).children(recursive=True))
    except psutil.Error:
        return 0


def _settled(proc: subprocess.Popen, timeout: float) -> int:
    """The kernel count once it has stayed the same for 5 s."""
    deadline, last, since = time.time() + timeout, -1, time.time()
    while time.time() < deadline:
        n = _kernels(proc)
        if n != last:
            last, since = n, time.time()
        elif time.time() - since >= 5 and n > 0:
            return n
        time.sleep(0.5)
    pytest.fail(f"kernel count did not settle within {timeout} s (last {last})")


CULL_IDLE = 60


@pytest.fixture(scope="module")
def served(tmp_path_factory, demo_data):
    """A real ``plan-metrics serve`` (one preheated board kernel, kernels culled after 60 s idle
    without a viewer); yields (process, base URL)."""
    from plan_metrics.demo import demo_editions
    reports = demo_editions(tmp_path_factory.mktemp("serve") / "reports", demo_data,
                            ("clayton",), ["2023-24"])
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "plan_metrics.cli", "serve", "--reports",
                             str(reports), "--port", str(port), "--pool", "1",
                             "--cull-idle", str(CULL_IDLE), "--cull-interval", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield proc, f"http://{HOST}:{port}"
    proc.send_signal(2)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def _local(url: str, base: str) -> bool:
    """A request the page may make: the server itself, inline data, or a blob the page made from
    the server's own responses (``blob:http://127.0.0.1:PORT/...``)."""
    return url.startswith((base, "data:", f"blob:{base}"))


def _wait_back_to(proc, pooled: int, seconds: float) -> int:
    deadline = time.time() + seconds
    while time.time() < deadline and _kernels(proc) > pooled:
        time.sleep(0.5)
    return _kernels(proc)


@pytest.mark.browser
def test_requests_without_javascript_leave_no_kernel(served):
    """Two plain GETs of the board (no JavaScript, no websocket) each start a kernel; the cull
    shuts both down and only the preheated pools remain."""
    proc, base = served
    pooled = _settled(proc, 180)
    for _ in range(2):
        with urllib.request.urlopen(f"{base}/voila/render/board.ipynb", timeout=120) as r:
            assert r.status == 200
            r.read()
    assert _kernels(proc) > pooled          # the GETs did start kernels
    assert _wait_back_to(proc, pooled, CULL_IDLE + 40) == pooled


@pytest.mark.browser
def test_closed_tab_of_a_direct_link_shuts_its_kernel(served):
    """A viewer opens the board from a direct link (no visit to / first) and closes the tab: the
    close-tab beacon is accepted and the kernel is gone well before the cull would take it."""
    from playwright.sync_api import sync_playwright
    proc, base = served
    pooled = _settled(proc, 180)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"])
        ctx = browser.new_context()
        page = ctx.new_page()
        outside = []
        page.on("request", lambda r: None if _local(r.url, base) else outside.append(r.url))
        page.goto(f"{base}/voila/render/board.ipynb", timeout=120_000)
        page.wait_for_selector(".pm-card svg.marks", timeout=120_000)
        page.wait_for_function("/(^|;\\s*)_xsrf=/.test(document.cookie)", timeout=10_000)
        assert _kernels(proc) > pooled      # the viewer's kernel beside the refilled pool
        page.close(run_before_unload=True)
        assert _wait_back_to(proc, pooled, 10) == pooled
        ctx.close()
        browser.close()
    assert outside == []
