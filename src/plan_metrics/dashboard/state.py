"""Dashboard filters, deep links and their allow-lists (DESIGN.md section 9).

A deep link is ``?plan=clayton&year=2023-24&goal=G1&building=ALL&group=race_ethnicity``. Every value
is checked against its allow-list (published plans, the plan's published years, its goal ids, the
edition's buildings, the student-group columns it reports); an unknown value falls back to the
default and yields a notice the page shows. Nothing from the URL reaches the page unescaped.
"""

from __future__ import annotations

import html
import os
from dataclasses import asdict, dataclass
from urllib.parse import parse_qs, urlencode

KEYS = ("plan", "year", "goal", "building", "group")


@dataclass
class Filters:
    """What the board shows: plan id, school year, goal id, building id ('ALL' = district), group_by."""
    plan: str
    year: str
    goal: str
    building: str
    group: str

    def query(self) -> str:
        """The URL query string of these filters (the page's own deep link)."""
        return urlencode(asdict(self))


def parse_query(query: str | None, keys=KEYS) -> dict[str, str]:
    """A URL query string -> {key: first value} for the known ``keys`` (others ignored)."""
    raw = parse_qs((query or "").lstrip("?"), keep_blank_values=True)
    return {k: v[0] for k, v in raw.items() if k in keys and v}


def checked(key: str, value: str | None, allowed: list[str], default: str, what: str,
            fallback_words: str, notices: list[str]) -> str:
    """``value`` if it is in ``allowed``, else ``default`` and a notice appended to ``notices``.

    ``what``: 'a building of this report'; ``fallback_words``: 'the district'.
    """
    if value is None:
        return default
    if value in allowed:
        return value
    shown = value if len(value) <= 60 else value[:57] + "..."
    notices.append(f"'{html.escape(shown)}' is not {what}; showing {html.escape(fallback_words)}.")
    return default


def page_url(query: str) -> str:
    """The full URL of this page with ``query`` (from the request Voila passed to the kernel),
    or a relative '?query' link when it is unknown."""
    host = os.environ.get("SERVER_NAME")
    port = os.environ.get("SERVER_PORT")
    path = os.environ.get("SCRIPT_NAME")
    if host and path:
        return f"http://{host}{':' + port if port else ''}{path}?{query}"
    return f"?{query}"


def request_query() -> str:
    """The query string of the page request; with preheated kernels this waits for the request."""
    try:
        from voila.utils import get_query_string
    except ImportError:  # not under Voila
        return os.environ.get("QUERY_STRING", "")
    return get_query_string() or ""
