"""The example raw export: a contract data directory re-shaped the way SIS and state vendors write it.

``write_raw_export(data_dir, out)`` reads a data directory (the synthetic demo district) and writes
the exports a district's analyst would start from (``data/examples/mapping.yaml`` maps them back):

- ``sis/schools.csv``; ``sis/students.xlsx`` (sheet Students: one row per student, federal race
  labels, F/M/X/U, Free/Reduced/Paid) and ``sis/enrollments_2020.csv`` ... one file per school year
  named by the year it ends (``SchoolYear`` 2020 = 2019-20; grades KG, 01..12; IEP/ELL as Y/N;
  absences split into excused and unexcused; plus pre-K rows and withdrawn no-shows an import must
  leave out);
- ``hr/staff.xlsx`` (sheets Staff and Notes), ``hr/evaluations.csv``;
- ``state/assessments.csv`` (MAP / Georgia Milestones, Below Basic..Advanced, years 2019-2020),
  ``state/graduation_cohorts.csv`` (cohort by the year it graduates);
- ``surveys/items.csv`` and one ``surveys/responses_<survey>.csv`` per survey (Student/Staff/Parent);
- ``sis/discipline.csv`` (no school year: it follows from the incident date, written MM/DD/YYYY),
  ``sis/programs.csv``, ``sis/rubrics.csv``, ``sis/service_hours.csv``, ``sis/curriculum_audit.csv``,
  ``sis/action_steps.csv``.

Deterministic: the same data directory gives the same files. ``python data/examples/make_raw.py``
writes it from ``data/demo``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from .. import contract

RACE_LABELS = {"hispanic": "Hispanic/Latino", "american_indian": "American Indian or Alaska Native",
               "asian": "Asian", "black": "Black or African American",
               "pacific_islander": "Native Hawaiian or Other Pacific Islander",
               "white": "White", "two_or_more": "Two or More Races"}
GENDER_LETTERS = {"female": "F", "male": "M", "nonbinary": "X", "not_reported": "U"}
LEVEL_WORDS = {"elementary": "Elementary School", "middle": "Middle School",
               "high": "High School", "other": "Alternative"}
YN = {"true": "Y", "false": "N"}
ROLE_WORDS = {"teacher": "Teacher", "administrator": "Administrator", "support": "Support Staff"}
RESPONDENT_WORDS = {"student": "Student", "staff": "Staff", "family": "Parent/Guardian"}
TEST_WORDS = {"map": "MAP", "milestones": "Georgia Milestones"}
SUBJECT_WORDS = {"ela": "ELA", "math": "Mathematics", "science": "Science",
                 "social_studies": "Social Studies"}
ACHIEVEMENT = {"1": "Below Basic", "2": "Basic", "3": "Proficient", "4": "Advanced"}
OUTCOME_WORDS = {"graduated_on_time": "Graduated - 4 Year", "graduated_late": "Graduated - 5+ Year",
                 "dropped_out": "Dropout", "still_enrolled": "Still Enrolled",
                 "transferred_out": "Transferred Out", "deceased": "Deceased",
                 "other_removal": "Other Removal"}
PROGRAM_CODES = {"gifted": "GT", "ap": "AP", "honors": "HON", "dual_credit": "DC",
                 "sped_referral": "SPREF", "tier2": "RTI2", "tier3": "RTI3"}
CATEGORY_WORDS = {"bullying": "Bullying", "bias_incident": "Bias/Hate Incident",
                  "fighting": "Fighting", "defiance": "Defiance/Disrespect", "other": "Other"}
ACTION_CODES = {"referral": "REF", "iss": "ISS", "oss": "OSS", "expulsion": "EXP"}
AUDIT_WORDS = {"not_evident": "Not Evident", "emerging": "Emerging", "meets": "Meets",
               "exceeds": "Exceeds"}


def _read(data_dir: Path, table: str) -> pd.DataFrame | None:
    path = data_dir / f"{table}.csv"
    if not path.is_file():
        return None
    cols = list(contract.TABLES[table]["columns"])
    t = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={c: pa.string() for c in cols}, strings_can_be_null=False))
    return t.to_pandas()


def _write(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text_cols = [c for c in df.columns if df[c].dtype == object or str(df[c].dtype) in ("str",
                                                                                      "string")]
    needs_quotes = any(df[c].astype(str).str.contains(r'[,"\r\n]', regex=True).any()
                       for c in text_cols)
    if needs_quotes:
        df.to_csv(path, index=False, lineterminator="\r\n")   # a Windows export
        return
    with open(path, "wb") as fh:
        fh.write((",".join(df.columns) + "\r\n").encode())
        pacsv.write_csv(pa.Table.from_pandas(df, preserve_index=False), fh,
                        pacsv.WriteOptions(include_header=False, quoting_style="none",
                                           eol="\r\n"))


def _write_xlsx(sheets: dict[str, pd.DataFrame], path: Path) -> None:
    import openpyxl
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook(write_only=True)
    for name, df in sheets.items():
        ws = wb.create_sheet(name)
        ws.append(list(df.columns))
        for row in df.itertuples(index=False, name=None):
            ws.append(list(row))
    wb.save(path)


def _ending(school_year: pd.Series) -> pd.Series:
    """'2019-20' -> '2020' (the year the school year ends)."""
    return (school_year.str[:4].astype(int) + 1).astype(str)


def _span(school_year: pd.Series) -> pd.Series:
    """'2019-20' -> '2019-2020'."""
    start = school_year.str[:4].astype(int)
    return start.astype(str) + "-" + (start + 1).astype(str)


def _grade_text(grade: pd.Series) -> pd.Series:
    return grade.map(lambda g: "KG" if g.strip().upper() in ("0", "K") else f"{int(g):02d}")


def write_raw_export(data_dir: str | Path, out: str | Path) -> dict[str, int]:
    """Write the example raw export of ``data_dir`` into ``out``; returns {file: rows}."""
    data_dir, out = Path(data_dir), Path(out)
    written: dict[str, int] = {}

    def put(df: pd.DataFrame, rel: str) -> None:
        _write(df, out / rel)
        written[rel] = len(df)

    b = _read(data_dir, "buildings")
    put(pd.DataFrame({"SchoolCode": b.building_id, "SchoolName": b.name,
                      "SchoolLevel": b.level.map(LEVEL_WORDS),
                      "LowGrade": _grade_text(b.grade_low),
                      "HighGrade": _grade_text(b.grade_high)}), "sis/schools.csv")

    e = _read(data_dir, "enrollment")
    students = e.drop_duplicates("student_id")[["student_id", "race_ethnicity", "gender",
                                                "econ_disadvantaged"]]
    num = students.student_id.str.replace(r"\D", "", regex=True).astype(int)
    frl = np.where(students.econ_disadvantaged == "true",
                   np.where(num % 3 == 0, "Reduced", "Free"), "Paid")
    demo = pd.DataFrame({"StudentNumber": students.student_id.to_numpy(),
                         "FederalRace": students.race_ethnicity.map(RACE_LABELS).to_numpy(),
                         "Gender": students.gender.map(GENDER_LETTERS).to_numpy(), "FRL": frl})
    absent = e.days_absent.astype(int)
    excused = (absent * 2) // 5
    enr = pd.DataFrame({"SchoolYear": _ending(e.school_year), "StudentNumber": e.student_id,
                        "SchoolCode": e.building_id, "Grade": _grade_text(e.grade),
                        "IEP": e.disability.map(YN), "ELL": e.english_learner.map(YN),
                        "MembershipDays": e.days_enrolled,
                        "ExcusedAbsences": excused.astype(str),
                        "UnexcusedAbsences": (absent - excused).astype(str), "Status": "Active"})
    # rows an import must leave out: pre-K (dropped by the grade recode), withdrawn no-shows
    # (left out by where), with their students in the demographics file
    elem = b.building_id[b.level == "elementary"].iloc[0]
    extra, extra_students = [], []
    for i, year in enumerate(sorted(e.school_year.unique())):
        for k, (grade, status) in enumerate((("PK", "Active"), ("PK", "Active"),
                                             ("03", "Withdrawn"))):
            sid = f"P{i:02d}{k:03d}"
            extra.append({"SchoolYear": str(int(year[:4]) + 1), "StudentNumber": sid,
                          "SchoolCode": elem, "Grade": grade, "IEP": "N", "ELL": "N",
                          "MembershipDays": "0" if status == "Withdrawn" else "170",
                          "ExcusedAbsences": "0", "UnexcusedAbsences": "0", "Status": status})
            extra_students.append({"StudentNumber": sid, "FederalRace": "White", "Gender": "F",
                                   "FRL": "Paid"})
    enr = pd.concat([enr, pd.DataFrame(extra)], ignore_index=True)
    for year, part in enr.groupby("SchoolYear", sort=True):
        put(part.reset_index(drop=True), f"sis/enrollments_{year}.csv")
    demo = pd.concat([demo, pd.DataFrame(extra_students)], ignore_index=True)
    _write_xlsx({"Students": demo}, out / "sis/students.xlsx")
    written["sis/students.xlsx"] = len(demo)

    items = _read(data_dir, "survey_items")
    if items is not None:
        put(pd.DataFrame({"Survey": items.survey, "QuestionID": items.item_id,
                          "Topic": items.topic, "QuestionText": items.text,
                          "ScalePoints": items.scale_points, "FavorableMin": items.favorable_min,
                          "Reverse": items.reverse_coded.map(YN)}), "surveys/items.csv")
    resp = _read(data_dir, "survey_responses")
    if resp is not None:
        for survey, part in resp.groupby("survey", sort=True):
            put(pd.DataFrame({"Survey": part.survey, "SchoolYear": _span(part.school_year),
                              "ResponseID": part.respondent_id,
                              "RespondentRole": part.respondent_type.map(RESPONDENT_WORDS),
                              "School": part.building_id, "StudentNumber": part.student_id,
                              "Question": part.item_id, "Answer": part.response}),
                f"surveys/responses_{survey}.csv")
        del resp

    d = _read(data_dir, "discipline")
    if d is not None:
        day = pd.to_datetime(d.incident_date)
        put(pd.DataFrame({"IncidentNumber": d.incident_id, "StudentNumber": d.student_id,
                          "SchoolCode": d.building_id,
                          "IncidentDate": day.dt.strftime("%m/%d/%Y"),
                          "IncidentType": d.category.map(CATEGORY_WORDS),
                          "ActionCode": d.action.map(ACTION_CODES),
                          "DaysRemoved": d.days_removed}), "sis/discipline.csv")

    s = _read(data_dir, "staff")
    if s is not None:
        staff = pd.DataFrame({"FiscalYear": _ending(s.school_year).astype(int),
                              "EmployeeID": s.staff_id, "Location": s.building_id,
                              "JobCategory": s.role.map(ROLE_WORDS),
                              "Race": s.race_ethnicity.map(RACE_LABELS),
                              "Sex": s.gender.map(GENDER_LETTERS),
                              "FTE": s.fte.astype(float), "NewHire": s.new_hire.map(YN),
                              "SeparatedEndOfYear": s.separated_end_of_year.map(YN)})
        notes = pd.DataFrame({"Note": ["Exported from the HR system; one row per employee, "
                                       "location and fiscal year (FY2020 = 2019-20)."]})
        _write_xlsx({"Notes": notes, "Staff": staff}, out / "hr/staff.xlsx")
        written["hr/staff.xlsx"] = len(staff)

    ev = _read(data_dir, "educator_evaluations")
    if ev is not None:
        put(pd.DataFrame({"SchoolYear": _ending(ev.school_year), "EmployeeID": ev.staff_id,
                          "Location": ev.building_id, "Standard": ev.standard,
                          "Rating": ev.rating}), "hr/evaluations.csv")

    a = _read(data_dir, "assessments")
    if a is not None:
        put(pd.DataFrame({"SchoolYear": _span(a.school_year), "StudentNumber": a.student_id,
                          "SchoolCode": a.building_id, "TestName": a.test.map(TEST_WORDS),
                          "Subject": a.subject.map(SUBJECT_WORDS),
                          "TestedGrade": _grade_text(a.grade),
                          "AchievementLevel": a.level.map(ACHIEVEMENT),
                          "ScaleScore": a.scale_score}), "state/assessments.csv")

    g = _read(data_dir, "graduation_cohort")
    if g is not None:
        put(pd.DataFrame({"CohortYear": _ending(g.cohort), "StudentNumber": g.student_id,
                          "SchoolCode": g.building_id,
                          "Outcome": g.outcome.map(OUTCOME_WORDS)}), "state/graduation_cohorts.csv")

    p = _read(data_dir, "programs")
    if p is not None:
        put(pd.DataFrame({"SchoolYear": _ending(p.school_year), "StudentNumber": p.student_id,
                          "ProgramCode": p.program.map(PROGRAM_CODES)}), "sis/programs.csv")

    r = _read(data_dir, "progression_rubrics")
    if r is not None:
        put(pd.DataFrame({"SchoolYear": _ending(r.school_year), "StudentNumber": r.student_id,
                          "SchoolCode": r.building_id, "Attribute": r.attribute,
                          "RatedBy": r.assessor.str.title(), "Score": r.score}),
            "sis/rubrics.csv")

    c = _read(data_dir, "curriculum_audit")
    if c is not None:
        put(pd.DataFrame({"SchoolYear": _ending(c.school_year), "CourseID": c.course_id,
                          "SchoolCode": c.building_id, "UnitID": c.unit_id,
                          "Criterion": c.criterion, "Rating": c.rating.map(AUDIT_WORDS)}),
            "sis/curriculum_audit.csv")

    h = _read(data_dir, "service_hours")
    if h is not None:
        put(pd.DataFrame({"SchoolYear": _ending(h.school_year), "StudentNumber": h.student_id,
                          "Hours": h.hours}), "sis/service_hours.csv")

    st = _read(data_dir, "action_steps")
    if st is not None:
        put(pd.DataFrame({"SchoolYear": _ending(st.school_year), "Plan": st.plan_id,
                          "Goal": st.goal_id, "Objective": st.objective_id, "Step": st.step_id,
                          "Owner": st.owner, "Status": st.status.str.replace("_", " ")
                          .str.title(), "Note": st.note}), "sis/action_steps.csv")
    return written
