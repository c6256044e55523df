"""privacy: primary and complementary suppression worked by hand, display texts, property tests."""


import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plan_metrics import privacy
from plan_metrics.privacy import model as M
from plan_metrics.plan import Measure


def rows(cells):
    """[(building, group_by, group, n, numerator)] -> rows with value = numerator / n."""
    df = pd.DataFrame(cells, columns=["building_id", "group_by", "group", "n", "numerator"])
    df["n"] = df["n"].astype("Int64")
    df["numerator"] = df["numerator"].astype("float64")
    df["denominator"] = df["n"].astype("float64")
    df["value"] = df["numerator"] / df["denominator"]
    df["ci_low"] = df["value"] - 0.01
    df["ci_high"] = df["value"] + 0.01
    df["comparison_value"] = np.where(df["group_by"] == "all", np.nan, 0.5)
    df["note"] = None
    return df


def suppressed(out):
    return {(b, gb, g) for b, gb, g, s in
            zip(out["building_id"], out["group_by"], out["group"], out["suppressed"]) if s}


def test_group_family_next_smallest_is_suppressed():
    # district only: race groups 40, 35, 8, 25 with the all row 108. The 8 is under 10 and would be
    # 108 - 40 - 35 - 25 = 8 by subtraction, so the next smallest group (25) is suppressed too;
    # then two cells are unknown (8 + 25 = 33) and nothing more is derivable.
    df = rows([("ALL", "all", "all", 108, 54), ("ALL", "race_ethnicity", "white", 40, 20),
               ("ALL", "race_ethnicity", "black", 35, 17), ("ALL", "race_ethnicity", "asian", 8, 4),
               ("ALL", "race_ethnicity", "hispanic", 25, 13)])
    out = privacy.apply(df, 10)
    assert suppressed(out) == {("ALL", "race_ethnicity", "asian"), ("ALL", "race_ethnicity", "hispanic")}
    hidden = out[out["suppressed"]]
    assert hidden[privacy.NUMBER_COLUMNS].isna().all().all()
    assert out.loc[out["group"] == "asian", "note"].item() .startswith("not shown: fewer than 10 people, or hidden")
    # one note for both: a reader cannot tell the small group from its complement
    assert out.loc[out["group"] == "hispanic", "note"].item() == \
        out.loc[out["group"] == "asian", "note"].item()
    shown = out[~out["suppressed"]]
    assert shown["n"].tolist() == [108, 40, 35]


def test_building_family_next_smallest_is_suppressed():
    # district 100 = buildings A 50 + B 42 + C 8: C is suppressed, and C = 100 - 50 - 42, so the
    # next smallest building, B (42), is suppressed too.
    df = rows([("ALL", "all", "all", 100, 50), ("A", "all", "all", 50, 25),
               ("B", "all", "all", 42, 21), ("C", "all", "all", 8, 4)])
    out = privacy.apply(df, 10)
    assert suppressed(out) == {("B", "all", "all"), ("C", "all", "all")}


def test_both_dimensions():
    # district 60 (female 33, male 27); X 40 (female 31, male 9); Y 20 (female 2, male 18).
    # Primary: X-male 9, Y-female 2. Across groups in X: 40 - 31 = 9 -> suppress X-female (31);
    # in Y: 20 - 18 = 2 -> suppress Y-male (18). Across buildings, female: 33 = 31 + 2 (both hidden)
    # and male: 27 = 9 + 18 (both hidden): stable with four cells suppressed.
    df = rows([("ALL", "all", "all", 60, 30), ("ALL", "gender", "female", 33, 16),
               ("ALL", "gender", "male", 27, 14),
               ("X", "all", "all", 40, 20), ("X", "gender", "female", 31, 15),
               ("X", "gender", "male", 9, 5),
               ("Y", "all", "all", 20, 10), ("Y", "gender", "female", 2, 1),
               ("Y", "gender", "male", 18, 9)])
    out = privacy.apply(df, 10)
    assert suppressed(out) == {("X", "gender", "female"), ("X", "gender", "male"),
                               ("Y", "gender", "female"), ("Y", "gender", "male")}


def test_suppressed_total_cascades_into_its_groups():
    # district 60 = X 52 + Y 8. Y (8) is suppressed with its groups (5, 3); X = 60 - 8 would give Y
    # away, so X's all row (52) goes; across buildings female 35 = X 30 + Y 5 -> X-female goes, male
    # 25 = X 22 + Y 3 -> X-male goes. Only the district is published.
    df = rows([("ALL", "all", "all", 60, 30), ("ALL", "gender", "female", 35, 17),
               ("ALL", "gender", "male", 25, 13),
               ("X", "all", "all", 52, 26), ("X", "gender", "female", 30, 15),
               ("X", "gender", "male", 22, 11),
               ("Y", "all", "all", 8, 4), ("Y", "gender", "female", 5, 2),
               ("Y", "gender", "male", 3, 2)])
    out = privacy.apply(df, 10)
    assert not out.loc[out["building_id"] == "ALL", "suppressed"].any()
    assert out.loc[out["building_id"] != "ALL", "suppressed"].all()


def test_comparison_value_hidden_where_the_building_total_is_hidden():
    # all rows: district 130 = X 30 + Y 95 + Z 5. Z (5) is suppressed, X (30, the smallest other)
    # too. White: district 80 = X 15 + Y 60 + Z 5 -> Z-white (5) primary, X-white (15) next.
    # Black: 50 = X 15 + Y 35 (none hidden). In X: 30 (hidden) = 15 (hidden) + 15: two hidden, stable.
    # X-black stays published, but its comparison value is the rate of the other X students
    # (X-white, hidden) and X's total is hidden: the comparison value is emptied.
    df = rows([("ALL", "all", "all", 130, 65), ("ALL", "race_ethnicity", "white", 80, 40),
               ("ALL", "race_ethnicity", "black", 50, 25),
               ("X", "all", "all", 30, 15), ("X", "race_ethnicity", "white", 15, 8),
               ("X", "race_ethnicity", "black", 15, 7),
               ("Y", "all", "all", 95, 47), ("Y", "race_ethnicity", "white", 60, 30),
               ("Y", "race_ethnicity", "black", 35, 17),
               ("Z", "all", "all", 5, 3), ("Z", "race_ethnicity", "white", 5, 3)])
    out = privacy.apply(df, 10)
    assert suppressed(out) == {("X", "all", "all"), ("X", "race_ethnicity", "white"),
                               ("Z", "all", "all"), ("Z", "race_ethnicity", "white")}
    xb = out[(out["building_id"] == "X") & (out["group"] == "black")].iloc[0]
    assert not xb["suppressed"] and xb["n"] == 15 and pd.isna(xb["comparison_value"])
    yb = out[(out["building_id"] == "Y") & (out["group"] == "black")].iloc[0]
    assert yb["comparison_value"] == 0.5


def test_rows_without_people_counts_are_left_alone():
    df = rows([("ALL", "all", "all", 3, 1)])
    df["n"] = pd.array([pd.NA], dtype="Int64")
    out = privacy.apply(df, 10)
    assert not out["suppressed"].any() and out["value"].notna().all()


@pytest.mark.parametrize("value,unit,n,text", [
    (0.784, "percent", 250, "78%"),
    (0.0, "percent", 40, "< 3%"),       # 100/40 = 2.5 -> 3
    (1.0, "percent", 40, "> 97%"),
    (0.0, "percent", 99, "< 2%"),       # 100/99 = 1.01 -> 2
    (1.0, "percent", 10, "> 89%"),      # x = floor(100/10) + 1 = 11 -> above 100 - 11
    (0.0, "percent", 100, "0%"),        # 100 people or more: exact 0% is allowed
    (1.0, "percent", 250, "100%"),
    (0.003, "percent", 500, "< 1%"),    # would round to 0% but is not 0
    (0.996, "percent", 500, "> 99%"),
    (0.004, "percent", 50, "< 3%"),     # pooled answers, 50 people: floor(100/50) + 1 = 3
    (-25.0, "points", 80, "-25.0 pts"),
    (3.24, "points", 80, "+3.2 pts"),
    (0.01, "points", 80, "0.0 pts"),
    (2.0, "ratio", 80, "2.00"),
    (325.4, "index", 80, "325"),
    (3.21, "per_100", 80, "3.2 per 100"),
    (4.5, "hours", 80, "4.5 hrs"),
])
def test_format_value(value, unit, n, text):
    assert privacy.format_value(value, unit, n) == text


@pytest.mark.parametrize("diff,unit,text", [
    (0.08, "percent", "+8.0 pts"), (-0.0004, "percent", "+0.0 pts"), (-0.58, "ratio", "-0.58"),
    (12.4, "index", "+12"), (-0.3, "per_100", "-0.3 per 100"), (4.84, "hours", "+4.8 hrs"),
])
def test_format_change(diff, unit, text):
    assert privacy.format_change(diff, unit) == text


def test_display_texts():
    df = rows([("ALL", "all", "all", 108, 54), ("ALL", "race_ethnicity", "white", 40, 0),
               ("ALL", "race_ethnicity", "black", 35, 17), ("ALL", "race_ethnicity", "asian", 8, 4),
               ("ALL", "race_ethnicity", "hispanic", 25, 13)])
    out = privacy.apply(df, 10)
    shown = privacy.display(out, "percent", 10).tolist()
    # 54/108 = 50%; 0/40 -> "< 3%"; 17/35 = 48.6% -> 49%; 8 -> n < 10; 25 -> complementary
    assert shown == ["50%", "< 3%", "49%", "not shown", "not shown"]  # one text for all hidden
    nd = pd.DataFrame({"suppressed": [False, False, False], "value": [np.nan] * 3,
                       "n": pd.array([pd.NA, 50, 50], dtype="Int64"),
                       "group_by": ["all", "race_ethnicity", "all"],
                       "note": [None, "fewer than 10 events", None]})
    # the all-students row of a risk ratio or gap has no value by definition: "—"
    assert privacy.display(nd, "ratio", 10).tolist() == ["no data", "not computed", "—"]
    assert privacy.display(nd, "percent", 10).tolist()[2] == "not computed"


def test_unit_of():
    def m(kind, source, spec, **kw):
        return Measure(id="x", title="x", kind=kind, source=source, spec=spec,
                       direction="higher", **kw)
    assert privacy.unit_of(m("proficiency", "assessments",
                             {"test": "map", "subject": "ela", "statistic": "mpi"})) == "index"
    assert privacy.unit_of(m("proficiency", "assessments",
                             {"test": "map", "subject": "ela", "statistic": "gap"})) == "points"
    assert privacy.unit_of(m("risk_ratio", "discipline", {"event": ["oss"]})) == "ratio"
    assert privacy.unit_of(m("mean", "service_hours", {"column": "hours"})) == "hours"
    assert privacy.unit_of(m("rate", "enrollment", {"condition": "chronically_absent"})) == "percent"
    assert privacy.unit_of(m("per_100", "discipline", {}, unit="number")) == "number"


# ---- property tests -----------------------------------------------------------------------------

@st.composite
def district(draw):
    """1-4 buildings; students cross-classified by two group_bys (race 1-4 values x gender 1-2
    values), each cell 0..25 students (0 = none) with a random count meeting the condition; every
    row of the measure is the sum of its cells, so every family adds up exactly."""
    nb = draw(st.integers(1, 4))
    nr = draw(st.integers(1, 4))
    ng = draw(st.integers(1, 2))
    cells = []
    for b in range(nb):
        for r in range(nr):
            for g in range(ng):
                n = draw(st.integers(0, 25))
                if n:
                    k = draw(st.integers(0, n))
                    cells.append((f"B{b}", f"r{r}", f"g{g}", n, k))
    if not cells:
        cells.append(("B0", "r0", "g0", 5, 1))
    df = pd.DataFrame(cells, columns=["b", "race_ethnicity", "gender", "n", "k"])
    out = []
    for level in ("ALL", "buildings"):
        keys = [] if level == "ALL" else ["b"]
        # all rows
        if keys:
            for b, part in df.groupby("b"):
                out.append((b, "all", "all", part["n"].sum(), part["k"].sum()))
        else:
            out.append(("ALL", "all", "all", df["n"].sum(), df["k"].sum()))
        for gb in ("race_ethnicity", "gender"):
            for key, part in df.groupby(keys + [gb]):
                b = key[0] if keys else "ALL"
                out.append((b, gb, key[-1], part["n"].sum(), part["k"].sum()))
    return rows(out), draw(st.sampled_from([5, 10, 11]))


def exact_families(df):
    """Every family whose parts sum exactly to its total: (total key, part keys)."""
    keyed = {(b, gb, g): i for i, (b, gb, g) in
             enumerate(zip(df["building_id"], df["group_by"], df["group"]))}
    fams = []
    for b in df["building_id"].unique():
        for gb in ("race_ethnicity", "gender"):
            parts = [k for k in keyed if k[0] == b and k[1] == gb]
            fams.append(((b, "all", "all"), parts))
    for (gb, g) in {(k[1], k[2]) for k in keyed}:
        parts = [k for k in keyed if k[0] != "ALL" and k[1] == gb and k[2] == g]
        fams.append((("ALL", gb, g), parts))
    return keyed, fams


@settings(max_examples=80, deadline=None)
@given(district())
def test_no_suppressed_cell_is_derivable(case):
    df, min_n = case
    out = privacy.apply(df, min_n)
    published = out[~out["suppressed"]]
    assert (published["n"].dropna() >= min_n).all()
    assert out.loc[out["suppressed"], privacy.NUMBER_COLUMNS].isna().all().all()
    keyed, fams = exact_families(df)
    sup = out["suppressed"].to_numpy()
    for total, parts in fams:
        members = [keyed[total]] + [keyed[p] for p in parts]
        hidden = [i for i in members if sup[i]]
        # with exactly one unknown cell, total = sum(parts) gives it away
        assert len(hidden) != 1, (total, parts, out)


@settings(max_examples=50, deadline=None)
@given(district())
def test_suppression_is_stable(case):
    # applying the rule to its own output suppresses nothing more
    df, min_n = case
    once = privacy.apply(df, min_n)
    again = privacy.apply(once, min_n)
    assert again["suppressed"].tolist() == once["suppressed"].tolist()


def _window_test_table(name, keys, numerator, window=None, latent=False):
    rows = pd.DataFrame({"building_id": ["ALL"], "group_by": ["all"], "group": ["all"],
                         "n": [40.0], "numerator": [float(numerator)], "denominator": [40.0],
                         "state": [M.PUBLISHED], "band": [None]})
    return M.Table("p", name, "2024-25", "risk_ratio", keys, rows, window=window or {},
                   window_years=3 if window else 1, latent=latent)


def _window_relation(years_present):
    years = {y: _window_test_table(f"m-{y}", {"n": f"n{y}", "numerator": f"num{y}",
                                              "denominator": f"d{y}"}, k + 2, latent=True)
             for k, y in enumerate(("y1", "y2", "y3"))}
    w = _window_test_table("m", {"n": "nW", "numerator": "numW", "denominator": "dW"}, 9,
               window={"numerator": ["numy1", "numy2", "numy3"]})
    model = M.build_model([w] + [years[y] for y in years_present])
    rel = [r for r in model.relations if "numerator of a three-year" in r.where]
    assert len(rel) == 1
    return rel[0], model


def test_window_relation_is_an_equality_only_over_all_its_years():
    rel, model = _window_relation(["y1", "y2", "y3"])      # 9 = 2 + 3 + 4
    assert rel.sense == "=" and sorted(rel.coefs.values()) == [-1.0, 1.0, 1.0, 1.0]
    assert not M.violations(model)
    # a year no table carries (a published edition's window reaching back before the run's
    # years): the window is at least the others' sum (9 >= 2 + 3), not equal to it (9 != 5)
    rel, model = _window_relation(["y1", "y2"])
    assert rel.sense == "<=" and sorted(rel.coefs.values()) == [-1.0, 1.0, 1.0]
    assert not M.violations(model)


def _one_row_table(name, keys, n, state, band, fixed=False):
    rows = pd.DataFrame({"building_id": ["X"], "group_by": ["race_ethnicity"], "group": ["asian"],
                         "n": [n], "numerator": [0.0 if state != M.HIDDEN else np.nan],
                         "denominator": [n], "state": [state], "band": [band]})
    return M.Table("p", name, "2024-25", "share", keys, rows, fixed=fixed)


@pytest.mark.parametrize("kept_state, stays_banded", [(M.HIDDEN, False), (M.BANDED, True)])
def test_a_count_an_edition_hides_is_not_banded_by_a_new_one(kept_state, stays_banded):
    """Two measures count the same numerator (0 of them, say referrals). The edition in the
    folder hides its row: the new edition's row, 0 of 15 and so banded ("< 7%"), would tell
    the numerator is 0 or 1, narrowing what the kept edition promised: it is hidden. Where the
    kept edition shows that numerator banded itself (a rerun), the band is public already and
    the new row stays banded."""
    from plan_metrics.privacy.protect import protect

    kept = _one_row_table("b", {"n": "nB", "numerator": "numX", "denominator": "nB"},
                          20.0 if kept_state == M.BANDED else np.nan, kept_state,
                          "<" if kept_state == M.BANDED else None, fixed=True)
    new = _one_row_table("a", {"n": "nA", "numerator": "numX", "denominator": "nA"}, 15.0,
                         M.BANDED, "<")
    protect([new, kept], [], 5.0)
    assert new.rows["state"].iloc[0] == (M.BANDED if stays_banded else M.HIDDEN)
