"""Surveys: the item catalogue (survey_items) and the answers (survey_responses).

Survey and topic names are a contract with the plans (student_sel, staff_climate, family_climate,
pd_feedback; item ``trusted_adult``). Answers are 5-point Likert, favorable at 4 or more after
reverse coding; about 3% of answers are skipped (empty). The number of favorable answers is exact
per year, topic and group (see _draw.exact_pick); a respondent's latent positivity ties their
answers together.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._draw import exact_pick, gap_rates, labels, round_half_up
from .district import N_YEARS, student_ids

SCALE_POINTS, FAVORABLE_MIN = 5, 4
SKIP_RATE = 0.03
BELONGING_RATE = 0.70                                  # district, all years
BELONGING_EL_GAP = np.linspace(-15.0, -5.0, N_YEARS)   # points, english_learner vs not

# survey -> topic -> [(item_id, text, reverse_coded)]
ITEMS: dict[str, dict[str, list[tuple[str, str, bool]]]] = {
    "student_sel": {
        "sense_of_belonging": [
            ("belong_1", "How much do you feel like you belong at your school?", False),
            ("belong_2", "How connected do you feel to the adults at your school?", False),
            ("belong_3", "How much do you matter to others at this school?", False),
            ("belong_4", "How well do people at your school understand you as a person?", False)],
        "school_climate": [
            ("climate_1", "How positive is the overall energy at your school?", False),
            ("climate_2", "How fair are the rules for the students at this school?", False),
            ("climate_3", "How often do students at your school treat each other with respect?", False)],
        "school_safety": [
            ("safety_1", "How safe do you feel at your school?", False),
            ("safety_2", "How often do you worry about violence at your school?", True),
            ("safety_3", "How likely is it that someone from your school will bully you online?", True)],
        "teacher_student_relationships": [
            ("tsr_1", "How respectful are your teachers towards you?", False),
            ("tsr_2", "How many of your teachers care about you as a person?", False),
            ("tsr_3", "If you walked into class upset, how concerned would your teacher be?", False)],
        "self_efficacy": [
            ("efficacy_1", "How confident are you that you can complete all the work assigned in "
                           "your classes?", False),
            ("efficacy_2", "When complicated ideas are discussed in class, how sure are you that "
                           "you can understand them?", False),
            ("efficacy_3", "How confident are you that you can master the hardest topics in your "
                           "classes?", False)],
        "student_voice": [
            ("voice_1", "How often do you get to choose how you show what you have learned?", False),
            ("voice_2", "How much do adults at your school listen to students' ideas?", False),
            ("voice_3", "How often do you get to help decide things at your school?", False)],
        "self_management": [
            ("selfmgmt_1", "How often do you come to class prepared?", False),
            ("selfmgmt_2", "How often are you able to stay calm when something upsets you?", False),
            ("selfmgmt_3", "How often do you get your work done right away instead of waiting "
                           "until the last minute?", False)],
        "social_awareness": [
            ("social_1", "How well do you get along with students who are different from you?", False),
            ("social_2", "How carefully do you listen to other people's points of view?", False),
            ("social_3", "How clearly are you able to describe your feelings?", False)],
        "supportive_relationships": [
            ("trusted_adult", "Is there an adult at your school you can go to for help with a "
                              "problem?", False),
            ("support_2", "How many of your friends would help you if you had a problem?", False),
            ("support_3", "When you need help, how often can you count on an adult at home?", False)],
        "empathy": [
            ("empathy_1", "How often do you try to understand how your friends feel?", False),
            ("empathy_2", "How much do you care about other people's feelings?", False),
            ("empathy_3", "How often do you stand up for someone who is treated unfairly?", False)],
        "wellbeing": [
            ("wellbeing_1", "How often have you felt happy at school in the past month?", False),
            ("wellbeing_2", "How often have you felt stressed or overwhelmed in the past month?", True),
            ("wellbeing_3", "How often do you get enough sleep to feel rested?", False)],
    },
    "staff_climate": {
        "staff_belonging": [
            ("staff_belong_1", "How much do you feel like you belong at your school?", False),
            ("staff_belong_2", "How connected do you feel to your colleagues?", False),
            ("staff_belong_3", "How much do you feel valued by the leaders of your school?", False),
            ("staff_belong_4", "How well do your colleagues understand you as a person?", False)],
        "employee_morale": [
            ("morale_1", "How satisfied are you with your job overall?", False),
            ("morale_2", "How likely are you to recommend this district as a place to work?", False),
            ("morale_3", "How often do you feel burned out by your work?", True),
            ("morale_4", "How enthusiastic are you about coming to work each day?", False)],
    },
    "family_climate": {
        "family_belonging": [
            ("family_belong_1", "How welcome do you feel at your child's school?", False),
            ("family_belong_2", "How well do the staff at your child's school know you?", False),
            ("family_belong_3", "How much do you feel you belong to the school community?", False),
            ("family_belong_4", "How respectful is the school toward your family's culture?", False)],
        "community_support": [
            ("community_1", "How much does the community support the district's schools?", False),
            ("community_2", "How well does the district communicate with families?", False),
            ("community_3", "How much do you trust the district to make good decisions?", False),
            ("community_4", "How likely are you to recommend the district to a friend?", False)],
    },
    "pd_feedback": {
        "equity_pd": [
            ("equity_pd_1", "How useful was the equity professional learning for your work?", False),
            ("equity_pd_2", "How well did it prepare you to recognize bias in your practice?", False),
            ("equity_pd_3", "How confident are you in applying anti-bias strategies in class?", False),
            ("equity_pd_4", "How relevant was it to the students you serve?", False)],
    },
}

# Favorable share in the first and last year, per topic (belonging is planted separately).
TOPIC_RATES = {
    "school_climate": (0.66, 0.72), "school_safety": (0.72, 0.76),
    "teacher_student_relationships": (0.70, 0.75), "self_efficacy": (0.62, 0.67),
    "student_voice": (0.50, 0.58), "self_management": (0.70, 0.70),
    "social_awareness": (0.64, 0.68), "supportive_relationships": (0.74, 0.80),
    "empathy": (0.76, 0.77), "wellbeing": (0.60, 0.66),
    "staff_belonging": (0.68, 0.75), "employee_morale": (0.60, 0.68),
    "family_belonging": (0.72, 0.78), "community_support": (0.65, 0.70),
    "equity_pd": (0.62, 0.80),
}


def survey_items() -> pd.DataFrame:
    """The survey_items table."""
    rows = [{"survey": s, "item_id": i, "topic": t, "text": text, "scale_points": SCALE_POINTS,
             "favorable_min": FAVORABLE_MIN, "reverse_coded": rev}
            for s, topics in ITEMS.items() for t, items in topics.items() for i, text, rev in items]
    return pd.DataFrame(rows)


def responses(rng, survey: str, years: list[str], year: np.ndarray, building_id: np.ndarray,
              student_id: np.ndarray | None, group: np.ndarray, weight: np.ndarray,
              rates) -> pd.DataFrame:
    """Answers of the respondents (one entry per respondent: year index, building, student id or
    None, group code 0..G-1, weight) to every item of the survey.

    rates(answered) -> favorable share: ``answered`` is the count of answered items per
    (year, topic, group), shape (N_YEARS, topics, G); the result has the same shape.
    """
    topics = ITEMS[survey]
    item_ids = [i for t in topics.values() for i, _, _ in t]
    item_topic = np.array([k for k, t in enumerate(topics.values()) for _ in t])
    reverse = np.array([rev for t in topics.values() for _, _, rev in t])
    n_resp, n_items, n_topics = len(year), len(item_ids), len(topics)
    G = int(group.max()) + 1 if len(group) else 1
    resp = np.repeat(np.arange(n_resp), n_items)
    item = np.tile(np.arange(n_items), n_resp)
    y, g, topic = year[resp], group[resp], item_topic[item]
    answered = rng.random(len(resp)) >= SKIP_RATE
    cell = (y * n_topics + topic) * G + g
    n_cells = N_YEARS * n_topics * G
    codes = np.where(answered, cell, n_cells)
    counts = np.bincount(codes, minlength=n_cells + 1)[:n_cells].reshape(N_YEARS, n_topics, G)
    k = np.append(round_half_up(rates(counts) * counts).ravel(), 0)
    fav = exact_pick(rng, codes, k, weight[resp])
    value = np.where(fav, np.where(rng.random(len(resp)) < 0.42, 5, 4),
                     1 + np.searchsorted([0.15, 0.45], rng.random(len(resp))))
    value = np.where(reverse[item], SCALE_POINTS + 1 - value, value)
    # respondent ids: numbered in random order within each year
    order = np.lexsort((rng.random(n_resp), year))
    num = np.empty(n_resp, np.int64)
    num[order] = np.arange(n_resp) - np.searchsorted(year[order], year[order]) + 1
    rid = np.char.add("R", np.char.zfill(num.astype(str), 6))
    rtype = {"student_sel": "student", "family_climate": "family"}.get(survey, "staff")
    out = pd.DataFrame({
        "school_year": pd.Categorical.from_codes(y, categories=years),
        "survey": labels(np.zeros(len(resp)), [survey]),
        "respondent_id": _cat(rid, resp),
        "respondent_type": labels(np.zeros(len(resp)), [rtype]),
        "building_id": _cat(building_id, resp),
        "student_id": (_cat(student_id, resp) if student_id is not None
                       else pd.Categorical.from_codes(np.full(len(resp), -1), categories=["-"])),
        "item_id": pd.Categorical.from_codes(item, categories=item_ids),
        "response": pd.arrays.IntegerArray(value.astype(np.int64), ~answered),
    })
    return out


def _cat(values_per_respondent: np.ndarray, resp: np.ndarray) -> pd.Categorical:
    """A per-row categorical column from one value per respondent (keeps memory small)."""
    uniq, inv = np.unique(np.asarray(values_per_respondent).astype(str), return_inverse=True)
    return pd.Categorical.from_codes(inv[resp], categories=uniq)


def linear_rates(topic_names: list[str]):
    """A rates function with the topics' TOPIC_RATES lines and no group difference."""
    first = np.array([TOPIC_RATES[t][0] for t in topic_names])
    last = np.array([TOPIC_RATES[t][1] for t in topic_names])
    line = first[None, :] + (last - first)[None, :] * np.linspace(0, 1, N_YEARS)[:, None]

    def rates(counts):
        return np.broadcast_to(line[:, :, None], counts.shape)
    return rates


def student_survey(rng, roster: pd.DataFrame, buildings: pd.DataFrame, years: list[str]) -> pd.DataFrame:
    """student_sel: students in grades 3-12, ~80% respond (fewer among chronically absent).
    Belonging is exactly BELONGING_RATE favorable overall, english learners BELONGING_EL_GAP
    points below the other students."""
    grade = roster["grade"].to_numpy()
    p = np.where(roster["chronic"].to_numpy(), 0.65, 0.815)
    who = np.flatnonzero((grade >= 3) & (rng.random(len(roster)) < p)
                         & (roster["days_enrolled"].to_numpy() >= 10))
    el = roster["el"].to_numpy()[who].astype(np.int64)
    topic_names = list(ITEMS["student_sel"])
    base = linear_rates([t if t in TOPIC_RATES else "self_management" for t in topic_names])
    b = topic_names.index("sense_of_belonging")

    def rates(counts):
        r = np.array(base(counts), dtype=float)
        p_el, p_other = gap_rates(BELONGING_RATE, BELONGING_EL_GAP,
                                         counts[:, b, 1], counts[:, b, 0])
        r[:, b, 0], r[:, b, 1] = p_other, p_el
        return r

    return responses(rng, "student_sel", years, roster["year"].to_numpy()[who],
                     buildings["building_id"].to_numpy()[roster["bld"].to_numpy()[who]],
                     student_ids(roster["sid"].to_numpy()[who]), el,
                     np.exp(0.9 * roster["positivity"].to_numpy()[who]
                            + 0.12 * _climate(buildings, roster["bld"].to_numpy()[who])), rates)


def _climate(buildings: pd.DataFrame, bld: np.ndarray) -> np.ndarray:
    """Each respondent's building climate trait (see district.make_buildings)."""
    return buildings["climate"].to_numpy()[bld]


def family_survey(rng, roster: pd.DataFrame, buildings: pd.DataFrame, years: list[str]) -> pd.DataFrame:
    """family_climate: one respondent per sampled family (~35%), answering for their youngest
    enrolled child's building; student_id is empty."""
    fam = roster.sort_values(["year", "family", "grade"], kind="stable").drop_duplicates(
        ["year", "family"])
    fam = fam[rng.random(len(fam)) < 0.35]
    y = fam["year"].to_numpy()
    return responses(rng, "family_climate", years, y,
                     buildings["building_id"].to_numpy()[fam["bld"].to_numpy()], None,
                     np.zeros(len(fam), np.int64),
                     np.exp(0.6 * rng.normal(0, 1, len(fam))
                            + 0.1 * _climate(buildings, fam["bld"].to_numpy())),
                     linear_rates(list(ITEMS["family_climate"])))


def staff_surveys(rng, staff: pd.DataFrame, years: list[str]) -> list[pd.DataFrame]:
    """staff_climate (~70% of staff respond) and pd_feedback (~65%): respondent_type staff."""
    y = staff["year"].to_numpy()
    out = []
    for survey, rate in (("staff_climate", 0.70), ("pd_feedback", 0.65)):
        who = rng.random(len(staff)) < rate
        out.append(responses(rng, survey, years, y[who], staff["building_id"].to_numpy()[who],
                             None, np.zeros(who.sum(), np.int64),
                             np.exp(0.8 * staff["morale"].to_numpy()[who]
                                    + 0.12 * staff["climate"].to_numpy()[who]),
                             linear_rates(list(ITEMS[survey]))))
    return out


__all__ = ["ITEMS", "survey_items", "responses", "student_survey", "family_survey",
           "staff_surveys"]
