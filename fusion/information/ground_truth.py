"""Closed-form information measures from subset entropies (thesis Eqs. 5.3–5.6, C.1–C.9; SPEC §6).

Everything derives from H(X_S) for subsets S of the N variables:

    TC(S)  = Σ_{i∈S} H(X_i) − H(X_S)
    DTC(S) = H(X_S) − Σ_{i∈S} H(X_i | X_{S∖i}) = Σ_{i∈S} H(X_{S∖i}) − (|S| − 1)·H(X_S)
    S = TC + DTC,  Ω = TC − DTC,  ∂_iΩ = Ω(X) − Ω(X∖i),  I(X_i; X_j) = H_i + H_j − H_ij,
    I(X_i; X∖i) = H_i + H(X∖i) − H(X).

Entropies are given for Gaussians (covariance Σ) and multivariate Student-t (dispersion Σ, ν
degrees of freedom; every marginal is Student-t with the same ν), in nats.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
from scipy.special import digamma, gammaln

Entropy = Callable[[tuple[int, ...]], float]


def gaussian_entropy(cov: np.ndarray) -> float:
    """H(N(μ, Σ)) = ½ log det(2πe Σ)."""
    sign, logdet = np.linalg.slogdet(2 * np.pi * np.e * np.atleast_2d(cov))
    if sign <= 0:
        raise ValueError("covariance is not positive definite")
    return 0.5 * float(logdet)


def standard_student_t_entropy(k: int, dof: float) -> float:
    """H of a k-dimensional Student-t with identity dispersion (Arellano-Valle et al. 2013, Eq. 7)."""
    half = 0.5 * (dof + k)
    return float(gammaln(0.5 * dof) - gammaln(half) + 0.5 * k * np.log(dof * np.pi) + half * (digamma(half) - digamma(0.5 * dof)))


def student_t_entropy(dispersion: np.ndarray, dof: float) -> float:
    """H(t_ν(μ, Σ)) = ½ log det Σ + H(t_ν(0, I_k))."""
    dispersion = np.atleast_2d(dispersion)
    sign, logdet = np.linalg.slogdet(dispersion)
    if sign <= 0:
        raise ValueError("dispersion is not positive definite")
    return 0.5 * float(logdet) + standard_student_t_entropy(dispersion.shape[0], dof)


def coordinates(subset: Sequence[int], dims: Sequence[int]) -> np.ndarray:
    """Flat coordinate indices of the variables ``subset``."""
    starts = np.concatenate([[0], np.cumsum(dims)[:-1]])
    return np.concatenate([np.arange(starts[i], starts[i] + dims[i]) for i in subset])


def block_entropy(matrix: np.ndarray, dims: Sequence[int], entropy_of: Callable[[np.ndarray], float]) -> Entropy:
    """Subset entropy H(X_S) from a joint (co)variance ``matrix`` over the concatenated variables."""

    @lru_cache(maxsize=None)
    def entropy(subset: tuple[int, ...]) -> float:
        idx = coordinates(subset, dims)
        return entropy_of(matrix[np.ix_(idx, idx)])

    return entropy


def total_correlation(entropy: Entropy, subset: tuple[int, ...]) -> float:
    return sum(entropy((i,)) for i in subset) - entropy(subset)


def dual_total_correlation(entropy: Entropy, subset: tuple[int, ...]) -> float:
    return sum(entropy(tuple(j for j in subset if j != i)) for i in subset) - (len(subset) - 1) * entropy(subset)


def o_information(entropy: Entropy, subset: tuple[int, ...]) -> float:
    if len(subset) < 2:
        return 0.0
    return total_correlation(entropy, subset) - dual_total_correlation(entropy, subset)


def measures_from_entropy(entropy: Entropy, n_vars: int) -> dict:
    """Every measure of ``measures.MEASURES`` (MINDE-c and -j share the true MI matrix), in nats."""
    every = tuple(range(n_vars))
    tc, dtc = total_correlation(entropy, every), dual_total_correlation(entropy, every)
    omega = tc - dtc
    mi = np.full((n_vars, n_vars), np.nan)
    for i in every:
        for j in every:
            if i != j:
                mi[i, j] = entropy((i,)) + entropy((j,)) - entropy(tuple(sorted((i, j))))
    gradient = np.array([omega - o_information(entropy, tuple(j for j in every if j != i)) for i in every])
    rest = np.array([entropy((i,)) + entropy(tuple(j for j in every if j != i)) - entropy(every) for i in every])
    return {"tc": tc, "dtc": dtc, "s_information": tc + dtc, "o_information": omega,
            "o_gradient": gradient, "mi_c": mi, "mi_j": mi.copy(), "mi_rest": rest,
            "entropy": np.array([entropy((i,)) for i in every])}


def gaussian_measures(covariance: np.ndarray, dims: Sequence[int]) -> dict:
    """Every measure of a Gaussian with ``covariance`` [D, D] over variables of dimensions ``dims``, in nats."""
    return measures_from_entropy(block_entropy(covariance, dims, gaussian_entropy), len(dims))
