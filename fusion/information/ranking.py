"""Does an estimated ∂_iΩ rank the variables as the exact values do? (issue 21)

∂_iΩ is read as a ranking (which sensor carries the most redundancy, which the most synergy), so it
is scored as one: Spearman's ρ over all variables, the same argmax and argmin, and the share of the
pairs whose exact values differ by at least ``margin`` nats that the estimate puts in the same
order. Pairs closer than ``margin`` are ties for any practical reading and are not counted.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
from scipy.stats import spearmanr


def rank_agreement(estimate: np.ndarray, truth: np.ndarray, margin: float = 0.05) -> dict:
    """Ranking scores of ``estimate`` [N] against ``truth`` [N] (N ≥ 3).

    Returns ``spearman``, ``same_argmax``, ``same_argmin``, ``resolved_pairs`` (pairs with
    |truth_i − truth_j| ≥ margin) and ``pairs_in_order`` (share of those the estimate orders alike;
    NaN when there is none).
    """
    estimate, truth = np.asarray(estimate, float), np.asarray(truth, float)
    if estimate.shape != truth.shape or estimate.ndim != 1 or len(truth) < 3:
        raise ValueError(f"need two vectors of the same length ≥ 3, got {estimate.shape} and {truth.shape}")
    pairs = [(i, j) for i, j in combinations(range(len(truth)), 2) if abs(truth[i] - truth[j]) >= margin]
    in_order = [np.sign(estimate[i] - estimate[j]) == np.sign(truth[i] - truth[j]) for i, j in pairs]
    return {
        "spearman": float(spearmanr(estimate, truth).statistic),
        "same_argmax": bool(np.argmax(estimate) == np.argmax(truth)),
        "same_argmin": bool(np.argmin(estimate) == np.argmin(truth)),
        "resolved_pairs": len(pairs),
        "pairs_in_order": float(np.mean(in_order)) if pairs else float("nan"),
    }
