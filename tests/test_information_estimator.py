"""Trained score-based estimators on small Gaussian systems with known measures.

Tolerances come from development runs with these settings (N = 3 scalar variables, 6000 training
samples, 3000 steps of a width-64 MLP; see the final report): Ω within 25 % (measured +14 % on the
redundant and −12 % on the synergistic system), TC/DTC within 15 % (measured ≤ 5 %), MI within 15 %.
"""

import numpy as np
import pytest

from tests.fixtures.information import single_torch_thread  # noqa: F401  (autouse)
from fusion.information import EstimatorConfig, InformationEstimator
from fusion.information.oracle import GaussianOracle
from fusion.information.results import NATS_PER_BIT
from fusion.information.systems import redundant, synergistic
from preprocessing.errors import UserError

FAST = EstimatorConfig(width=64, depth=2, steps=3000, lr=3e-3, mc_repeats=8)
MEASURES = ("tc", "dtc", "o_information")


def fitted(system, measures=MEASURES, config=FAST):
    estimator = InformationEstimator(config).fit(system.sample(6000, seed=0), measures=measures)
    return estimator, estimator.measure(system.sample(4000, seed=1)), system.ground_truth()


@pytest.fixture(scope="module")
def redundant_fit():
    return fitted(redundant(3, 1, rho=0.8))


@pytest.fixture(scope="module")
def synergistic_fit():
    return fitted(synergistic(3, 1, rho=0.9))


@pytest.mark.parametrize("fit_name, sign", [("redundant_fit", 1), ("synergistic_fit", -1)])
def test_o_information_sign_and_size(request, fit_name, sign):
    _, result, truth = request.getfixturevalue(fit_name)
    omega = result["o_information"].value
    assert np.sign(omega) == sign
    assert omega == pytest.approx(truth["o_information"], rel=0.25)
    for name in ("tc", "dtc"):
        assert result[name].value == pytest.approx(truth[name], rel=0.15), name


def test_pointwise_contributions_track_the_exact_denoiser(redundant_fit):
    """Per-sample values average to the estimate and follow those of the exact Gaussian denoiser
    evaluated with the same Monte-Carlo draws (same seed)."""
    estimator, result, _ = redundant_fit
    system = redundant(3, 1, rho=0.8)
    oracle = InformationEstimator(FAST)
    oracle.dims, oracle.measures, oracle.standardizer = estimator.dims, estimator.measures, estimator.standardizer
    oracle.net = GaussianOracle(np.diag(1 / estimator.standardizer.std) @ system.covariance @ np.diag(1 / estimator.standardizer.std),
                                system.dims, oracle.schedule)
    exact = oracle.measure(system.sample(4000, seed=1))
    for name in MEASURES:
        pointwise = result[name].pointwise
        assert pointwise.shape == (result.n_samples,) and pointwise.mean() == pytest.approx(result[name].value)
        assert np.corrcoef(pointwise, exact[name].pointwise)[0, 1] > 0.8, name


def test_measure_in_bits_is_nats_over_log2(redundant_fit):
    estimator, result, _ = redundant_fit
    bits = estimator.measure(redundant(3, 1, rho=0.8).sample(4000, seed=1), bits=True)
    assert bits.unit == "bits"
    assert bits["tc"].value == pytest.approx(result["tc"].value / NATS_PER_BIT)


def test_save_and_load_give_the_same_measures(redundant_fit, tmp_path):
    estimator, _, _ = redundant_fit
    data = redundant(3, 1, rho=0.8).sample(500, seed=2)
    folder = estimator.save(tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "normalisation.json", "weights.safetensors"]
    loaded = InformationEstimator.load(folder)
    assert loaded.measure(data)["o_information"].value == pytest.approx(estimator.measure(data)["o_information"].value, abs=1e-6)
    with pytest.raises(UserError, match="already exists"):
        estimator.save(folder)
    frame = loaded.measure(data[:1])  # an online monitor scores one frame at a time
    assert frame["o_information"].pointwise.shape == (1,) and np.isfinite(frame["o_information"].value)


def test_untrained_measures_and_bad_data_are_refused(redundant_fit):
    estimator, _, _ = redundant_fit
    good = redundant(3, 1, rho=0.8).sample(100, seed=3)
    with pytest.raises(UserError, match="not trained"):
        estimator.measure(good, measures=["o_gradient"])
    with pytest.raises(UserError, match="dimensions"):
        estimator.measure(good[:, :2])
    bad = good.copy()
    bad[7, 1, 0] = np.nan
    with pytest.raises(UserError, match="variable 1 has a non-finite value .*sample 7"):
        estimator.measure(bad)
    with pytest.raises(UserError, match="unknown measure"):
        estimator.measure(good, measures=["negentropy"])


def test_two_variable_mutual_information_minde_c_and_j():
    """2 variables of dimension 2: I = −2·½·log(1 − ρ²) ≈ 1.02 nats; here TC = DTC = MI."""
    estimator, result, truth = fitted(redundant(2, 2, rho=0.8), measures=("mi_c", "mi_j", "tc"))
    for name in ("mi_c", "mi_j"):
        assert result[name].value[0, 1] == pytest.approx(truth["mi_c"][0, 1], rel=0.15), name
    # MINDE-c in both directions and TC estimate the same quantity
    assert result["mi_c"].value[1, 0] == pytest.approx(result["mi_c"].value[0, 1], rel=0.15)
    assert result["tc"].value == pytest.approx(truth["tc"], rel=0.15)


def test_fit_refuses_bad_requests():
    data = redundant(2, 1, rho=0.5).sample(100)
    with pytest.raises(UserError, match="at least 3 variables"):
        InformationEstimator(FAST).fit(data, measures=["o_gradient"])
    constant = np.concatenate([data, np.ones((100, 1, 1))], axis=1)
    with pytest.raises(UserError, match="variable 2 has a constant coordinate"):
        InformationEstimator(FAST).fit(constant)
    with pytest.raises(UserError, match="not fitted"):
        InformationEstimator(FAST).measure(data)


def test_trained_entropy_and_surprise(redundant_fit):
    """The marginals a TC fit trains give H(X_i) (unit-variance scalars: ½ log 2πe ≈ 1.42 nats) and, per
    sample, a surprise that grows with |x_i| as −log N(x_i) does; far-off samples are the most surprising."""
    estimator, _, truth = redundant_fit
    samples = redundant(3, 1, rho=0.8).sample(4000, seed=1)
    result = estimator.measure(samples, measures=["entropy"])["entropy"]
    np.testing.assert_allclose(result.value, truth["entropy"], atol=0.1)
    exact = 0.5 * samples[:, :, 0] ** 2 + 0.5 * np.log(2 * np.pi)
    for i in range(3):
        assert np.corrcoef(result.pointwise[:, i], exact[:, i])[0, 1] > 0.8
    outliers = estimator.measure(np.full((50, 3, 1), 4.0), measures=["entropy"])["entropy"]
    assert (outliers.value > result.value + 5).all()  # 4 std out: −log N grows by 8 nats


def test_gaussianized_margins_make_monotone_transforms_irrelevant(tmp_path):
    """With marginals: gaussianize the network sees (almost) the same variables whether or not each
    coordinate went through a monotone transform, so Ω comes out the same; entropies are refused."""
    from fusion.information.systems import TransformedSystem

    base = redundant(3, 1, rho=0.8)
    config = FAST.model_copy(update={"marginals": "gaussianize"})
    raw = InformationEstimator(config).fit(base.sample(6000, seed=0), measures=MEASURES)
    transformed = TransformedSystem(base, "half_cube")
    bent = InformationEstimator(config).fit(transformed.sample(6000, seed=0), measures=MEASURES)
    np.testing.assert_allclose(bent.network_inputs(transformed.sample(5, seed=9).reshape(5, -1)),
                               raw.network_inputs(base.sample(5, seed=9).reshape(5, -1)), atol=0.02)
    omega_raw = raw.measure(base.sample(4000, seed=1))["o_information"].value
    omega_bent = bent.measure(transformed.sample(4000, seed=1))["o_information"].value
    assert omega_bent == pytest.approx(omega_raw, abs=0.03)
    assert omega_bent == pytest.approx(base.ground_truth()["o_information"], rel=0.25)
    reloaded = InformationEstimator.load(bent.save(tmp_path / "bent"))
    np.testing.assert_array_equal(reloaded.network_inputs(transformed.sample(50, seed=2).reshape(50, -1)),
                                  bent.network_inputs(transformed.sample(50, seed=2).reshape(50, -1)))
    with pytest.raises(UserError, match="entropy depends on the margins"):
        bent.measure(transformed.sample(100, seed=3), measures=["entropy"])
