"""Variable roles of the amortised denoiser: which variables are clean, denoised or absent (SPEC §6).

A *configuration* gives every one of the N variables a role; the denoiser sees it as the
multi-time vector τ ∈ {0, t, T}^N:

- ``CLEAN``    (τ_i = 0): the variable is given noiseless, as conditioning;
- ``DIFFUSED`` (τ_i = t): the variable is noised to time t and its noise is predicted;
- ``ABSENT``   (τ_i = T): the variable is replaced by pure noise, i.e. marginalised out.

Joint of S: S diffused, rest absent. Marginal of i: joint of {i}. Conditional of i given G:
i diffused, G clean, rest absent. Configurations are plain tuples so they can be hashed,
deduplicated and stored in JSON (their tensor form is in ``multitime.py``).
"""

from __future__ import annotations

from collections.abc import Iterable

CLEAN, DIFFUSED, ABSENT = 0, 1, 2

Configuration = tuple[int, ...]


def joint(present: Iterable[int], n_vars: int) -> Configuration:
    """Every variable of ``present`` denoised together, the others absent."""
    present = set(present)
    return tuple(DIFFUSED if i in present else ABSENT for i in range(n_vars))


def marginal(i: int, n_vars: int) -> Configuration:
    return joint([i], n_vars)


def conditional(i: int, given: Iterable[int], n_vars: int) -> Configuration:
    """Variable ``i`` denoised given the clean variables ``given``; the others absent."""
    given = set(given)
    if i in given:
        raise ValueError(f"variable {i} cannot be both denoised and given")
    return tuple(DIFFUSED if j == i else CLEAN if j in given else ABSENT for j in range(n_vars))
