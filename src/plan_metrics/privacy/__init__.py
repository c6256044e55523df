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

from .audit import audit
from .display import band_of, band_x, format_change, format_value, unit_of
from .display import display
from .local import NUMBER_COLUMNS, apply, families, suppression_flags
from .model import compares, relation_of

#: the counts whose true values the compute step hands to the run's protection, never published
COUNT_COLUMNS = ("n", "numerator", "denominator")
PRIVATE_COLUMNS = ("band", "n_true", "numerator_true", "denominator_true")

__all__ = ["audit", "band_of", "band_x", "format_change", "format_value", "unit_of", "display",
           "NUMBER_COLUMNS", "apply", "families", "suppression_flags", "compares", "relation_of",
           "COUNT_COLUMNS", "PRIVATE_COLUMNS"]
