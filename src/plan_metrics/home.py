"""The home page of ``plan-metrics serve`` at ``/`` (DESIGN.md section 9), not Voila's file list.

One static page (no script, nothing fetched from outside): the published plans with their years,
the dashboard of each plan under its real title ("School District of Clayton Strategic Plan: board
dashboard"), the static HTML report of every edition, and the date of the latest edition. Built
from ``list_editions`` and each edition's manifest; words from texts.yaml ``home``.
"""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timezone
from dataclasses import dataclass
from pathlib import Path

from .editions import MANIFEST_FILE, list_editions
from .errors import PlanMetricsError
from .plan import load_plan
from .texts import fill, text

#: The dashboard notebook of each plan type (the board takes ?plan=, the others show one plan).
DASHBOARDS = {"strategic": ("board", "board.ipynb"), "equity_review": ("equity", "equity.ipynb"),
              "action_steps": ("action_plan", "action_plan.ipynb")}


@dataclass(frozen=True)
class Link:
    """One link of the home page: its visible text and its URL (below the server's base URL)."""
    text: str
    href: str


def dashboard_url(notebook: str, plan_id: str) -> str:
    """The render URL of a dashboard for one plan (below the base URL)."""
    query = f"?plan={plan_id}" if notebook == "board.ipynb" else ""
    return f"voila/render/{notebook}{query}"


def report_url(plan_id: str, year: str) -> str:
    """The URL of an edition's static HTML report (below the base URL), served by ReportHandler."""
    return f"reports/{plan_id}/{year}.html"


_plans: dict[str, tuple[int, object]] = {}


def _plan(plan_id: str):
    """``load_plan``, kept while the plan file is unchanged: the home page and every first visit
    of a dashboard name the plans, and parsing the YAML each time was a sixth of the server's
    busy time when a meeting's audience opened the board at once (py-spy)."""
    from .plan import plan_path
    stamp = plan_path(plan_id).stat().st_mtime_ns if plan_path(plan_id).exists() else -1
    kept = _plans.get(plan_id)
    if kept is None or kept[0] != stamp:
        kept = _plans[plan_id] = (stamp, load_plan(plan_id))
    return kept[1]


def home_links(reports: Path) -> tuple[list[dict], str | None, bool]:
    """Per published plan {title, years, dashboards: [Link], reports: [Link]}; the date of the
    latest edition (YYYY-MM-DD, from the manifests' ``ended``); whether any edition is synthetic."""
    eds = list_editions(reports)
    plans, latest, synthetic = [], None, False
    for plan_id in sorted(set(eds["plan_id"])):
        try:
            plan = _plan(plan_id)
        except PlanMetricsError:
            continue                      # an edition of a plan this install does not know
        years = sorted(eds.loc[eds.plan_id == plan_id, "school_year"])
        for path in eds.loc[eds.plan_id == plan_id, "path"]:
            try:
                manifest = json.loads((Path(path) / MANIFEST_FILE).read_text())
            except (OSError, ValueError):
                continue
            synthetic = synthetic or bool(manifest.get("synthetic_data"))
            ended = str(manifest.get("ended") or "")[:10]
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", ended):   # not a date: the file's own
                ended = datetime.fromtimestamp((Path(path) / MANIFEST_FILE).stat().st_mtime,
                                               timezone.utc).strftime("%Y-%m-%d")
            if ended and (latest is None or ended > latest):
                latest = ended
        dashboards = []
        if plan.type in DASHBOARDS:
            key, notebook = DASHBOARDS[plan.type]
            dashboards.append(Link(fill(f"home.{key}", plan=plan.title),
                                   dashboard_url(notebook, plan_id)))
        reps = [Link(fill("home.report", plan=plan.title, year=y), report_url(plan_id, y))
                for y in reversed(years)] if plan.type == "strategic" else []
        plans.append({"id": plan_id, "title": plan.title, "years": years,
                      "organization": plan.organization,
                      "dashboards": dashboards, "reports": reps})
    return plans, latest, synthetic


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
  color: #1a1a1a; background: #fafafa; line-height: 1.45; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem 1.25rem 3rem; }
h1 { font-size: 1.7rem; margin: 0 0 .4rem; }
h2 { font-size: 1.25rem; margin: 1.6rem 0 .3rem; }
section { background: #fff; border: 1px solid #d0d0d0; border-radius: 6px; padding: .2rem 1.2rem 1rem;
  margin-top: 1rem; }
a { color: #0b4f8a; } a:focus-visible { outline: 3px solid #0072B2; outline-offset: 2px; }
ul { padding-left: 1.2rem; } li { margin: .3rem 0; }
.pm-note { color: #444; } .pm-synthetic { background: #fff3cd; border: 1px solid #8a6d00;
  padding: .3rem .6rem; border-radius: 4px; display: inline-block; }
"""


def home_html(reports: Path, base_url: str = "/") -> str:
    """The whole home page for the editions under ``reports`` (links relative to ``base_url``)."""
    esc = html.escape
    plans, latest, synthetic = home_links(reports)
    orgs = {p["organization"] for p in plans if p["organization"]}
    title = fill("home.title", district=orgs.pop()) if len(orgs) == 1 else text("home.title_any")
    base = base_url if base_url.endswith("/") else base_url + "/"
    parts = [f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
             f'<meta name="viewport" content="width=device-width, initial-scale=1">'
             f'<title>{esc(title)}</title><link rel="icon" href="data:,">'
             f'<style>{_CSS}</style></head><body><main>',
             f'<h1>{esc(title)}</h1><p class="pm-note">{esc(text("home.intro"))}</p>']
    if synthetic:
        parts.append(f'<p class="pm-synthetic">{esc(text("home.synthetic"))}</p>')
    if latest:
        parts.append(f'<p>{esc(fill("home.latest", date=latest))}</p>')
    if not plans:
        parts.append(f'<p>{esc(text("home.none"))}</p>')
    for p in plans:
        parts.append(f'<section aria-labelledby="plan-{esc(p["id"])}">'
                     f'<h2 id="plan-{esc(p["id"])}">{esc(p["title"])}</h2>'
                     f'<p class="pm-note">{esc(fill("home.years", years=", ".join(p["years"])))}</p>')
        links = p["dashboards"] + p["reports"]
        parts.append("<ul>" + "".join(f'<li><a href="{esc(base + link.href)}">{esc(link.text)}</a></li>'
                                      for link in links) + "</ul></section>")
    parts.append("</main></body></html>")
    return "".join(parts)


def not_found_html(base_url: str = "/") -> str:
    """The plain 404 page (no traceback, no server detail)."""
    esc = html.escape
    msg = text("home.not_found")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(msg)}</title>'
            f'<link rel="icon" href="data:,"></head><body><main><h1>{esc(msg)}</h1>'
            f'<p><a href="{esc(base_url)}">{esc(text("home.home_link"))}</a></p></main></body></html>')
