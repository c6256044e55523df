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
from . import _population as P


def compute(tables, measure, school_year, options=None) -> pd.DataFrame:
    """Percent favorable (Panorama Education) of a survey topic or item for one school year."""
    spec = measure.spec
    resp = P.get_table(tables, "survey_responses")
    items = P.get_table(tables, "survey_items")
    mine = items[items["survey"] == spec.survey]
    mine = (mine[mine["topic"] == spec.topic] if spec.topic is not None
            else mine[mine["item_id"] == spec.item])
    if mine.empty:
        what = f"topic {spec.topic!r}" if spec.topic is not None else f"item {spec.item!r}"
        # a district may not ask every topic: that is "no data", not a failed run
        raise P.NoData(f"survey {spec.survey} has no {what} in survey_items (check the plan's "
                       f"spec or the survey export)")
    ans = P.memo((resp, items), ("answers", school_year, spec.survey, spec.respondent_type),
                 lambda: _answers(resp, items, school_year, spec.survey, spec.respondent_type))
    if ans.empty:
        raise P.NoData(f"no rows for {school_year} in table survey_responses "
                       f"({spec.respondent_type} responses to survey {spec.survey})")
    groups = list(measure.groups) if spec.respondent_type == "student" else []
    if spec.topic is not None:
        # every topic of the survey is tabulated in one pass, shared by the topic's measures
        # the cells depend on enrollment too (the respondents' group labels)
        enr = tables.get("enrollment") if groups else None
        sources = (resp, items) if enr is None else (resp, items, enr)
        wide = P.memo(sources, ("topic_cells", school_year, spec.survey, spec.respondent_type,
                                tuple(groups), enr is None),
                      lambda: _topic_cells(tables, ans, school_year, groups, resp,
                                           (spec.survey, spec.respondent_type)))
        if f"one|{spec.topic}" not in wide.columns:
            raise P.NoData(f"no answered {spec.respondent_type} responses to survey "
                           f"{spec.survey} topic {spec.topic} for {school_year}")
        c = wide[wide[f"one|{spec.topic}"] > 0]
        c = c[["building_id", "group_by", "group"]].assign(
            **{base + suffix: c[f"{base}|{spec.topic}{suffix}"]
               for base in ("favorable", "answered", "one") for suffix in ("", "_others")})
    else:
        per_bldg = ans[ans["item_id"] == spec.item]   # one row per respondent for one item
        per_bldg = per_bldg[per_bldg["answered"] > 0]
        if per_bldg.empty:
            raise P.NoData(f"no answered {spec.respondent_type} responses to survey "
                           f"{spec.survey} item {spec.item} for {school_year}")
        per_bldg = per_bldg[["building_id", "respondent_id", "answered", "favorable"]]
        c = _cells(tables, ans, school_year, groups, resp, per_bldg.assign(one=1),
                   ["favorable", "answered", "one"], (spec.survey, spec.respondent_type))
    c = c.reset_index(drop=True)
    c["n"] = c["one"]
    c["numerator"], c["denominator"] = c["favorable"], c["answered"]
    c["value"] = P.ratio(c["favorable"], c["answered"])
    c["ci_low"], c["ci_high"] = stats.wilson(c["value"] * c["n"], c["n"])
    c["comparison_value"] = P.ratio(c["favorable_others"], c["answered_others"])
    return P.finish(c)


def _topic_cells(tables, ans: pd.DataFrame, school_year: str, groups: list[str],
                 resp: pd.DataFrame, who_key: tuple) -> pd.DataFrame:
    """The cells of every topic at once: one unit row per building and respondent with columns
    'favorable|<topic>', 'answered|<topic>' and 'one|<topic>' (1 when the respondent answered an
    item of the topic), tabulated together."""
    by_topic = (ans.groupby(["building_id", "respondent_id", "topic"], sort=False, observed=True)
                [["answered", "favorable"]].sum().reset_index())
    wide = by_topic.pivot_table(index=["building_id", "respondent_id"], columns="topic",
                                values=["favorable", "answered"], aggfunc="sum", fill_value=0)
    wide.columns = [f"{value}|{topic}" for value, topic in wide.columns]
    topics = sorted({c.split("|", 1)[1] for c in wide.columns})
    for t in topics:
        wide[f"one|{t}"] = (wide[f"answered|{t}"] > 0).astype("int64")
    sums = list(wide.columns)
    return _cells(tables, ans, school_year, groups, resp, wide.reset_index(), sums, who_key)


def _cells(tables, ans: pd.DataFrame, school_year: str, groups: list[str], resp: pd.DataFrame,
           per_bldg: pd.DataFrame, sums: list[str], who_key: tuple) -> pd.DataFrame:
    """Tabulate unit rows per building and respondent (a respondent who answered in two buildings
    counts once in the district) by the student groups of the respondents."""
    if per_bldg["respondent_id"].is_unique:
        per_resp = per_bldg
    else:
        how = {c: ("max" if c.startswith("one") else "sum") for c in sums}
        per_resp = P.collapse(per_bldg, "respondent_id", how, order_by=None)
    if groups:
        labels = P.student_groups(tables, school_year, groups)
        if labels is not None:
            who = P.memo((resp,), ("respondent_student", school_year, *who_key),
                         lambda: _respondent_students(ans))
            labels = who.merge(labels, on="student_id", how="inner").drop(columns="student_id")
            per_bldg = P.attach_groups(per_bldg, labels, key="respondent_id")
            per_resp = P.attach_groups(per_resp, labels, key="respondent_id")
    return P.tabulate(per_bldg, groups, sums, district=per_resp)


def _answers(resp: pd.DataFrame, items: pd.DataFrame, school_year: str, survey: str,
             respondent_type: str) -> pd.DataFrame:
    """The year's answers of one survey and respondent type, scored: answered and favorable
    (0/1) after reverse-coding, with the item's topic."""
    keep = ((resp["school_year"] == school_year) & (resp["survey"] == survey)
            & (resp["respondent_type"] == respondent_type)).to_numpy(dtype=bool, na_value=False)
    cols = [c for c in ("building_id", "respondent_id", "student_id", "item_id", "response")
            if c in resp.columns]
    ans = resp.loc[keep, cols]
    if "student_id" not in ans.columns:
        ans = ans.assign(student_id=None)
    it = items[items["survey"] == survey].set_index("item_id")
    ans = ans[ans["item_id"].isin(it.index)]
    item = ans["item_id"]
    r = pd.to_numeric(ans["response"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    rev = item.map(it["reverse_coded"].astype(bool)).to_numpy(dtype=bool)
    scale = item.map(it["scale_points"]).to_numpy(dtype="float64")
    fav_min = item.map(it["favorable_min"]).to_numpy(dtype="float64")
    coded = np.where(rev, scale + 1 - r, r)
    answered = ~np.isnan(r)
    favorable = answered & (coded >= fav_min)
    return pd.DataFrame({
        "building_id": ans["building_id"].to_numpy(), "respondent_id": ans["respondent_id"],
        "student_id": ans["student_id"], "item_id": item, "topic": item.map(it["topic"]),
        "answered": answered.astype("int64"), "favorable": favorable.astype("int64")})


def _respondent_students(ans: pd.DataFrame) -> pd.DataFrame:
    """respondent_id -> student_id (student respondents with a student_id)."""
    who = ans[["respondent_id", "student_id"]].dropna().drop_duplicates("respondent_id")
    return who.reset_index(drop=True)
