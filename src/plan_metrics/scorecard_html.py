"""The scorecard as HTML (board dashboard and HTML report): a table, one row per ``ScoreRow``.

Self-contained: its own stylesheet (``SCORECARD_CSS``), status badges with word and colour, inline
SVG sparklines (no script, no chart library, works offline), a hidden year as a gap. Accessible:
a captioned table with scoped headers; each measure's title is a link to its card; the rule behind
a status opens on demand (a ``<details>`` reachable with Tab, opened with Enter); each sparkline is
an image with a text alternative listing its points. Sized so that a goal of 14 measures fits one
1366x768 screen.
"""

from __future__ import annotations

import html

from . import texts
from .charts import STATUS_COLORS, VALUE_COLOR, status_text_color
from .privacy import format_value
from .scorecard import Change, ScoreRow

SPARK_W, SPARK_H = 88, 22

SCORECARD_CSS = """<style>
.pm-scorecard { border-collapse: collapse; font-size: 13px; line-height: 1.2; margin: 6px 0 10px;
                width: 100%; max-width: 1180px; font-family: Helvetica, Arial, sans-serif; }
.pm-scorecard caption { text-align: left; font-weight: bold; font-size: 15px; padding: 2px 0 4px; }
.pm-scorecard th, .pm-scorecard td { border-bottom: 1px solid #d0d7de; padding: 3px 6px;
                                     text-align: left; vertical-align: middle; }
.pm-scorecard thead th { background: #F2F5F8; font-size: 12px; color: #333; }
.pm-scorecard tbody th { font-weight: normal; max-width: 330px; }
.pm-scorecard a { color: #0060A0; text-decoration: none; }
.pm-scorecard a:hover, .pm-scorecard a:focus { text-decoration: underline; }
.pm-scorecard a:focus, .pm-scorecard summary:focus { outline: 3px solid #0072B2; outline-offset: 1px; }
.pm-sc-whose { color: #555; font-size: 11px; }
.pm-sc-value { font-weight: bold; white-space: nowrap; }
.pm-sc-real { font-weight: bold; }
.pm-sc-noise { color: #555; }
.pm-sc-verdict { font-size: 11px; display: block; }
.pm-scorecard details { display: inline; }
.pm-scorecard summary { cursor: pointer; list-style: none; display: inline; }
.pm-scorecard summary::-webkit-details-marker { display: none; }
.pm-sc-rule { font-size: 12px; color: #333; max-width: 360px; margin: 3px 0 0; }
.pm-sc-badge { display: inline-block; border-radius: 10px; padding: 1px 8px; font-weight: bold;
               font-size: 12px; white-space: nowrap; }
.pm-sc-why { font-size: 11px; color: #0060A0; margin-left: 4px; text-decoration: underline; }
</style>"""


def _esc(x) -> str:
    return html.escape(str(x))


def status_badge(status: str, cls: str = "pm-sc-badge") -> str:
    """A status word on its colour (text colour chosen for contrast; the word is always there)."""
    color = STATUS_COLORS.get(status, "#BBBBBB")
    return (f'<span class="{cls}" style="background:{color};color:{status_text_color(status)}" '
            f'data-status="{_esc(status)}">{_esc(status)}</span>')


def sparkline_svg(row: ScoreRow, width: int = SPARK_W, height: int = SPARK_H) -> str:
    """An inline SVG line of the row's published values by year; a hidden year breaks the line
    (a gap, never a zero); the last point is marked. Its text alternative lists every year."""
    pts = row.spark
    vals = [v for _, v in pts if v is not None]
    alt = texts.fill("scorecard.spark_alt", title=row.title,
                     first=pts[0][0] if pts else "", last=pts[-1][0] if pts else "",
                     points="; ".join(f"{y} {format_value(v, row.unit) if v is not None else texts.text('display.hidden')}"
                                      for y, v in pts) or texts.text("display.no_data"))
    if not vals:
        return f'<span role="img" aria-label="{_esc(alt)}">{_esc(texts.text("display.no_data"))}</span>'
    lo, hi = min(vals), max(vals)
    pad = 3
    # a minimum span, so that noise-sized wiggles do not look like a trend: 10 points for a
    # percentage, else a tenth of the value's size
    least = 0.10 if row.unit == "percent" else max(abs(hi), abs(lo)) * 0.2 or 1.0
    if hi - lo < least:
        mid = (hi + lo) / 2
        lo, hi = mid - least / 2, mid + least / 2
    span = hi - lo
    n = max(len(pts) - 1, 1)

    def xy(i, v):
        x = pad + (width - 2 * pad) * i / n
        y = height - pad - (height - 2 * pad) * ((v - lo) / span if hi > lo else 0.5)
        return f"{x:.1f},{y:.1f}"
    segs, cur = [], []
    for i, (_, v) in enumerate(pts):
        if v is None:
            if cur:
                segs.append(cur)
            cur = []
        else:
            cur.append(xy(i, v))
    if cur:
        segs.append(cur)
    lines = "".join(f'<polyline points="{" ".join(s)}" fill="none" stroke="{VALUE_COLOR}" '
                    f'stroke-width="1.8"/>' if len(s) > 1 else
                    f'<circle cx="{s[0].split(",")[0]}" cy="{s[0].split(",")[1]}" r="1.8" '
                    f'fill="{VALUE_COLOR}"/>' for s in segs)
    last = next(((i, v) for i, (_, v) in reversed(list(enumerate(pts))) if v is not None), None)
    dot = ""
    if last is not None:
        cx, cy = xy(*last).split(",")
        dot = f'<circle cx="{cx}" cy="{cy}" r="2.6" fill="{VALUE_COLOR}"/>'
    return (f'<svg class="pm-spark" width="{width}" height="{height}" role="img" '
            f'aria-label="{_esc(alt)}" viewBox="0 0 {width} {height}"><title>{_esc(alt)}</title>'
            f'{lines}{dot}</svg>')


def _change_cell(c: Change) -> str:
    if c.real is None:
        return f'<td class="pm-sc-change" data-real="">{_esc(c.text)}</td>'
    cls = "pm-sc-real" if c.real else "pm-sc-noise"
    return (f'<td class="pm-sc-change {cls}" data-real="{str(c.real).lower()}">{_esc(c.text)}'
            f'<span class="pm-sc-verdict">{_esc(c.verdict)}</span></td>')


def row_html(row: ScoreRow, href_prefix: str = "#") -> str:
    """One ``<tr>`` of the scorecard."""
    value = row.display
    who = row.whose
    link = texts.fill("scorecard.to_card", title=row.title)
    title = (f'<a href="{_esc(href_prefix + row.anchor)}" aria-label="{_esc(link)}" '
             f'data-measure="{_esc(row.measure_id)}">{_esc(row.title)}</a>'
             f'<br><span class="pm-sc-whose">{_esc(who)}</span>')
    why = texts.fill("scorecard.rule_button", status=row.status)
    # the summary's accessible name is its visible text ("off track why?", WCAG 2.5.3); the row
    # header names the measure, the title says the rest
    status = (f'<details class="pm-sc-details"><summary title="{_esc(row.status_of)}. {_esc(why)}">'
              f'{status_badge(row.status)} <span class="pm-sc-why">why?</span>'
              f'</summary><p class="pm-sc-rule">{_esc(row.status_of)}. {_esc(row.rule_text)}</p>'
              f'</details>')
    return (f'<tr data-measure="{_esc(row.measure_id)}" data-status="{_esc(row.status)}">'
            f'<th scope="row">{title}</th>'
            f'<td class="pm-sc-value" title="{_esc(row.headline)}">{_esc(value)}</td>'
            f'{_change_cell(row.since_last_year)}{_change_cell(row.since_baseline)}'
            f'<td>{_esc(row.target)}</td><td class="pm-sc-bench">{_esc(row.benchmark)}</td>'
            f'<td class="pm-sc-status">{status}</td><td>{sparkline_svg(row)}</td></tr>')


def scorecard_html(rows: list[ScoreRow], goal_label: str, place: str, year: str,
                   href_prefix: str = "#", css: bool = True) -> str:
    """The whole scorecard table of a goal (with its stylesheet unless ``css=False``)."""
    cols = [c.format(year=year) for c in texts.all_texts()["scorecard"]["columns"]]
    head = "".join(f'<th scope="col">{_esc(c)}</th>' for c in cols)
    cap = texts.fill("scorecard.caption", goal=goal_label, place=place, year=year)
    body = "".join(row_html(r, href_prefix) for r in rows)
    return ((SCORECARD_CSS if css else "") +
            f'<table class="pm-scorecard" aria-label="{_esc(cap)}"><caption>{_esc(cap)}</caption>'
            f'<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')
