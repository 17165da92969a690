"""The Gaussian copula beside a score-based estimate: values, intervals and the disagreement flag."""

import math

import numpy as np
import pytest

from fusion.information.comparison import Z_90, compare_with_copula, copula_values
from fusion.information.results import NATS_PER_BIT, Estimate, InformationResult
from fusion.information.systems import StudentTSystem, redundant

pytest.importorskip("thoi")


def result_around(values: dict, n: int, spread: float, unit: str = "nats") -> InformationResult:
    """A result whose pointwise contributions are ``value`` ± ``spread`` (alternating): se = spread·√(n/(n−1))/√n."""
    signs = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    estimates = {}
    for name, value in values.items():
        value = np.asarray(value, dtype=float)
        pointwise = value + spread * signs.reshape((n,) + (1,) * value.ndim)
        estimates[name] = Estimate(value, np.zeros_like(value), pointwise, repeats=4)
    return InformationResult(estimates, unit, n)


def test_interval_is_value_plus_minus_z_standard_errors_and_the_flag_follows_the_copula():
    system = redundant(3, 2, rho=0.6)
    x = system.sample(4000, seed=3)
    truth = system.ground_truth()
    n, spread = 400, 0.5
    stderr = spread * math.sqrt(n / (n - 1)) / math.sqrt(n)
    close = compare_with_copula(result_around({"tc": truth["tc"], "o_information": truth["o_information"]}, n, spread), x)
    assert close["tc"].low == pytest.approx(truth["tc"] - Z_90 * stderr) and close["tc"].high == pytest.approx(truth["tc"] + Z_90 * stderr)
    assert close["tc"].copula == pytest.approx(truth["tc"], rel=0.05)  # exact on a Gaussian
    assert not close["tc"].disagrees and not close["o_information"].disagrees
    far = compare_with_copula(result_around({"tc": truth["tc"] + 1.0}, n, spread), x)
    assert far["tc"].disagrees and far["tc"].to_json()["disagrees"] is True


def test_vector_and_matrix_measures_flag_elementwise_and_entropy_has_no_copula():
    system = redundant(3, 1, rho=0.5)
    x = system.sample(4000, seed=4)
    truth = system.ground_truth()
    gradient = truth["o_gradient"] + np.array([0.0, 0.0, 2.0])
    compared = compare_with_copula(result_around({"o_gradient": gradient, "mi_j": truth["mi_j"], "entropy": truth["entropy"]}, 200, 0.5), x)
    assert "entropy" not in compared
    assert compared["o_gradient"].disagrees.tolist() == [False, False, True]
    flags = compared["mi_j"].disagrees
    assert not flags.any()  # the NaN diagonal is not a disagreement
    assert compared["mi_j"].to_json()["copula"][0][0] is None


def test_copula_in_bits_and_blind_to_student_t_dependence():
    system = StudentTSystem(redundant(3, 1, rho=0.0), dof=3.0)
    x = system.sample(5000, seed=5)
    nats = copula_values(x, ("tc",))["tc"]
    assert copula_values(x, ("tc",), bits=True)["tc"] == pytest.approx(nats / NATS_PER_BIT)
    # the truth is > 0.1 nats; an estimate near it disagrees with the copula (near 0)
    truth = system.ground_truth()["tc"]
    assert truth > 0.1 and compare_with_copula(result_around({"tc": truth}, 1000, 0.3), x)["tc"].disagrees


def test_an_exact_copy_has_no_copula_value_rather_than_an_error():
    x = np.random.default_rng(0).standard_normal((500, 2, 2))
    copied = np.concatenate([x, x[:, :1]], axis=1)  # a third variable that is the first one
    assert copula_values(copied, ("tc", "mi_j")) == {}
    assert set(copula_values(x, ("tc", "mi_j"))) == {"tc", "mi_j"}
