"""The measure engine's entry points: every measure of a plan for a school year.

compute_measures(plan, tables, school_year, options, measure_ids=None) -> results (validated,
    suppressed, with display text; a 'no data' row for a measure whose data is absent)
compute_status(plan, tables, school_year, options, results=None) -> status rows (section 6)
compute_plan(plan, data_dir | tables, school_year, options) -> (results, status)
domain_of(measure) -> the compute notebook (data domain) that computes it
"""

from __future__ import annotations

from .plan import Measure

DOMAINS = ("surveys", "discipline", "staffing", "achievement", "attendance", "graduation",
           "programs", "rubrics_and_audits", "action_steps")


def domain_of(measure: Measure) -> str:
    """The data domain (compute notebook) a measure belongs to, from its kind and source."""
    if measure.kind == "percent_favorable":
        return "surveys"
    if measure.source == "discipline":
        return "discipline"
    if measure.source == "staff":
        return "staffing"
    if measure.source == "assessments":
        return "achievement"
    if measure.source == "enrollment":
        return "attendance"
    if measure.source == "graduation_cohort":
        return "graduation"
    if measure.source in ("programs", "service_hours"):
        return "programs"
    if measure.source in ("progression_rubrics", "educator_evaluations", "curriculum_audit"):
        return "rubrics_and_audits"
    return "action_steps"
