"""A random held-out family of systems with exact measures, for ``benchmarks/information.py`` (issue 21).

Every member is a factor model (``systems.factor_model``: K random factors, unequal loadings, each
variable's share of the factors drawn in [0.15, 0.85]) with N variables of d coordinates, seen as
one of ``KINDS``:

- ``gaussian``; ``half_cube`` (monotone per coordinate: the Gaussian copula stays exact);
- ``student_t3`` / ``student_t5``: shared χ² scale with ν = 3 / 5 (exact through Student-t entropies);
- ``spiral`` / ``shear``: per-variable bijections that mix coordinates (d ≥ 2), measures unchanged.

The student-t, spiral and shear members are where a Gaussian copula is not exact. The family is
drawn from ``HELD_OUT_SEED``, which no test uses, so no default is tuned on it by the test suite.
"""

from __future__ import annotations

import numpy as np

from fusion.information.cli import split
from fusion.information.systems import StudentTSystem, TransformedSystem, factor_model

HELD_OUT_SEED = 20261221
KINDS = ("gaussian", "half_cube", "student_t3", "student_t5", "spiral", "shear")
# (kind, N, d): the small family keeps to N ≤ 6, d ≤ 3 (one fit in minutes); "full" adds N up to 10, d up to 5
SMALL = (("gaussian", 6, 2), ("student_t3", 5, 3), ("student_t5", 4, 2), ("spiral", 5, 3), ("shear", 6, 2))
FULL = SMALL + (("half_cube", 8, 1), ("student_t3", 8, 1), ("gaussian", 10, 3), ("spiral", 6, 4),
                ("shear", 8, 3), ("student_t5", 10, 2), ("spiral", 10, 5), ("gaussian", 4, 5))


def random_loadings(rng: np.random.Generator, n_vars: int, n_factors: int) -> np.ndarray:
    """[N, K] loadings: random directions, squared row norms (shares of the factors) in [0.15, 0.85]."""
    directions = rng.standard_normal((n_vars, n_factors))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return directions * np.sqrt(rng.uniform(0.15, 0.85, size=(n_vars, 1)))


def member(rng: np.random.Generator, kind: str, n_vars: int, dim: int):
    """One system of ``kind`` on a random 1- or 2-factor model."""
    base = factor_model(random_loadings(rng, n_vars, int(rng.integers(1, 3))), dim)
    if kind == "gaussian":
        return base
    if kind == "half_cube":
        return TransformedSystem(base, "half_cube")
    if kind in ("student_t3", "student_t5"):
        return StudentTSystem(base, float(kind[-1]))
    if kind in ("spiral", "shear"):
        return TransformedSystem(base, kind)
    raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")


def family(full: bool = False, seed: int = HELD_OUT_SEED) -> list[tuple[str, object]]:
    """(name, system) pairs; each member is drawn from its own stream of ``seed``."""
    out = []
    for index, (kind, n_vars, dim) in enumerate(FULL if full else SMALL):
        system = member(np.random.default_rng((seed, index)), kind, n_vars, dim)
        out.append((f"{kind} N={n_vars} d={dim}", system))
    return out


def heldout_split(system, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n samples of a member drawn from ``HELD_OUT_SEED``, split as ``nightfusion info`` splits them (20 %
    measured): (train, test), each [m, N, d]."""
    train, test = split(list(system.sample(n, HELD_OUT_SEED).astype(np.float32).transpose(1, 0, 2)), 0.2, 0)
    return np.stack(train, axis=1), np.stack(test, axis=1)
