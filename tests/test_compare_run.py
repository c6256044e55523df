"""A real republished year (papermill): `plan-metrics run` twice on the tiny fixture district for
the professional learning plan (one compute notebook), the second time with one corrected input
file and another min_n. History keeps the first edition whole; `plan-metrics compare` lists the
numbers the correction revised, and only those, with the parameter and hash that differ.

The correction, worked out by hand: in 2024-25 the plan has two action steps, both in G1.O1:
S1 complete and S2 discontinued, so completion = complete / not discontinued = 1/1 = 100% for the
plan, goal G1 and objective G1.O1 (every other goal and objective has no step: "no data"). The
corrected file says S2 is in progress: 1/2 = 50%, a revision of -50.0 pts on exactly those three
measures. min_n does not touch them (action steps count no people).
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

from plan_metrics import cli, compare, editions, runs as runner
from plan_metrics.privacy.audit import edition_folders

TINY = Path(__file__).parent / "fixtures" / "tiny"
PLAN, YEAR = "clayton-pl", "2024-25"
WRONG = "2024-25,clayton-pl,G1,G1.O1,G1.O1.S2,Principals,discontinued,Replaced by step 3"
RIGHT = "2024-25,clayton-pl,G1,G1.O1,G1.O1.S2,Principals,in_progress,"


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def republished(tmp_path_factory):
    root = tmp_path_factory.mktemp("republish")
    reports = root / "reports"
    runner.run(plan=PLAN, data_dir=TINY, years=YEAR, out=reports, jobs=1, progress=False)
    first = _tree(reports / PLAN / YEAR)
    first_manifest = editions.read_edition(reports, PLAN, YEAR).manifest
    corrected = root / "corrected"
    shutil.copytree(TINY, corrected)
    text = (corrected / "action_steps.csv").read_text()
    assert WRONG in text
    (corrected / "action_steps.csv").write_text(text.replace(WRONG, RIGHT))
    runner.run(plan=PLAN, data_dir=corrected, years=YEAR, out=reports, jobs=1, min_n=12,
               progress=False)
    return reports, first, first_manifest, corrected


@pytest.mark.notebook
def test_history_keeps_the_replaced_edition_whole(republished):
    reports, first, first_manifest, _ = republished
    year = reports / PLAN / YEAR
    kept = editions.history_editions(reports, PLAN, YEAR)
    assert len(kept) == 1
    # named by its published time, UTC; byte for byte the edition that was published
    ended = editions.published_time(first_manifest)
    assert kept[0].name == ended.strftime("%Y%m%dT%H%M%SZ")
    assert _tree(kept[0].path) == first
    assert sorted(p.name for p in year.iterdir()) == [
        "history", "manifest.json", "notebooks", "results.parquet", "status.parquet"]
    assert editions.read_edition(reports, PLAN, YEAR).manifest["replaced"] == kept[0].name
    # nothing temporary left; the finders see one edition, the audit reads both
    assert sorted(p.name for p in (reports / PLAN).iterdir()) == [YEAR]
    assert not list(reports.glob(".run-*"))
    assert editions.list_editions(reports)["school_year"].tolist() == [YEAR]
    assert [f.relative_to(reports).as_posix() for f in edition_folders(reports)] == [
        f"{PLAN}/{YEAR}", f"{PLAN}/{YEAR}/history/{kept[0].name}"]


@pytest.mark.notebook
def test_compare_lists_the_revised_numbers_and_only_those(republished, capsys):
    reports, _, first_manifest, corrected = republished
    cmp = compare.compare(reports, PLAN, YEAR)
    assert cmp["kind"] == "revision"
    assert [(r["measure_id"], r["where"], r["from_display"], r["to_display"], r["change"])
            for r in cmp["revised"]] == [
        ("clayton-pl-completion", "District", "100%", "50%", "-50.0 pts"),
        ("G1-completion", "District", "100%", "50%", "-50.0 pts"),
        ("G1.O1-completion", "District", "100%", "50%", "-50.0 pts")]
    assert all(r["diff"] == pytest.approx(-0.5) for r in cmp["revised"])
    assert cmp["parameters"] == {"min_n": {"from": 10, "to": 12}}
    new_hash = hashlib.sha256((corrected / "action_steps.csv").read_bytes()).hexdigest()
    old_hash = hashlib.sha256((TINY / "action_steps.csv").read_bytes()).hexdigest()
    assert cmp["inputs"] == [{"table": "action_steps.csv", "change": "changed",
                              "from": old_hash, "to": new_hash}]
    assert first_manifest["input_hashes"]["action_steps.csv"] == old_hash
    assert cmp["plan_hash"] is None

    assert cli.main(["compare", "--plan", PLAN, "--year", YEAR, "--reports", str(reports)]) == 0
    out = capsys.readouterr().out
    cells = [re.split(r"\s{2,}", x.strip()) for x in out.splitlines()]
    assert "Published numbers revised: 3" in out
    assert ["G1.O1-completion", "District", "all students", "100%", "50%", "-50.0 pts"] == \
        next(c for c in cells if "G1.O1-completion" in c)[1:]
    assert ["min_n", "10", "12"] in cells
    assert ["action_steps.csv", "changed", old_hash[:12], new_hash[:12]] in cells
    # a third run of the same data keeps both earlier editions and revises nothing
    runner.run(plan=PLAN, data_dir=corrected, years=YEAR, out=reports, jobs=1, min_n=12,
               progress=False)
    kept = editions.history_editions(reports, PLAN, YEAR)
    assert len(kept) == 2
    again = compare.compare(reports, PLAN, YEAR)
    assert again["revised"] == [] and again["parameters"] == {} and again["inputs"] == []
    back = compare.compare(reports, PLAN, YEAR, kept[0].name)
    assert back["revised"] == cmp["revised"]
