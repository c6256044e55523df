"""``plan-metrics serve`` as a service: the port check, a clear error for a bad pool, and culling of
kernels that no viewer holds (a real Voila server; the kernels are counted as its child processes).
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.error
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
    """The server's kernel processes (a child that exits while being looked at is not counted)."""
    n = 0
    for child in psutil.Process(proc.pid).children(recursive=True):
        try:
            n += "ipykernel" in " ".join(child.cmdline())
        except psutil.Error:
            pass
    return n


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


CULL_IDLE = 30


BASE_URL = "/pm/"          # as behind a reverse proxy that forwards /pm/
PLANS, YEARS = ("clayton", "clayton-pl"), ["2022-23", "2023-24"]
YEAR = YEARS[-1]


@pytest.fixture(scope="module")
def served(tmp_path_factory, demo_data):
    """A real ``plan-metrics serve --base-url /pm/`` (one preheated board kernel, kernels culled
    after 60 s idle without a viewer); yields (process, base URL without the trailing slash)."""
    from plan_metrics.demo import demo_editions
    reports = demo_editions(tmp_path_factory.mktemp("serve") / "reports", demo_data, PLANS, YEARS)
    port = _free_port()
    log_path = tmp_path_factory.mktemp("serve-log") / "serve.log"
    log_file = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "-m", "plan_metrics.cli", "serve", "--reports",
                             str(reports), "--port", str(port), "--pool", "1", "--host", HOST,
                             "--base-url", BASE_URL,
                             "--cull-idle", str(CULL_IDLE), "--cull-interval", "2"],
                            stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://{HOST}:{port}{BASE_URL.rstrip('/')}"
    deadline = time.time() + 240
    while "Ready: every dashboard has its preheated kernels" not in log_path.read_text():
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail(f"serve did not say it was ready: {log_path.read_text()[-2000:]}")
        time.sleep(0.5)
    urllib.request.urlopen(base + "/", timeout=5).close()     # "Ready" means it answers
    yield proc, base
    proc.send_signal(2)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    log_file.close()
    log = log_path.read_text()
    # no request answered 500 (kernels shut down mid-execution at the stop may log their own)
    assert "Uncaught exception" not in log and not re.search(r"^\s*500 ", log, re.M), log[-3000:]


def _local(url: str, base: str) -> bool:
    """A request the page may make: the server itself, inline data, or a blob the page made from
    the server's own responses (``blob:http://127.0.0.1:PORT/<uuid>``)."""
    origin = "/".join(base.split("/")[:3])          # blob URLs carry the origin only
    return url.startswith((base, "data:", f"blob:{origin}/"))


def _wait_back_to(proc, pooled: int, seconds: float) -> int:
    deadline = time.time() + seconds
    while time.time() < deadline and _kernels(proc) > pooled:
        time.sleep(0.5)
    return _kernels(proc)


@pytest.mark.browser
def test_requests_without_javascript_leave_no_kernel(served):
    """Plain GETs of every dashboard (no JavaScript, no cookie: curl, a link preview, a crawler)
    take no kernel: they get the first-visit page, with the dashboard's real title and, for the
    board, the server's first paint of the view the link asks for."""
    from plan_metrics.plan import load_plan
    proc, base = served
    pooled = _settled(proc, 180)
    clayton, pl = load_plan("clayton").title, load_plan("clayton-pl").title
    pages = {"board.ipynb?plan=clayton&goal=G2": f"{clayton}: board dashboard",
             "action_plan.ipynb": f"{pl}: action plan"}
    for _ in range(15):
        for page, title in pages.items():
            status, headers, body = _get(f"{base}/voila/render/{page}")
            assert status == 200 and "no-store" in headers["Cache-Control"]
            assert "Running" not in body and "jupyter-config-data" not in body
            assert f"<title>{title}</title>" in body
    status, _, board = _get(f"{base}/voila/render/board.ipynb?plan=clayton&goal=G2")
    assert "Goal G2" in board and board.count("<svg") >= 2 and "needs JavaScript" in board
    assert _kernels(proc) == pooled          # 31 requests, not one kernel


@pytest.mark.browser
def test_a_page_that_never_connects_is_culled(served):
    """A request that has the cookie but never opens the kernel's websocket (a browser that ran
    the scripts once, then curl with its cookies) gets a kernel, which the cull shuts down."""
    proc, base = served
    pooled = _settled(proc, 180)
    for _ in range(2):
        req = urllib.request.Request(f"{base}/voila/render/board.ipynb",
                                     headers={"Cookie": "pm_js=1"})
        with urllib.request.urlopen(req, timeout=120) as r:
            assert r.status == 200
            body = r.read().decode("utf-8")
    assert "Preparing the interactive dashboard" in body and "Running board" not in body
    assert _kernels(proc) > pooled          # the GETs did start kernels
    assert _wait_back_to(proc, pooled, CULL_IDLE + 40) == pooled


@pytest.mark.browser
def test_first_visit_without_scripts_or_cookies(served, browser):
    """A browser without JavaScript keeps the first-visit page: the static view, without the
    "preparing" line, and a note of what needs JavaScript with a link home; a browser that
    refuses cookies is told so (and stays on the page, no reload loop); neither starts a kernel
    and neither page has a serious accessibility violation."""
    from axe_playwright_python.sync_playwright import Axe
    proc, base = served
    pooled = _settled(proc, 180)
    ctx = browser.new_context(java_script_enabled=False, viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    page.goto(f"{base}/voila/render/board.ipynb?plan=clayton&goal=G2")
    assert page.locator(".pm-card svg.marks").count() == 2
    assert not page.locator(".pm-preparing").is_visible()
    assert "needs JavaScript" in page.inner_text("body")
    assert page.get_by_role("link", name="Back to the home page").get_attribute("href") == "/pm/"
    ctx.close()
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    ctx.add_init_script("Object.defineProperty(document, 'cookie', {get: () => '', set: () => {}})")
    page = ctx.new_page()
    navigations = []
    page.on("framenavigated", lambda f: navigations.append(f.url) if f == page.main_frame else None)
    page.goto(f"{base}/voila/render/board.ipynb")
    page.wait_for_selector("#pm-no-cookie", state="visible", timeout=10_000)
    page.wait_for_timeout(1500)
    assert len(navigations) == 1 and not page.locator(".pm-preparing").is_visible()
    result = Axe().run(page, options=AXE_OPTIONS)
    assert [v["id"] for v in result.response["violations"]
            if v["impact"] in ("serious", "critical")] == []
    ctx.close()
    assert _kernels(proc) == pooled


@pytest.mark.browser
def test_closed_tab_of_a_direct_link_shuts_its_kernel(served, browser):
    """A viewer (through the base URL a reverse proxy forwards) opens the board from a direct link (no visit to / first) and closes the tab: the
    close-tab beacon is accepted and the kernel is gone well before the cull would take it."""
    proc, base = served
    pooled = _settled(proc, 180)
    ctx = browser.new_context()
    page = ctx.new_page()
    outside = []
    page.on("request", lambda r: None if _local(r.url, base) else outside.append(r.url))
    navigations = []
    page.on("framenavigated", lambda f: navigations.append(f.url) if f == page.main_frame else None)
    url = f"{base}/voila/render/board.ipynb?plan=clayton"
    page.goto(url, timeout=120_000)
    page.wait_for_selector("#rendered_cells .pm-card svg.marks", timeout=120_000)
    page.wait_for_function("/(^|;\\s*)_xsrf=/.test(document.cookie)", timeout=10_000)
    # the first visit's page, then the same address again with its kernel (pm_js set)
    assert navigations == [url, url] and "pm_js" in {c["name"] for c in ctx.cookies()}
    assert _kernels(proc) > pooled      # the viewer's kernel beside the refilled pool
    page.close(run_before_unload=True)
    assert _wait_back_to(proc, pooled, 10) == pooled
    ctx.close()
    assert outside == []


@pytest.mark.browser
def test_board_paints_first_from_the_server(served, browser):
    """While the page's own scripts are held back (as when twenty kernels share two cores), the
    board already shows the view its link asks for, drawn by the server (its scorecard and first
    card with both charts), with no serious accessibility violation; once the scripts run, the
    live board replaces it with the same card, and nothing came from outside."""
    from axe_playwright_python.sync_playwright import Axe
    _, base = served
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    ctx.add_cookies([{"name": "pm_js", "value": "1", "url": base + "/"}])   # a returning viewer
    page = ctx.new_page()
    outside, held = [], []
    page.on("request", lambda r: None if _local(r.url, base) else outside.append(r.url))
    page.route("**/voila/static/voila.js", lambda route: held.append(route))
    page.goto(f"{base}/voila/render/board.ipynb?plan=clayton&year={YEAR}&goal=G2&building=ES01",
              wait_until="commit", timeout=120_000)
    page.wait_for_selector("#pm-preview .pm-card svg.marks", timeout=60_000)
    assert page.locator("#pm-preview svg.marks").count() == 2
    assert "Goal G2" in page.inner_text("#pm-preview .pm-sc-section")
    assert page.locator("#pm-preview .pm-scorecard tbody tr").count() >= 5
    preview_head = page.inner_text("#pm-preview .pm-card-head")
    assert "Preparing the interactive dashboard" in page.inner_text(".pm-preparing")
    result = Axe().run(page, options=AXE_OPTIONS)
    assert [v["id"] for v in result.response["violations"]
            if v["impact"] in ("serious", "critical")] == []
    for _ in range(240):                 # the page asks for it once its kernel has built it
        if held:
            break
        page.wait_for_timeout(500)
    assert held, "the page's main script was never requested"
    for route in held:
        route.continue_()
    page.wait_for_selector("#rendered_cells .pm-card svg.marks", timeout=120_000)
    assert page.locator("#pm-preview").count() == 0 and page.locator("#loading").count() == 0
    assert page.inner_text("#rendered_cells .pm-card-head") == preview_head
    page.close(run_before_unload=True)
    ctx.close()
    assert outside == []


def test_board_preview_answers_bad_links_with_the_notice(served):
    """The first paint checks the link like the board: an unknown year falls back with the
    notice, nothing from the URL comes back unescaped; a 404 for no other method."""
    _, base = served
    status, headers, body = _get(f"{base}/pm/board-preview?year=1999-00&goal=%3Cb%3E")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert "'1999-00' is not a published year of this plan" in body
    assert "<b>" not in body and "&lt;b&gt;" in body


def _get(url: str) -> tuple[int, dict, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, r.headers, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode("utf-8", "replace")


@pytest.mark.browser
def test_home_page_links_reach_every_dashboard(served, browser):
    """/ is the project's page (not Voila's file list): lang set, each plan's dashboard and report
    under its real title, and every link opens the page it names, fetching nothing from outside."""
    from plan_metrics.plan import load_plan
    _, base = served
    clayton, pl = load_plan("clayton").title, load_plan("clayton-pl").title
    expected = {f"{clayton}: board dashboard": f"{base}/voila/render/board.ipynb?plan=clayton",
                **{f"{clayton}: report {y} (HTML)": f"{base}/reports/clayton/{y}.html"
                   for y in YEARS},
                f"{pl}: action plan": f"{base}/voila/render/action_plan.ipynb"}
    ctx = browser.new_context()
    page = ctx.new_page()
    outside = []
    page.on("request", lambda r: None if _local(r.url, base) else outside.append(r.url))
    page.goto(f"{base}/")
    assert page.get_attribute("html", "lang") == "en"
    assert "Select items to open" not in page.content()
    links = dict(page.eval_on_selector_all(
        "main a", "as => as.map(a => [a.textContent, a.href])"))
    assert links == expected
    for text, href in links.items():
        page.goto(href, timeout=120_000)
        if "/voila/render/" in href:
            page.wait_for_selector(".pm-header", timeout=120_000)
            page.wait_for_function("t => document.title === t", arg=text, timeout=30_000)
        else:
            assert page.title().startswith(clayton) and href[-12:-5] in page.title()
            assert page.locator("h1").count() >= 1
    page.close(run_before_unload=True)
    ctx.close()
    assert outside == []


#: Addresses that must answer a plain 404 (no 500, no traceback in the log).
NOT_FOUND = ["/logout", "/login", "/voila/tree", "/voila/tree/board.ipynb", "/voila/api/contents",
             "/voila/templates/..%2f..%2f..%2fetc%2fpasswd",
             "/voila/templates/lab/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
             "/voila/templates/plan-metrics/../../../etc/passwd", "/voila/templates/x",
             "/voila/templates/plan-metrics/static", "/reports/clayton/1999-00.html",
             "/reports/..%2fclayton/2023-24.html", "/no/such/page"]


def test_bad_addresses_are_404_and_headers_are_set(served):
    """404 pages for traversal-shaped and unknown addresses; nosniff, a frame policy and a script
    policy on pages and static files; SameSite on the cookies the home page sets."""
    _, base = served
    for path in NOT_FOUND:
        status, headers, body = _get(base + path)
        assert status == 404, path
        assert "Traceback" not in body and "<html lang=\"en\">" in body, path
    status, headers, _ = _get(base + "/")
    assert status == 200
    assert "script-src" not in headers["Content-Security-Policy"]     # the home runs no script
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    cookies = headers.get_all("Set-Cookie")
    assert any(c.startswith("_xsrf=") for c in cookies)
    assert all("samesite=" in c.lower() for c in cookies), cookies
    for static in ("/voila/static/voila.js",
                   "/voila/templates/plan-metrics/static/vendor/jupyterchart.js"):
        status, headers, _ = _get(base + static)
        assert status == 200, static
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "SAMEORIGIN"


#: axe-core over WCAG 2.0/2.1 A and AA, with 2.5.3 (label in name), which axe ships disabled.
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "rules": {"label-content-name-mismatch": {"enabled": True}}}


@pytest.mark.browser
def test_no_serious_accessibility_violation(served, browser):
    """axe-core finds no serious or critical violation on the home page, the board and the action
    plan (their default view and after a filter change) and the static HTML report."""
    from axe_playwright_python.sync_playwright import Axe
    _, base = served
    axe, found = Axe(), {}

    def check(page, name):
        result = axe.run(page, options=AXE_OPTIONS)
        found[name] = [f"{v['impact']} {v['id']}: {v['nodes'][0]['html'][:120]}"
                       for v in result.response["violations"]
                       if v["impact"] in ("serious", "critical")]

    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    page.goto(f"{base}/")
    check(page, "home")
    page.goto(f"{base}/voila/render/board.ipynb", timeout=120_000)
    page.wait_for_selector("#rendered_cells .pm-card svg.marks", timeout=120_000)
    check(page, "board")
    first = page.inner_text(".pm-card h3")
    page.get_by_label("Goal", exact=True).select_option(index=1)
    page.wait_for_function("t => document.querySelector('.pm-card h3')?.textContent !== t",
                           arg=first, timeout=60_000)
    page.wait_for_selector("#rendered_cells .pm-card svg.marks", timeout=60_000)
    check(page, "board, goal 2")
    page.goto(f"{base}/voila/render/action_plan.ipynb", timeout=120_000)
    page.wait_for_selector(".pm-board svg.marks", timeout=120_000)
    check(page, "action plan")
    shown = page.inner_text(".pm-value")
    page.get_by_label("School year", exact=True).select_option(index=1)
    page.wait_for_function("t => document.querySelector('.pm-value')?.innerText !== t",
                           arg=shown, timeout=60_000)
    check(page, "action plan, other year")
    page.goto(f"{base}/reports/clayton/{YEAR}.html", timeout=120_000)
    page.wait_for_selector("svg.marks", timeout=60_000)
    check(page, "report")
    page.close(run_before_unload=True)
    ctx.close()
    assert {k: v for k, v in found.items() if v} == {}
