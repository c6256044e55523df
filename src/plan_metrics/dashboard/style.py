"""The dashboards' look: one stylesheet, status badges (word AND colour) and data tables."""

from __future__ import annotations

import html

from ..charts import STATUS_COLORS, STEP_COLORS, status_text_color, text_color_on

CSS = """<style>
.pm-board { font-family: Helvetica, Arial, sans-serif; color: #222; max-width: 1200px; }
.pm-board h1 { font-size: 26px; margin: 4px 0; }
.pm-board h2 { font-size: 20px; margin: 18px 0 6px; }
.pm-board h3 { font-size: 17px; margin: 4px 0; }
.pm-mission { font-style: italic; margin: 4px 0; }
.pm-synthetic { background: #FFF4D6; border-left: 5px solid #B36B00; padding: 6px 10px; }
.pm-notice { background: #FDE8E0; border-left: 5px solid #B34700; padding: 6px 10px; margin: 4px 0; }
.pm-datanote, .pm-where, .pm-ci, .pm-verdict, .pm-rule { color: #555; font-size: 13px; }
.pm-filters { background: #F2F5F8; padding: 8px; border-radius: 6px; margin: 6px 0; }
/* a visible focus ring on every dropdown (Lab's own is a 1px border change, 1.2:1): #0072B2 is
   4.7:1 on the filter bar and 5.2:1 on white (WCAG 1.4.11) */
.pm-board select:focus, .pm-board select:focus-visible { outline: 3px solid #0072B2 !important;
  outline-offset: 1px; }
.pm-card { border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 14px; margin: 10px 0; }
.pm-outcome { color: #444; margin: 0; font-size: 14px; }
.pm-value-text { font-size: 24px; font-weight: bold; }
.pm-badge { display: inline-block; border-radius: 12px; padding: 1px 10px;
            font-weight: bold; font-size: 13px; white-space: nowrap; }
.pm-table { border-collapse: collapse; font-size: 13px; margin: 4px 0; }
.pm-table th, .pm-table td { border: 1px solid #d0d7de; padding: 2px 8px; text-align: left; }
.pm-table tr.pm-current { background: #EAF3FA; font-weight: bold; }
.pm-details summary { cursor: pointer; color: #0060A0; font-size: 13px; }
.pm-alt { font-size: 13px; }
.pm-link { font-size: 13px; word-break: break-all; }
.pm-revised { font-size: 13px; margin: 2px 0; padding-left: 6px; border-left: 4px solid #B36B00; }
</style>"""


def badge(status: str) -> str:
    """A status as a coloured badge that says its word (never colour alone)."""
    color = STATUS_COLORS.get(status, "#BBBBBB")
    return (f'<span class="pm-badge" style="background:{color};color:{status_text_color(status)}" '
            f'data-status="{html.escape(status)}">'
            f'{html.escape(status)}</span>')


def step_badge(status: str, word: str) -> str:
    """An action step's status as a coloured badge that says its ``word`` (never colour alone)."""
    color = STEP_COLORS.get(status, "#BBBBBB")
    return (f'<span class="pm-badge" style="background:{color};color:{text_color_on(color)}" '
            f'data-step-status="{html.escape(status)}">{html.escape(word)}</span>')


def table_html(header, rows, kind: str = "") -> str:
    """An accessible HTML table (header cells scoped) of already-formatted text cells."""
    head = "".join(f'<th scope="col">{html.escape(str(h))}</th>' for h in header)
    body = "".join("<tr>" + "".join(
        (f'<th scope="row">{html.escape(str(c))}</th>' if i == 0 else
         f"<td>{html.escape(str(c))}</td>") for i, c in enumerate(r)) + "</tr>" for r in rows)
    return (f'<table class="pm-table" data-kind="{html.escape(kind)}"><thead><tr>{head}</tr>'
            f'</thead><tbody>{body}</tbody></table>')
