"""The narrative (DESIGN.md section 10): plain sentences from an edition's published numbers.

Built on the scorecard (``scorecard.ScoreRow``), so that it says exactly what the scorecard shows:

- per measure (``measure_text``): its value this year and the change since last year, called real
  only where the change's 95% interval excludes zero (the scorecard's ``status.change_between``
  test), "for the better" or "for the worse" by the measure's direction (a falling suspension rate
  is good news; a risk ratio moving toward 1 is too); its status against its target (or its
  baseline where it has none); for a measure that compares groups, the scorecard's sentence on the
  widest published disparity;
- per goal (``goal_text``): how many of its measures are met, on track, progressing, off track...,
  and the largest real changes since last year (largest against their own margin of error, so
  that a change in points and one in a ratio can be ranked together).

Every number comes from the published rows (the row's display text, or a published value
formatted as the display is); a hidden cell is said to be not shown, a hidden group is never named
(the scorecard only follows a published group), and no sentence gives a cause. Words come from
``texts.yaml`` (``narrative``); display texts are read as words ("< 4%" -> "under 4%", "pts" ->
"points") so that the sentences read well aloud.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

from . import status as status_rules
from . import texts
from .plan import Measure, Plan
from .privacy import format_value
from .scorecard import ScoreRow, goal_measures


@dataclass
class GoalNarrative:
    """A goal's narrative at one place and year: its summary and one text per measure."""
    goal_id: str
    summary: str
    measures: list[tuple[str, str]] = field(default_factory=list)  # (measure_id, text)

    @property
    def text(self) -> str:
        """The whole narrative as one block of text (summary, then each measure's sentences)."""
        return "\n".join([self.summary, *[t for _, t in self.measures]])


def _t(key: str) -> str:
    return texts.text(f"narrative.{key}")


def spoken(display: str) -> str:
    """A display text as it reads aloud: '< 4%' -> 'under 4%', '+3.0 pts' -> '+3.0 points'."""
    out = str(display)
    for a, b in texts.all_texts()["narrative"]["spoken"].items():
        out = out.replace(a, b)
    return out


def _status_key(word: str) -> str:
    """'on track' -> 'on_track' (texts.yaml ``status``)."""
    words = {v: k for k, v in texts.all_texts()["status"].items()}
    return words.get(word, "not_enough_data")


def subject(row: ScoreRow) -> str:
    """What a sentence is about: the measure's title, and the group it follows (a disparity
    measure's row follows one published group)."""
    if row.focus:
        return texts.fill("narrative.subject_group", title=row.title, group=row.whose)
    return row.title


def _then_now(row: ScoreRow) -> tuple[str, str] | None:
    """This year's and last year's published values as the sentence says them; with one more
    decimal where the two would otherwise read the same (status._pair, as the rule texts do)."""
    c = row.since_last_year
    then = dict(row.spark).get(c.from_year)
    if then is None or row.value is None:
        return None
    now_text, then_text = row.display, format_value(then, row.unit)
    if now_text == then_text:
        now_text, then_text = status_rules._pair(row.value, then, row.unit)
    return spoken(then_text), spoken(now_text)


def _judgment(measure: Measure, row: ScoreRow) -> str:
    """'better' / 'worse' / 'neither': the change from last year in the measure's direction."""
    then = dict(row.spark).get(row.since_last_year.from_year)
    d_now = status_rules.distance(float(row.value), measure.direction)
    d_then = status_rules.distance(float(then), measure.direction)
    if math.isnan(d_now) or math.isnan(d_then) or d_now == d_then:
        return "neither"
    return "better" if d_now < d_then else "worse"


def value_sentence(measure: Measure, row: ScoreRow, year: str) -> str:
    """The value this year and its change since last year (see the module docstring)."""
    subj = subject(row)
    hidden = texts.text("display.hidden")
    if row.value is None:
        if row.display == hidden:
            return texts.fill("narrative.value_hidden", subject=subj, year=year)
        if row.display.strip()[:2] in ("< ", "> "):
            return texts.fill("narrative.value_banded", subject=subj, year=year,
                              now=spoken(row.display))
        return texts.fill("narrative.value_none", subject=subj, year=year)
    c = row.since_last_year
    now = spoken(row.display)
    earlier = [v for y, v in row.spark if y < year and v is not None]
    if c.from_year is None or not earlier:
        return texts.fill("narrative.value_first", subject=subj, year=year, now=now)
    pair = _then_now(row)
    if c.real is None or pair is None:
        return texts.fill("narrative.value_no_before", subject=subj, year=year, now=now,
                          from_year=c.from_year)
    then, now = pair
    if not c.real and then == now:
        return texts.fill("narrative.value_same", subject=subj, year=year,
                          now=spoken(row.display), from_year=c.from_year)
    if not c.real:
        return texts.fill("narrative.value_noise", subject=subj, year=year, now=now, then=then,
                          from_year=c.from_year)
    return texts.fill("narrative.value_real", subject=subj, now=now, then=then,
                      from_year=c.from_year, verb=_t("rose" if c.diff > 0 else "fell"),
                      judgment=_t(_judgment(measure, row)))


def status_sentence(measure: Measure, row: ScoreRow) -> str:
    """The status against the target (or the baseline where there is none), in words."""
    key = _status_key(row.status)
    if key == "not_enough_data":
        word = texts.status_word("not_enough_data")
        reason = row.rule_text.split(": ", 1)[1] if row.rule_text.startswith(word + ": ") \
            else ""
        if reason:
            return texts.fill("narrative.status.not_enough_data", reason=reason)
        return _t("status.not_enough_data_plain")
    t = measure.target
    fields = {"baseline_year": row.since_baseline.from_year or measure.baseline_year or "",
              "target": format_value(float(t.value), row.unit) if t else "",
              "target_year": t.year if t else ""}
    return spoken(texts.fill(f"narrative.status.{key}", **fields))


def measure_text(measure: Measure, row: ScoreRow, year: str) -> str:
    """A measure's sentences: the widest disparity (a measure that compares groups), its value
    and change since last year, its status."""
    parts = []
    if row.focus and row.headline:
        parts.append(row.headline.rstrip(".") + ".")
    parts.append(value_sentence(measure, row, year))
    parts.append(status_sentence(measure, row))
    return " ".join(parts)


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + _t("and") + items[-1]


def _count_phrases(rows: list[ScoreRow]) -> list[str]:
    counts: dict[str, int] = {}
    for r in rows:
        k = _status_key(r.status)
        counts[k] = counts.get(k, 0) + 1
    order = list(texts.all_texts()["status"])
    phrases = texts.all_texts()["narrative"]["counts"]
    return [f"{counts[k]} {phrases[k][0 if counts[k] == 1 else 1]}" for k in order
            if counts.get(k)]


def _margins(row: ScoreRow) -> float:
    """How many margins of error a real change spans: |diff| / half its interval's width (an
    exact change, with no interval, ranks first)."""
    c = row.since_last_year
    half = (c.high - c.low) / 2 if c.low is not None and c.high is not None else 0.0
    return math.inf if half <= 0 else abs(c.diff) / half


def changes_sentence(measures: dict[str, Measure], rows: list[ScoreRow], top: int = 3) -> str:
    """The largest real changes since last year ('' when no measure has a change to judge)."""
    judged = [r for r in rows if r.since_last_year.real is not None]
    if not judged:
        return ""
    from_year = judged[0].since_last_year.from_year
    real = [r for r in judged if r.since_last_year.real]
    if not real:
        return texts.fill("narrative.changes_none", from_year=from_year)
    ranked = sorted(real, key=lambda r: -_margins(r))[:top] if len(real) > top else real
    items = []
    for r in ranked:
        then, now = _then_now(r)
        verdict = _judgment(measures[r.measure_id], r)
        items.append(texts.fill("narrative.change_item", subject=subject(r), then=then, now=now,
                                verb=_t("rose" if r.since_last_year.diff > 0 else "fell"),
                                judgment=_t(f"item_{verdict}")))
    joined = _t("item_separator").join(items)
    if len(real) > top:
        return texts.fill("narrative.changes_top", count=len(real), from_year=from_year,
                          items=joined)
    return texts.fill("narrative.changes_some", from_year=from_year, items=joined)


def goal_text(measures: dict[str, Measure], rows: list[ScoreRow], year: str,
              place: str) -> str:
    """A goal's summary: how its measures stand, then the largest real changes."""
    where = _t("place_district") if place == "District" else place
    phrases = _count_phrases(rows)
    if not rows:
        return _t("goal_none")
    if len(rows) == 1:
        head = texts.fill("narrative.goal_one", place=where, year=year, phrase=phrases[0]
                          .split(" ", 1)[1])
    else:
        head = texts.fill("narrative.goal_many", n=len(rows), place=where, year=year,
                          phrases=_join(phrases))
    changes = changes_sentence(measures, rows)
    return f"{head} {changes}".strip()


def goal_narrative(plan: Plan, goal_id: str, rows: list[ScoreRow], year: str) -> GoalNarrative:
    """The narrative of one goal from its scorecard rows (``scorecard.scorecard``'s output for
    the same plan, goal, year and place)."""
    measures = {m.id: m for _, m in goal_measures(plan, goal_id)}
    place = rows[0].place if rows else "District"
    return GoalNarrative(goal_id, goal_text(measures, rows, year, place),
                         [(r.measure_id, measure_text(measures[r.measure_id], r, year))
                          for r in rows])


def narrative_html(n: GoalNarrative, heading_level: int = 3) -> str:
    """The narrative as an HTML section: a heading, the summary and one item per measure."""
    e = html.escape
    h = f"h{heading_level}"
    items = "".join(f'<li data-measure="{e(mid)}">{e(t)}</li>' for mid, t in n.measures)
    return (f'<section class="pm-narrative" data-goal="{e(n.goal_id)}" '
            f'aria-label="{e(_t("heading"))}"><{h}>{e(_t("heading"))}</{h}>'
            f'<p class="pm-narrative-summary">{e(n.summary)}</p>'
            + (f'<ul class="pm-narrative-measures">{items}</ul>' if items else "")
            + "</section>")


NARRATIVE_CSS = """<style>
.pm-narrative { max-width: 1180px; margin: 4px 0 12px; font-size: 14px; line-height: 1.45;
                font-family: Helvetica, Arial, sans-serif; color: #222; }
.pm-narrative h3 { font-size: 15px; margin: 4px 0; }
.pm-narrative-summary { margin: 2px 0 6px; font-weight: bold; }
.pm-narrative-measures { margin: 0; padding-left: 20px; }
.pm-narrative-measures li { margin: 2px 0; }
</style>"""
