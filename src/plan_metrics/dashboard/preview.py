"""The board's first paint without a kernel (DESIGN.md sections 9 and 12: a meeting's audience).

A Voila page shows nothing until its kernel has run the notebook and the browser has loaded the
widget manager and built every widget: on a 2-core server that is seconds for one viewer and
minutes for the twentieth of a meeting's audience, whose kernels all start at once. The board
therefore paints first from the server: the page's "preparing" area holds the view its link asks
for, written into the page by the server when it has it rendered already, else fetched from
``pm/board-preview?<the page's query string>`` (``voila_app.PreviewHandler``). It is the same view the live board will show (header, notices, goal overview, scorecard,
narrative, the first measure card with its trend and breakdown as SVG), built by the board's own
code (``BoardApp``: the same texts, statuses and published values) and rendered by vl-convert.
The live widgets replace it once their first chart has drawn (the template's ``voila_finish``).

One ``BoardPreview`` per server; one worker thread renders, and each view is kept until an edition
of the reports folder changes, so an audience opening the same link costs one render.
"""

from __future__ import annotations

import html
import re
import time
from collections import OrderedDict
from pathlib import Path

from .. import charts
from ..editions import MANIFEST_FILE
from . import state

#: Rendered views kept per server (a view is ~60 KB).
CACHE_SIZE = 128
#: How often (seconds) the reports folder is checked for a republished edition.
STAMP_EVERY = 5.0

#: The live board sits 17 px in (Lab's panel and cell padding, the widget margin) and its HTML
#: widgets have a 28 px line height: the preview matches, so the swap barely moves the page.
PREVIEW_CSS = """<style>
.pm-preview { padding: 0 17px; line-height: 28px; }
.pm-preview .pm-card-row { display: flex; justify-content: space-between; gap: 2%; }
.pm-preview .pm-half { width: 48%; }
.pm-preview .pm-half svg { width: 100%; height: auto; }
.pm-preview-filters p { margin: 2px 0; font-size: 14px; }
</style>"""


class BoardPreview:
    """Renders (and keeps) the board's server-side first paint for a query string."""

    def __init__(self, reports: Path | str | None = None):
        from .data import reports_dir
        self.reports = Path(reports) if reports is not None else reports_dir()
        self._app = None
        self._stamp: tuple | None = None
        self._checked = 0.0
        self._cache: OrderedDict[tuple, str] = OrderedDict()

    def html(self, query: str) -> str:
        """The preview of the board view the URL query string asks for (an HTML fragment).
        Not thread-safe: call it from one thread."""
        self._refresh()
        key = _key(query)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        if self._app is None:
            from .board import BoardApp
            self._app = BoardApp(self.reports)
        app = self._app
        app.apply_query(query)
        out = preview_html(app)
        self._cache[key] = out
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return out

    def cached(self, query: str) -> str | None:
        """The view's preview if it is rendered already (safe from any thread: a dict lookup)."""
        return self._cache.get(_key(query))

    def _refresh(self) -> None:
        """Forget everything when an edition was published or republished since the last look."""
        now = time.monotonic()
        if self._stamp is not None and now - self._checked < STAMP_EVERY:
            return
        self._checked = now
        stamp = tuple(sorted((str(p), p.stat().st_mtime_ns)
                             for p in self.reports.glob(f"*/*/{MANIFEST_FILE}")))
        if stamp != self._stamp:
            self._stamp, self._app = stamp, None
            self._cache.clear()


def _key(query: str) -> tuple:
    return tuple(sorted(state.parse_query(query).items()))


def preview_html(app) -> str:
    """The view ``app`` (a BoardApp after ``apply_query``) shows, as static HTML with SVG charts."""
    d, f = app.data(), app.filters
    labels = {"plan": app.plan_titles[f.plan], "year": f.year,
              "goal": next(f"{g.id}: {g.title or g.statement}" for g in d.plan.goals
                           if g.id == f.goal),
              "building": d.building_names.get(f.building, f.building),
              "group": charts.GROUP_BY_LABELS.get(f.group, f.group)}
    names = {"plan": "Plan", "year": "School year", "goal": "Goal", "building": "Building",
             "group": "Student group"}
    shown = " &middot; ".join(f"{names[k]}: <strong>{html.escape(str(v))}</strong>"
                              for k, v in labels.items())
    bar = (f'<div class="pm-filters pm-preview-filters"><p>{shown}</p>'
           f'<p>The filters and downloads appear in a moment.</p></div>')
    cards = []
    for n, card in enumerate(c for c in app.cards if c.box.layout.display != "none"):
        halves = []
        for i, (chart, text) in enumerate(((card.trend, card.trend_text),
                                           (card.breakdown, card.breakdown_text))):
            svg = ""
            if chart.layout.display != "none" and chart.spec:
                svg = _svg(chart.spec, f"pm-pv{n}-{i}-")
            halves.append(f'<div class="pm-half">{svg}{text.value}</div>')
        cards.append(f'<div class="pm-card">{card.head.value}'
                     f'<div class="pm-card-row">{"".join(halves)}</div></div>')
    return (f'<div class="pm-board pm-preview" data-query="{html.escape(f.query())}">'
            f'{PREVIEW_CSS}{app.top.value}{bar}{app.info.value}{"".join(cards)}</div>')


_ID = re.compile(r'\bid="([^"]+)"')


def _svg(spec: dict, prefix: str) -> str:
    """A chart spec as inline SVG; its ids (clip paths, gradients) prefixed so that two charts in
    one page do not share them."""
    from ..exports.images import chart_bytes
    svg = chart_bytes(spec, "svg").decode("utf-8")
    for ident in set(_ID.findall(svg)):
        svg = (svg.replace(f'id="{ident}"', f'id="{prefix}{ident}"')
               .replace(f"url(#{ident})", f"url(#{prefix}{ident})")
               .replace(f'href="#{ident}"', f'href="#{prefix}{ident}"'))
    return svg
