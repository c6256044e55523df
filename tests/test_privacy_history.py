"""A republished plan-year keeps its replaced edition under history/, so what that edition showed
stays shown. Republishing the same data under a larger min_n hides more, but cannot take back a
count the kept edition published: the protection treats such counts as known (it protects every
other hidden count with them) and records them; the audit of the folder proves that no count
hidden in every edition can be worked out, and lists the counts one edition hides that another
shows, instead of calling them exposed.
"""

from __future__ import annotations

import shutil

import pandas as pd

from plan_metrics import editions, engine
from plan_metrics.loading import load_data
from plan_metrics.options import Options
from plan_metrics.plan import load_plan
from plan_metrics.privacy.audit import audit
from plan_metrics.runs.protection import RowsEdition, protect_editions
from plan_metrics.runs.publish import keep_history

PLAN, YEAR = "ccps-sip-2018", "2023-24"


def _publish(reports, tables, data, min_n, plan_id=PLAN, year=YEAR, ended=None):
    """One edition of ``plan_id``/``year`` protected against the folder and published the way
    the runner publishes: the replaced edition kept whole under history/."""
    options = Options(min_n=min_n)
    plan = load_plan(plan_id)
    target = reports / plan_id / year
    rows = engine.compute_measures(plan, tables, year, options, keep_truth=True)
    ed = RowsEdition(plan, year, options.to_dict(), rows, target)
    results, record = protect_editions([ed], tables, reports)[ed]
    status = engine.compute_status(plan, tables, year, options, results=results)
    staged = reports / ".staged"
    editions.write_edition(staged, results, status,
                           {"plan_id": plan_id, "school_year": year, "synthetic_data": True,
                            "privacy": record, "parameters": options.to_dict(),
                            "ended": ended or f"2026-12-0{min_n // 10}T10:00:00+00:00"})
    keep_history(staged, target)
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged.rename(target)
    return results, record


def test_republishing_under_a_larger_min_n_keeps_every_never_shown_count_safe(tmp_path,
                                                                              demo_data):
    tables = load_data(demo_data)
    reports = tmp_path / "reports"
    first, _ = _publish(reports, tables, demo_data, 10)
    second, record = _publish(reports, tables, demo_data, 20)
    assert len(editions.history_editions(reports, PLAN, YEAR)) == 1

    # cells 10..19 people strong were shown by the first edition and are hidden by the second
    key = ["measure_id", "building_id", "group_by", "group"]
    both = first.merge(second, on=key, suffixes=("_1", "_2"))
    shown_then = both[~both["suppressed_1"].astype(bool) & both["suppressed_2"].astype(bool)]
    assert len(shown_then) > 0
    assert record["published_earlier"], "the record names the counts shown before"

    report = audit(reports)
    assert report.ok, [str(e) for e in report.exposures[:5]]
    assert report.shown_elsewhere
    assert all("history" in e.shown_by for e in report.shown_elsewhere)
    assert pd.notna(report.editions["min range"]).all()
    assert (report.editions["min range"] >= 5).all()


def test_republishing_the_same_edition_keeps_its_banded_rows_and_publishes(tmp_path, demo_data):
    """The same data and min_n published again (a rerun): the kept edition shows some rows
    banded ("< 4%": the numerator is 0 or 1 of 31 students). A banded numerator is public within
    its band, so the rerun keeps it banded instead of hiding the row and asking a range of 5 no
    pattern can give (which refused to publish: "no pattern of hidden cells protects the
    numerator ... its range is 0 to 1")."""
    tables = load_data(demo_data)
    reports = tmp_path / "reports"
    first, _ = _publish(reports, tables, demo_data, 10, "clayton", "2024-25",
                        "2026-12-01T10:00:00+00:00")
    banded = first["display"].astype(str).str.match(r"^[<>] ")
    assert banded.sum() > 0
    second, record = _publish(reports, tables, demo_data, 10, "clayton", "2024-25",
                              "2026-12-02T10:00:00+00:00")
    key = ["measure_id", "building_id", "group_by", "group"]
    both = first.merge(second, on=key, suffixes=("_1", "_2"))
    again = both[both["display_1"].astype(str).str.match(r"^[<>] ")]
    assert (again["display_2"] == again["display_1"]).all()
    report = audit(reports)
    assert report.ok, [str(e) for e in report.exposures[:5]]
