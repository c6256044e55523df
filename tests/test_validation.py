"""`plan-metrics validate` on a corpus of broken data directories.

Each case copies the tiny valid fixture, breaks exactly one thing, runs the real command line and
checks: a non-zero exit, no traceback, and a message naming the file, the CSV line (header = line
1), the column and the value, where the fault has them. Line numbers are counted by hand from the
fixture files (line 2 is the first data row).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plan_metrics import cli
from plan_metrics.loading import load_data
from plan_metrics.errors import PlanMetricsError

TINY = Path(__file__).parent / "fixtures" / "tiny"
ROOT = Path(__file__).resolve().parent.parent


def copy_tiny(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    shutil.copytree(TINY, d)
    return d


def set_cell(d: Path, table: str, line: int, column: str, value: str) -> None:
    """Set one cell (line is the 1-based CSV line) of a fixture file without quoted commas."""
    p = d / f"{table}.csv"
    lines = p.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[line - 1].split(",")
    cells[header.index(column)] = value
    lines[line - 1] = ",".join(cells)
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")


def drop_column(d: Path, table: str, column: str) -> None:
    p = d / f"{table}.csv"
    rows = [r.split(",") for r in p.read_text().splitlines()]
    i = rows[0].index(column)
    p.write_text("\n".join(",".join(r[:i] + r[i + 1:]) for r in rows) + "\n")


def replace(d: Path, table: str, old: str, new: str) -> None:
    p = d / f"{table}.csv"
    text = p.read_text(encoding="utf-8")
    assert old in text, old
    p.write_text(text.replace(old, new, 1), encoding="utf-8")


def run_validate(data: Path, *extra: str, capsys) -> tuple[int, str]:
    code = cli.main(["validate", "--data", str(data), *extra])
    out = capsys.readouterr()
    return code, out.out + out.err


# (case id, how to break the fixture, substrings the report must contain, extra CLI args)
CASES = [
    ("missing-column", lambda d: drop_column(d, "enrollment", "gender"),
     ["enrollment.csv:1:", "column 'gender'", "required column is missing"], []),
    ("unknown-column", lambda d: replace(d, "programs", "student_id,program\n",
                                         "student_id,program,programme_note\n"),
     ["programs.csv:1:", "column 'programme_note'", "unknown column"], []),
    ("semicolon-delimiter", lambda d: (d / "buildings.csv").write_text(
        (TINY / "buildings.csv").read_text().replace(",", ";")),
     ["buildings.csv:1:", "';' as delimiter", "comma-separated"], []),
    ("tab-delimiter", lambda d: (d / "staff.csv").write_text(
        (TINY / "staff.csv").read_text().replace(",", "\t")),
     ["staff.csv:1:", "tabs as delimiter"], []),
    ("latin-1-bytes", lambda d: (d / "buildings.csv").write_bytes(
        (TINY / "buildings.csv").read_bytes().replace(b"Clayton High", b"Clayton H\xe9gh")),
     ["buildings.csv:3:", "not UTF-8", "Save the file as UTF-8"], []),
    ("empty-file", lambda d: (d / "programs.csv").write_text(""),
     ["programs.csv:", "the file is empty"], []),
    ("header-only", lambda d: (d / "service_hours.csv").write_text("school_year,student_id,hours\n"),
     ["service_hours.csv:1:", "header line but no data rows"], []),
    ("missing-required-value", lambda d: set_cell(d, "enrollment", 5, "gender", ""),
     ["enrollment.csv:5:", "column 'gender'", "required value is missing"], []),
    ("unknown-code", lambda d: set_cell(d, "enrollment", 2, "gender", "F"),
     ["enrollment.csv:2:", "column 'gender'", "value 'F'", "unknown code",
      "female, male, nonbinary, not_reported"], []),
    ("code-wrong-case", lambda d: set_cell(d, "discipline", 3, "category", "Bullying"),
     ["discipline.csv:3:", "column 'category'", "value 'Bullying'", "did you mean 'bullying'"],
     []),
    ("not-snake-case", lambda d: set_cell(d, "survey_items", 2, "topic", "Sense of Belonging"),
     ["survey_items.csv:2:", "column 'topic'", "value 'Sense of Belonging'", "snake_case",
      "sense_of_belonging"], []),
    ("bad-boolean", lambda d: set_cell(d, "staff", 4, "new_hire", "maybe"),
     ["staff.csv:4:", "column 'new_hire'", "value 'maybe'", "not a boolean"], []),
    ("not-an-integer", lambda d: set_cell(d, "enrollment", 3, "days_enrolled", "170.5"),
     ["enrollment.csv:3:", "column 'days_enrolled'", "value '170.5'", "not a whole number"], []),
    ("negative-count", lambda d: set_cell(d, "enrollment", 7, "days_absent", "-2"),
     ["enrollment.csv:7:", "column 'days_absent'", "value '-2'", "negative"], []),
    ("grade-out-of-range", lambda d: set_cell(d, "enrollment", 13, "grade", "13"),
     ["enrollment.csv:13:", "column 'grade'", "value '13'", "K, 0 or 1..12"], []),
    ("grade-pk", lambda d: set_cell(d, "assessments", 2, "grade", "PK"),
     ["assessments.csv:2:", "column 'grade'", "value 'PK'", "not a grade"], []),
    ("level-out-of-range", lambda d: set_cell(d, "assessments", 3, "level", "5"),
     ["assessments.csv:3:", "column 'level'", "value '5'", "1..4"], []),
    ("score-out-of-range", lambda d: set_cell(d, "progression_rubrics", 2, "score", "0"),
     ["progression_rubrics.csv:2:", "column 'score'", "value '0'", "1..4"], []),
    ("school-year-format", lambda d: set_cell(d, "programs", 4, "school_year", "2023/24"),
     ["programs.csv:4:", "column 'school_year'", "value '2023/24'", "YYYY-YY"], []),
    ("school-year-not-consecutive", lambda d: set_cell(d, "staff", 2, "school_year", "2023-25"),
     ["staff.csv:2:", "column 'school_year'", "value '2023-25'", "consecutive",
      "did you mean 2023-24"], []),
    ("cohort-format", lambda d: set_cell(d, "graduation_cohort", 4, "cohort", "2025"),
     ["graduation_cohort.csv:4:", "column 'cohort'", "value '2025'", "YYYY-YY"], []),
    ("bad-date", lambda d: set_cell(d, "discipline", 6, "incident_date", "2024-02-30"),
     ["discipline.csv:6:", "column 'incident_date'", "value '2024-02-30'", "not a real date"], []),
    ("us-date", lambda d: set_cell(d, "discipline", 2, "incident_date", "10/12/2023"),
     ["discipline.csv:2:", "value '10/12/2023'", "YYYY-MM-DD"], []),
    # line 7 (2024-25,S08,honors... no: line 4 is 2023-24,S08,honors) copied over line 5
    ("duplicate-key", lambda d: replace(d, "programs", "2024-25,S04,gifted", "2023-24,S08,honors"),
     ["programs.csv:5:", "duplicate key", "line 4 has the same", "school_year, student_id, program",
      "2023-24 / S08 / honors"], []),
    ("unknown-building", lambda d: set_cell(d, "discipline", 4, "building_id", "B9"),
     ["discipline.csv:4:", "column 'building_id'", "value 'B9'", "not in buildings.csv"], []),
    ("absent-more-than-enrolled", lambda d: set_cell(d, "enrollment", 11, "days_absent", "9"),
     # line 11 is S10 in 2023-24 with days_enrolled 8
     ["enrollment.csv:11:", "column 'days_absent'", "value '9'", "more than days_enrolled"], []),
    ("negative-fte", lambda d: set_cell(d, "staff", 3, "fte", "-1.0"),
     ["staff.csv:3:", "column 'fte'", "value '-1.0'", "negative"], []),
    ("negative-hours", lambda d: set_cell(d, "service_hours", 3, "hours", "-4"),
     ["service_hours.csv:3:", "column 'hours'", "value '-4'", "negative"], []),
    ("hours-not-a-number", lambda d: set_cell(d, "service_hours", 2, "hours", "12 h"),
     ["service_hours.csv:2:", "value '12 h'", "not a number"], []),
    # trusted_adult is a 4-point item: 5 is out of scale (line 4: R07's trusted_adult answer)
    ("response-out-of-scale", lambda d: set_cell(d, "survey_responses", 4, "response", "5"),
     ["survey_responses.csv:4:", "column 'response'", "value '5'", "out of the item's scale"],
     []),
    ("item-not-in-survey-items", lambda d: set_cell(d, "survey_responses", 8, "item_id",
                                                    "belong_3"),
     ["survey_responses.csv:8:", "column 'item_id'", "student_sel / belong_3",
      "not in survey_items.csv"], []),
    ("favorable-min-above-scale", lambda d: set_cell(d, "survey_items", 4, "favorable_min", "5"),
     ["survey_items.csv:4:", "column 'favorable_min'", "value '5'", "scale_points"], []),
    ("attribute-not-in-plan", lambda d: set_cell(d, "progression_rubrics", 3, "attribute",
                                                 "creative thinker"),
     ["progression_rubrics.csv:3:", "column 'attribute'", "value 'creative thinker'",
      "not a Profile of a Graduate attribute of plan clayton", "Mind the capitals"],
     ["--plan", "clayton"]),
    ("step-not-in-plan", lambda d: replace(d, "action_steps", "G1.O1.S2,Principals,not_started",
                                           "G1.O1.S99,Principals,not_started"),
     ["action_steps.csv:3:", "column 'step_id'", "value 'G1.O1.S99'",
      "not an action step of plan clayton-pl"], ["--plan", "clayton-pl"]),
    ("wrong-number-of-values", lambda d: replace(d, "programs", "2023-24,S04,gifted",
                                                 "2023-24,S04,gifted,extra"),
     ["programs.csv:3:", "4 values but the header has 3 columns"], []),
    ("missing-enrollment", lambda d: (d / "enrollment.csv").unlink(),
     ["enrollment.csv:", "enrollment.csv is missing"], []),
]


@pytest.mark.parametrize("case,breaker,expected,extra", CASES, ids=[c[0] for c in CASES])
def test_broken_input_is_reported_precisely(tmp_path, capsys, case, breaker, expected, extra):
    d = copy_tiny(tmp_path)
    breaker(d)
    code, out = run_validate(d, *extra, capsys=capsys)
    assert code == 1, out
    assert "Traceback" not in out
    for text in expected:
        assert text in out, f"{text!r} not in:\n{out}"
    assert "1 problem in 1 file" in out or case in ("latin-1-bytes", "tab-delimiter",
                                                    "missing-column", "unknown-column"), out


def test_corpus_has_at_least_18_distinct_faults():
    assert len({c[0] for c in CASES}) >= 18


def test_the_fixture_itself_is_valid(capsys):
    code, out = run_validate(TINY, capsys=capsys)
    assert code == 0, out
    assert "valid (14 tables)" in out
    assert "school years: 2023-24, 2024-25" in out
    assert "students: 2023-24: 12, 2024-25: 12" in out


def test_every_problem_is_reported_not_just_the_first(tmp_path, capsys):
    d = copy_tiny(tmp_path)
    set_cell(d, "enrollment", 2, "gender", "F")
    set_cell(d, "staff", 4, "new_hire", "maybe")
    set_cell(d, "discipline", 4, "building_id", "B9")
    code, out = run_validate(d, capsys=capsys)
    assert code == 1
    assert "3 problems in 3 files" in out
    with pytest.raises(PlanMetricsError) as e:
        load_data(d)
    assert {(p.file, p.row) for p in e.value.problems} == {
        ("enrollment.csv", 2), ("staff.csv", 4), ("discipline.csv", 4)}
    assert "3 problems in 3 files" in str(e.value)


def test_a_thousand_identical_faults_give_a_bounded_report(tmp_path, capsys):
    d = copy_tiny(tmp_path)
    p = d / "enrollment.csv"
    extra = [f"2024-25,X{i:04d},B2,9,Hispanic,male,false,false,false,170,3" for i in range(1000)]
    p.write_text(p.read_text() + "\n".join(extra) + "\n")
    code, out = run_validate(d, capsys=capsys)
    assert code == 1
    # the fixture has 4 hispanic rows, the added rows 1000 'Hispanic': only these are faults
    assert "1,000 problems in 1 file" in out
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) <= 10, out
    # the first examples are the first added lines: 24 fixture rows + header = lines 1..25
    assert "enrollment.csv:26: column 'race_ethnicity' value 'Hispanic'" in out
    assert "995 more lines with the same problem" in out


def test_missing_data_directory_is_one_clear_error(tmp_path, capsys):
    code, out = run_validate(tmp_path / "nope", capsys=capsys)
    assert code == 2
    assert "does not exist" in out and "Traceback" not in out
    assert len(out.strip().splitlines()) == 1


def test_real_console_script(tmp_path):
    """The installed `plan-metrics` entry point, as a user runs it."""
    d = copy_tiny(tmp_path)
    set_cell(d, "assessments", 3, "level", "5")
    exe = ROOT / ".venv" / "bin" / "plan-metrics"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "plan_metrics.cli"]
    r = subprocess.run([*cmd, "validate", "--data", str(d)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1
    assert "assessments.csv:3: column 'level' value '5'" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr
    ok = subprocess.run([*cmd, "validate", "--data", str(TINY)], capture_output=True, text=True,
                        timeout=120)
    assert ok.returncode == 0 and "valid (14 tables)" in ok.stdout


def test_line_numbers_stay_exact_with_blank_lines_crlf_and_quoted_newlines(tmp_path, capsys):
    d = copy_tiny(tmp_path)
    p = d / "enrollment.csv"
    lines = p.read_text().splitlines()
    lines.insert(3, "")                         # a blank line 4: S03 moves to line 5, S04 to 6
    lines[5] = lines[5].replace(",asian,", ",Asian,")
    p.write_bytes(("\r\n".join(lines) + "\r\n\r\n").encode())
    # a quoted text over two lines (3 and 4): the staff item moves from line 5 to line 6
    replace(d, "survey_items", "How often do you feel left out", "How often do you\nfeel left out")
    set_cell(d, "survey_items", 6, "topic", "Staff Belonging")
    code, out = run_validate(d, capsys=capsys)
    assert code == 1
    assert "enrollment.csv:6: column 'race_ethnicity' value 'Asian'" in out
    assert "survey_items.csv:6: column 'topic' value 'Staff Belonging'" in out
    assert "2 problems in 2 files" in out


def test_bad_years_argument_is_a_clear_error():
    with pytest.raises(PlanMetricsError, match="YYYY-YY"):
        load_data(TINY, years=["2024"])


def test_warnings_are_printed_but_the_data_is_valid(tmp_path, capsys):
    d = copy_tiny(tmp_path)
    # R14 answers 3 items (lines 17..19) with a student id nobody is enrolled under
    (d / "survey_responses.csv").write_text(
        (TINY / "survey_responses.csv").read_text().replace("R14,student,B2,S14",
                                                            "R14,student,B2,S99"))
    (d / "enrolment.csv").write_text("school_year\n")       # a misspelt stray file
    code, out = run_validate(d, capsys=capsys)
    assert code == 0, out
    assert "survey_responses.csv:17: column 'student_id' value 'S99': warning:" in out
    assert "enrolment.csv: warning: this file is not a table" in out
    assert "Rename it enrollment.csv" in out
    assert "valid (14 tables, 4 warnings above)" in out
