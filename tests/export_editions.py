"""Editions for the export tests: a small hand-made one (numbers known by hand) and, when the
engine and the synthetic district are there, real ones computed from the demo district."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from plan_metrics.editions import write_edition
from plan_metrics.plan import load_plan
from plan_metrics.results import RESULTS_COLUMNS, STATUS_COLUMNS, conform

YEARS = ["2022-23", "2023-24", "2024-25"]
#: Hand-made groups: (group_by, group, n, numerator). 'asian' has n=6 < 10: suppressed (its true
#: counts, n=6 and numerator 4, are in ASIAN_TRUTH and appear in no export).
GROUPS = [("race_ethnicity", "white", 120, 96), ("race_ethnicity", "black", 60, 39),
          ("race_ethnicity", "asian", 6, None), ("race_ethnicity", "hispanic", 30, 21),
          ("gender", "female", 110, 88), ("gender", "male", 106, 78)]
ASIAN_TRUTH = {"n": 6, "numerator": 4}
#: Building B2 is 0.10 lower than the district in every cell (percent measures).
BUILDING_SHIFT = {"ALL": 0.0, "B1": 0.0, "B2": -0.10}


def _row(plan_id, m, year, building, group_by, group, n, num, unit, shift):
    """One results row. Percent measures: value = num / n (e.g. white 96/120 = 0.80)."""
    base = {"plan_id": plan_id, "measure_id": m.id, "school_year": year, "building_id": building,
            "group_by": group_by, "group": group, "note": None}
    if num is None:  # suppressed: no number at all
        return {**base, "suppressed": True, "display": "n < 10"}
    if unit == "percent":
        value = num / n + shift
        display = f"{value * 100:.0f}%"
    elif unit == "ratio":
        value = 1.0 + num / n + shift
        display = f"{value:.2f}"
    elif unit == "points":
        value = -10.0 + 10 * num / n + 100 * shift
        display = f"{value:+.1f} pts"
    else:
        value = 100 * num / n + 100 * shift
        display = f"{value:.1f}"
    return {**base, "n": n, "numerator": num, "denominator": n, "value": value,
            "ci_low": value - 0.05 * abs(value), "ci_high": value + 0.05 * abs(value),
            "suppressed": False, "display": display}


def write_handmade(reports: Path, plan_id: str = "clayton") -> Path:
    """Three years of every measure of the plan for the district and buildings B1, B2.

    District, all students: n = 216 (120+60+6+30), numerator 166 (96+39+4+27 by construction;
    only the published groups' counts are written) -> 166/216 = 0.7685..., shown '77%' in 2024-25.
    Earlier years shift by -0.02 per year (2022-23: -0.04, 2023-24: -0.02); building B2 is a
    further -0.10 (2024-25: 0.6685 -> '67%').
    """
    from plan_metrics.exports.context import unit_of
    plan = load_plan(plan_id)
    for yi, year in enumerate(YEARS):
        shift = -0.02 * (len(YEARS) - 1 - yi)
        rows, status = [], []
        for m in plan.measures():
            unit = unit_of(m)
            for b in ["ALL", "B1", "B2"]:
                bshift = shift + BUILDING_SHIFT[b]
                all_row = _row(plan_id, m, year, b, "all", "all", 216, 166, unit, bshift)
                if m.kind == "risk_ratio":
                    all_row = {k: v for k, v in all_row.items() if k in (
                        "plan_id", "measure_id", "school_year", "building_id", "group_by",
                        "group", "n", "suppressed")}
                    all_row.update(display="—", note="the ratio is reported for each group")
                rows.append(all_row)
                for group_by, g, n, num in GROUPS:
                    rows.append(_row(plan_id, m, year, b, group_by, g, n, num, unit, bshift))
                    # a risk ratio's status follows the group farthest from parity (status rule):
                    # white, 1 + 96/120 = 1.80 (tied with female, 1 + 88/110 = 1.80)
                    if b == "ALL" and (g == "white" if m.kind == "risk_ratio" else False):
                        district = rows[-1]
                if b == "ALL" and m.kind != "risk_ratio":
                    district = all_row
            status.append({"plan_id": plan_id, "measure_id": m.id, "school_year": year,
                           "value": district["value"], "baseline_year": YEARS[0],
                           "baseline_value": None,
                           "target_year": m.target.year if m.target else None,
                           "target_value": m.target.value if m.target else None,
                           "expected_value": None,
                           "status": "improving" if yi else "not enough data",
                           "rule_text": ("improving: 77% vs 73% in 2022-23 (change +4 pts, "
                                         "95% interval excludes 0)") if yi else
                                        "not enough data: no baseline yet"})
        write_edition(reports / plan_id / year, conform(pd.DataFrame(rows), RESULTS_COLUMNS),
                      conform(pd.DataFrame(status), STATUS_COLUMNS),
                      {"synthetic_data": True, "parameters": {"min_n": 10},
                       "buildings": {"B1": "Glenridge Elementary", "B2": "Wydown Middle"},
                       "end_time": "2025-06-30T12:00:00"})
    return reports


REAL_YEARS = ["2022-23", "2023-24", "2024-25"]
