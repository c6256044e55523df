"""The synthetic demo district: every table of the data contract as CSV, with planted effects.

``plan-metrics demo-data [--out data/demo] [--size small|large|N] [--seed N]`` writes one CSV per
table of ``contract.TABLES`` (columns in contract order) and ``PLANTED.yaml``, the effects built
into the data with their expected values and tolerances (see ``planted``). Six school years,
2019-20 to 2024-25; ``small`` is ~2,500 students in 5 buildings (3 elementary, 1 middle, 1 high),
``large`` ~50,000 students in 60 buildings (40 / 12 / 8); a number (``200000``, ``200k``, ``1m``)
gives that many students with buildings in the large district's proportions. Everything is
fictional.

Deterministic: the same seed gives byte-identical files. Each table draws from its own random
stream (``numpy.random.SeedSequence(seed).spawn``), so changing one table's generator does not
change the others.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import yaml

from .. import contract
from ..errors import PlanMetricsError
from ..paths import DEMO_DATA_DIR
from . import district, other, staff as staff_mod, students, surveys
from .planted import planted

__all__ = ["generate", "main", "SIZES", "YEARS", "PLANTED_FILE"]

SIZES = district.SIZES
YEARS = [contract.format_school_year(district.FIRST_FALL + i) for i in range(district.N_YEARS)]
PLANTED_FILE = "PLANTED.yaml"
#: the random streams, one per generator step, in a fixed order (append new ones at the end)
_STREAMS = ("buildings", "panel", "discipline", "assessments", "programs", "rubrics", "service",
            "student_survey", "family_survey", "staff", "staff_surveys", "evaluations", "audit",
            "action_steps")


def _rngs(seed: int) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(len(_STREAMS))
    return {name: np.random.default_rng(s) for name, s in zip(_STREAMS, children)}


def build(size: str = "small", seed: int = 2024) -> dict[str, pd.DataFrame | list[pd.DataFrame]]:
    """Every table of the district in memory (survey_responses as a list of per-survey frames).

    A table whose source cannot be built (action_steps without the clayton-pl plan) is left out.
    """
    spec = district.size_of(size)
    if spec is None:
        raise PlanMetricsError(f"Unknown district size {size!r}", "--size",
                               f"use one of {', '.join(SIZES)} or a number of students from 1000 "
                               f"to {district.MAX_STUDENTS:,} (e.g. 200000 or 200k)")
    r = _rngs(seed)
    buildings = district.make_buildings(r["buildings"], spec)
    roster = district.Panel(r["panel"], spec, buildings).simulate()
    staff = staff_mod.staff_roster(r["staff"], roster, buildings)
    tables: dict = {
        "buildings": buildings,
        "enrollment": district.enrollment_table(roster, buildings, YEARS),
        "survey_items": surveys.survey_items(),
        "survey_responses": [
            surveys.student_survey(r["student_survey"], roster, buildings, YEARS),
            *surveys.staff_surveys(r["staff_surveys"], staff_mod.with_building_ids(staff, buildings),
                                   YEARS),
            surveys.family_survey(r["family_survey"], roster, buildings, YEARS),
        ],
        "discipline": students.discipline(r["discipline"], roster, buildings, YEARS),
        "staff": staff_mod.staff_table(staff, buildings, YEARS),
        "assessments": students.assessments(r["assessments"], roster, buildings, YEARS),
        "graduation_cohort": district.graduation_table(roster, buildings, YEARS),
        "programs": students.programs(r["programs"], roster, YEARS),
        "progression_rubrics": students.progression_rubrics(r["rubrics"], roster, buildings, YEARS,
                                                            ATTRIBUTES),
        "curriculum_audit": other.curriculum_audit(r["audit"], buildings, YEARS),
        "educator_evaluations": staff_mod.educator_evaluations(r["evaluations"], staff, buildings,
                                                               YEARS),
        "service_hours": students.service_hours(r["service"], roster, YEARS),
        "action_steps": other.action_steps(r["action_steps"], YEARS),
    }
    return {k: v for k, v in tables.items() if v is not None}


#: The Profile of a Graduate attributes exactly as the clayton plan writes them.
ATTRIBUTES = ["Self-Actualized", "Intellectually Curious", "Culturally Competent", "Empathetic",
              "Creative Thinker", "Collaborator"]


def _csv_ready(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Contract column order; booleans as true/false."""
    cols = contract.TABLES[name]["columns"]
    missing = [c for c in cols if c not in df.columns]
    if missing:  # a generator bug, not a user error
        raise AssertionError(f"{name}: generator did not produce {missing}")
    df = df[list(cols)]
    conv = {c: np.where(df[c].to_numpy(dtype=bool), "true", "false")
            for c, (typ, _, _) in cols.items() if typ == "bool"}
    return df.assign(**conv) if conv else df


def _needs_quoting(name: str, df: pd.DataFrame) -> bool:
    """True when a free-text column holds a comma, quote or line break (ids and codes never do)."""
    text = [c for c, (typ, _, _) in contract.TABLES[name]["columns"].items() if typ == "str"]
    return any(df[c].astype("string").str.contains(r'[,"\r\n]', regex=True).any() for c in text)


def _write_csv(f, name: str, df: pd.DataFrame, header: bool) -> None:
    """Plain CSV (no quotes unless needed): pyarrow's fast writer for tables without free text
    that needs quoting, pandas otherwise. Booleans true/false, empty cell = missing."""
    df = _csv_ready(name, df)
    if _needs_quoting(name, df):
        df.to_csv(f, index=False, header=header, lineterminator="\n")
        return
    if header:
        f.write(",".join(df.columns) + "\n")
    f.flush()
    table = pa.Table.from_pandas(df, preserve_index=False)
    pacsv.write_csv(table, f.buffer if hasattr(f, "buffer") else f,
                    pacsv.WriteOptions(include_header=False, quoting_style="none"))


def write(tables: dict, out: Path) -> dict[str, tuple[int, int]]:
    """Write each table as ``<name>.csv`` in ``out``; returns {name: (rows, bytes)}."""
    out.mkdir(parents=True, exist_ok=True)
    for name in contract.TABLES:          # no stale table from an earlier run
        (out / f"{name}.csv").unlink(missing_ok=True)
    written = {}
    for name, value in tables.items():
        path = out / f"{name}.csv"
        parts = value if isinstance(value, list) else [value]
        with open(path, "w", encoding="utf-8", newline="") as f:
            for i, part in enumerate(parts):
                _write_csv(f, name, part, header=(i == 0))
        written[name] = (sum(len(p) for p in parts), path.stat().st_size)
    return written


def generate(out: str | Path = DEMO_DATA_DIR, size: str = "small", seed: int = 2024,
             verbose: bool = False) -> dict:
    """Build and write the district and its PLANTED.yaml. Returns a summary: tables
    {name: (rows, bytes)}, planted (path), seconds, bytes."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise PlanMetricsError(f"The seed must be a whole number >= 0, not {seed!r}", "--seed",
                               "pass e.g. --seed 2024")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise PlanMetricsError("The output path is a file, not a folder", str(out),
                               "pass --out a folder (it is created if missing)")
    t0 = time.perf_counter()
    tables = build(size, seed)
    t_build = time.perf_counter() - t0
    frames = dict(tables)
    student_sel = tables["survey_responses"][0]
    frames["survey_responses_student_sel"] = student_sel
    effects = planted(frames, YEARS)
    written = write(tables, out)
    planted_path = out / PLANTED_FILE
    doc = {"district": f"synthetic, size {size}, seed {seed}",
           "school_years": YEARS,
           "note": ("Effects built into the data. expected is in the units of results.parquet "
                    "(proportions as fractions, gaps in points, risk ratios as ratios). tolerance "
                    "is 3 binomial standard errors at this district's group sizes; the generator "
                    "fixes event counts per group, so the data hit expected within exact_within "
                    "(the largest deviation rounding the counts can cause)."),
           "effects": effects}
    planted_path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100),
                            encoding="utf-8")
    seconds = time.perf_counter() - t0
    total = sum(b for _, b in written.values()) + planted_path.stat().st_size
    if verbose:
        print(f"Synthetic district ({size}, seed {seed}) written to {out}:")
        for name, (rows, nbytes) in written.items():
            print(f"  {name + '.csv':28s} {rows:>10,} rows {nbytes / 1e6:>9.1f} MB")
        if "action_steps" not in written:
            print("  action_steps.csv not written: the clayton-pl plan could not be loaded")
        print(f"Planted truth: {planted_path} ({len(effects)} effects)")
        print(f"Done in {seconds:.1f} s (build {t_build:.1f} s); total size {total / 1e6:.1f} MB")
    return {"tables": written, "planted": planted_path, "seconds": seconds, "bytes": total}


def main(args) -> int:
    """CLI entry (plan-metrics demo-data): args.out, args.size, args.seed."""
    out = Path(args.out)
    if out == Path("data/demo"):   # the default: the project's data/demo, wherever we run from
        out = DEMO_DATA_DIR
    generate(out, args.size, args.seed, verbose=True)
    return 0
