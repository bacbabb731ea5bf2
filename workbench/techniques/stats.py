"""Statistics of paired measurements: effect sizes, paired t-tests, Benjamini-Hochberg q-values.

Used by the preference audit to compare chosen and rejected responses latent by latent;
plain numpy (and scipy's t distribution), no model.
"""

from __future__ import annotations

import numpy as np


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) of a 1-d array.

    Examples
    --------
    >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5])).round(3).tolist()
    [0.04, 0.053, 0.053, 0.5]
    """
    p = np.asarray(p, dtype=np.float64)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.clip(q_sorted, 0.0, 1.0)
    return q


def paired_statistics(chosen: np.ndarray, rejected: np.ndarray, length_diff: np.ndarray) -> dict[str, np.ndarray]:
    """Per latent (column): mean difference, d_z, paired t and two-sided p, correlation with length.

    A column whose differences are all equal has ``effect_size = t = 0``, ``p = 1``
    (nothing to test) and ``length_r = 0``.

    Examples
    --------
    >>> stats = paired_statistics(np.array([[1.0], [2.0], [4.0]]), np.zeros((3, 1)), np.array([1.0, 2.0, 3.0]))
    >>> round(float(stats["effect_size"][0]), 3), round(float(stats["length_r"][0]), 3)
    (1.528, 0.982)
    """
    from scipy import stats

    diff = np.asarray(chosen, dtype=np.float64) - np.asarray(rejected, dtype=np.float64)
    n = diff.shape[0]
    if n < 2:
        raise ValueError(f"The audit needs at least 2 pairs, not {n}.")
    mean = diff.mean(0)
    sd = diff.std(0, ddof=1)
    tiny = sd <= 1e-12 * np.maximum(np.abs(diff).max(0), 1e-30)
    safe_sd = np.where(tiny, 1.0, sd)
    effect = np.where(tiny, 0.0, mean / safe_sd)
    t = effect * np.sqrt(n)
    p = np.where(tiny, 1.0, 2.0 * stats.t.sf(np.abs(t), n - 1))
    lengths = np.asarray(length_diff, dtype=np.float64)
    lc = lengths - lengths.mean()
    dc = diff - mean
    denom = np.sqrt((dc**2).sum(0) * (lc**2).sum())
    r = np.divide(lc @ dc, denom, out=np.zeros_like(mean), where=(denom > 0) & ~tiny)
    return {"mean_diff": mean, "sd_diff": sd, "effect_size": effect, "t": t, "p": p, "length_r": r}
