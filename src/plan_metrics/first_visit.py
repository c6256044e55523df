"""A dashboard's first visit: the page a browser gets before it has shown it runs JavaScript
(DESIGN.md sections 9 and 12: no kernel outlives its viewer).

Voila gives every page request a kernel (about 300 MiB, and a notebook run to refill the pool),
whether or not anything ever connects to it. A request that never runs the page's scripts (curl,
a link preview, a crawler, a monitoring probe) only needs what the page says, so a request of a
dashboard without the ``pm_js`` cookie gets this page instead, built by the server without any
kernel: the dashboard's real title, the "preparing" line and, for the board, the server's first
paint of the view its link asks for (``dashboard.preview``). Its one script sets ``pm_js`` and
loads the same address again, which Voila then serves with a kernel; Chromium keeps this page on
screen until the next one paints, and that one starts with the same first paint. A browser
without scripts keeps this page: the static view and a line saying what needs JavaScript.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from .texts import text

#: The cookie a dashboard's first-visit page sets from JavaScript (it holds "1" and nothing else).
JS_COOKIE = "pm_js"

_CSS = """<style>
body { margin: 0; padding: 18px; font-family: Helvetica, Arial, sans-serif; font-size: 13px;
  color: #222; background: #fff; }
.pm-preparing { margin: 0; padding: 6px 17px; background: #EAF3FA; }
.pm-first-note { margin: 0 0 6px; padding: 6px 17px; background: #FFF4D6; }
.pm-first-note[hidden] { display: none; }
.pm-static .pm-preparing, .pm-static .pm-preview-filters p + p { display: none; }
</style>"""


#: Without scripts (or cookies: class pm-static), nothing is "preparing": the line and the
#: preview's "the filters appear in a moment" go.
_NO_SCRIPT_CSS = ("<noscript><style>.pm-preparing, .pm-preview-filters p + p { display: none; }"
                  "</style></noscript>")


def first_visit_head(title: str, board: bool, home_url: str) -> str:
    """The page's start, sent at once: title, styles, the "preparing" line, and the notes for a
    browser without scripts or cookies."""
    esc = html.escape
    words = text("first_visit.preparing_board" if board else "first_visit.preparing")
    home = f' <a href="{esc(home_url)}">{esc(text("home.home_link"))}</a>'
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{esc(title)}</title><link rel="icon" href="data:,">{_CSS}{_NO_SCRIPT_CSS}'
            f'</head><body><div id="loading"><p class="pm-preparing" role="status" '
            f'aria-live="polite">{esc(words)}</p>'
            f'<noscript><p class="pm-first-note">{esc(text("first_visit.no_script"))}{home}</p>'
            f'</noscript><p class="pm-first-note" id="pm-no-cookie" hidden>'
            f'{esc(text("first_visit.no_cookie"))}</p><div id="pm-preview">')


def first_visit_tail(base_url: str) -> str:
    """The page's end: the script that sets ``pm_js`` and loads the dashboard again (once the
    page has painted)."""
    cookie = f"{JS_COOKIE}=1; path={base_url}; max-age=31536000; SameSite=Lax"
    script = f"""(function () {{
  document.cookie = {json.dumps(cookie)} + (location.protocol === "https:" ? "; Secure" : "");
  if (!/(^|;\\s*){JS_COOKIE}=1/.test(document.cookie)) {{
    document.getElementById("pm-no-cookie").hidden = false;
    document.body.classList.add("pm-static");
    return;
  }}
  var gone = false;
  function go() {{ if (!gone) {{ gone = true; location.replace(location.href); }} }}
  requestAnimationFrame(function () {{ setTimeout(go, 0); }});
  setTimeout(go, 1000);
}})();"""
    return f'</div></div><script>{script}</script></body></html>'


def dashboard_title(reports: Path, notebook: str, plan_id: str | None) -> str:
    """The title of a dashboard as the home page names it ("<plan>: board dashboard"): the plan
    the query asks for when that dashboard shows it, else the dashboard's default plan."""
    from .dashboard.board import DEFAULT_PLAN
    from .home import home_links
    plans, _, _ = home_links(reports)
    names = {p["id"]: link.text for p in plans for link in p["dashboards"]
             if link.href.split("?")[0] == f"voila/render/{notebook}"}
    for pid in (plan_id, DEFAULT_PLAN, *sorted(names)):
        if pid in names:
            return names[pid]
    return text("home.title_any")
