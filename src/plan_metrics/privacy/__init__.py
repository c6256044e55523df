"""Privacy of everything published (DESIGN.md section 6).

- ``local``: the first pass over one measure-year's rows (primary suppression under ``min_n``, the
  band of small groups' extreme shares, complements within single lines); ``apply``.
- ``display``: what a cell shows ("78%", "< 7%", "not shown"...); ``display``, ``format_value``.
- ``model``: the attacker's linear model of a reports folder (cells, lines, links, relations).
- ``lp``: the attacker's bounds by linear programming (scipy's HiGHS).
- ``protect``: complementary suppression over every edition published together, until proven.
- ``tables``: the model's tables from editions being computed and editions already published.
- ``audit``: the proof over a whole reports folder (``plan-metrics audit``).
"""

from .display import band_of, band_x, format_change, format_value, unit_of
from .display import display
from .local import NUMBER_COLUMNS, apply, families, suppression_flags

#: the counts whose true values the compute step hands to the run's protection, never published
COUNT_COLUMNS = ("n", "numerator", "denominator")
PRIVATE_COLUMNS = ("band", "n_true", "numerator_true", "denominator_true")

#: imported on first use: they pull in the LP solver (scipy, HiGHS), which a dashboard kernel that
#: only formats published values never needs (about 30 MiB of its memory)
_LAZY = {"audit": ".audit", "compares": ".model", "relation_of": ".model"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["audit", "band_of", "band_x", "format_change", "format_value", "unit_of", "display",
           "NUMBER_COLUMNS", "apply", "families", "suppression_flags", "compares", "relation_of",
           "COUNT_COLUMNS", "PRIVATE_COLUMNS"]
