"""Reference estimators for the benchmark: Gaussian copula (thoi) and kNN (KSG).

- Gaussian copula: thoi's rank-based copula covariance (each coordinate mapped to a standard
  normal through its ranks), then the closed Gaussian formulas of ``ground_truth`` on variable
  blocks (thoi itself treats every column as a variable; grouping coordinates into
  multi-dimensional variables is done here). Exact when the data is a Gaussian copula, e.g. any
  per-coordinate monotone transform of a Gaussian; biased otherwise.
- KSG: Kraskov–Stögbauer–Grassberger estimator (algorithm 1) of the total correlation, extended to
  N multi-dimensional variables with the max-norm, on ``scipy.spatial.cKDTree``:
      TC = ψ(k) + (N − 1)·ψ(n) − ⟨Σ_i ψ(n_i + 1)⟩,
  n_i counting the samples strictly within the joint k-th-neighbour distance in variable i.
  DTC = (N − 1)·TC(X) − Σ_i TC(X∖i), so Ω = (2 − N)·TC(X) + Σ_i TC(X∖i).

Both take x [n, D] with ``dims`` and return nats.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy.spatial import cKDTree
from scipy.special import digamma

from fusion.information.ground_truth import gaussian_measures


def gaussian_copula_measures(x: np.ndarray, dims: Sequence[int]) -> dict:
    """TC, DTC, S, Ω, ∂_iΩ and pairwise MI of the Gaussian copula of ``x`` (thoi's copula covariance)."""
    from thoi.commons import gaussian_copula_covmat  # optional dependency, benchmark only

    _, covariance = gaussian_copula_covmat(torch.as_tensor(x, dtype=torch.float64)[None])
    return gaussian_measures(covariance[0].numpy(), dims)


def _variable_blocks(x: np.ndarray, dims: Sequence[int]) -> list[np.ndarray]:
    ends = np.cumsum(dims)
    return [x[:, end - d : end] for d, end in zip(dims, ends)]


def ksg_total_correlation(blocks: Sequence[np.ndarray], k: int = 5) -> float:
    """KSG-1 total correlation of the variables ``blocks`` (each [n, d_i])."""
    n = blocks[0].shape[0]
    joint = np.concatenate(blocks, axis=1)
    # max-norm distance to the k-th neighbour (index 0 of the query is the point itself)
    radius = cKDTree(joint).query(joint, k=k + 1, p=np.inf)[0][:, -1]
    radius = np.nextafter(radius, 0)  # strictly closer than the k-th neighbour
    counts = [cKDTree(block).query_ball_point(block, radius, p=np.inf, return_length=True) - 1 for block in blocks]
    return float(digamma(k) + (len(blocks) - 1) * digamma(n) - np.mean(sum(digamma(c + 1) for c in counts)))


def ksg_measures(x: np.ndarray, dims: Sequence[int], k: int = 5) -> dict:
    """TC, DTC, S and Ω from KSG total correlations of the system and its leave-one-out subsystems."""
    blocks = _variable_blocks(x, dims)
    n_vars = len(blocks)
    tc = ksg_total_correlation(blocks, k)
    tc_without = [ksg_total_correlation([b for j, b in enumerate(blocks) if j != i], k) if n_vars > 2 else 0.0 for i in range(n_vars)]
    dtc = (n_vars - 1) * tc - sum(tc_without)
    return {"tc": tc, "dtc": dtc, "s_information": tc + dtc, "o_information": tc - dtc}
