"""`plan-metrics compare` on hand-built editions (DESIGN.md sections 10 and 11): two years of a plan
(statuses that changed, district values that moved beyond noise) and a republished year against
an edition kept in history/ (every revised published number, parameters and hashes). Every
expected change is worked out by hand below from the rows' values and 95% intervals (MOVER:
low = d - sqrt((v1 - l1)^2 + (u0 - v0)^2), high = d + sqrt((u1 - v1)^2 + (v0 - l0)^2)).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

import pandas as pd

from plan_metrics import cli, compare, editions

PLAN = "ccps-sip-2018"
NAN = float("nan")


def _row(measure, year, value, lo=NAN, hi=NAN, display=None, building="ALL", group_by="all",
         group="all", suppressed=False):
    return {"plan_id": PLAN, "measure_id": measure, "school_year": year, "building_id": building,
            "group_by": group_by, "group": group, "n": 200, "numerator": NAN,
            "denominator": NAN, "value": value, "ci_low": lo, "ci_high": hi,
            "suppressed": suppressed, "display": display, "note": ""}


def _write(folder: Path, year: str, rows: list[dict], statuses: dict[str, str], ended: str,
           **manifest) -> Path:
    st = pd.DataFrame([{"plan_id": PLAN, "measure_id": m, "school_year": year, "status": s,
                        "rule_text": ""} for m, s in statuses.items()])
    editions.write_edition(folder, pd.DataFrame(rows), st,
                           {"plan_id": PLAN, "school_year": year, "started": ended,
                            "ended": ended, "buildings": {"B1": "Beech Ridge"}, **manifest})
    return folder


@pytest.fixture
def two_years(tmp_path) -> Path:
    a, b = "2022-23", "2023-24"
    _write(tmp_path / PLAN / a, a, [
        _row("PO1-ela-proficient", a, 0.50, 0.46, 0.54, "50%"),
        _row("PO1-math-proficient", a, 0.50, 0.40, 0.60, "50%"),
        _row("PO1-ela-proficient", a, 0.40, 0.30, 0.50, "40%", group_by="race_ethnicity",
             group="black"),
        _row("PO1-ela-proficient", a, NAN, display="> 96%", group_by="race_ethnicity",
             group="asian"),
        _row("PO2-graduation-rate", a, 0.137, 0.05, 0.15, "not shown", suppressed=True),
        _row("PO3-attendance", a, 0.90, display="90%"),
        _row("PO3-attendance", a, 0.80, 0.79, 0.81, "80%", building="B1"),
        _row("PO4-infractions", a, 12.0, 11.0, 13.0, "12.0 per 100"),
    ], {"PO1-ela-proficient": "no clear change", "PO1-math-proficient": "no clear change",
        "PO4-infractions": "not enough data"}, "2023-06-30T12:00:00+00:00")
    _write(tmp_path / PLAN / b, b, [
        _row("PO1-ela-proficient", b, 0.60, 0.56, 0.64, "60%"),
        _row("PO1-math-proficient", b, 0.55, 0.45, 0.65, "55%"),
        _row("PO1-ela-proficient", b, NAN, display="not shown", group_by="race_ethnicity",
             group="black", suppressed=True),
        _row("PO1-ela-proficient", b, 0.90, 0.85, 0.95, "90%", group_by="race_ethnicity",
             group="asian"),
        _row("PO2-graduation-rate", b, 0.90, 0.88, 0.92, "90%"),
        _row("PO3-attendance", b, 0.92, display="92%"),
        _row("PO3-attendance", b, 0.95, 0.94, 0.96, "95%", building="B1"),
        _row("PO4-infractions", b, 15.0, 14.0, 16.0, "15.0 per 100"),
    ], {"PO1-ela-proficient": "improving", "PO1-math-proficient": "no clear change",
        "PO3-attendance": "improving", "PO4-infractions": "declining"},
        "2024-06-30T12:00:00+00:00")
    return tmp_path


def test_two_years_list_the_changed_statuses_and_the_real_moves_only(two_years):
    cmp = compare.compare(two_years, PLAN, "2023-24", "2022-23")
    assert cmp["kind"] == "years"
    assert (cmp["from"]["school_year"], cmp["to"]["school_year"]) == ("2022-23", "2023-24")
    # attendance had no status row in 2022-23: "not enough data"; math stayed the same
    assert [(s["measure_id"], s["from"], s["to"]) for s in cmp["statuses"]] == [
        ("PO1-ela-proficient", "no clear change", "improving"),
        ("PO3-attendance", "not enough data", "improving"),
        ("PO4-infractions", "not enough data", "declining")]
    moved = {(r["measure_id"], r["group"]): r for r in cmp["moved"]}
    # ela: d = 0.10, low = 0.10 - sqrt(0.04^2 + 0.04^2) = 0.0434 > 0: real, better (higher)
    # math: d = 0.05, low = 0.05 - sqrt(0.1^2 + 0.1^2) = -0.091: within noise, not listed
    # black students: hidden in 2023-24; Asian students: banded in 2022-23 -> not listed
    # graduation: hidden in 2022-23 (its value field is never read); B1: not the district
    # attendance: census values without an interval are exact: +0.02 is real
    # infractions (lower is better): d = 3, low = 3 - sqrt(1 + 1) = 1.59 > 0: real, worse
    assert list(moved) == [("PO1-ela-proficient", "all"), ("PO3-attendance", "all"),
                           ("PO4-infractions", "all")]
    ela, att, inf = moved.values()
    assert (ela["from_display"], ela["to_display"], ela["change"], ela["better"]) == \
        ("50%", "60%", "+10.0 pts", True)
    assert math.isclose(ela["low"], 0.10 - math.sqrt(2) * 0.04)
    assert math.isclose(ela["high"], 0.10 + math.sqrt(2) * 0.04)
    assert (att["change"], att["better"], att["low"], att["high"]) == ("+2.0 pts", True,
                                                                       pytest.approx(0.02),
                                                                       pytest.approx(0.02))
    assert (inf["from_display"], inf["to_display"], inf["change"], inf["better"]) == \
        ("12.0 per 100", "15.0 per 100", "+3.0 per 100", False)
    assert math.isclose(inf["low"], 3 - math.sqrt(2))
    # the same comparison whichever year is given first; plain data (JSON as is)
    other = compare.compare(two_years, PLAN, "2022-23", "2023-24")
    assert other["moved"] == cmp["moved"] and other["statuses"] == cmp["statuses"]
    json.dumps(cmp)


def test_since_the_last_report_of_a_year_never_republished_is_the_previous_year(two_years):
    cmp = compare.since_last_report(two_years, PLAN, "2023-24")
    assert cmp["kind"] == "years" and cmp["from"]["school_year"] == "2022-23"
    assert compare.since_last_report(two_years, PLAN, "2022-23") is None
    assert compare.revisions(two_years, PLAN, "2023-24") == {}


def test_compare_two_years_through_the_cli(two_years, capsys):
    code = cli.main(["compare", "--plan", PLAN, "--year", "2023-24", "--against", "2022-23",
                     "--reports", str(two_years)])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert "Statuses that changed: 3" in out
    cells = [re.split(r"\s{2,}", x.strip()) for x in lines]
    assert ["Discipline infractions per 100 students", "PO4-infractions", "not enough data",
            "declining"] in cells
    assert ["Students Proficient or Distinguished in English…", "PO1-ela-proficient",
            "all students", "50%", "60%", "+10.0 pts", "+4.3 pts to +15.7 pts", "better"] in cells
    assert ["Discipline infractions per 100 students", "PO4-infractions", "all students",
            "12.0 per 100", "15.0 per 100", "+3.0 per 100", "+1.6 per 100 to +4.4 per 100",
            "worse"] in cells
    assert sum("PO1-ela-proficient" in x for x in lines) == 2   # its status and its move
    for hidden in ("14%", "13.7", "+76", "40%"):   # the hidden rows, their would-be changes
        assert hidden not in out
    # no earlier edition at all: one sentence, exit 0
    assert cli.main(["compare", "--plan", PLAN, "--year", "2022-23",
                     "--reports", str(two_years)]) == 0
    assert "Nothing to compare" in capsys.readouterr().out


@pytest.fixture
def republished(tmp_path) -> Path:
    y = "2023-24"
    old_rows = [
        _row("PO1-ela-proficient", y, 0.60, 0.56, 0.64, "60%"),
        _row("PO1-ela-proficient", y, 0.78, 0.70, 0.86, "78%", building="B1"),
        _row("PO1-ela-proficient", y, NAN, display="not shown", group_by="race_ethnicity",
             group="black", suppressed=True),
        _row("PO1-math-proficient", y, 0.55, 0.45, 0.65, "55%"),
        _row("PO4-infractions", y, 15.0, 14.0, 16.0, "15.0 per 100"),
    ]
    new_rows = [
        _row("PO1-ela-proficient", y, 0.62, 0.58, 0.66, "62%"),                 # revised
        _row("PO1-ela-proficient", y, NAN, display="not shown", building="B1",  # now hidden
             suppressed=True),
        _row("PO1-ela-proficient", y, 0.3, display="not shown", group_by="race_ethnicity",
             group="black", suppressed=True),        # hidden both times: nothing to say
        _row("PO1-math-proficient", y, 0.55 + 1e-13, 0.45, 0.65, "55%"),        # same number
        _row("PO4-infractions", y, 15.0, 14.0, 16.0, "15.0 per 100"),
        _row("PO5-teacher-retention", y, 0.88, 0.85, 0.91, "88%"),             # new row
    ]
    folder = tmp_path / PLAN / y
    hist = folder / "history" / "20260302T180405Z"
    _write(hist, y, old_rows, {"PO1-ela-proficient": "improving"}, "2026-03-02T18:04:05+00:00",
           parameters={"min_n": 10, "school_year": y},
           input_hashes={"assessments.csv": "aaaa1111", "staff.csv": "bbbb2222",
                         "discipline.csv": "cccc3333"}, plan_hash="p1")
    _write(folder, y, new_rows, {"PO1-ela-proficient": "on track"}, "2026-03-09T08:00:00+00:00",
           parameters={"min_n": 12, "school_year": y},
           input_hashes={"assessments.csv": "dddd4444", "staff.csv": "bbbb2222",
                         "enrollment.csv": "eeee5555"}, plan_hash="p1")
    return tmp_path


def test_a_republished_year_lists_every_revised_number_and_only_those(republished):
    cmp = compare.compare(republished, PLAN, "2023-24")     # default: the last report
    assert cmp["kind"] == "revision"
    assert cmp["from"]["edition"] == f"{PLAN}/2023-24/history/20260302T180405Z"
    assert cmp["from"]["date"] == "2026-03-02"
    got = [(r["measure_id"], r["where"], r["whose"], r["from_display"], r["to_display"],
            r["change"]) for r in cmp["revised"]]
    assert got == [
        ("PO1-ela-proficient", "District", "all students", "60%", "62%", "+2.0 pts"),
        ("PO1-ela-proficient", "Beech Ridge", "all students", "78%", "not shown", ""),
        ("PO5-teacher-retention", "District", "all students", "no data", "88%", "")]
    assert cmp["revised"][0]["diff"] == pytest.approx(0.02)
    assert [(s["measure_id"], s["from"], s["to"]) for s in cmp["statuses"]] == [
        ("PO1-ela-proficient", "improving", "on track")]
    assert cmp["parameters"] == {"min_n": {"from": 10, "to": 12}}
    assert cmp["inputs"] == [
        {"table": "assessments.csv", "change": "changed", "from": "aaaa1111", "to": "dddd4444"},
        {"table": "discipline.csv", "change": "removed", "from": "cccc3333", "to": None},
        {"table": "enrollment.csv", "change": "added", "from": None, "to": "eeee5555"}]
    assert cmp["plan_hash"] is None
    # the same by its name, by its folder, and as the dashboard's marks
    by_name = compare.compare(republished, PLAN, "2023-24", "20260302T180405Z")
    by_dir = compare.compare(republished, PLAN, "2023-24",
                             str(republished / PLAN / "2023-24" / "history" / "20260302T180405Z"))
    assert by_name["revised"] == by_dir["revised"] == cmp["revised"]
    assert compare.revisions(republished, PLAN, "2023-24") == {
        "PO1-ela-proficient": {"date": "2026-03-02", "cells": {("ALL", "all", "all"): "60%",
                                                               ("B1", "all", "all"): "78%"}},
        "PO5-teacher-retention": {"date": "2026-03-02", "cells": {("ALL", "all", "all"): "no data"}}}


def test_a_republished_year_through_the_cli_shows_no_hidden_number(republished, capsys):
    assert cli.main(["compare", "--plan", PLAN, "--year", "2023-24",
                     "--reports", str(republished)]) == 0
    out = capsys.readouterr().out
    assert "Published numbers revised: 3" in out and "Parameters that differ: 1" in out
    assert "Input files whose hash differs: 3" in out
    cells = [re.split(r"\s{2,}", x.strip()) for x in out.splitlines()]
    assert ["Students Proficient or Distinguished in English…", "PO1-ela-proficient", "District",
            "all students", "60%", "62%", "+2.0 pts"] in cells
    assert ["Students Proficient or Distinguished in English…", "PO1-ela-proficient",
            "Beech Ridge", "all students", "78%", "not shown"] in cells
    assert ["min_n", "10", "12"] in cells
    assert ["assessments.csv", "changed", "aaaa1111", "dddd4444"] in cells
    assert ["discipline.csv", "removed", "cccc3333", "-"] in cells
    assert "30%" not in out     # the hidden row's value field of the new edition
    assert "aaaa1111" in out and "dddd4444" in out


@pytest.mark.parametrize("argv, words", [
    (["--plan", "nope", "--year", "2023-24"], "No plan 'nope'"),
    (["--plan", PLAN, "--year", "2019-20"], f"No edition of plan '{PLAN}' for 2019-20"),
    (["--plan", PLAN, "--year", "2023-4"], "--year '2023-4' is not a school year"),
    (["--plan", PLAN, "--year", "2023-24", "--against", "2023-24"],
     "--against 2023-24 is the year being compared"),
    (["--plan", PLAN, "--year", "2023-24", "--against", "2021-22"],
     f"No edition of plan '{PLAN}' for 2021-22"),
    (["--plan", PLAN, "--year", "2023-24", "--against", "20250101T000000Z"],
     "one of the editions kept for ccps-sip-2018 2023-24: 20260302T180405Z"),
    (["--plan", PLAN, "--year", "2023-24", "--against", "{reports}/ccps-sip-2018/2023-24"],
     "is the current edition itself"),
    (["--plan", PLAN, "--year", "2023-24", "--against", "{reports}"],
     "is not an edition (it has no manifest.json"),
    (["--plan", "clayton", "--year", "2023-24", "--against", "{other}"],
     "is of ccps-sip-2018 2023-24, not of clayton 2023-24"),
])
def test_bad_input_is_one_clear_error(republished, tmp_path, argv, words, capsys):
    other = tmp_path / "clayton" / "2023-24"
    _write(other, "2023-24", [], {}, "2026-03-01T00:00:00+00:00")   # an edition of clayton
    argv = [a.format(reports=republished, other=republished / PLAN / "2023-24" / "history" /
                     "20260302T180405Z") for a in argv]
    assert cli.main(["compare", *argv, "--reports", str(republished)]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and "How to fix" in err


def test_a_missing_reports_folder_is_one_error(tmp_path, capsys):
    assert cli.main(["compare", "--plan", PLAN, "--year", "2023-24",
                     "--reports", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_the_board_card_marks_a_revised_number_with_the_date_of_the_edition_it_replaced(
        republished):
    from plan_metrics.dashboard.board import BoardApp

    app = BoardApp(republished)
    assert app.filters.year == "2023-24"
    app._first_cards = None      # every card of the goal (the browser's first render does this)
    app.apply_query("plan=ccps-sip-2018&year=2023-24&goal=PO1&building=ALL&group=all")
    heads = {c.measure_id: c.head.value for c in app.cards if c.measure_id}
    assert "Revised since the edition of 2026-03-02 (was 60%)" in heads["PO1-ela-proficient"]
    assert "Revised since" not in heads["PO1-math-proficient"]   # 55% both times
    # at the building, the card says what it showed then
    app.apply_query("plan=ccps-sip-2018&year=2023-24&goal=PO1&building=B1&group=all")
    heads = {c.measure_id: c.head.value for c in app.cards if c.measure_id}
    assert "Revised since the edition of 2026-03-02 (was 78%)" in heads["PO1-ela-proficient"]
