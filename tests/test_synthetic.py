"""The synthetic demo district: determinism, the data contract, sizes, and the planted effects,
measured by hand with pandas from the generated CSVs (never read back from the generator)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from plan_metrics import cli, contract
from plan_metrics.errors import PlanMetricsError
from plan_metrics.synthetic import PLANTED_FILE, generate
from plan_metrics.synthetic._draw import exact_pick, gap_rates, two_group_rates

SEED = 11
YEARS = ["2019-20", "2020-21", "2021-22", "2022-23", "2023-24", "2024-25"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    generate(out, "small", SEED)
    return out


def read(d, name):
    return pd.read_csv(d / f"{name}.csv", dtype=str, keep_default_na=False)


def num(s):
    return pd.to_numeric(s)


def flag(s):
    return s.eq("true")


@pytest.fixture(scope="module")
def enr(demo):
    e = read(demo, "enrollment")
    for c in ("grade", "days_enrolled", "days_absent"):
        e[c] = num(e[c])
    for c in contract.BOOL_GROUP_COLUMNS:
        e[c] = flag(e[c])
    return e


@pytest.fixture(scope="module")
def responses(demo):
    return read(demo, "survey_responses")


@pytest.fixture(scope="module")
def planted(demo):
    return yaml.safe_load((demo / PLANTED_FILE).read_text())["effects"]


def entry(planted, measure, year, group="all", **extra):
    hits = [e for e in planted if e["measure"] == measure and e["school_year"] == year
            and e["group"] == group and all(e.get(k) == v for k, v in extra.items())]
    assert len(hits) == 1, (measure, year, group, extra, hits)
    return hits[0]


def se_prop(p, n):
    return math.sqrt(p * (1 - p) / n)


def rr_tolerance(rr, p1, n1, p0, n0):
    """3 standard errors of a risk ratio on the log scale, as an allowance on the ratio."""
    se = math.sqrt((1 - p1) / (n1 * p1) + (1 - p0) / (n0 * p0))
    return rr * (math.exp(3 * se) - 1)


# ---- helpers, by hand ----------------------------------------------------------------------------

def test_two_group_rates_by_hand():
    # overall 4%, ratio 3, 200 in the group and 800 others:
    # p_other = 0.04 x 1000 / (3 x 200 + 800) = 40 / 1400 = 0.028571; p_group = 0.085714;
    # check: 200 x 0.085714 + 800 x 0.028571 = 17.14 + 22.86 = 40 events = 4% of 1000
    g, o = two_group_rates(0.04, 3.0, 200, 800)
    assert g == pytest.approx(0.0857143, abs=1e-6) and o == pytest.approx(0.0285714, abs=1e-6)


def test_gap_rates_by_hand():
    # overall 55%, gap -25 points, 300 in the group, 700 others:
    # p_other = 0.55 + 0.25 x 0.3 = 0.625, p_group = 0.375; pooled 0.3 x 0.375 + 0.7 x 0.625 = 0.55
    g, o = gap_rates(0.55, -25.0, 300, 700)
    assert g == pytest.approx(0.375) and o == pytest.approx(0.625)


def test_exact_pick_counts_and_zero_weights():
    rng = np.random.default_rng(0)
    codes = np.array([0, 0, 0, 0, 1, 1, 1])
    w = np.array([1.0, 1.0, 0.0, 5.0, 1.0, 1.0, 1.0])
    for _ in range(50):
        chosen = exact_pick(rng, codes, [2, 3], w)
        assert chosen[:4].sum() == 2 and chosen[4:].sum() == 3
        assert not chosen[2]                        # weight 0: never chosen
    # a heavy weight is chosen far more often: weight 5 vs 1, 1 for one place out of three
    hits = sum(exact_pick(rng, np.zeros(3, int), [1], np.array([5.0, 1.0, 1.0]))[0]
               for _ in range(2000))
    assert 1250 < hits < 1600                       # P = 5 / 7 = 0.714 -> ~1429 of 2000


# ---- files, determinism, sizes -----------------------------------------------------------------

def test_every_table_with_the_contract_columns(demo):
    for name, spec in contract.TABLES.items():
        path = demo / f"{name}.csv"
        assert path.exists(), name
        header = path.open(encoding="utf-8").readline().rstrip("\n").split(",")
        assert header == list(spec["columns"]), name
        df = read(demo, name)
        assert len(df) > 0, name
        assert not df.duplicated(spec["key"]).any(), f"{name}: duplicate key"
        for col, (typ, codes, required) in spec["columns"].items():
            if required:
                assert df[col].ne("").all(), f"{name}.{col} has empty cells"
            if typ == "code" and codes:
                assert set(df[col]) <= set(codes), (name, col, set(df[col]) - set(codes))
            if typ == "bool":
                assert set(df[col]) <= {"true", "false"}, (name, col)


def test_same_seed_same_bytes_other_seed_differs(demo, tmp_path, capsys):
    assert cli.main(["demo-data", "--out", str(tmp_path / "again"), "--seed", str(SEED)]) == 0
    printed = capsys.readouterr().out
    assert "enrollment.csv" in printed and "PLANTED.yaml" in printed and " s" in printed
    for name in ("enrollment.csv", "discipline.csv", "survey_responses.csv", "staff.csv",
                 PLANTED_FILE):
        assert (demo / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
    generate(tmp_path / "other", "small", SEED + 1)
    for name in ("enrollment.csv", "discipline.csv"):
        assert (demo / name).read_bytes() != (tmp_path / "other" / name).read_bytes(), name


def test_sizes(demo, enr):
    b = read(demo, "buildings")
    assert b["level"].value_counts().to_dict() == {"elementary": 3, "middle": 1, "high": 1}
    assert sorted(enr["school_year"].unique()) == YEARS
    per_year = enr.groupby("school_year").size()
    assert per_year.between(2200, 2800).all(), per_year.to_dict()
    assert sorted(enr["grade"].unique()) == list(range(13))
    # each student's grade is within the grade span of their building
    e = enr.merge(b.assign(lo=num(b["grade_low"]), hi=num(b["grade_high"])), on="building_id")
    assert e["grade"].between(e["lo"], e["hi"]).all()
    assert b["name"].str.match(
        r"^[A-Z][a-z]+( [A-Z][a-z]+)? (Elementary|Middle School|High School)$").all()


def test_demographics(enr):
    share = enr["race_ethnicity"].value_counts(normalize=True)
    assert 0.35 < 1 - share["white"] < 0.6                  # a sizable share of students of color
    per_year = enr.groupby(["school_year", "race_ethnicity"]).size().unstack(fill_value=0)
    assert (per_year["pacific_islander"] < 10).all()         # small cells, to be suppressed
    assert (per_year["american_indian"] < 30).all()
    assert set(enr["gender"]) == set(contract.GENDER)
    assert 0.25 < enr["econ_disadvantaged"].mean() < 0.35
    assert 0.10 < enr["disability"].mean() < 0.16
    assert 0.06 < enr["english_learner"].mean() < 0.10


def test_students_move_up_and_move_through(enr):
    a = enr[["school_year", "student_id", "grade"]]
    nxt = a.assign(school_year=a["school_year"].map(dict(zip(YEARS, YEARS[1:]))))
    both = nxt.merge(a, on=["school_year", "student_id"], suffixes=("_before", "_after"))
    step = both["grade_after"] - both["grade_before"]
    assert (step == 1).mean() > 0.97
    assert set(step[step != 1]) <= {0} and (both.loc[step == 0, "grade_before"] == 12).all()
    first = enr.groupby("student_id")["school_year"].min()
    assert (first > YEARS[0]).sum() > 1000                   # new kindergarteners and movers in
    kinder = enr[enr["grade"] == 0].groupby("school_year")["student_id"].apply(set)
    assert not (kinder[YEARS[0]] & kinder[YEARS[1]])          # a new K cohort each year


def test_days(enr):
    d, a = enr["days_enrolled"], enr["days_absent"]
    assert (a <= d).all() and (a >= 0).all()
    assert d.between(170, 180).mean() > 0.9
    assert 0 < (d < 10).sum() < 0.01 * len(enr)


# ---- planted effects, measured by hand ---------------------------------------------------------

def students_with(table, rows):
    return table.loc[rows, ["school_year", "student_id"]].drop_duplicates().assign(hit=True)


def risk_ratio(enr, hits, year, group_mask):
    e = enr[enr["school_year"] == year].merge(hits, on=["school_year", "student_id"], how="left")
    hit = e["hit"].eq(True)
    g = group_mask(e)
    p1, p0 = hit[g].mean(), hit[~g].mean()
    return p1 / p0, p1, int(g.sum()), p0, int((~g).sum())


def test_suspension_risk_ratio_falls_from_3_to_1_5(demo, enr, planted):
    d = read(demo, "discipline")
    hits = students_with(d, d["action"].isin(["iss", "oss", "expulsion"]))
    black = lambda e: e["race_ethnicity"].eq("black")  # noqa: E731
    for year, expected in (("2019-20", 3.0), ("2022-23", 2.1), ("2024-25", 1.5)):
        rr, p1, n1, p0, n0 = risk_ratio(enr, hits, year, black)
        tol = rr_tolerance(expected, p1, n1, p0, n0)    # ~ +-2.3 at 3.0 for ~550 vs ~1950 students
        assert abs(rr - expected) < tol, (year, rr)
        # counts are fixed per group: the only error is rounding half a student in each group,
        # e.g. 2019-20: ~46 of ~550 black students vs ~54 of ~1950 others -> within ~0.07
        assert abs(rr - expected) < expected * (0.5 / (p1 * n1) + 0.5 / (p0 * n0)) * 1.01, (year, rr)
        e = entry(planted, "G1.2-suspension-rr", year, "black", window_years=1)
        assert e["expected"] == expected and e["tolerance"] == pytest.approx(tol, rel=0.05)
        rate = (p1 * n1 + p0 * n0) / (n1 + n0)           # overall suspension rate ~4%
        assert abs(rate - 0.04) <= 1 / (n1 + n0), (year, rate)


def test_belonging_english_learner_gap_closes(demo, enr, planted, responses):
    r = responses
    items = read(demo, "survey_items")
    bel_items = items.loc[(items["survey"] == "student_sel")
                          & (items["topic"] == "sense_of_belonging"), "item_id"]
    rev = dict(zip(items["item_id"], flag(items["reverse_coded"])))
    b = r[(r["survey"] == "student_sel") & r["item_id"].isin(bel_items) & r["response"].ne("")]
    resp = num(b["response"])
    resp = np.where(b["item_id"].map(rev), 6 - resp, resp)       # reverse-code first
    b = b.assign(fav=resp >= 4).merge(enr[["school_year", "student_id", "english_learner"]],
                                      on=["school_year", "student_id"])
    for year, gap in (("2019-20", -15.0), ("2024-25", -5.0)):
        y = b[b["school_year"] == year]
        el, other = y[y["english_learner"]], y[~y["english_learner"]]
        measured = 100 * (el["fav"].mean() - other["fav"].mean())
        # 3 SE with respondents as n: EL ~120 respondents at ~57%, others ~1,400 at ~71%
        # -> 100 x 3 x sqrt(.57 x .43 / 120 + .71 x .29 / 1400) ~ 14 points
        n1, n0 = el["student_id"].nunique(), other["student_id"].nunique()
        p1, p0 = el["fav"].mean(), other["fav"].mean()
        tol = 300 * math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
        assert abs(measured - gap) < tol
        assert abs(measured - gap) < 100 * (0.5 / len(el) + 0.5 / len(other)) + 1e-9  # rounding
        assert abs(y["fav"].mean() - 0.70) < 1 / len(y) + 1e-9    # district ~70% favorable
        e = entry(planted, "G1.1-belonging", year, "true", statistic="gap")
        assert e["expected"] == gap and e["group_by"] == "english_learner"


def test_teachers_of_color_gap_narrows(demo, enr, planted):
    s = read(demo, "staff")
    t = s[s["role"] == "teacher"]
    for year, gap in (("2019-20", -25.0), ("2024-25", -15.0)):
        tc = t.loc[t["school_year"] == year, "race_ethnicity"].ne("white")
        sc = enr.loc[enr["school_year"] == year, "race_ethnicity"].ne("white")
        measured = 100 * (tc.mean() - sc.mean())
        q = tc.mean()
        assert abs(measured - gap) < 300 * se_prop(q, len(tc))       # ~ +-10 points, 170 teachers
        assert abs(measured - gap) <= 100 * 0.5 / len(tc) + 1e-9      # one teacher's rounding
        assert entry(planted, "G1.4-teacher-diversity-gap", year)["expected"] == gap
    per_year = t.groupby("school_year").size()
    assert per_year.between(2500 / 15 * 0.9, 2800 / 15 * 1.1).all()  # ~1 teacher per 15 students


def test_map_ela_proficiency_and_econ_gap(demo, enr, planted):
    a = read(demo, "assessments")
    m = a[(a["test"] == "map") & (a["subject"] == "ela")].merge(
        enr[["school_year", "student_id", "econ_disadvantaged"]], on=["school_year", "student_id"])
    m = m.assign(prof=num(m["level"]) >= 3)
    for year in ("2019-20", "2024-25"):
        y = m[m["school_year"] == year]
        assert abs(y["prof"].mean() - 0.55) < 3 * se_prop(0.55, len(y))      # ~ +-3.5 points
        assert abs(y["prof"].mean() - 0.55) <= 1 / len(y) + 1e-9
        econ, other = y[y["econ_disadvantaged"]], y[~y["econ_disadvantaged"]]
        gap = 100 * (econ["prof"].mean() - other["prof"].mean())
        assert abs(gap + 25) < 300 * math.sqrt(0.375 * 0.625 / len(econ) + 0.625 * 0.375 / len(other))
        assert abs(gap + 25) <= 100 * (0.5 / len(econ) + 0.5 / len(other)) + 1e-9
        assert entry(planted, "G2.3-ela-gap", year, "true")["expected"] == -25.0
    # both assessment families, grades as designed
    assert set(a.loc[a["test"] == "milestones", "subject"]) == set(contract.SUBJECT)
    assert set(num(a.loc[a["test"] == "milestones", "grade"])) == set(range(3, 9))
    assert set(num(a.loc[(a["test"] == "map") & (a["subject"] == "science"), "grade"])) == {5, 8, 11}


def test_chronic_absence_near_ten_percent(enr, planted):
    e = enr[enr["days_enrolled"] >= 10]
    chronic = (e["days_absent"] / e["days_enrolled"] >= 0.10).groupby(e["school_year"]).mean()
    n = e.groupby("school_year").size()
    # 3 SE at 10% of ~2,490 students = 3 x 0.006 = 0.018; rounding: half a student
    assert ((chronic - 0.10).abs() < 3 * np.sqrt(0.09 / n)).all()
    assert ((chronic - 0.10).abs() <= 0.5 / n + 1e-12).all()
    assert entry(planted, "PO3-attendance", "2021-22")["expected"] == 0.9


def test_graduation_retention_gifted(demo, enr, planted):
    g = read(demo, "graduation_cohort")
    adjusted = g[~g["outcome"].isin(["transferred_out", "deceased", "other_removal"])]
    acgr = adjusted["outcome"].eq("graduated_on_time").groupby(adjusted["cohort"]).mean()
    n = adjusted.groupby("cohort").size()
    assert ((acgr - 0.90).abs() <= 0.5 / n + 1e-12).all()              # ~185 per cohort
    assert set(g["outcome"]) >= {"graduated_on_time", "graduated_late", "dropped_out",
                                 "still_enrolled", "transferred_out"}
    assert g["outcome"].isin(["deceased", "other_removal"]).sum() >= 2
    # cohort members are that year's 12th graders
    twelfth = enr[enr["grade"] == 12][["school_year", "student_id"]]
    assert len(g.merge(twelfth, left_on=["cohort", "student_id"],
                       right_on=["school_year", "student_id"])) == len(g)

    s = read(demo, "staff")
    t = s[s["role"] == "teacher"]
    retention = 1 - flag(t["separated_end_of_year"]).groupby(t["school_year"]).mean()
    nt = t.groupby("school_year").size()
    assert ((retention - 0.88).abs() <= 0.5 / nt + 1e-12).all()         # 12% of ~170 = 20.4 -> 20
    assert entry(planted, "PO5-teacher-retention", "2019-20")["expected"] == 0.88

    p = read(demo, "programs")
    hits = students_with(p, p["program"] == "gifted")
    for year in ("2019-20", "2024-25"):
        rr, p1, n1, p0, n0 = risk_ratio(enr, hits, year, lambda e: e["race_ethnicity"].eq("black"))
        # ~22 of ~550 black students vs ~178 of ~1950 others: 0.4 within rounding (~0.4 x 2.5%)
        assert abs(rr - 0.4) < rr_tolerance(0.4, p1, n1, p0, n0)
        assert abs(rr - 0.4) < 0.4 * (0.5 / (p1 * n1) + 0.5 / (p0 * n0)) * 1.01
        assert abs((p1 * n1 + p0 * n0) / (n1 + n0) - 0.08) <= 1 / (n1 + n0)


def test_planted_file_lists_every_required_effect(planted):
    measures = {e["measure"] for e in planted}
    assert measures >= {"G1.2-suspension-rr", "G1.2-suspension-rate", "G1.1-belonging",
                        "G1.4-teacher-diversity-gap", "G2.2-ela-proficient", "G2.3-ela-gap",
                        "PO3-attendance", "PO2-graduation-rate", "PO5-teacher-retention",
                        "G2.3-gifted-rr"}
    for e in planted:
        assert e["school_year"] in YEARS and e["building"] == "ALL"
        assert 0 <= e["exact_within"] < e["tolerance"], e
    # the 3-year window: pooled over 2019-20..2021-22 the ratio lies between the yearly ones
    w3 = entry(planted, "G1.2-suspension-rr", "2021-22", "black", window_years=3)
    assert 2.4 < w3["expected"] < 3.0


# ---- surveys, discipline, the other tables ---------------------------------------------------------

def test_survey_design(demo, enr, responses):
    items = read(demo, "survey_items")
    topics = items.groupby("survey")["topic"].apply(set).to_dict()
    assert topics["student_sel"] == {
        "sense_of_belonging", "school_climate", "school_safety", "teacher_student_relationships",
        "self_efficacy", "student_voice", "self_management", "social_awareness",
        "supportive_relationships", "empathy", "wellbeing"}
    assert topics["staff_climate"] == {"staff_belonging", "employee_morale"}
    assert topics["family_climate"] == {"family_belonging", "community_support"}
    assert topics["pd_feedback"] == {"equity_pd"}
    sel = items[items["survey"] == "student_sel"]
    assert sel.groupby("topic").size().between(3, 4).all()
    assert sel.set_index("item_id").loc["trusted_adult", "topic"] == "supportive_relationships"
    assert flag(items["reverse_coded"]).sum() >= 2
    assert (items["scale_points"] == "5").all() and (items["favorable_min"] == "4").all()

    r = responses
    y = r[r["school_year"] == "2023-24"]
    resp = y.drop_duplicates(["survey", "respondent_id"])
    by = resp.groupby("survey")
    assert (by["respondent_type"].unique().map(list).to_dict()
            == {"family_climate": ["family"], "pd_feedback": ["staff"],
                "staff_climate": ["staff"], "student_sel": ["student"]})
    stu = resp[resp["survey"] == "student_sel"]
    e = enr[enr["school_year"] == "2023-24"]
    eligible = e[e["grade"] >= 3]
    assert 0.74 < len(stu) / len(eligible) < 0.84                        # ~80% of grades 3-12
    assert set(stu["student_id"]) <= set(eligible["student_id"])
    assert resp.loc[resp["survey"] != "student_sel", "student_id"].eq("").all()
    staff = read(demo, "staff")
    n_staff = (staff["school_year"] == "2023-24").sum()
    assert 0.62 < (resp["survey"] == "staff_climate").sum() / n_staff < 0.78   # ~70%
    families = (resp["survey"] == "family_climate").sum()
    assert 0.25 * len(e) / 1.5 < families < 0.40 * len(e)                 # ~35% of families
    skipped = r["response"].eq("").mean()
    assert 0.01 < skipped < 0.06
    assert set(r.loc[r["response"] != "", "response"]) == {"1", "2", "3", "4", "5"}


def test_discipline_shape(demo):
    d = read(demo, "discipline")
    assert set(d["category"]) == set(contract.DISCIPLINE_CATEGORY)
    assert set(d["action"]) == set(contract.DISCIPLINE_ACTION)
    per_incident = d.groupby(["school_year", "incident_id"])["student_id"].nunique()
    assert (per_incident == 2).sum() > 20                          # fights between two students
    acts = d.groupby(["school_year", "incident_id", "student_id"])["action"].apply(set)
    assert acts.apply(lambda s: {"referral", "oss"} <= s).sum() > 20
    assert (num(d.loc[d["action"] == "referral", "days_removed"]) == 0).all()
    assert (num(d.loc[d["action"] != "referral", "days_removed"]) > 0).all()
    dates = pd.to_datetime(d["incident_date"])
    assert dates.dt.day_of_week.lt(5).all()
    fall = d["school_year"].str[:4].astype(int)
    assert ((dates.dt.year == fall) | (dates.dt.year == fall + 1)).all()


def test_other_tables(demo, enr):
    from plan_metrics.plan import load_plan
    rub = read(demo, "progression_rubrics")
    assert set(rub["attribute"]) == set(load_plan("clayton").profile_of_graduate)
    assert {"Creative Thinker", "Intellectually Curious"} <= set(rub["attribute"])
    assert set(num(rub["score"])) == {1, 2, 3, 4}
    steps = read(demo, "action_steps")
    plan = load_plan("clayton-pl")
    ids = {s.id for g in plan.goals for o in g.objectives for s in o.action_steps}
    assert set(steps["step_id"]) == ids and (steps["plan_id"] == "clayton-pl").all()
    st = steps.pivot(index="step_id", columns="school_year", values="status")
    order = {"not_started": 0, "in_progress": 1, "complete": 2, "discontinued": 3}
    assert (st.map(order.get).diff(axis=1).iloc[:, 1:] >= 0).all().all()   # never goes back
    assert (st["2024-25"] == "complete").mean() > 0.5 and (st == "discontinued").any().any()
    hrs = read(demo, "service_hours").merge(enr[["school_year", "student_id", "grade"]])
    assert (hrs["grade"] >= 9).all() and (num(hrs["hours"]) > 0).all()
    hs = enr[enr["grade"] >= 9].groupby("school_year").size()
    assert (hrs.groupby("school_year").size() / hs).between(0.3, 0.7).all()  # many have no row
    ev = read(demo, "educator_evaluations")
    staff = read(demo, "staff")
    teachers = staff.loc[staff["role"] == "teacher", ["school_year", "staff_id"]]
    assert len(ev.merge(teachers)) == len(ev)
    audit = read(demo, "curriculum_audit")
    assert "representation" in set(audit["criterion"])
    assert audit.groupby("school_year")["building_id"].nunique().eq(5).all()


def test_small_district_passes_validation(demo, capsys):
    # plan-metrics validate (loading.load_data raises PlanMetricsError on any invalid row)
    assert cli.main(["validate", "--data", str(demo)]) == 0
    assert f"valid ({len(contract.TABLES)} tables)" in capsys.readouterr().out


def test_bad_arguments_are_one_clear_error(tmp_path):
    with pytest.raises(PlanMetricsError, match="seed"):
        generate(tmp_path / "x", "small", -1)
    (tmp_path / "file").write_text("x")
    with pytest.raises(PlanMetricsError, match="folder"):
        generate(tmp_path / "file", "small", 1)
    with pytest.raises(PlanMetricsError, match="size"):
        generate(tmp_path / "y", "medium", 1)
