"""Benchmark references: Gaussian copula (thoi) and KSG kNN estimators."""

import numpy as np
import pytest

from fusion.information.baselines import gaussian_copula_measures, ksg_measures, ksg_total_correlation
from fusion.information.systems import StudentTSystem, TransformedSystem, redundant, synergistic

pytest.importorskip("thoi")


def flat(system, n, seed=0):
    return system.sample(n, seed).reshape(n, -1)


def test_gaussian_copula_is_exact_on_gaussians_and_monotone_transforms():
    base = synergistic(3, 2, rho=0.8)
    truth = base.ground_truth()["o_information"]
    for system in (base, TransformedSystem(base, "half_cube"), TransformedSystem(base, "normal_cdf")):
        assert gaussian_copula_measures(flat(system, 20000), system.dims)["o_information"] == pytest.approx(truth, rel=0.05)


def test_gaussian_copula_misses_student_t_dependence():
    """Uncorrelated but dependent (shared χ² scale): the copula sees almost nothing."""
    system = StudentTSystem(redundant(3, 1, rho=0.0), dof=3.0)
    estimate = gaussian_copula_measures(flat(system, 20000), system.dims)["tc"]
    assert system.ground_truth()["tc"] > 0.1 and estimate < 0.5 * system.ground_truth()["tc"]


def test_ksg_total_correlation_of_a_gaussian_pair():
    x = flat(redundant(2, 1, rho=0.8), 4000)
    tc = ksg_total_correlation([x[:, :1], x[:, 1:]], k=5)
    assert tc == pytest.approx(-0.5 * np.log(1 - 0.64), rel=0.1)
    shuffled = np.random.default_rng(0).permutation(x[:, 1:])
    assert abs(ksg_total_correlation([x[:, :1], shuffled])) < 0.05


def test_ksg_o_information_sign():
    for system, sign in ((redundant(3, 1, rho=0.8), 1), (synergistic(3, 1, rho=0.9), -1)):
        omega = ksg_measures(flat(system, 3000), system.dims)["o_information"]
        assert np.sign(omega) == sign
