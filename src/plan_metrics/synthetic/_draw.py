"""Random-draw helpers of the synthetic district: exact-count picks, planted rates, ids."""

from __future__ import annotations

import numpy as np
import pandas as pd


def round_half_up(x) -> np.ndarray:
    """Round to the nearest integer, halves up (np.rint rounds halves to even)."""
    return np.floor(np.asarray(x, dtype=float) + 0.5).astype(np.int64)


def exact_pick(rng: np.random.Generator, codes, k_per_code, weights=None) -> np.ndarray:
    """Choose exactly ``k_per_code[c]`` members of each group ``c`` (codes 0..G-1), without
    replacement, with probability growing with ``weights`` (Efraimidis-Spirakis keys).

    This is how the planted effects are made exact: within each group the count of chosen members
    is fixed, so a group's rate is k/n up to rounding; the weights still tie the choice to the
    student's other traits (e.g. disability, a persistent latent) so the data look natural.
    Members with weight 0 are never chosen; a group's k is capped at its positive-weight members.
    """
    codes = np.asarray(codes, dtype=np.int64)
    n = len(codes)
    if n == 0:
        return np.zeros(0, dtype=bool)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    u = rng.random(n)
    # key u^(1/w) in [0, 1] (0 for weight 0); one float sort key: group, then key descending
    with np.errstate(divide="ignore", invalid="ignore"):
        key = np.where(w > 0, np.exp(np.log(u) / np.where(w > 0, w, 1.0)), 0.0)
    order = np.argsort(codes * 2.0 + (1.0 - key))
    sorted_codes = codes[order]
    k = np.asarray(k_per_code, dtype=np.int64)
    sizes = np.bincount(codes, minlength=len(k))
    rank = np.arange(n) - (np.cumsum(sizes) - sizes)[sorted_codes]
    chosen = np.zeros(n, dtype=bool)
    chosen[order] = (rank < k[sorted_codes]) & (key[order] > 0)
    return chosen


def categorical(rng, probs: dict, size: int) -> np.ndarray:
    """Draw ``size`` labels from {label: probability} (probabilities renormalized)."""
    labels = np.array(list(probs), dtype=object)
    p = np.array(list(probs.values()), dtype=float)
    return labels[rng.choice(len(labels), size=size, p=p / p.sum())]


def ids(prefix: str, numbers, width: int) -> pd.Categorical:
    """('S', [1, 2], 6) -> ['S000001', 'S000002'], as a categorical: each distinct id is
    formatted once, which keeps million-row tables fast to build and write."""
    numbers = np.asarray(numbers, dtype=np.int64)
    uniq, inv = np.unique(numbers, return_inverse=True)
    return pd.Categorical.from_codes(inv, categories=[f"{prefix}{x:0{width}d}" for x in uniq.tolist()])


def labels(codes, categories) -> pd.Categorical:
    """Integer codes -> a categorical column of the given labels (-1 = missing)."""
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=list(categories))


def two_group_rates(overall, ratio, n_group, n_other):
    """Risks (group, others) with group risk = ratio x others' risk and the pooled risk = overall:
    p_other = overall (n_g + n_o) / (ratio n_g + n_o)."""
    n_group, n_other = np.asarray(n_group, float), np.asarray(n_other, float)
    p_other = overall * (n_group + n_other) / (ratio * n_group + n_other)
    return ratio * p_other, p_other


def gap_rates(overall, gap_points, n_group, n_other):
    """Rates (group, others) with group - others = gap_points / 100 and the pooled rate = overall:
    p_other = overall - gap x share of the group."""
    n_group, n_other = np.asarray(n_group, float), np.asarray(n_other, float)
    share = n_group / np.maximum(n_group + n_other, 1)
    p_other = overall - np.asarray(gap_points) / 100 * share
    return p_other + np.asarray(gap_points) / 100, p_other
