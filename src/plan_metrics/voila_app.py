"""The Voila server of ``plan-metrics serve`` (``python -m plan_metrics.voila_app``), DESIGN.md 9, 12.

Standalone Voila with the project's own routes in front of Voila's:

- ``/``: the home page (``home.py``); it and ``/pm/xsrf`` set the ``_xsrf`` cookie that Voila's
  close-tab shutdown beacon needs (the render page fetches ``pm/xsrf`` when the cookie is missing);
- ``/reports/<plan>/<year>.html``: the edition's static HTML report, built from the published rows;
- ``/pm/board-preview?<query>``: the board's first paint without a kernel (``dashboard.preview``),
  which the board page shows while its kernel and widgets get ready;
- ``/voila/render/<dashboard>`` without the ``pm_js`` cookie: the first-visit page
  (``first_visit.py``), built without a kernel, whose script sets the cookie and loads the page
  again; a request that never runs JavaScript never gets a kernel;
- Voila's own routes, with a render handler that takes a preheated kernel only once it has
  started, kernels started under ``nice``, and compiled page templates kept across requests;
- 404 (a plain page, no traceback) for Voila's file list (``/voila/tree``, ``/voila/api/contents``),
  for ``/login`` and ``/logout`` (sign-on belongs to the district's reverse proxy), for any
  unknown address, and for malformed or traversal-shaped ``/voila/templates/...`` paths;
- on every response: ``X-Content-Type-Options: nosniff``, ``Referrer-Policy``, ``X-Frame-Options``,
  SameSite on both cookies (``_xsrf`` Strict, the anonymous user cookie Lax), and a Content-Security-Policy per kind of page (the home and
  404 pages run no script at all; the dashboards may run only this server's scripts, plus the
  inline scripts and ``eval`` that Voila's page and Vega's expression compiler need).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

import jinja2
import tornado.web
import voila.notebook_renderer
from jupyter_client.ioloop import AsyncIOLoopKernelManager
from jupyter_server import DEFAULT_STATIC_FILES_PATH
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from voila.app import Voila
from voila.exporter import VoilaExporter
from voila.static_file_handler import TemplateStaticFileHandler
from voila.tornado.handler import TornadoVoilaHandler

from .dashboard.data import REPORTS_ENV
from .editions import MANIFEST_FILE, edition_dir
from .first_visit import JS_COOKIE, dashboard_title, first_visit_head, first_visit_tail
from .home import DASHBOARDS, home_html, not_found_html

#: Content-Security-Policy of pages that run no script (home, 404).
CSP_STATIC = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
              "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
#: The self-contained HTML report: its own inline scripts (Vega compiles with Function()) and
#: styles, nothing fetched.
CSP_REPORT = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
              "img-src 'self' data: blob:; font-src data:; base-uri 'none'; form-action 'none'; "
              "frame-ancestors 'self'")
#: The dashboards: only this server's scripts; Voila's page needs inline scripts, anywidget
#: imports widget modules from blob: URLs, Vega compiles its expressions with Function().
CSP_DASHBOARD = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:; "
                 "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
                 "font-src 'self' data:; connect-src 'self' {ws}; worker-src 'self' blob:; "
                 "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'")
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
                    "X-Frame-Options": "SAMEORIGIN"}
REPORT_RE = r"/reports/([a-z0-9][a-z0-9_-]{0,63})/(\d{4}-\d{2})\.html"
#: A well-formed template static path: <template>/static/<file path without dot-segments>.
TEMPLATE_PATH_RE = re.compile(r"^[A-Za-z0-9_-]+/static/(?!.*(?:^|/)\.\.?(?:/|$))[\w./-]+$")


def _base_path(request_path: str, base_url: str) -> str:
    base = base_url.rstrip("/")
    return request_path[len(base):] if base and request_path.startswith(base) else request_path


class SecurityHeaders(tornado.web.OutputTransform):
    """Adds the security headers to every response (static files included); the
    Content-Security-Policy depends on the path (below ``base_url``, set per server)."""

    base_url = "/"

    def __init__(self, request):
        self.request = request
        super().__init__(request)

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        for name, value in SECURITY_HEADERS.items():
            headers[name] = value
        path = _base_path(self.request.path, self.base_url)
        if path in ("", "/") or status_code == 404:
            csp = CSP_STATIC
        elif path.startswith("/reports/"):
            csp = CSP_REPORT
        else:
            host = self.request.host
            csp = CSP_DASHBOARD.format(ws=f"ws://{host} wss://{host}")
        headers["Content-Security-Policy"] = csp
        return status_code, headers, chunk


class NotFoundHandler(JupyterHandler):
    """404 with a plain page for every method (no traceback, no server detail)."""

    def prepare(self):
        self.set_status(404)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(not_found_html(self.base_url))

    def check_xsrf_cookie(self):           # a 404 whatever the method
        return None

    def write_error(self, status_code, **kwargs):
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(not_found_html(self.base_url))


def _reports() -> Path:
    return Path(os.environ.get(REPORTS_ENV) or "reports")


class XsrfCookieHandler(JupyterHandler):
    """``/pm/xsrf``: sets the ``_xsrf`` cookie (Voila's close-tab beacon sends it back; a render
    page opened from a direct link has none) and answers 204, without building a page."""

    def get(self):
        self.xsrf_token                     # noqa: B018 - sets the _xsrf cookie
        self.set_header("Cache-Control", "no-store")
        self.set_status(204)
        self.finish()


class HomeHandler(JupyterHandler):
    """The home page; sets the _xsrf cookie (the dashboards' close-tab beacon sends it back)."""

    def get(self):
        self.xsrf_token                     # noqa: B018 - sets the _xsrf cookie
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(home_html(_reports(), self.base_url))


class ReportHandler(JupyterHandler):
    """``/reports/<plan>/<year>.html``: the edition's static HTML report (kept in memory until the
    edition is republished); 404 when there is no such edition."""

    _cache: dict[tuple[str, str], tuple[int, bytes]] = {}

    async def get(self, plan_id: str, year: str):
        manifest = edition_dir(_reports(), plan_id, year) / MANIFEST_FILE
        if not manifest.exists():
            raise tornado.web.HTTPError(404)
        stamp = manifest.stat().st_mtime_ns
        cached = self._cache.get((plan_id, year))
        if cached is None or cached[0] != stamp:
            from .exports import html_report_bytes
            body = await asyncio.get_running_loop().run_in_executor(
                None, html_report_bytes, _reports(), plan_id, year)
            self._cache[(plan_id, year)] = cached = (stamp, body)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(cached[1])

    def write_error(self, status_code, **kwargs):
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(not_found_html(self.base_url) if status_code == 404
                    else "<!DOCTYPE html><html lang='en'><title>Error</title><p>The report could "
                         "not be built; the server log says why.</p></html>")


class PreviewHandler(JupyterHandler):
    """``/pm/board-preview?<query>``: the board view the query asks for, as static HTML (an HTML
    fragment the board page inserts while it waits for its kernel). Rendered on one worker thread
    so the server's event loop stays free; kept until an edition changes."""

    _preview = None
    _executor = None

    @classmethod
    def cached(cls, query: str) -> str | None:
        """The first paint of this view if it is rendered already (else None: the page asks)."""
        return cls._preview.cached(query) if cls._preview is not None else None

    @classmethod
    def warm(cls) -> None:
        """Render the default view in the background as the server starts."""
        cls.submit("")

    @classmethod
    def submit(cls, query: str):
        """Render the view of ``query`` on the preview thread (a future of its HTML)."""
        if cls._executor is None:
            from concurrent.futures import ThreadPoolExecutor
            from .dashboard.preview import BoardPreview
            cls._executor = ThreadPoolExecutor(1, thread_name_prefix="pm-preview")
            cls._preview = BoardPreview(_reports())
        return cls._executor.submit(cls._preview.html, query)

    async def get(self):
        try:
            body = await asyncio.wrap_future(self.submit(self.request.query))
        except Exception as e:                   # noqa: BLE001 - the live board still comes
            self.log.warning("board preview failed: %s", e)
            raise tornado.web.HTTPError(404) from None
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(body)

    def write_error(self, status_code, **kwargs):
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish("")


class SafeTemplateStaticFileHandler(TemplateStaticFileHandler):
    """Voila's template static files, with 404 (not a 500 and a traceback) for any path that is
    not ``<template>/static/<file>`` or that climbs out with ``..``."""

    def parse_url_path(self, path):
        if not TEMPLATE_PATH_RE.match(path or ""):
            raise tornado.web.HTTPError(404)
        try:
            return super().parse_url_path(path)
        except (AssertionError, ValueError, KeyError, OSError):
            raise tornado.web.HTTPError(404) from None

    @classmethod
    def get_absolute_path(cls, root, path):
        try:
            return super().get_absolute_path(root, path)
        except (AssertionError, ValueError, KeyError, OSError):
            raise tornado.web.HTTPError(404) from None

    def write_error(self, status_code, **kwargs):
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(not_found_html("/") if status_code == 404 else "")


#: The board page's empty first-paint box (plan-metrics template).
PREVIEW_SLOT = '<div id="pm-preview"></div>'


#: The dashboards a first visit (``first_visit``) answers for; any other path goes to Voila (404).
DASHBOARD_PAGES = tuple(notebook for _, notebook in DASHBOARDS.values())


class ReadyPoolVoilaHandler(TornadoVoilaHandler):
    """Voila's render handler, taking a preheated kernel only when one has started.

    Voila's pool is a list of tasks: once the warm kernels are taken, the next viewer is handed a
    refill that is still starting and gets the page's first byte only after that kernel has run
    the notebook (under a meeting's burst, a minute of blank page). A viewer who finds no started
    kernel gets one of their own instead, whose page streams at once: the "preparing" state and
    the board's first paint from the server (``PreviewHandler``) show while it runs. A first
    paint the server has ready is written into the page itself (no second request).
    """

    @tornado.web.authenticated
    async def get(self, path=None):
        """A browser that has not yet shown it runs JavaScript (no ``pm_js`` cookie) gets the
        first-visit page, without a kernel; one that has gets Voila's page and its kernel."""
        if self.get_cookie(JS_COOKIE) is None and (self.notebook_path or path) in DASHBOARD_PAGES:
            await self._first_visit(self.notebook_path or path)
            return
        await super().get(path)

    async def _first_visit(self, notebook: str):
        """The first-visit page: its start at once, the board's first paint once rendered."""
        self.xsrf_token                     # noqa: B018 - sets the _xsrf cookie for the beacon
        query = self.request.query
        board = notebook == "board.ipynb"
        plan_id = self.get_argument("plan", None)
        title = await asyncio.get_running_loop().run_in_executor(
            None, dashboard_title, _reports(), notebook, plan_id)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-cache, no-store, must-revalidate")
        self.write(first_visit_head(title, board, self.base_url))
        self.flush()
        preview = ""
        if board:
            preview = PreviewHandler.cached(query)
            if preview is None:
                try:
                    preview = await asyncio.wrap_future(PreviewHandler.submit(query))
                except Exception as e:          # noqa: BLE001 - the live board still comes
                    self.log.warning("board preview failed: %s", e)
                    preview = ""
        self.finish(preview + first_visit_tail(self.base_url))

    async def get_generator(self, path=None):
        self._pm_notebook = self.notebook_path or path
        first_paint = PreviewHandler.cached(self.request.query)
        async for chunk in super().get_generator(path=path):
            if first_paint and PREVIEW_SLOT in chunk:   # the board's first paint, in the page
                chunk = chunk.replace(PREVIEW_SLOT, PREVIEW_SLOT[:-6] + first_paint + "</div>", 1)
                first_paint = None
            yield chunk

    def should_use_rendered_notebook(self, notebook_data, pool_size, template_name, theme,
                                     request_args):
        if not super().should_use_rendered_notebook(notebook_data, pool_size, template_name,
                                                    theme, request_args):
            return False
        pool = getattr(self.kernel_manager, "_pools", {}).get(self._pm_notebook) or []
        first = pool[0] if pool else None
        return (first is not None and first.done() and not first.cancelled()
                and first.exception() is None)


#: Kernels run below the server's CPU priority: under a meeting's burst the server keeps streaming
#: pages, first paints and websocket messages while the kernels build their dashboards.
KERNEL_NICENESS = 15


class NiceKernelManager(AsyncIOLoopKernelManager):
    """Jupyter's kernel manager, starting each kernel under ``nice -n KERNEL_NICENESS``."""

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        nice = shutil.which("nice")
        return [nice, "-n", str(KERNEL_NICENESS), *cmd] if nice else cmd


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled Jinja templates kept in memory (checked against each template's source)."""

    def __init__(self):
        self._store: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self._store:
            bucket.bytecode_from_string(self._store[bucket.key])

    def dump_bytecode(self, bucket):
        self._store[bucket.key] = bucket.bytecode_to_string()


class CachedTemplatesExporter(VoilaExporter):
    """Voila builds an exporter, hence a Jinja environment, for every page it renders and
    compiles the page's templates each time: a third of the server's time when a meeting's
    audience opens the board at once (py-spy). Every environment shares one in-memory cache of
    compiled templates instead (all are configured alike: async, with the ``do`` extension)."""

    _compiled = _CompiledTemplates()

    def _create_environment(self):
        env = super()._create_environment()
        env.bytecode_cache = self._compiled
        return env


class PlanMetricsVoila(Voila):
    """Voila with the project's home page, report route, 404s and security headers."""

    def init_settings(self):
        voila.notebook_renderer.VoilaExporter = CachedTemplatesExporter
        self.config.IdentityProvider.cookie_options = {"samesite": "Lax"}
        settings = super().init_settings()
        settings["default_handler_class"] = NotFoundHandler
        settings["xsrf_cookie_kwargs"] = {"samesite": "Strict", "httponly": False}
        # Jupyter Server's error page (a websocket to a kernel already culled answers 404 with it)
        # calls static_url, which raises without a static_path: "Uncaught exception" in the log.
        # Its own static folder holds the favicon and styles the page links to.
        settings.setdefault("static_path", DEFAULT_STATIC_FILES_PATH)
        return settings

    def init_handlers(self):
        url = lambda p: url_path_join(self.server_url, p)   # noqa: E731
        ours = [(url(r"/?"), HomeHandler),
                (url(REPORT_RE), ReportHandler),
                (url(r"/pm/board-preview"), PreviewHandler),
                (url(r"/pm/xsrf"), XsrfCookieHandler),
                (url(r"/(?:login|logout)/?"), NotFoundHandler),
                (url(r"/voila/tree(?:/.*)?"), NotFoundHandler),
                (url(r"/voila/api/contents(?:/.*)?"), NotFoundHandler),
                (url(r"/voila/templates/(.*)"), SafeTemplateStaticFileHandler)]
        theirs = [(rule[0], ReadyPoolVoilaHandler, *rule[2:]) if rule[1] is TornadoVoilaHandler
                  else rule for rule in super().init_handlers()]
        return ours + theirs

    def listen(self):
        transform = type("PlanMetricsHeaders", (SecurityHeaders,), {"base_url": self.base_url})
        self.app.transforms.append(transform)
        PreviewHandler.warm()
        super().listen()


main = PlanMetricsVoila.launch_instance

if __name__ == "__main__":
    main()
