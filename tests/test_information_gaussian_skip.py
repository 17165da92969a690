"""The Gaussian skip (``gaussian_skip: true``): the denoiser starts as the exact Gaussian model of its
standardised inputs and learns what that model misses."""

from types import SimpleNamespace

import numpy as np
import pytest

from tests.fixtures.information import single_torch_thread  # noqa: F401  (autouse)
from fusion.information import EstimatorConfig, InformationEstimator
from fusion.information.oracle import GaussianOracle
from fusion.information.systems import StudentTSystem, redundant, synergistic
from deploy.export_redundancy import redundancy_section
from preprocessing.errors import UserError

MEASURES = ("tc", "dtc", "o_information")
UNTRAINED = EstimatorConfig(width=32, steps=1, lr=1e-12, mc_repeats=4, gaussian_skip=True)  # one step of size ~1e-12


def test_untrained_skip_is_the_gaussian_model_of_the_standardised_inputs():
    system = synergistic(3, 2, rho=0.8)
    train, test = system.sample(3000, seed=0), system.sample(2000, seed=1)
    estimator = InformationEstimator(UNTRAINED).fit(train, measures=MEASURES)
    inputs = estimator.network_inputs(train.reshape(len(train), -1))
    reference = InformationEstimator(UNTRAINED)
    reference.dims, reference.measures, reference.standardizer = estimator.dims, estimator.measures, estimator.standardizer
    reference.net = GaussianOracle(inputs.T.astype(np.float64) @ inputs / len(inputs), system.dims, reference.schedule)
    result, exact = estimator.measure(test, seed=3), reference.measure(test, seed=3)
    truth = system.ground_truth()
    for name in MEASURES:
        assert np.allclose(result[name].pointwise, exact[name].pointwise, rtol=1e-4, atol=1e-5), name
        assert abs(result[name].value - truth[name]) < 0.06 + 4 * result[name].stderr, name


def test_skip_round_trips_through_save_and_load(tmp_path):
    system = redundant(3, 1, rho=0.6)
    estimator = InformationEstimator(UNTRAINED).fit(system.sample(1000, seed=0), measures=MEASURES)
    loaded = InformationEstimator.load(estimator.save(tmp_path / "skip"))
    test = system.sample(500, seed=1)
    assert loaded.config.gaussian_skip
    assert loaded.measure(test, seed=2)["tc"].value == pytest.approx(estimator.measure(test, seed=2)["tc"].value, rel=1e-6)


def test_skip_learns_the_dependence_a_gaussian_model_misses():
    """Independent Student-t dispersion, one shared scale: uncorrelated, so the Gaussian start sees TC ≈ 0;
    the trained residual must find most of the shared-scale dependence."""
    system = StudentTSystem(redundant(3, 1, rho=0.0), dof=3)
    truth = system.ground_truth()["tc"]
    train, test = system.sample(6000, seed=0), system.sample(3000, seed=1)
    start = InformationEstimator(UNTRAINED).fit(train, measures=("tc",)).measure(test)["tc"].value
    trained_config = UNTRAINED.model_copy(update={"width": 64, "steps": 3000, "lr": 3e-3})
    trained = InformationEstimator(trained_config).fit(train, measures=("tc",)).measure(test)["tc"].value
    assert abs(start) < 0.1 * truth
    assert trained == pytest.approx(truth, rel=0.3)


def test_skip_wraps_the_mlp_only_and_is_not_exported_to_the_vehicle(tmp_path):
    with pytest.raises(ValueError, match="gaussian_skip"):
        EstimatorConfig(backbone="transformer", gaussian_skip=True)
    estimator = InformationEstimator(UNTRAINED).fit(redundant(3, 4, rho=0.6).sample(500, seed=0), measures=("tc",))
    with pytest.raises(UserError, match="gaussian_skip"):
        redundancy_section(SimpleNamespace(estimator=estimator), 4, (4, 6), tmp_path)
