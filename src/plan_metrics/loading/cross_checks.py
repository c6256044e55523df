"""Cross-table checks: building ids known to buildings.csv, survey responses within their item's
scale, students enrolled in the same school year (a warning), rubric attributes and action steps
of the plan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .reading import _File
from .table_checks import _combine

#: Tables whose rows carry a student_id of an enrolled student in the same school year.
_ENROLLED_STUDENT_TABLES = ("survey_responses", "discipline", "assessments", "programs",
                            "progression_rubrics", "service_hours")


class CrossChecks:
    """Checks between tables (a part of the validator)."""

    def cross_checks(self, files: dict[str, _File]) -> None:
        bcols = self.cols.get("buildings", {})
        if "buildings" in files and "building_id" in bcols:
            known = set(files["buildings"].raw["building_id"].unique().tolist()) - {""}
            for table, f in files.items():
                if table == "buildings" or "building_id" not in self.cols.get(table, {}):
                    continue
                uniq = pd.unique(f.raw["building_id"])
                bad_u = [u for u in uniq if u != "" and u not in known]
                if bad_u:
                    mask = f.raw["building_id"].isin(bad_u).to_numpy()
                    self.rows(f, "building_id", mask, "unknown building_id: it is not in "
                              "buildings.csv",
                              "add the building to buildings.csv or correct the id (known: "
                              + ", ".join(sorted(known)[:12]) + (", ..." if len(known) > 12
                                                                 else "") + ")")
        if "survey_responses" in files and "survey_items" in files:
            self.check_responses_scale(files["survey_responses"], files["survey_items"])
        if "enrollment" in files and "enrollment" not in self.failed:
            for table in _ENROLLED_STUDENT_TABLES:
                if table in files:
                    self.check_enrolled(files[table], files["enrollment"])
        if self.plan is not None:
            if "progression_rubrics" in files:
                self.check_attributes(files["progression_rubrics"])
            if "action_steps" in files:
                self.check_steps(files["action_steps"])

    def check_responses_scale(self, f: _File, items: _File) -> None:
        rc = self.cols.get("survey_responses", {})
        ic = self.cols.get("survey_items", {})
        if not all(c in rc for c in ("survey", "item_id", "response")) or \
                not all(c in ic for c in ("survey", "item_id", "scale_points")):
            return
        scale = {}
        sp = ic["scale_points"]
        for s, i, p, m in zip(items.raw["survey"], items.raw["item_id"], sp.typed, sp.missing):
            scale[(s, i)] = None if m else int(p)
        pair_codes, pair_uniques = pd.factorize(
            _combine([rc["survey"].codes, rc["item_id"].codes]))
        # the first row of each distinct pair gives its (survey, item_id) texts
        first_row = pd.Series(np.arange(len(pair_codes))).groupby(pair_codes).first().to_numpy()
        surveys = f.raw["survey"].iloc[first_row].tolist()
        item_ids = f.raw["item_id"].iloc[first_row].tolist()
        n_pairs = len(first_row)
        pair_scale = np.full(n_pairs, 10**9, dtype=np.int64)
        unknown = np.zeros(n_pairs, dtype=bool)
        for k in range(n_pairs):
            key = (surveys[k], item_ids[k])
            if key[0] == "" or key[1] == "":
                continue
            if key not in scale:
                unknown[k] = True
            elif scale[key] is not None:
                pair_scale[k] = scale[key]
        if unknown.any():
            self.rows(f, "item_id", unknown[pair_codes],
                      "this (survey, item_id) is not in survey_items.csv",
                      "add the item to survey_items.csv (with its topic, scale_points and "
                      "favorable_min) or correct the survey or item_id",
                      values=f.raw["survey"].astype(str) + " / " + f.raw["item_id"].astype(str))
        resp = rc["response"]
        rv = resp.typed.to_numpy(dtype=np.int64, na_value=0) if hasattr(resp.typed, "to_numpy") \
            else resp.typed
        limit = pair_scale[pair_codes]
        bad = ~resp.missing & ((rv < 1) | (rv > limit))
        self.rows(f, "response", bad, "response out of the item's scale",
                  "a response is 1 to the item's scale_points (survey_items.csv), or empty for a "
                  "skipped item")

    def check_enrolled(self, f: _File, enr: _File) -> None:
        ec = self.cols.get("enrollment", {})
        tc = self.cols.get(f.table, {})
        if not all(c in ec for c in ("school_year", "student_id")) or \
                not all(c in tc for c in ("school_year", "student_id")):
            return
        rows = np.ones(len(f.raw), dtype=bool) & ~tc["student_id"].missing
        if f.table == "survey_responses":
            if "respondent_type" not in tc:
                return
            rows &= (f.raw["respondent_type"] == "student").to_numpy()
        if not rows.any():
            return
        # Translate this table's codes into enrollment's (via the few distinct values), then
        # compare (year, student) pairs as int64 keys: no string work per row.
        keys = []
        for col in ("school_year", "student_id"):
            e, t = ec[col], tc[col]
            pos = pd.Index(e.uniques).get_indexer(t.uniques)   # -1: value not in enrollment
            keys.append((e.codes.astype(np.int64), pos[t.codes].astype(np.int64),
                         len(e.uniques) + 1))
        (ey, ty, _), (es, ts, width) = keys
        found = np.isin(ty * width + ts, ey * width + es) & (ty >= 0) & (ts >= 0)
        bad = rows & ~found
        what = "survey response" if f.table == "survey_responses" else "row"
        self.rows(f, "student_id", bad,
                  f"this student is not in enrollment.csv for that school_year; the {what} "
                  f"counts for the district and building but not in any student group",
                  "check the student_id against the SIS export", severity="warning")

    def check_attributes(self, f: _File) -> None:
        attrs = list(getattr(self.plan, "profile_of_graduate", {}) or {})
        if not attrs or "attribute" not in f.raw:
            return
        s = f.raw["attribute"]
        uniq = [u for u in pd.unique(s) if u != "" and u not in attrs]
        if uniq:
            lower = {a.lower(): a for a in attrs}

            msg = f"not a Profile of a Graduate attribute of plan {self.plan.id}"
            hint = "write it exactly as the plan does: " + ", ".join(attrs)
            near = [lower[u.lower()] for u in uniq if u.lower() in lower]
            if near:
                hint = f"mind the capitals (e.g. '{near[0]}'); " + hint
            self.rows(f, "attribute", s.isin(uniq).to_numpy(), msg, hint)

    def check_steps(self, f: _File) -> None:
        from ..plan import ActionStep
        steps = [t for t in self.plan.walk() if isinstance(t, ActionStep)]
        if "step_id" not in f.raw or "plan_id" not in f.raw:
            return
        ids = {st.id for st in steps}
        rows = (f.raw["plan_id"] == self.plan.id).to_numpy()
        if not rows.any():
            return
        bad = rows & ~f.raw["step_id"].isin(ids).to_numpy()
        known = sorted(ids)
        self.rows(f, "step_id", bad, lambda v: f"step_id is not an action step of plan "
                  f"{self.plan.id}",
                  "use the step ids of the plan YAML (e.g. " + ", ".join(known[:5]) +
                  (", ..." if len(known) > 5 else "") + ")" if known else
                  f"plan {self.plan.id} has no action steps")
