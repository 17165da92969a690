"""Closed-form ground truth and benchmark systems, checked against independent formulas."""

import numpy as np
import pytest
from scipy import stats

from fusion.information.ground_truth import block_entropy, gaussian_entropy, measures_from_entropy, student_t_entropy
from fusion.information.systems import (
    StudentTSystem,
    TransformedSystem,
    half_cube,
    mixed,
    normal_cdf,
    redundant,
    factor_model,
    shear,
    spiral,
    synergistic,
)


@pytest.mark.parametrize("rho, dim", [(0.5, 1), (0.9, 3)])
def test_two_variable_gaussian_mi_matches_textbook_formula(rho, dim):
    system = redundant(2, dim, rho=rho)
    truth = system.ground_truth()
    expected = -0.5 * dim * np.log(1 - rho**2)
    assert truth["mi_c"][0, 1] == pytest.approx(expected)
    # with two variables TC, DTC and MI coincide and Ω vanishes
    assert truth["tc"] == pytest.approx(expected) and truth["dtc"] == pytest.approx(expected)
    assert truth["o_information"] == pytest.approx(0.0, abs=1e-12)


def test_gaussian_entropy_matches_scipy():
    cov = np.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.5]])
    assert gaussian_entropy(cov) == pytest.approx(stats.multivariate_normal(cov=cov).entropy())


def test_scalar_measures_match_thoi_covariance_formulas():
    """thoi computes TC/DTC from covariance and precision diagonals: an independent derivation."""
    thoi = pytest.importorskip("thoi.measures.gaussian_copula")
    system = mixed(redundant(3, rho=0.7), synergistic(4, rho=0.8))
    truth = system.ground_truth()
    tc, dtc, omega, s = thoi.nplets_measures(system.covariance, covmat_precomputed=True, T=None)[0, 0].tolist()
    assert tc == pytest.approx(truth["tc"]) and dtc == pytest.approx(truth["dtc"])
    assert omega == pytest.approx(truth["o_information"]) and s == pytest.approx(truth["s_information"])


def test_benchmark_systems_have_the_expected_interaction_sign():
    assert redundant(4, 2, rho=0.6).ground_truth()["o_information"] > 0
    assert synergistic(4, 2, rho=0.8).ground_truth()["o_information"] < 0
    gradient = mixed(redundant(3, rho=0.8), synergistic(3, rho=0.9)).ground_truth()["o_gradient"]
    assert (gradient[:3] > 0).all() and (gradient[3:] < 0).all()


def test_measures_scale_with_dimension_and_add_over_independent_subsystems():
    one, five = redundant(3, 1, rho=0.6).ground_truth(), redundant(3, 5, rho=0.6).ground_truth()
    assert five["o_information"] == pytest.approx(5 * one["o_information"])
    red, syn = redundant(3, rho=0.8), synergistic(3, rho=0.9)
    both = mixed(red, syn).ground_truth()
    for key in ("tc", "dtc", "o_information"):
        assert both[key] == pytest.approx(red.ground_truth()[key] + syn.ground_truth()[key])


def test_noise_parametrisation_matches_rho():
    assert redundant(3, noise=0.5).ground_truth()["tc"] == pytest.approx(redundant(3, rho=1 / 1.25).ground_truth()["tc"])
    assert synergistic(3, noise=0.5).ground_truth()["dtc"] == pytest.approx(synergistic(3, rho=1 / np.sqrt(1.25)).ground_truth()["dtc"])


def test_sampled_systems_have_their_covariance():
    system = synergistic(4, 2, rho=0.8)
    x = system.sample(40000, seed=3).reshape(40000, -1)
    assert np.allclose(np.cov(x, rowvar=False), system.covariance, atol=0.03)


def test_student_t_entropy_matches_scipy():
    dispersion = np.array([[1.0, 0.4], [0.4, 2.0]])
    assert student_t_entropy(dispersion, 4.0) == pytest.approx(stats.multivariate_t(shape=dispersion, df=4.0).entropy())
    assert student_t_entropy(np.eye(1), 3.0) == pytest.approx(stats.t(df=3.0).entropy())


def test_student_t_total_correlation_matches_monte_carlo():
    """TC = E[log p(x) − Σ_i log p(x_i)], estimated with scipy densities on samples."""
    system = StudentTSystem(redundant(3, 1, rho=0.5), dof=3.0)
    x = system.sample(200000, seed=4).reshape(200000, -1)
    joint = stats.multivariate_t(shape=system.base.covariance, df=3.0).logpdf(x)
    marginals = sum(stats.t(df=3.0).logpdf(x[:, i]) for i in range(3))
    monte_carlo = float(np.mean(joint - marginals))
    assert system.ground_truth()["tc"] == pytest.approx(monte_carlo, abs=0.01)
    # a shared χ² scale makes variables dependent even with identity dispersion: not a Gaussian copula
    independent = StudentTSystem(redundant(3, 1, rho=0.0), dof=3.0).ground_truth()
    assert independent["tc"] > 0.05


def test_transforms_are_bijections_with_the_same_ground_truth():
    x = redundant(3, 2, rho=0.7).sample(1000, seed=5)
    cubed = half_cube(x)
    assert np.allclose(np.sign(cubed) * np.abs(cubed) ** (2 / 3), x)
    assert np.allclose(stats.norm.ppf(normal_cdf(x)), x, atol=1e-8)
    turned = spiral(x, speed=0.5)
    assert np.allclose(np.linalg.norm(turned, axis=-1), np.linalg.norm(x, axis=-1))
    assert np.allclose(spiral(turned, speed=-0.5), x)  # inverse: turn back by the same angle
    assert not np.allclose(turned, x)
    sheared = shear(x, strength=0.5)
    undone = sheared.copy()
    for k in range(1, x.shape[-1]):  # inverse, coordinate by coordinate
        undone[..., k] = sheared[..., k] - 0.5 * undone[..., k - 1] ** 2
    assert np.allclose(undone, x) and not np.allclose(sheared, x)
    base = redundant(3, 2, rho=0.7)
    for name in ("half_cube", "normal_cdf", "spiral", "shear"):
        assert TransformedSystem(base, name).ground_truth()["o_information"] == base.ground_truth()["o_information"]


def test_block_entropy_uses_whole_variables():
    cov = np.kron(np.array([[1.0, 0.5], [0.5, 1.0]]), np.eye(2))
    entropy = block_entropy(cov, (2, 2), gaussian_entropy)
    assert entropy((0,)) == pytest.approx(gaussian_entropy(np.eye(2)))
    assert measures_from_entropy(entropy, 2)["tc"] == pytest.approx(-np.log(1 - 0.25))


def test_factor_model_correlation_and_one_factor_closed_form():
    loadings = np.array([[0.9, 0.1], [0.7, -0.3], [0.2, 0.8], [0.5, 0.5]])
    system = factor_model(loadings, dim=2)
    x = system.sample(40000, seed=3).reshape(40000, 4, 2)[:, :, 0]
    assert np.allclose(np.corrcoef(x.T), loadings @ loadings.T + np.diag(1 - (loadings**2).sum(1)), atol=0.02)
    # one factor, two variables: ρ = λ_1 λ_2, I = −½ d log(1 − ρ²)
    pair = factor_model([[0.8], [0.6]], dim=3).ground_truth()
    assert pair["tc"] == pytest.approx(-1.5 * np.log(1 - 0.48**2))
    with pytest.raises(ValueError, match="norm below 1"):
        factor_model([[0.8, 0.7], [0.1, 0.1]])
