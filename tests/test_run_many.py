"""`plan-metrics run-many`: districts as tasks, a broken one does not stop the others, the summary
names every failure; the districts file is checked (one clear error per fault)."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from plan_metrics.cli import main as cli
from plan_metrics.errors import PlanMetricsError
from plan_metrics.runs.many import District, Outcome, read_districts, summary

PLAN, YEAR = "ccps-sip-2018", "2023-24"


@pytest.mark.notebook
@pytest.mark.slow
def test_a_broken_district_fails_alone_and_the_summary_names_it(demo_data, tmp_path, capsys):
    broken = tmp_path / "broken-data"
    shutil.copytree(demo_data, broken)
    enrollment = pd.read_csv(broken / "enrollment.csv", dtype=str)
    enrollment.drop(columns=["building_id"]).to_csv(broken / "enrollment.csv", index=False)
    (tmp_path / "state.yaml").write_text(f"""
districts:
  - {{name: north, data: {demo_data}, plans: {PLAN}, years: {YEAR}, reports: north/reports}}
  - {{name: south, data: broken-data, plans: [{PLAN}], years: {YEAR}, reports: south/reports}}
  - {{name: east, data: {demo_data}, plans: {PLAN}, years: 1999-00, reports: east/reports}}
""")
    code = cli(["run-many", "--districts", str(tmp_path / "state.yaml")])
    out = capsys.readouterr().out
    assert code == 2
    # north published its edition, the others nothing
    assert (tmp_path / "north/reports" / PLAN / YEAR / "results.parquet").is_file()
    assert not (tmp_path / "south/reports" / PLAN).exists()
    assert not (tmp_path / "east/reports" / PLAN).exists()
    table = out[out.index("District"):]
    lines = {line.split()[0]: line for line in table.splitlines() if line.strip()}
    assert lines["north"].split()[1] == "1" and "—" in lines["north"]
    assert lines["south"].split()[1] == "0"
    assert "Validation" in lines["south"] or "problem" in lines["south"]
    assert lines["east"].split()[1] == "0" and "School year 1999-00 is not in the data" in \
        lines["east"]
    assert "1 of 3 district(s) published without failure" in out
    # the failures in full, with where and how to fix
    assert "- south:" in out and "building_id" in out.split("- south:")[1]
    assert "Traceback" not in out


def test_districts_file_yaml_and_csv_read_alike(tmp_path):
    (tmp_path / "a.yaml").write_text("- {name: n, data: d, plans: [clayton, ccps-sip-2018], "
                                     "years: all, reports: r, min_n: 12}\n")
    (tmp_path / "a.csv").write_text("name,data,plans,years,reports,min_n\n"
                                    "n,d,clayton;ccps-sip-2018,all,r,12\n")
    want = [District("n", str(tmp_path / "d"), "clayton,ccps-sip-2018", "all",
                     str(tmp_path / "r"), None, 12)]
    assert read_districts(tmp_path / "a.yaml") == want
    assert read_districts(tmp_path / "a.csv") == want


@pytest.mark.parametrize("text, words", [
    ("- {name: n, data: d, plans: p, years: all}\n", "lacks reports"),
    ("- {name: n, data: d, plans: p, years: all, reports: r, colour: red}\n", "Unknown field"),
    ("- {name: n, data: d, plans: p, years: all, reports: r}\n"
     "- {name: n, data: e, plans: p, years: all, reports: s}\n", "Two districts are named 'n'"),
    ("- {name: n, data: d, plans: p, years: all, reports: r}\n"
     "- {name: m, data: e, plans: p, years: all, reports: r}\n", "shares its reports folder"),
    ("- {name: n, data: d, plans: p, years: all, reports: r, min_n: ten}\n", "not a whole"),
    ("districts: []\n", "lists no district"),
    ("- [unclosed\n", "cannot be read"),
])
def test_bad_districts_files_are_one_error_each(tmp_path, capsys, text, words):
    (tmp_path / "d.yaml").write_text(text)
    with pytest.raises(PlanMetricsError) as e:
        read_districts(tmp_path / "d.yaml")
    assert words in str(e.value) and "How to fix" in str(e.value)
    assert cli(["run-many", "--districts", str(tmp_path / "d.yaml")]) == 2
    assert words in capsys.readouterr().err


def test_summary_table_lines_up():
    text = summary([Outcome("north", ["a", "b"], seconds=12.4),
                    Outcome("south-west", [], "The data is broken", "The data is broken. "
                            "Where: x. How to fix: y.", 3.0)])
    rows = [line for line in text.splitlines() if line.startswith(("District", "north", "south"))]
    assert rows[0].startswith("District")
    assert rows[1].split() == ["north", "2", "—", "12", "s"]
    assert rows[2].split()[:2] == ["south-west", "0"] and rows[2].endswith("3 s")
    # the columns start at the same place on every line
    assert rows[0].index("Editions") == rows[1].index("2") == rows[2].index("0")
    assert "- south-west: The data is broken. Where: x. How to fix: y." in text
