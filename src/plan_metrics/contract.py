"""The data contract (DESIGN.md section 5): tables, columns, keys and code lists.

This module is the single place the contract is written down; schemas, the loader, the synthetic
district and the engine all read it from here.
"""

from __future__ import annotations

import re

SCHOOL_YEAR_RE = re.compile(r"^(\d{4})-(\d{2})$")

RACE_ETHNICITY = ("hispanic", "american_indian", "asian", "black", "pacific_islander", "white",
                  "two_or_more")
GENDER = ("female", "male", "nonbinary", "not_reported")
BUILDING_LEVEL = ("elementary", "middle", "high", "other")
RESPONDENT_TYPE = ("student", "staff", "family")
DISCIPLINE_CATEGORY = ("bullying", "bias_incident", "fighting", "defiance", "other")
DISCIPLINE_ACTION = ("referral", "iss", "oss", "expulsion")
STAFF_ROLE = ("teacher", "administrator", "support")
TEST = ("map", "milestones")
SUBJECT = ("ela", "math", "science", "social_studies")
GRAD_OUTCOME = ("graduated_on_time", "graduated_late", "dropped_out", "still_enrolled",
                "transferred_out", "deceased", "other_removal")
PROGRAM = ("gifted", "ap", "honors", "dual_credit", "sped_referral", "tier2", "tier3")
ASSESSOR = ("self", "teacher")
AUDIT_RATING = ("not_evident", "emerging", "meets", "exceeds")
STEP_STATUS = ("not_started", "in_progress", "complete", "discontinued")

#: "Students of color" / "staff of color" = every race_ethnicity code but white.
OF_COLOR = tuple(r for r in RACE_ETHNICITY if r != "white")

#: Student-group columns for disaggregation (grade_band is derived from grade).
GROUP_COLUMNS = ("race_ethnicity", "gender", "econ_disadvantaged", "disability", "english_learner",
                 "grade_band")
BOOL_GROUP_COLUMNS = ("econ_disadvantaged", "disability", "english_learner")
GRADE_BANDS = {"elementary": range(0, 6), "middle": range(6, 9), "high": range(9, 13)}


def grade_band(grade: int) -> str:
    """elementary K-5, middle 6-8, high 9-12."""
    return "elementary" if grade <= 5 else "middle" if grade <= 8 else "high"


# Column types: str (free text / id), code (one of a list), bool, int, float, year (YYYY-YY), date.
# Each table: ordered columns {name: (type, codes or None, required)}, and its key.
def _c(type_: str, codes=None, required: bool = True):
    return (type_, codes, required)


TABLES: dict[str, dict] = {
    "buildings": {
        "columns": {"building_id": _c("id"), "name": _c("str"), "level": _c("code", BUILDING_LEVEL),
                    "grade_low": _c("grade"), "grade_high": _c("grade")},
        "key": ["building_id"],
    },
    "enrollment": {
        "columns": {"school_year": _c("year"), "student_id": _c("id"), "building_id": _c("id"),
                    "grade": _c("grade"), "race_ethnicity": _c("code", RACE_ETHNICITY),
                    "gender": _c("code", GENDER), "econ_disadvantaged": _c("bool"),
                    "disability": _c("bool"), "english_learner": _c("bool"),
                    "days_enrolled": _c("count"), "days_absent": _c("count")},
        "key": ["school_year", "student_id", "building_id"],
    },
    "survey_items": {
        "columns": {"survey": _c("code"), "item_id": _c("id"), "topic": _c("code"),
                    "text": _c("str"), "scale_points": _c("count"), "favorable_min": _c("count"),
                    "reverse_coded": _c("bool")},
        "key": ["survey", "item_id"],
    },
    "survey_responses": {
        "columns": {"school_year": _c("year"), "survey": _c("code"), "respondent_id": _c("id"),
                    "respondent_type": _c("code", RESPONDENT_TYPE), "building_id": _c("id"),
                    "student_id": _c("id", required=False), "item_id": _c("id"),
                    "response": _c("count", required=False)},
        "key": ["school_year", "survey", "respondent_id", "item_id"],
    },
    "discipline": {
        "columns": {"school_year": _c("year"), "incident_id": _c("id"), "student_id": _c("id"),
                    "building_id": _c("id"), "incident_date": _c("date"),
                    "category": _c("code", DISCIPLINE_CATEGORY),
                    "action": _c("code", DISCIPLINE_ACTION), "days_removed": _c("number")},
        "key": ["school_year", "incident_id", "student_id", "action"],
    },
    "staff": {
        "columns": {"school_year": _c("year"), "staff_id": _c("id"), "building_id": _c("id"),
                    "role": _c("code", STAFF_ROLE), "race_ethnicity": _c("code", RACE_ETHNICITY),
                    "gender": _c("code", GENDER), "fte": _c("number"), "new_hire": _c("bool"),
                    "separated_end_of_year": _c("bool")},
        "key": ["school_year", "staff_id", "building_id"],
    },
    "assessments": {
        "columns": {"school_year": _c("year"), "student_id": _c("id"), "building_id": _c("id"),
                    "test": _c("code", TEST), "subject": _c("code", SUBJECT), "grade": _c("grade"),
                    "level": _c("level"), "scale_score": _c("number", required=False)},
        "key": ["school_year", "student_id", "test", "subject"],
    },
    "graduation_cohort": {
        "columns": {"cohort": _c("year"), "student_id": _c("id"), "building_id": _c("id"),
                    "outcome": _c("code", GRAD_OUTCOME)},
        "key": ["cohort", "student_id"],
    },
    "programs": {
        "columns": {"school_year": _c("year"), "student_id": _c("id"), "program": _c("code", PROGRAM)},
        "key": ["school_year", "student_id", "program"],
    },
    "progression_rubrics": {
        "columns": {"school_year": _c("year"), "student_id": _c("id"), "building_id": _c("id"),
                    "attribute": _c("str"), "assessor": _c("code", ASSESSOR), "score": _c("level")},
        "key": ["school_year", "student_id", "attribute", "assessor"],
    },
    "curriculum_audit": {
        "columns": {"school_year": _c("year"), "course_id": _c("id"), "building_id": _c("id"),
                    "unit_id": _c("id"), "criterion": _c("code"),
                    "rating": _c("code", AUDIT_RATING)},
        "key": ["school_year", "unit_id", "criterion"],
    },
    "educator_evaluations": {
        "columns": {"school_year": _c("year"), "staff_id": _c("id"), "building_id": _c("id"),
                    "standard": _c("id"), "rating": _c("level")},
        "key": ["school_year", "staff_id", "standard"],
    },
    "service_hours": {
        "columns": {"school_year": _c("year"), "student_id": _c("id"), "hours": _c("number")},
        "key": ["school_year", "student_id"],
    },
    "action_steps": {
        "columns": {"school_year": _c("year"), "plan_id": _c("id"), "goal_id": _c("id"),
                    "objective_id": _c("id"), "step_id": _c("id"), "owner": _c("str"),
                    "status": _c("code", STEP_STATUS), "note": _c("str", required=False)},
        "key": ["school_year", "plan_id", "step_id"],
    },
}
# Types: id (non-empty text), str (text), code (lower-case snake_case; from the list when given),
# bool, grade (K or 0..12), count (integer >= 0), number (>= 0), level (integer 1..4),
# year (YYYY-YY, consecutive years), date (ISO YYYY-MM-DD).

#: The column that names the school year in each table (None: the table has no year).
YEAR_COLUMN = {name: ("cohort" if name == "graduation_cohort" else
                      None if name in ("buildings", "survey_items") else "school_year")
               for name in TABLES}


def parse_school_year(text: str) -> int:
    """'2023-24' -> 2023 (the fall year). Raises ValueError when not YYYY-YY of consecutive years."""
    m = SCHOOL_YEAR_RE.match(str(text))
    if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
        raise ValueError(f"{text!r} is not a school year written YYYY-YY of consecutive years "
                         f"(e.g. 2023-24)")
    return int(m.group(1))


def format_school_year(fall_year: int) -> str:
    """2023 -> '2023-24'."""
    return f"{fall_year}-{(fall_year + 1) % 100:02d}"


def shift_school_year(school_year: str, years: int) -> str:
    """('2023-24', -1) -> '2022-23'."""
    return format_school_year(parse_school_year(school_year) + years)
