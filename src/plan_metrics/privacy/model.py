"""What an attacker knows about the counts of a reports folder, as a linear model (DESIGN.md
section 6).

The counts behind a measure-year's rows are *cells* of *lines*: the ``n``, ``numerator`` or
``denominator`` ("qty") of one (group_by, group) in every building and the district. A line is
named by a key ``<base>|<group_by>|<group>``; ``base`` names what is counted (``base_key``: a
digest of the data version, the measure's kind, source and spec, the school year and the qty), so
the same measure in two plans or two editions of one year (history) names the same lines. Lines
that hold the very same numbers (the n of two measures over the same students, a denominator that
is the n, the high-school students of one measure and the ``grade_band = high`` line of another)
are *linked*: the model treats them as one line. ``link_equal_lines`` finds those links from the
true counts at publishing; the edition's manifest records them so that ``audit`` sees them too.

A *cell* of the model is (line class, building). The relations among cells, all true of the real
counts, are:

- additivity: the groups of a group_by add up to the building's ``all`` cell, the buildings to the
  district cell (as an equality where the true counts add up exactly, otherwise the inequality
  they satisfy, e.g. incidents involving students of two groups count in both);
- within a row, by the measure's *relation* (``relation_of``): a share of people has numerator <=
  n = denominator; percent favorable numerator <= answers, answers >= respondents; a risk ratio
  over W years numerator <= student-years, n <= student-years <= W n; the MPI 100 n <= numerator
  <= 500 n;
- a three-year window is the sum of its years (the risk ratio's numerator and student-years equal
  the sums of the single-year counts, which are *latent* tables: computed, never published, but
  linked to what is published, such as the suspension rate's counts);
- what the display says: a row that is listed holds at least one person; a banded share says
  numerator / denominator < x% (or > 100 - x%).

The relations are built in ``relations``. A published row publishes its n, numerator and
denominator (the model's knowns); a banded row its n; a hidden row nothing. ``build`` turns a set of tables with their row states into an ``lp.System``
over the unknown cells.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..results import DISTRICT
from . import lp, relations as R

QTYS = ("n", "numerator", "denominator")
#: row relations whose denominator is the n itself (one line for both)
DEN_IS_N = ("share", "mpi", "per_100", "mean")
PUBLISHED, BANDED, HIDDEN = "published", "banded", "hidden"


def relation_of(measure) -> str:
    """What a measure's counts are, for the model: 'share' (numerator <= n = denominator),
    'favorable', 'rr', 'mpi', 'per_100', 'mean' or 'none' (action steps: no people)."""
    kind = measure.kind
    if kind == "percent_favorable":
        return "favorable"
    if kind == "risk_ratio":
        return "rr"
    if kind == "proficiency" and getattr(measure.spec, "statistic", None) == "mpi":
        return "mpi"
    if kind in ("per_100", "mean"):
        return kind
    if kind == "action_completion":
        return "none"
    return "share"


def compares(measure) -> bool:
    """True where a group's value is a comparison with all other people of its building (a gap, a
    risk ratio): such a value gives the building's all row away unless that row is published."""
    return measure.kind == "risk_ratio" or (
        measure.kind == "proficiency" and getattr(measure.spec, "statistic", None) == "gap")


def window_of(measure) -> int:
    return int(getattr(measure.spec, "window_years", 1) or 1) if measure.kind == "risk_ratio" else 1


def _digest(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def base_key(scope: str, measure, school_year: str, qty: str, window: int | None = None) -> str:
    """The name of what a measure's ``qty`` counts in a school year (see the module docstring).
    ``window`` overrides a risk ratio's window (1: the single-year counts of a window's year)."""
    if qty == "denominator" and relation_of(measure) in DEN_IS_N:
        qty = "n"
    spec = measure.spec.model_dump(mode="json") if measure.spec is not None else {}
    if window is not None:
        spec = {**spec, "window_years": window}
    return _digest(scope, measure.kind, measure.source, spec, school_year, qty)


def line_key(base: str, group_by: str, group: str) -> str:
    return f"{base}|{group_by}|{group}"


def scope_of(input_hashes: dict) -> str:
    """The data version the counts come from: a digest of the input files' hashes."""
    return _digest(sorted((str(k), str(v)) for k, v in (input_hashes or {}).items()))


@dataclass(eq=False)   # a table is itself: two built from the same data are still two
class Table:
    """One measure-year's rows as the model sees them.

    ``rows``: building_id, group_by, group, n, numerator, denominator (true counts where known,
    NaN where hidden and unknown), ``state`` (published / banded / hidden) and ``band``.
    ``keys``: qty -> base key. ``window``: for a risk ratio over W > 1 years, the base keys of each
    year's latent single-year table, {qty: [keys]}. ``latent``: computed, never published.
    """
    plan_id: str
    measure_id: str
    school_year: str
    relation: str
    keys: dict[str, str]
    rows: pd.DataFrame
    window: dict[str, list[str]] = field(default_factory=dict)
    window_years: int = 1
    latent: bool = False
    compares: bool = False
    fixed: bool = False            # already published: its states do not change

    @property
    def name(self) -> str:
        return f"{self.plan_id} {self.school_year} {self.measure_id}"


class UnionFind:
    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        p = self.parent.setdefault(x, x)
        if p == x:
            return x
        root = self.find(p)
        self.parent[x] = root
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra


def line_vectors(tables: list[Table]) -> dict[str, dict[str, float]]:
    """{line key: {building: true count}} of every line whose counts are all known."""
    out: dict[str, dict[str, float]] = {}
    for t in tables:
        r = t.rows
        for qty in QTYS:
            if qty == "denominator" and t.keys["denominator"] == t.keys["n"]:
                continue
            vals = pd.to_numeric(r[qty], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            keys = [line_key(t.keys[qty], gb, g) for gb, g in zip(r["group_by"], r["group"])]
            for k, b, v in zip(keys, r["building_id"], vals):
                out.setdefault(k, {})[b] = v
    return {k: v for k, v in out.items() if not any(math.isnan(x) for x in v.values())}


def link_equal_lines(tables: list[Table]) -> list[tuple[str, str]]:
    """Pairs of lines of two measures, of one school year, window length and student group, whose
    true counts are equal in every building and the district (and not all zero): the same people
    counted twice, as far as anyone can tell (the tested students of ELA and of mathematics).

    Never two lines of one measure (its all row and a group whose sibling groups are empty, its
    n and a numerator at 100%), nor a three-year window and a single year (tied by the window
    relation already): such a pair would tell the model that some counts are zero, which no
    output says, and could leave a count no pattern of hidden cells protects.
    """
    by_sig: dict[tuple, list[str]] = {}
    year_of, owner = {}, {}
    for t in tables:
        for qty in QTYS:
            year_of[t.keys[qty]] = (t.school_year, int(getattr(t, "window_years", 1) or 1))
            owner[t.keys[qty]] = t.keys["n"]  # one measure definition, whatever it counts
    for key, vec in line_vectors(tables).items():
        if not any(v > 0 for v in vec.values()):
            continue
        base, gb, g = key.split("|", 2)
        sig = (year_of[base], gb, g, tuple(sorted(vec.items())))
        by_sig.setdefault(sig, []).append(key)
    pairs = []
    for keys in by_sig.values():
        one_each: dict[str, str] = {}
        for k in sorted(set(keys)):
            one_each.setdefault(owner[k.split("|", 1)[0]], k)
        chosen = sorted(one_each.values())
        pairs += [(chosen[0], k) for k in chosen[1:]]
    return pairs


@dataclass
class Cells:
    """The model's cells and what each row carries."""
    index: dict[tuple[str, str], int]          # (line class, building) -> cell id
    row_cells: list[np.ndarray]                # per table: (rows x 3) cell ids of n, num, den
    integer: np.ndarray                        # per cell: whole counts
    truth: np.ndarray                          # per cell: true count (NaN: unknown)
    kind: np.ndarray                           # per cell: 0 n, 1 numerator, 2 denominator
    building: np.ndarray                       # per cell: its building's number (-1: district)


def make_cells(tables: list[Table], uf: UnionFind) -> Cells:
    index: dict[tuple[str, str], int] = {}
    truth: list[float] = []
    integer: list[bool] = []
    kind: list[int] = []
    building: list[int] = []
    numbers: dict[str, int] = {DISTRICT: -1}
    row_cells = []
    for t in tables:
        r = t.rows
        ids = np.zeros((len(r), 3), dtype=np.int64)
        blds = r["building_id"].astype(str).tolist()
        gbs, gs = r["group_by"].astype(str).tolist(), r["group"].astype(str).tolist()
        for j, qty in enumerate(QTYS):
            vals = pd.to_numeric(r[qty], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            whole = not (qty == "numerator" and t.relation == "mean")
            base = t.keys[qty]
            for i in range(len(r)):
                cls = uf.find(line_key(base, gbs[i], gs[i]))
                key = (cls, blds[i])
                cid = index.get(key)
                if cid is None:
                    cid = index[key] = len(truth)
                    truth.append(vals[i])
                    integer.append(whole)
                    kind.append(j)
                    building.append(numbers.setdefault(blds[i], len(numbers) - 1))
                elif math.isnan(truth[cid]) and not math.isnan(vals[i]):
                    truth[cid] = vals[i]
                ids[i, j] = cid
        row_cells.append(ids)
    return Cells(index, row_cells, np.asarray(integer), np.asarray(truth, dtype=float),
                 np.asarray(kind), np.asarray(building, dtype=np.int64))


@dataclass
class Model:
    """Tables, their cells and every relation among the cells."""
    tables: list[Table]
    uf: UnionFind
    cells: Cells
    relations: list[R.Relation]
    senses: dict[str, str]          # inexact families found (to record in manifests)

    def relations_of(self, cell: int) -> list[R.Relation]:
        """The relations ``cell`` takes part in."""
        if getattr(self, "_by_cell", None) is None:
            self._by_cell: dict[int, list[R.Relation]] = {}
            for rel in self.relations:
                for c in rel.coefs:
                    self._by_cell.setdefault(c, []).append(rel)
        return self._by_cell.get(cell, [])

    def known(self) -> np.ndarray:
        """Cells some row publishes (from the tables' current row states)."""
        return ~np.isnan(self.values())

    def values(self) -> np.ndarray:
        """The value of every cell as published (NaN where no row publishes it)."""
        out = np.full(len(self.cells.truth), np.nan)
        if not hasattr(self, "_numbers"):   # the counts never change, only the states
            self._numbers = [
                [pd.to_numeric(t.rows[qty], errors="coerce").to_numpy(dtype=float,
                                                                      na_value=np.nan)
                 for qty in QTYS] for t in self.tables]
        for t, ids, numbers in zip(self.tables, self.cells.row_cells, self._numbers):
            if t.latent:
                continue
            st = t.rows["state"].to_numpy(dtype=object)
            for j, v in enumerate(numbers):
                ok = (st == PUBLISHED) | ((st == BANDED) & (j == 0))
                ok &= ~np.isnan(v)
                out[ids[ok, j]] = v[ok]
        return out

    def needs(self, protection: float) -> np.ndarray:
        """The width each unknown cell needs: ``protection`` for the counts of hidden rows, 1 for
        a banded numerator (its exact value must not follow), 0 for the rest.

        A numerator some row shows banded needs 1 even where another row hides it: its band is
        public (an edition kept in the folder shows it so), and no pattern can widen it."""
        need = np.zeros(len(self.cells.truth))
        banded = []
        for t, ids in zip(self.tables, self.cells.row_cells):
            if t.latent:
                continue
            st = t.rows["state"].to_numpy(dtype=object)
            hid = st == HIDDEN
            np.maximum.at(need, ids[hid, 0], protection)
            np.maximum.at(need, ids[hid, 1], protection)
            banded.append(ids[st == BANDED, 1])
        if banded:
            need[np.concatenate(banded)] = 1.0
        return need


def build_model(tables: list[Table], links: list[tuple[str, str]] = (),
                senses: dict[str, str] | None = None) -> Model:
    """The model of ``tables`` with the line links ``links`` (pairs of line keys)."""
    uf = UnionFind()
    for a, b in links:
        uf.union(a, b)
    cells = make_cells(tables, uf)
    rels, found = R.additivity(tables, uf, cells, senses)
    for t, ids in zip(tables, cells.row_cells):
        rels += R.row_relations(t, ids)
    rels += R.window_relations(tables, uf, cells)
    return Model(tables, uf, cells, rels, found)


def system_of(model: Model, protection: float, use_truth: bool = True
              ) -> tuple[lp.System, np.ndarray, np.ndarray]:
    """The LP of the unknown cells under the current row states: (system, cell id of each
    variable, the known values). Relations among known cells only are dropped."""
    values = model.values()
    known = ~np.isnan(values)
    need = model.needs(protection)
    cells = model.cells
    unknown = np.flatnonzero(~known)
    var_of = np.full(len(known), -1)
    var_of[unknown] = np.arange(len(unknown))
    # "a listed group holds at least one person": the n of a row some output lists. A latent
    # year of a window may hold a group that year had none of (it is in another of the years).
    listed = np.zeros(len(known), bool)
    for t, ids in zip(model.tables, cells.row_cells):
        if not t.latent:
            listed[ids[:, 0]] = True
    sysm = lp.System()
    for c in unknown:
        lb = 1.0 if cells.kind[c] == 0 and listed[c] else 0.0
        sysm.add_var(lb=lb, integer=bool(cells.integer[c]), need=float(need[c]),
                     truth=float(cells.truth[c]) if use_truth else math.nan,
                     block=int(cells.building[c]))
    rels = list(model.relations)
    for t, ids in zip(model.tables, cells.row_cells):
        if not t.latent:
            rels += R.band_relations(t, ids)
    kept = []
    for rel in rels:
        coefs, rhs = {}, rel.rhs
        for c, a in rel.coefs.items():
            if known[c]:
                rhs -= a * values[c]
            else:
                coefs[int(var_of[c])] = coefs.get(int(var_of[c]), 0.0) + a
        if coefs:
            sysm.add(coefs, rel.sense, rhs)
            kept.append(rel)
    return sysm, unknown, values


def violations(model: Model, tol: float = 1e-6) -> list[R.Relation]:
    """Relations the true counts break (a defect of the model: each must hold for the truth)."""
    t = model.cells.truth
    bad = []
    for rel in model.relations:
        vals = [t[c] for c in rel.coefs]
        if any(math.isnan(v) for v in vals):
            continue
        lhs = sum(a * t[c] for c, a in rel.coefs.items())
        ok = (abs(lhs - rel.rhs) <= tol if rel.sense == "=" else
              lhs <= rel.rhs + tol if rel.sense == "<=" else lhs >= rel.rhs - tol)
        if not ok:
            bad.append(rel)
    return bad
