"""percent_favorable (DESIGN.md section 6), after Panorama Education's percent-favorable reporting.

value = favorable answers / answered items, pooled over the items of the measure's topic (or its one
item) of one survey and respondent type. A response is first reverse-coded where the item says so
(``scale_points + 1 - response``), then it is favorable when it is >= the item's ``favorable_min``.
Skipped answers (empty response: skipped or "don't know") are out of the denominator. numerator and
denominator are these answer counts; n = respondents with at least one answered item.

Interval: the answers of one respondent are correlated, so a Wilson interval on (favorable answers,
answered items) would be too narrow. The interval is Wilson's with the *effective* n = respondents:
``wilson(value * n, n)``.

Groups: student respondents link to enrollment of the year through their student_id (a respondent
with no enrollment row counts in the ``all`` rows only); staff and family respondents have no student
groups, so their measures report ``all`` rows only. A respondent counts in the building of their
responses. comparison_value (group rows) = the percent favorable of all other respondents of the
same building.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import stats
from ..errors import PlanMetricsError
from . import _population as P


def compute(tables, measure, school_year, options=None) -> pd.DataFrame:
    """Percent favorable of a survey topic or item for one school year (see module docstring)."""
    spec = measure.spec
    resp = P.year_rows(tables, "survey_responses", school_year)
    items = P.get_table(tables, "survey_items")
    items = items[items["survey"].astype(str) == spec.survey]
    items = (items[items["topic"].astype(str) == spec.topic] if spec.topic is not None
             else items[items["item_id"].astype(str) == spec.item])
    if items.empty:
        what = f"topic {spec.topic!r}" if spec.topic is not None else f"item {spec.item!r}"
        raise PlanMetricsError(f"Survey {spec.survey!r} has no {what} in survey_items",
                               f"measure {measure.id}, spec",
                               "use a survey, topic or item_id that survey_items lists")
    if "student_id" not in resp.columns:
        resp = resp.assign(student_id=None)
    resp = resp[(resp["survey"].astype(str) == spec.survey)
                & (resp["respondent_type"].astype(str) == spec.respondent_type)]
    items = items[["item_id", "scale_points", "favorable_min", "reverse_coded"]]
    ans = resp.merge(items.assign(item_id=items["item_id"].astype(str)),
                     on="item_id", how="inner")
    if ans.empty:
        raise P.NoData(f"no {spec.respondent_type} responses to survey {spec.survey} "
                       f"{'topic ' + spec.topic if spec.topic else 'item ' + str(spec.item)} "
                       f"for {school_year}")

    r = pd.to_numeric(ans["response"], errors="coerce").to_numpy(dtype="float64")
    rev = ans["reverse_coded"].astype(bool).to_numpy()
    scale = pd.to_numeric(ans["scale_points"]).to_numpy(dtype="float64")
    coded = np.where(rev, scale + 1 - r, r)
    answered = ~np.isnan(r)
    favorable = answered & (coded >= pd.to_numeric(ans["favorable_min"]).to_numpy())
    ans = ans.assign(answered=answered.astype("int64"), favorable=favorable.astype("int64"))

    groups = list(measure.groups) if spec.respondent_type == "student" else []
    keys = ["building_id", "respondent_id"]
    per_bldg = ans.groupby(keys, sort=False).agg(
        answered=("answered", "sum"), favorable=("favorable", "sum"),
        student_id=("student_id", "first")).reset_index()
    per_resp = ans.groupby("respondent_id", sort=False).agg(
        answered=("answered", "sum"), favorable=("favorable", "sum"),
        student_id=("student_id", "first"), building_id=("building_id", "first")).reset_index()
    per_bldg = per_bldg[per_bldg["answered"] > 0].assign(one=1)
    per_resp = per_resp[per_resp["answered"] > 0].assign(one=1)
    if per_resp.empty:
        raise P.NoData(f"every answer was skipped in survey {spec.survey} for {school_year}")
    if groups:
        labels = P.student_groups(tables, school_year, groups)
        per_bldg = P.attach_groups(per_bldg, labels)
        per_resp = P.attach_groups(per_resp, labels)

    c = P.tabulate(per_bldg, groups, ["favorable", "answered", "one"], district=per_resp)
    c["n"] = c["one"]
    c["numerator"], c["denominator"] = c["favorable"], c["answered"]
    c["value"] = P.ratio(c["favorable"], c["answered"])
    c["ci_low"], c["ci_high"] = stats.wilson(c["value"] * c["n"], c["n"])
    c["comparison_value"] = P.ratio(c["favorable_others"], c["answered_others"])
    return P.finish(c)
