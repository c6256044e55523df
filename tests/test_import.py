"""`plan-metrics import` (DESIGN.md section 5.1): the example export, hand-worked rules, and broken
mappings and sources, each with its own message, through the real console script.

The raw exports are written by ``plan_metrics.importing.example`` from a contract data directory:
the tiny fixture for the faults (fast), the small demo district for the example round trip.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from plan_metrics import contract
from plan_metrics.importing import import_exports
from plan_metrics.importing.example import write_raw_export

ROOT = Path(__file__).resolve().parent.parent
TINY = Path(__file__).parent / "fixtures" / "tiny"
MAPPING = ROOT / "data" / "examples" / "mapping.yaml"
EXE = ROOT / ".venv" / "bin" / "plan-metrics"
CMD = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "plan_metrics.cli"]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CMD, *args], capture_output=True, text=True, timeout=600)


def contract_frame(path: Path) -> pd.DataFrame:
    """A contract CSV as text, rows sorted by every column (row order is not part of it)."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    return df.sort_values(list(df.columns)).reset_index(drop=True)


@pytest.fixture(scope="session")
def tiny_raw(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny_raw") / "raw"
    write_raw_export(TINY, out)
    return out


@pytest.fixture
def case(tmp_path, tiny_raw):
    """A private copy of the tiny raw export and of the example mapping, to break."""
    raw = tmp_path / "raw"
    shutil.copytree(tiny_raw, raw)
    mapping = tmp_path / "mapping.yaml"
    shutil.copy(MAPPING, mapping)
    return raw, mapping, tmp_path / "imported"


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def fails(mapping: Path, raw: Path, out: Path, *expected: str) -> str:
    """Run the import; it must fail with one message holding every ``expected`` text, no
    traceback, and leave ``out`` uncreated (nor a temporary folder beside it)."""
    r = cli("import", "--mapping", str(mapping), "--source", str(raw), "--out", str(out))
    assert r.returncode == 2, r.stdout + r.stderr
    err = r.stderr
    assert "Traceback" not in err and "Traceback" not in r.stdout
    assert err.startswith("plan-metrics import: ") and len(err.strip().splitlines()) == 1, err
    for text in expected:
        assert text in err, f"{text!r} not in: {err}"
    assert "How to fix:" in err
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    return err


# ---- the example -------------------------------------------------------------------------------

@pytest.mark.slow
def test_example_export_imports_back_to_the_demo_district_exactly(demo_data, tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "imported"
    files = write_raw_export(demo_data, raw)
    assert "sis/students.xlsx" in files and "hr/staff.xlsx" in files
    assert len([f for f in files if f.startswith("sis/enrollments_")]) == 6
    r = cli("import", "--mapping", str(MAPPING), "--source", str(raw), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "valid" in r.stdout
    # pre-K rows (recode: drop) and withdrawn no-shows (where) are left out, and said so
    assert "enrollment" in r.stdout and "6 left out by where, 12 dropped by recode" in r.stdout
    for table in contract.TABLES:
        got, want = contract_frame(out / f"{table}.csv"), contract_frame(demo_data / f"{table}.csv")
        assert list(got.columns) == list(want.columns), table
        assert got.shape == want.shape, table
        pd.testing.assert_frame_equal(got, want, obj=table)
    v = cli("validate", "--data", str(out))
    assert v.returncode == 0 and "valid (14 tables)" in v.stdout


def test_tiny_export_imports_and_validates(case):
    raw, mapping, out = case
    r = cli("import", "--mapping", str(mapping), "--source", str(raw), "--out", str(out))
    assert r.returncode == 0, r.stderr
    tiny = contract_frame(TINY / "enrollment.csv")
    got = contract_frame(out / "enrollment.csv")
    assert len(got) == len(tiny)
    assert (out / "IMPORT.yaml").is_file()
    # a second import replaces the first as a whole
    r = cli("import", "--mapping", str(mapping), "--source", str(raw), "--out", str(out))
    assert r.returncode == 0, r.stderr


# ---- hand-worked rules --------------------------------------------------------------------------

HAND_MAPPING = """\
district: Hand County
tables:
  buildings:
    from: schools.csv
    columns:
      building_id: Code
      name: Name
      level: {value: elementary}
      grade_low: {value: K}
      grade_high: {value: 5}
  enrollment:
    from: "enr/*.csv"
    join: {from: kids.csv, on: Id}
    where: "Status != 'Withdrawn'"
    columns:
      school_year: {from_year: Year, year: starting}
      student_id: Id
      building_id: School
      grade: {from: Gr, recode: {KG: 0, "1": 1, PK: drop}}
      race_ethnicity: {from: Race, recode: {B: black, W: white}, others: two_or_more}
      gender: {from: Sex, recode: {F: female, M: male}, others: drop}
      econ_disadvantaged: {value: false}
      disability: {value: "no"}
      english_learner: {from: EL, recode: {"Y": true, "N": false}}
      days_enrolled: Days
      days_absent: {sum_of: [Exc, Unexc]}
  discipline:
    from: incidents.csv
    columns:
      school_year: {from_date: When, format: "%m/%d/%Y"}
      incident_id: Inc
      student_id: Id
      building_id: {value: E1}
      incident_date: {from: When, format: "%m/%d/%Y"}
      category: {value: fighting}
      action: {value: referral}
      days_removed: {value: 0}
"""


def test_hand_worked_rules(tmp_path):
    raw = tmp_path / "raw"
    (raw / "enr").mkdir(parents=True)
    (raw / "schools.csv").write_text("Code,Name\nE1,East\n")
    (raw / "kids.csv").write_text("Id,Race,Sex\nA,B,F\nB,W,M\nC,H,F\nD,W,X\nE,B,M\nF,W,F\n")
    (raw / "enr" / "y2023.csv").write_text(
        "Year,Id,School,Gr,EL,Days,Exc,Unexc,Status\n"
        "2023,A,E1,KG,Y,180,2,3,Active\n"          # days_absent 5
        "2023,B,E1,1,N,170,,4,Active\n"            # empty + 4 = 4
        "2023,C,E1,PK,N,100,0,0,Active\n")         # dropped by the grade recode
    (raw / "enr" / "y2024.csv").write_text(         # a second file, stacked
        "Year,Id,School,Gr,EL,Days,Exc,Unexc,Status\n"
        "2024,A,E1,1,N,178,1.0,0,Active\n"          # 1.0 + 0 = 1
        "2024,C,E1,KG,N,150,0,0,Active\n"           # race H -> others: two_or_more
        "2024,D,E1,KG,N,150,0,0,Active\n"           # gender X -> others: drop
        "2024,E,E1,KG,N,0,0,0,Withdrawn\n")         # left out by where
    (raw / "incidents.csv").write_text("Inc,Id,When\nI1,A,06/30/2024\nI2,A,07/01/2024\n")
    m = tmp_path / "m.yaml"
    m.write_text(HAND_MAPPING)
    s = import_exports(m, raw, tmp_path / "out")
    enr = pd.read_csv(tmp_path / "out" / "enrollment.csv", dtype=str, keep_default_na=False)
    assert enr.to_dict("records") == [
        {"school_year": "2023-24", "student_id": "A", "building_id": "E1", "grade": "0",
         "race_ethnicity": "black", "gender": "female", "econ_disadvantaged": "false",
         "disability": "false", "english_learner": "true", "days_enrolled": "180",
         "days_absent": "5"},
        {"school_year": "2023-24", "student_id": "B", "building_id": "E1", "grade": "1",
         "race_ethnicity": "white", "gender": "male", "econ_disadvantaged": "false",
         "disability": "false", "english_learner": "false", "days_enrolled": "170",
         "days_absent": "4"},
        {"school_year": "2024-25", "student_id": "A", "building_id": "E1", "grade": "1",
         "race_ethnicity": "black", "gender": "female", "econ_disadvantaged": "false",
         "disability": "false", "english_learner": "false", "days_enrolled": "178",
         "days_absent": "1"},
        {"school_year": "2024-25", "student_id": "C", "building_id": "E1", "grade": "0",
         "race_ethnicity": "two_or_more", "gender": "female", "econ_disadvantaged": "false",
         "disability": "false", "english_learner": "false", "days_enrolled": "150",
         "days_absent": "0"}]
    assert s.tables["enrollment"] == {"files": ["enr/y2023.csv", "enr/y2024.csv", "kids.csv"],
                                      "rows_read": 7, "left_out_by_where": 1,
                                      "dropped_by_recode": 2, "rows_written": 4}
    b = pd.read_csv(tmp_path / "out" / "buildings.csv", dtype=str)
    assert b.iloc[0].tolist() == ["E1", "East", "elementary", "0", "5"]
    d = pd.read_csv(tmp_path / "out" / "discipline.csv", dtype=str)
    # a school year starts on July 1: June 30 is the end of 2023-24
    assert d[["school_year", "incident_date"]].values.tolist() == [
        ["2023-24", "2024-06-30"], ["2024-25", "2024-07-01"]]


# ---- broken mappings ---------------------------------------------------------------------------

def test_unknown_contract_column(case):
    raw, m, out = case
    edit(m, "      race_ethnicity:\n        from: FederalRace", "      race:\n        from: FederalRace")
    fails(m, raw, out, "'race' is not a column of contract table enrollment",
          "did you mean 'race_ethnicity'?", "tables.enrollment.columns.race (line ", str(m))


def test_unknown_table(case):
    raw, m, out = case
    edit(m, "  programs:\n", "  program:\n")
    fails(m, raw, out, "'program' is not a table of the data contract", "did you mean 'programs'?",
          "tables.program")


def test_unknown_mapping_key(case):
    raw, m, out = case
    edit(m, "gender: {from: Gender, recode:", "gender: {from: Gender, recodes:")
    fails(m, raw, out, "Unknown key 'recodes'", "did you mean 'recode'?",
          "tables.enrollment.columns.gender.recodes")


def test_recode_to_an_invalid_code(case):
    raw, m, out = case
    edit(m, "{F: female, M: male, X: nonbinary, U: not_reported}}",
         "{F: woman, M: male, X: nonbinary, U: not_reported}}")
    fails(m, raw, out, "'woman' is not a valid gender: unknown code",
          "tables.enrollment.columns.gender.recode.F", "female, male, nonbinary, not_reported")


def test_wrong_type(case):
    raw, m, out = case
    edit(m, "days_absent: {sum_of: [ExcusedAbsences, UnexcusedAbsences]}",
         "days_absent: {sum_of: ExcusedAbsences}")
    fails(m, raw, out, "Sum_of must be a list of source columns",
          "tables.enrollment.columns.days_absent.sum_of",
          "sum_of: [ExcusedAbsences, UnexcusedAbsences]")


def test_required_column_not_mapped(case):
    raw, m, out = case
    edit(m, "      days_enrolled: MembershipDays\n", "")
    fails(m, raw, out, "Table enrollment does not say where its required column days_enrolled "
          "comes from", "tables.enrollment.columns")


def test_bad_yaml(case):
    raw, m, out = case
    edit(m, "      student_id: StudentNumber\n      building_id: SchoolCode\n      grade:",
         "      student_id: StudentNumber\n     building_id: SchoolCode\n      grade:")
    fails(m, raw, out, "The mapping file is not valid YAML", "(line ", "indentation")


def test_bad_row_filter(case):
    raw, m, out = case
    edit(m, "where: \"Status != 'Withdrawn'\"", "where: \"Statuss != 'Withdrawn'\"")
    fails(m, raw, out, "The row filter \"Statuss != 'Withdrawn'\" cannot be applied",
          "tables.enrollment.where", "Status")


# ---- broken sources ----------------------------------------------------------------------------

def first_enrollment_file(raw: Path) -> Path:
    return sorted((raw / "sis").glob("enrollments_*.csv"))[0]


def test_source_column_missing(case):
    raw, m, out = case
    edit(m, "gender: {from: Gender,", "gender: {from: Sex,")
    name = first_enrollment_file(raw).name
    fails(m, raw, out, f"Column 'Sex' is not in {name} (nor in students.xlsx)",
          "tables.enrollment.columns.gender", f"the columns of {name} are SchoolYear")


def test_bad_glob(case):
    raw, m, out = case
    edit(m, 'from: "sis/enrollments_*.csv"', 'from: "sis/enrolments_*.csv"')
    fails(m, raw, out, "No file under", "matches 'sis/enrolments_*.csv'",
          "tables.enrollment.from (line ", f"sis/{first_enrollment_file(raw).name}")


def test_xlsx_without_the_sheet(case):
    raw, m, out = case
    edit(m, "    sheet: Staff\n", "    sheet: Employees\n")
    fails(m, raw, out, "staff.xlsx has no sheet 'Employees'", "its sheets are 'Notes', 'Staff'",
          "tables.staff.from")


def test_xlsx_with_several_sheets_and_no_sheet_named(case):
    raw, m, out = case
    edit(m, "    sheet: Staff\n", "")
    fails(m, raw, out, "staff.xlsx has 2 sheets and the mapping does not say which to read",
          "add sheet: with one of 'Notes', 'Staff'")


def test_unmapped_codes_are_listed_with_counts(case):
    raw, m, out = case
    edit(m, "          Two or More Races: two_or_more\n", "", count=1)   # enrollment's recode
    edit(m, "Advanced: 4}}", "}}")
    students = pd.read_excel(raw / "sis" / "students.xlsx", dtype=str, engine="openpyxl")
    enr = pd.concat(pd.read_csv(p, dtype=str) for p in sorted((raw / "sis").glob("enroll*.csv")))
    joined = enr.merge(students, on="StudentNumber")
    joined = joined[(joined.Status != "Withdrawn") & (joined.Grade != "PK")]
    n_two = int((joined.FederalRace == "Two or More Races").sum())
    a = pd.read_csv(raw / "state" / "assessments.csv", dtype=str)
    n_adv = int((a.AchievementLevel == "Advanced").sum())
    assert n_two > 0 and n_adv > 0
    fails(m, raw, out, "The mapping does not cover 2 values",
          f"enrollment.race_ethnicity from FederalRace in students.xlsx",
          f"'Two or More Races' ({n_two:,} row{'s' * (n_two != 1)}): not in the recode",
          f"assessments.level from AchievementLevel in assessments.csv",
          f"'Advanced' ({n_adv:,} row{'s' * (n_adv != 1)}): not in the recode",
          "others: drop")


def test_a_year_that_cannot_be_parsed(case):
    raw, m, out = case
    p = raw / "sis" / "programs.csv"
    lines = p.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace(lines[1].split(",")[0], "SY2021", 1)
    p.write_text("".join(lines))
    fails(m, raw, out, "programs.school_year from SchoolYear in programs.csv",
          "'SY2021' (1 row): not a year (a number like 2024, or 2023-2024)")


def test_duplicate_keys_in_the_joined_file(case):
    raw, m, out = case
    path = raw / "sis" / "students.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb["Students"]
    ws.append([c.value for c in ws[2]])           # the first student twice
    first = ws[2][0].value
    wb.save(path)
    fails(m, raw, out, "students.xlsx has 1 StudentNumber value on more than one row",
          f"'{first}' (2 rows)", "tables.enrollment.join.on", "one row per StudentNumber")


def test_duplicate_keys_after_the_import(case):
    raw, m, out = case
    p = first_enrollment_file(raw)
    lines = p.read_text().splitlines(keepends=True)
    p.write_text("".join(lines + [lines[1]]))      # a student enrolled twice in one building
    fails(m, raw, out, "do not pass validation", "enrollment.csv",
          "duplicate key", "school_year, student_id, building_id")


def test_student_missing_from_the_demographics_file(case):
    raw, m, out = case
    path = raw / "sis" / "students.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb["Students"]
    gone = ws[2][0].value
    ws.delete_rows(2)
    wb.save(path)
    enr = pd.concat(pd.read_csv(p, dtype=str) for p in (raw / "sis").glob("enroll*.csv"))
    n = int((enr.StudentNumber == gone).sum())
    fails(m, raw, out, f"{n} row{'s' * (n != 1)} of the files of 'sis/enrollments_*.csv' "
          f"(1 distinct StudentNumber, e.g. '{gone}')", "no row in students.xlsx",
          "tables.enrollment.join.on")


def test_not_utf8_source(case):
    raw, m, out = case
    p = raw / "sis" / "schools.csv"
    p.write_bytes(p.read_bytes().replace(b"Elementary", "Él\u00e9mentary".encode("cp1252"), 1))
    fails(m, raw, out, "schools.csv is not utf-8 text", "encoding: cp1252", "tables.buildings")


def test_output_that_fails_validation(case):
    raw, m, out = case
    edit(m, "days_enrolled: MembershipDays", "days_enrolled: {value: 3}")
    fails(m, raw, out, "The tables the mapping produces do not pass validation",
          "days_absent is more than days_enrolled", "so nothing was written")


def test_a_failed_import_leaves_the_earlier_one_untouched(case):
    raw, m, out = case
    assert cli("import", "--mapping", str(m), "--source", str(raw), "--out", str(out)) \
        .returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    edit(m, "gender: {from: Gender,", "gender: {from: Sex,")
    r = cli("import", "--mapping", str(m), "--source", str(raw), "--out", str(out))
    assert r.returncode == 2 and "Column 'Sex'" in r.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_out_with_other_files_is_not_replaced(case):
    raw, m, out = case
    out.mkdir()
    (out / "budget.xlsx").write_text("not data")
    r = cli("import", "--mapping", str(m), "--source", str(raw), "--out", str(out))
    assert r.returncode == 2 and "holds files that are not a data directory's (budget.xlsx)" \
        in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["budget.xlsx"]
