"""The estimator's Monte-Carlo machinery on the *exact* denoiser of Gaussian systems.

With the optimal noise predictor plugged in, every measure must come out at its closed-form value
up to Monte-Carlo error: this checks the configurations read by each measure, the importance
weights and normaliser, the pointwise bookkeeping and the unit conversion — independently of
training.
"""

import numpy as np
import pytest

from tests.fixtures.information import single_torch_thread  # noqa: F401  (autouse)
from fusion.information.estimator import InformationEstimator
from fusion.information.measures import MEASURES
from fusion.information.oracle import GaussianOracle
from fusion.information.results import NATS_PER_BIT
from fusion.information.systems import mixed, redundant, synergistic
from fusion.information.variables import Standardizer


def oracle_estimator(system) -> InformationEstimator:
    """An estimator whose denoiser is the exact one (samples are already standardised)."""
    estimator = InformationEstimator()
    estimator.dims = system.dims
    estimator.measures = tuple(m for m in MEASURES if m != "o_gradient" or system.n_vars >= 3)
    total = sum(system.dims)
    estimator.standardizer = Standardizer(np.zeros(total, np.float32), np.ones(total, np.float32))
    estimator.net = GaussianOracle(system.covariance, system.dims, estimator.schedule)
    return estimator


@pytest.fixture(scope="module")
def mixed_system_result():
    system = mixed(redundant(3, 1, rho=0.8), synergistic(3, 1, rho=0.9))
    return system, oracle_estimator(system).measure(system.sample(2000, seed=1), mc_repeats=4)


def test_exact_denoiser_recovers_every_measure(mixed_system_result):
    system, result = mixed_system_result
    truth = system.ground_truth()
    for name in MEASURES:
        value, std = np.asarray(result[name].value), np.asarray(result[name].stderr)
        assert np.nanmax(np.abs(value - truth[name])) < 0.06 + 4 * np.nanmax(std), name


def test_pointwise_contributions_average_to_the_estimate(mixed_system_result):
    _, result = mixed_system_result
    for name in ("tc", "o_information", "o_gradient", "mi_j"):
        estimate = result[name]
        assert estimate.pointwise.shape[0] == result.n_samples
        assert np.allclose(estimate.pointwise.mean(axis=0), estimate.value, equal_nan=True)
    # S = TC + DTC and Ω = TC − DTC hold sample by sample
    assert np.allclose(result["s_information"].pointwise, result["tc"].pointwise + result["dtc"].pointwise)
    assert np.allclose(result["o_information"].pointwise, result["tc"].pointwise - result["dtc"].pointwise)
    assert np.isnan(np.diagonal(result["mi_c"].value)).all()


def test_two_variable_mi_and_bits():
    system = redundant(2, 2, rho=0.8)  # I = −log(1 − 0.64) ≈ 1.02 nats
    result = oracle_estimator(system).measure(system.sample(3000, seed=2), measures=["mi_c", "mi_j", "tc"], mc_repeats=4, bits=True)
    truth_bits = system.ground_truth()["mi_c"][0, 1] / NATS_PER_BIT
    assert result.unit == "bits"
    for name in ("mi_c", "mi_j"):
        assert result[name].value[0, 1] == pytest.approx(truth_bits, rel=0.06)
    assert result["tc"].value == pytest.approx(truth_bits, rel=0.06)


def test_monte_carlo_spread_shrinks_with_more_samples():
    system = synergistic(3, 1, rho=0.9)
    estimator = oracle_estimator(system)
    small = estimator.measure(system.sample(500, seed=3), measures=["o_information"], mc_repeats=6)["o_information"].std
    large = estimator.measure(system.sample(4000, seed=3), measures=["o_information"], mc_repeats=6)["o_information"].std
    assert large < small


def test_entropy_is_in_data_units_and_pointwise_it_is_the_surprise():
    """H(X_i) follows the data's scale (+ d·log s); per sample, −log p(x) is larger far out in the tails."""
    system = redundant(2, 2, rho=0.6)
    estimator = oracle_estimator(system)
    scale, shift = 3.0, 5.0
    estimator.standardizer = Standardizer(np.full(4, shift, np.float32), np.full(4, scale, np.float32))
    z = system.sample(4000, seed=4)
    result = estimator.measure(shift + scale * z, measures=["entropy"], mc_repeats=4)["entropy"]
    truth = system.ground_truth()["entropy"] + 2 * np.log(scale)
    np.testing.assert_allclose(result.value, truth, atol=0.06 + 4 * result.stderr.max())
    # the exact −log N of each 2-d marginal, up to Monte-Carlo noise: radius tells the surprise apart
    exact = 0.5 * (z[:, 0] ** 2).sum(axis=1) + np.log(2 * np.pi) + 2 * np.log(scale)  # z [n, N, d]
    assert np.corrcoef(result.pointwise[:, 0], exact)[0, 1] > 0.9
