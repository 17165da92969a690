"""Information measures as sums of score-based KL divergences (thesis Props. 3–5, §4.5; SPEC §6).

Each KL is ∫ β/(2σ²)·E Σ_i ‖ε̂_left(i)[i] − ε̂_right(i)[i]‖² dt, where every denoised variable i
reads its noise prediction from one configuration on each side, all at the same x_t:

- TC(S)  = KL(joint of S ‖ product of marginals):   joint(S) vs marginal(i), i ∈ S
- DTC(S) = joint(S) vs conditional(i | S∖i), i ∈ S
- MINDE-c I(X_i; X_j) = conditional(i | j) vs marginal(i)
- MINDE-j I(X_i; X_j) = joint({i, j}) vs [conditional(i | j), conditional(j | i)]
- I(X_i; X∖i), what variable i shares with all the others = conditional(i | X∖i) vs marginal(i)

Entropies are not divergences between two configurations but the log-ratio against the standard
normal reference N(0, I) of the (standardised) variable, whose optimal noise prediction at x_t is
σ_t·x_t. Per sample (MINDE, thesis §4.3), with t, ε drawn as above:

- H(X_i): −log p(x_i) ≈ −log N(x_i) + ∫ β/(2σ²)·(‖ε − ε̂_marginal(i)‖² − ‖ε − σ x_t‖²) dt

whose mean is H(X_i) (the difference of the two denoising losses is KL(p ‖ N) in expectation).
Pointwise it is the *surprise* of a sample under the fitted distribution, which the redundancy
monitor uses to notice a sensor whose data no longer looks like nominal data. The thesis' Eq. 4.22
writes the integrand as the score difference −‖ε̂ − σ x_t‖² instead; both have mean H(X_i) with the
exact denoiser, but only the loss difference is −log p(x_i) sample by sample, and with a denoiser
error e its bias is E‖e‖² (second order) where Eq. 4.22's is −E‖e‖² − 2E⟨ε̂* − σx_t, e⟩ (first
order). On the closed-form oracle (tests/test_information_surprise.py) its per-sample error was
below half of Eq. 4.22's, exact, under-fitted and trained; Eq. 4.22's *mean* was closer only for
a denoiser trained far too briefly (200 steps: +0.29 vs −0.14 nats).

A measure maps an index (``()`` for a scalar, ``(i,)`` per variable, ``(i, j)`` per pair) to a
signed sum of divergences: S = TC + DTC, Ω = TC − DTC, ∂_iΩ = Ω(X) − Ω(X∖i). The configurations
a measure reads are exactly the ones the denoiser must be trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from fusion.information.configurations import Configuration, conditional, joint, marginal

MEASURES = ("tc", "dtc", "s_information", "o_information", "o_gradient", "mi_c", "mi_j", "mi_rest", "entropy")
DEFAULT_MEASURES = ("tc", "dtc", "s_information", "o_information")


@dataclass(frozen=True)
class Divergence:
    """One KL: per denoised variable, the configuration read on the left and on the right."""

    terms: tuple[tuple[int, Configuration, Configuration], ...]

    @property
    def configurations(self) -> set[Configuration]:
        return {c for _, left, right in self.terms for c in (left, right)}


@dataclass(frozen=True)
class SelfInformation:
    """−log p(x_i) per sample against the standard-normal reference (see the module docstring)."""

    variable: int
    configuration: Configuration  # marginal(variable)

    @property
    def configurations(self) -> set[Configuration]:
        return {self.configuration}


Integrand = Divergence | SelfInformation
Combination = tuple[tuple[float, Integrand], ...]


def total_correlation(present: tuple[int, ...], n_vars: int) -> Divergence:
    both = joint(present, n_vars)
    return Divergence(tuple((i, both, marginal(i, n_vars)) for i in present))


def dual_total_correlation(present: tuple[int, ...], n_vars: int) -> Divergence:
    both = joint(present, n_vars)
    return Divergence(tuple((i, both, conditional(i, set(present) - {i}, n_vars)) for i in present))


def minde_c(i: int, j: int, n_vars: int) -> Divergence:
    return Divergence(((i, conditional(i, [j], n_vars), marginal(i, n_vars)),))


def shared_with_rest(i: int, n_vars: int) -> Divergence:
    rest = [j for j in range(n_vars) if j != i]
    return Divergence(((i, conditional(i, rest, n_vars), marginal(i, n_vars)),))


def minde_j(i: int, j: int, n_vars: int) -> Divergence:
    both = joint((i, j), n_vars)
    return Divergence(((i, both, conditional(i, [j], n_vars)), (j, both, conditional(j, [i], n_vars))))


def _o_information(present: tuple[int, ...], n_vars: int, sign: float = 1.0) -> Combination:
    return ((sign, total_correlation(present, n_vars)), (-sign, dual_total_correlation(present, n_vars)))


def plan(name: str, n_vars: int) -> dict[tuple[int, ...], Combination]:
    """Index → signed divergences for measure ``name`` on a system of ``n_vars`` variables."""
    every = tuple(range(n_vars))
    if name == "tc":
        return {(): ((1.0, total_correlation(every, n_vars)),)}
    if name == "dtc":
        return {(): ((1.0, dual_total_correlation(every, n_vars)),)}
    if name == "s_information":
        return {(): ((1.0, total_correlation(every, n_vars)), (1.0, dual_total_correlation(every, n_vars)))}
    if name == "o_information":
        return {(): _o_information(every, n_vars)}
    if name == "o_gradient":
        if n_vars < 3:
            raise ValueError("the gradient of O-information needs at least 3 variables")
        whole = _o_information(every, n_vars)
        return {(i,): whole + _o_information(tuple(j for j in every if j != i), n_vars, sign=-1.0) for i in every}
    if name == "mi_c":
        return {(i, j): ((1.0, minde_c(i, j, n_vars)),) for i in every for j in every if i != j}
    if name == "mi_j":
        return {(i, j): ((1.0, minde_j(i, j, n_vars)),) for i, j in combinations(every, 2)}
    if name == "mi_rest":
        return {(i,): ((1.0, shared_with_rest(i, n_vars)),) for i in every}
    if name == "entropy":
        return {(i,): ((1.0, SelfInformation(i, marginal(i, n_vars))),) for i in every}
    raise ValueError(f"unknown measure {name!r}; choose from {', '.join(MEASURES)}")


def required_configurations(names: tuple[str, ...], n_vars: int) -> list[Configuration]:
    """Sorted union of the configurations read by the measures ``names``."""
    needed: set[Configuration] = set()
    for name in names:
        for combination in plan(name, n_vars).values():
            for _, integrand in combination:
                needed |= integrand.configurations
    return sorted(needed)
