"""Input layouts, standardisation and estimator settings."""

from pathlib import Path

import numpy as np
import pytest

from fusion.information.config import EstimatorConfig
from fusion.information.variables import MarginalGaussianizer, Standardizer, as_variables
from preprocessing.config import load_config
from preprocessing.errors import UserError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_the_three_input_layouts_agree():
    rng = np.random.default_rng(0)
    stacked = rng.normal(size=(50, 3, 2))
    listed = [stacked[:, i] for i in range(3)]
    x_stacked, dims_stacked = as_variables(stacked)
    x_listed, dims_listed = as_variables(listed)
    assert dims_stacked == dims_listed == (2, 2, 2) and np.array_equal(x_stacked, x_listed)
    assert np.array_equal(x_stacked[:, 2:4], stacked[:, 1].astype(np.float32))
    scalars, dims = as_variables(stacked[:, :, 0])
    assert dims == (1, 1, 1) and scalars.shape == (50, 3)
    mixed, dims = as_variables([stacked[:, 0, 0], stacked[:, 1]])
    assert dims == (1, 2) and mixed.dtype == np.float32


@pytest.mark.parametrize("data, message", [
    (np.zeros((10, 1, 2)), "at least 2 variables"),
    ([np.zeros((10, 2)), np.zeros((9, 2))], "different numbers of samples"),
    (np.zeros((10,)), "expected a list"),
    ([np.zeros((10, 2, 2)), np.zeros((10, 2))], "variable 0 must be"),
    ([np.ones((0, 1)), np.ones((0, 1))], "no samples"),
    ([np.ones((5, 0)), np.ones((5, 1))], "variable 0 has no coordinates"),
])
def test_bad_layouts_are_user_errors(data, message):
    with pytest.raises(UserError, match=message):
        as_variables(data, "my.npz")


def test_standardizer_maps_to_zero_mean_unit_variance():
    x = np.random.default_rng(1).normal(3.0, [1.0, 5.0, 0.1], size=(2000, 3)).astype(np.float32)
    standardizer = Standardizer.fit(x, (1, 2))
    z = standardizer(x)
    assert np.allclose(z.mean(axis=0), 0, atol=1e-4) and np.allclose(z.std(axis=0), 1, atol=1e-3)


def test_shipped_configs_are_valid_and_the_default_matches_the_code():
    default = load_config(CONFIGS / "information.yaml", EstimatorConfig)
    assert default == EstimatorConfig()
    fast = load_config(CONFIGS / "information_fast.yaml", EstimatorConfig)
    assert fast.steps < default.steps


def test_settings_are_validated(tmp_path):
    with pytest.raises(ValueError, match="multiple of heads"):
        EstimatorConfig(backbone="transformer", width=30, heads=4)
    bad = tmp_path / "info.yaml"
    bad.write_text("backbone: mlp\nwidht: 64\n")
    with pytest.raises(UserError, match="widht"):
        load_config(bad, EstimatorConfig)


def test_gaussianizer_holds_no_tail_of_its_training_data():
    """Order is kept and no tail is held at the extreme knot (before, ½/512 of each tail
    was — point masses the likelihood-fitted flows exploit), and the extremes land at the Hazen positions'
    normal scores, inside the range fresh samples are held to."""
    from scipy.special import ndtri

    x = np.random.default_rng(0).standard_normal((16000, 3))
    gaussianizer = MarginalGaussianizer.fit(x)
    z = gaussianizer(x)
    for j in range(3):
        assert (z[:, j] == z[:, j].min()).sum() == 1 and (z[:, j] == z[:, j].max()).sum() == 1  # no held tail
        assert (np.diff(z[np.argsort(x[:, j]), j]) >= 0).all()
        np.testing.assert_allclose([z[:, j].min(), z[:, j].max()], ndtri([0.5 / 16000, 1 - 0.5 / 16000]), rtol=1e-5)
        assert abs(np.corrcoef(z[:, j], x[:, j])[0, 1] - 1) < 1e-3  # a Gaussian stays (nearly) itself
    held = gaussianizer(np.array([[-50.0, 0.0, 50.0]]))
    assert held[0, 0] == pytest.approx(z[:, 0].min()) and held[0, 2] == pytest.approx(z[:, 2].max())
