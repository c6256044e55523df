"""Plans as data (DESIGN.md section 4): the typed model of a plan YAML and its validation.

A plan mirrors the district's own document in its own words: goals, the outcomes that would show a
goal is reached ("We will know we have achieved this goal when ..."), and the measures of success
that operationalize each outcome's "Measurement:" line. Action-step plans have goals -> objectives ->
numbered action steps instead of outcomes. The equity review is a plan whose goals are the data
categories of Policy ACIB.

``load_plan`` turns any problem into one ``PlanMetricsError`` naming the file, the path in the YAML
and the fix.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import contract
from .errors import PlanMetricsError
from .paths import PLANS_DIR

Direction = Literal["higher", "lower", "toward_one", "toward_zero"]
GroupBy = Literal["race_ethnicity", "gender", "econ_disadvantaged", "disability",
                  "english_learner", "grade_band"]
SourceTable = Literal[tuple(contract.TABLES)]  # type: ignore[valid-type]
GradeBand = Literal["elementary", "middle", "high"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _school_year(value: str) -> str:
    contract.parse_school_year(value)
    return value


class Population(_Strict):
    """Restricts the students a measure counts (e.g. high-school students only)."""
    grade_band: list[GradeBand] | None = None


# ---- one spec model per kind: the keys each kind reads (contract with the engine) ----------------

class PercentFavorableSpec(_Strict):
    """survey_responses joined to survey_items: one topic (all its items) or one item."""
    survey: str                                  # survey_items.survey, e.g. student_sel
    topic: str | None = None
    item: str | None = None
    respondent_type: Literal["student", "staff", "family"] = "student"

    @model_validator(mode="after")
    def _topic_or_item(self):
        if (self.topic is None) == (self.item is None):
            raise ValueError("give exactly one of 'topic' or 'item'")
        return self


class RateSpec(_Strict):
    """people meeting a condition / people in the population.

    conditions: not_chronically_absent (students; days_absent/days_enrolled < threshold, students
    with days_enrolled < min_days_enrolled out), chronically_absent, has_action (students with >= 1
    discipline row whose action is in ``actions``), not_separated (staff of ``role`` not separated at
    year end).
    """
    condition: Literal["not_chronically_absent", "chronically_absent", "has_action",
                       "not_separated"]
    actions: list[Literal[contract.DISCIPLINE_ACTION]] | None = None  # type: ignore[valid-type]
    role: Literal[contract.STAFF_ROLE] | None = None                   # type: ignore[valid-type]
    threshold: float = 0.10
    min_days_enrolled: int = 10
    population: Population | None = None


class ProficiencySpec(_Strict):
    """assessments: percent at level >= 3, the MAP Performance Index, or the group-vs-others gap."""
    test: Literal["map", "milestones"]
    subject: Literal["ela", "math", "science", "social_studies"]
    statistic: Literal["percent_proficient", "mpi", "gap"] = "percent_proficient"
    proficient_level: int = 3


class GraduationRateSpec(_Strict):
    """4-year ACGR of the cohort whose expected graduation year is the school year."""


class RiskRatioSpec(_Strict):
    """event = discipline actions (source discipline) or program codes (source programs)."""
    event: list[str]
    window_years: int = Field(1, ge=1, le=5)
    population: Population | None = None


class RepresentationGapSpec(_Strict):
    """share of staff (role, optional new hires only) in a category minus share of students in it."""
    role: Literal[contract.STAFF_ROLE] = "teacher"  # type: ignore[valid-type]
    category: Literal["of_color"] = "of_color"
    new_hires_only: bool = False


class Per100Spec(_Strict):
    """distinct incidents of the categories (all: every category) per 100 enrolled students."""
    category: list[Literal[contract.DISCIPLINE_CATEGORY]] | Literal["all"] = "all"  # type: ignore[valid-type]


class MeanSpec(_Strict):
    """mean of a numeric column over the enrolled population; missing rows count as 0."""
    column: str
    population: Population | None = None


class ShareAtOrAboveSpec(_Strict):
    """progression_rubrics (attribute, assessor, min score), educator_evaluations (mean over
    standards >= min), curriculum_audit (criterion, min rating; units are counted)."""
    min: int | Literal["meets", "exceeds", "emerging"]
    attribute: str | None = None
    assessor: Literal["self", "teacher"] | None = None
    criterion: str | None = None


class ActionCompletionSpec(_Strict):
    """complete steps / steps not discontinued, for a plan, or one goal, or one objective."""
    plan_id: str
    goal: str | None = None
    objective: str | None = None


SPEC_MODELS: dict[str, type[_Strict]] = {
    "percent_favorable": PercentFavorableSpec, "rate": RateSpec, "proficiency": ProficiencySpec,
    "graduation_rate": GraduationRateSpec, "risk_ratio": RiskRatioSpec,
    "representation_gap": RepresentationGapSpec, "per_100": Per100Spec, "mean": MeanSpec,
    "share_at_or_above": ShareAtOrAboveSpec, "action_completion": ActionCompletionSpec,
}
KINDS = tuple(SPEC_MODELS)
#: Tables each kind may read as its ``source``.
KIND_SOURCES = {
    "percent_favorable": {"survey_responses"}, "rate": {"enrollment", "discipline", "staff"},
    "proficiency": {"assessments"}, "graduation_rate": {"graduation_cohort"},
    "risk_ratio": {"discipline", "programs"}, "representation_gap": {"staff"},
    "per_100": {"discipline"}, "mean": {"service_hours"},
    "share_at_or_above": {"progression_rubrics", "educator_evaluations", "curriculum_audit"},
    "action_completion": {"action_steps"},
}


class Target(_Strict):
    value: float
    year: str
    _check_year = field_validator("year")(_school_year)


class Measure(_Strict):
    id: str
    title: str
    kind: Literal[KINDS]  # type: ignore[valid-type]
    source: SourceTable
    spec: Any = Field(default_factory=dict)
    direction: Direction
    target: Target | None = None
    baseline_year: str | None = None
    groups: list[GroupBy] = Field(default_factory=list)
    unit: Literal["percent", "points", "ratio", "index", "per_100", "hours", "number"] | None = None
    description: str | None = None

    _check_baseline = field_validator("baseline_year")(lambda v: v if v is None else _school_year(v))

    @model_validator(mode="after")
    def _spec_for_kind(self):
        model = SPEC_MODELS[self.kind]
        try:
            spec = self.spec if isinstance(self.spec, model) else model.model_validate(self.spec or {})
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "(whole spec)"
            keys = ""
            if err["type"] == "extra_forbidden":
                names = ", ".join(model.model_fields)
                keys = f"; the {self.kind} spec takes " + (f"only {names}" if names else "no keys")
            article = "an" if self.kind[0] in "aeiou" else "a"
            raise ValueError(f"spec.{where} of {article} {self.kind} measure: {_plain(err)}{keys}") \
                from None
        object.__setattr__(self, "spec", spec)
        if self.source not in KIND_SOURCES[self.kind]:
            raise ValueError(f"kind {self.kind} cannot read source {self.source}; "
                             f"use one of {sorted(KIND_SOURCES[self.kind])}")
        return self


class ActionStep(_Strict):
    id: str
    number: str                      # as numbered in the plan ("3", or "3a" for an unnumbered line)
    text: str


class Objective(_Strict):
    id: str
    statement: str
    action_steps: list[ActionStep] = Field(default_factory=list)
    measures: list[Measure] = Field(default_factory=list)


class Outcome(_Strict):
    id: str
    statement: str
    measurement: str | None = None   # the plan's own "Measurement:" words
    measures: list[Measure] = Field(default_factory=list)
    note: str | None = None


class Goal(_Strict):
    id: str
    title: str | None = None
    statement: str
    graduate_attributes: list[str] = Field(default_factory=list)
    outcomes: list[Outcome] = Field(default_factory=list)
    objectives: list[Objective] = Field(default_factory=list)
    measures: list[Measure] = Field(default_factory=list)


class EquityReview(_Strict):
    """Settings of the Policy ACIB review: characteristics reviewed and flag thresholds."""
    characteristics: list[GroupBy]
    years_side_by_side: int = 3
    risk_ratio_high: float = 2.0
    risk_ratio_low: float = 0.5
    gap_points: float = 10.0
    policy_characteristics: list[str] = Field(default_factory=list)  # the policy's own list
    qualitative_categories: list[str] = Field(default_factory=list)


class Plan(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    type: Literal["strategic", "action_steps", "equity_review"] = "strategic"
    title: str
    organization: str
    source: str | None = None          # the seed document it encodes
    adopted: str | None = None
    mission: str | None = None
    vision: str | None = None
    core_values: list[str] = Field(default_factory=list)
    profile_of_graduate: dict[str, list[str]] = Field(default_factory=dict)
    goals: list[Goal]
    measures_: list[Measure] = Field(default_factory=list, alias="measures")  # plan-level measures
    review: EquityReview | None = None

    @model_validator(mode="after")
    def _unique_ids(self):
        seen: set[str] = set()
        for thing in self.walk():
            if thing.id in seen:
                raise ValueError(f"duplicate id {thing.id!r}; every goal, outcome, objective, "
                                 f"step and measure id must be unique in the plan")
            seen.add(thing.id)
        return self

    def walk(self):
        """Every goal, outcome, objective, action step and measure, in document order."""
        yield from self.measures_
        for g in self.goals:
            yield g
            yield from g.measures
            for o in g.outcomes:
                yield o
                yield from o.measures
            for o in g.objectives:
                yield o
                yield from o.action_steps
                yield from o.measures

    @property
    def has_action_steps(self) -> bool:
        """True when an objective of the plan lists action steps (their status is published)."""
        return any(o.action_steps for g in self.goals for o in g.objectives)

    def measures(self) -> list[Measure]:
        """Every measure of the plan, in document order."""
        return [m for m in self.walk() if isinstance(m, Measure)]

    def measure(self, measure_id: str) -> Measure:
        for m in self.measures():
            if m.id == measure_id:
                return m
        raise KeyError(measure_id)

    def goal_of(self, measure_id: str) -> Goal | None:
        """The goal a measure belongs to (None for a plan-level measure)."""
        if any(m.id == measure_id for m in self.measures_):
            return None
        for g in self.goals:
            if any(isinstance(t, Measure) and t.id == measure_id for t in _walk_goal(g)):
                return g
        raise KeyError(measure_id)

    def outcome_of(self, measure_id: str) -> Outcome | Objective | None:
        """The outcome (or objective) a measure operationalizes, None for goal-level measures."""
        for g in self.goals:
            for o in [*g.outcomes, *g.objectives]:
                if any(m.id == measure_id for m in o.measures):
                    return o
        return None


def _walk_goal(g: Goal):
    yield from g.measures
    for o in [*g.outcomes, *g.objectives]:
        yield from o.measures


def plan_path(plan: str | Path) -> Path:
    """A plan id ('clayton') or a path to a YAML file -> the file's path."""
    p = Path(plan)
    if p.suffix in (".yaml", ".yml"):
        return p
    return PLANS_DIR / f"{plan}.yaml"


def available_plans() -> list[str]:
    """The ids of the plans shipped in data/plans."""
    return sorted(p.stem for p in PLANS_DIR.glob("*.yaml"))


def load_plan(plan: str | Path) -> Plan:
    """Read and validate a plan (id or path). Raises PlanMetricsError naming file, YAML path, fix."""
    path = plan_path(plan)
    if not path.exists():
        raise PlanMetricsError(f"No plan {str(plan)!r}", str(path),
                               f"use one of {', '.join(available_plans())} or a path to a plan YAML")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        raise PlanMetricsError(f"The plan file is not valid YAML ({getattr(e, 'problem', e)})",
                               where, "fix the YAML syntax at that line (indentation, a missing "
                               "colon, or an unquoted ':' in a text)") from None
    except UnicodeDecodeError:
        raise PlanMetricsError("The plan file is not UTF-8 text", str(path),
                               "save it as UTF-8") from None
    if not isinstance(data, dict):
        raise PlanMetricsError("The plan file does not hold a mapping of plan fields", str(path),
                               "start the file with 'id:', 'title:', 'organization:' and 'goals:'")
    try:
        plan_obj = Plan.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        yaml_path = _refine_path(data, err, _yaml_path(data, err["loc"]))
        more = f" ({len(e.errors()) - 1} more problem(s) after this one)" if len(e.errors()) > 1 else ""
        raise PlanMetricsError(f"Invalid plan: {_plain(err)}{more}", f"{path}, at {yaml_path}",
                               _fix_for(err)) from None
    if plan_obj.id != path.stem:
        raise PlanMetricsError(f"The plan id {plan_obj.id!r} differs from its file name",
                               f"{path}, at id", f"name the file {plan_obj.id}.yaml or set "
                               f"id: {path.stem}")
    return plan_obj


def plan_hash(plan: str | Path) -> str:
    """sha256 of the plan file's bytes (for the edition manifest)."""
    return hashlib.sha256(plan_path(plan).read_bytes()).hexdigest()


def _yaml_path(data, loc) -> str:
    """pydantic's loc tuple -> 'goals[0].outcomes[1].measures[0].kind', with ids where known."""
    out, node = "", data
    for part in loc:
        if isinstance(part, int):
            ident = node[part].get("id") if isinstance(node, list) and part < len(node) \
                and isinstance(node[part], dict) else None
            out += f"[{part}]" + (f" (id {ident})" if ident else "")
            node = node[part] if isinstance(node, list) and part < len(node) else None
        elif part in KINDS or part in ("function-after",) or str(part).startswith("function"):
            continue  # pydantic's internal validator names
        else:
            out += ("." if out else "") + str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out or "(top level)"


def _refine_path(data, err, yaml_path: str) -> str:
    """Point errors raised by whole-object validators at the offending key or item.

    A measure's spec and kind/source checks run on the whole measure, and the duplicate-id check on
    the whole plan; pydantic then locates them at the measure or the top level. Name the spec key,
    the ``source`` field, or both places that use the duplicated id instead.
    """
    msg = err["msg"].removeprefix("Value error, ")
    if msg.startswith("spec."):
        return f"{yaml_path}.{re.split(' of an? ', msg, maxsplit=1)[0]}"
    if msg.startswith("kind ") and "cannot read source" in msg:
        return f"{yaml_path}.source"
    if msg.startswith("duplicate id "):
        ident = msg.split("'")[1] if "'" in msg else None
        places = _id_paths(data, ident)
        if len(places) >= 2:
            return f"{places[1]} (the id is first used at {places[0]})"
    return yaml_path


def _id_paths(node, ident, prefix: str = "") -> list[str]:
    """YAML paths of every mapping whose id is ``ident``, in document order."""
    out = []
    if isinstance(node, dict):
        if str(node.get("id")) == ident and prefix:
            out.append(prefix)
        for key, value in node.items():
            out += _id_paths(value, ident, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            label = f"{prefix}[{i}]"
            if isinstance(item, dict) and item.get("id") is not None:
                label += f" (id {item['id']})"
            out += _id_paths(item, ident, label)
    return out


def _plain(err) -> str:
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "literal_error":
        return f"{err.get('input')!r} is not allowed: {msg.lower()}"
    if err["type"] == "missing":
        field = err["loc"][-1] if err["loc"] and isinstance(err["loc"][-1], str) else None
        return f"the required field {field!r} is missing" if field else "a required field is missing"
    if err["type"] == "extra_forbidden":
        return f"unknown field (value {err.get('input')!r})"
    return msg


def _fix_for(err) -> str:
    t = err["type"]
    if t == "literal_error":
        return "use one of the values listed"
    if t == "missing":
        return "add the field (see DESIGN.md section 4 for the plan format)"
    if t == "extra_forbidden":
        return "remove the field or correct its spelling"
    if "school year" in err["msg"]:
        return "write school years as YYYY-YY, e.g. 2024-25"
    if "duplicate id" in err["msg"]:
        return "give each item its own id"
    if "cannot read source" in err["msg"]:
        return "set source to a table the kind reads (listed above), or choose the kind that fits that table"
    if "spec." in err["msg"] and "unknown field" in err["msg"]:
        return "remove the spec key or correct its spelling (the keys the kind takes are listed above)"
    if "spec." in err["msg"] and "is missing" in err["msg"]:
        return "add the key to the measure's spec (DESIGN.md section 6 lists what each kind reads)"
    return "correct the value (see DESIGN.md section 4 for the plan format)"
