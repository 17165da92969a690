"""Per-variable flows (``marginals: flow``): bijections with the right log-determinant, fitted so that a
spiral-rotated system's joint becomes Gaussian again, saved and resumed without refitting."""

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from tests.fixtures.information import single_torch_thread  # noqa: F401  (autouse)
from fusion.information.config import EstimatorConfig
from fusion.information.estimator import FLOWS, InformationEstimator
from fusion.information.flows import VariableFlows, fit_flows, gaussian_loss
from fusion.information.ground_truth import gaussian_measures
from fusion.information.systems import TransformedSystem, redundant
from preprocessing.errors import UserError


def gaussian_mi(x: np.ndarray, dims) -> float:
    """MI of two variables computed as if x were jointly Gaussian (from its covariance)."""
    return gaussian_measures(np.cov(x.T.astype(np.float64)), dims)["tc"]


def test_flows_are_per_variable_bijections_with_the_autograd_log_determinant():
    torch.manual_seed(0)
    flows = VariableFlows((2, 1, 3), transforms=2, hidden=32)
    with torch.no_grad():  # move the splines away from their near-identity initialisation
        for p in flows.parameters():
            p.add_(0.3 * torch.randn_like(p))
    x = torch.randn(5, 6, dtype=torch.float32)
    z, log_det = (t.detach() for t in flows.transform_and_log_det(x))
    torch.testing.assert_close(flows.inverse(z), x, atol=1e-4, rtol=1e-4)
    for k in range(len(x)):
        jacobian = torch.autograd.functional.jacobian(lambda v: flows(v[None])[0], x[k])  # [6, 6]
        assert torch.count_nonzero(jacobian[:2, 2:]) == 0 and torch.count_nonzero(jacobian[2:3, 3:]) == 0  # no mixing across variables
        assert torch.count_nonzero(jacobian[3:, :3]) == 0
        assert float(torch.linalg.slogdet(jacobian)[1]) == pytest.approx(float(log_det[k]), abs=1e-4)


def test_fitted_flows_undo_a_spiral_rotation_that_hides_the_dependence():
    system = TransformedSystem(redundant(2, 2, rho=0.9), "spiral", {"speed": 0.5})
    truth = system.ground_truth()["tc"]
    x = system.sample(6000, seed=3).reshape(6000, 4).astype(np.float32)
    train, test = x[:5000], x[5000:]
    raw = gaussian_mi(test, (2, 2))
    flows, losses = fit_flows(train, (2, 2), steps=600, transforms=3, hidden=32, seed=0)
    fitted = gaussian_mi(flows.apply(test), (2, 2))
    assert raw < 0.5 * truth  # the spiral hides most of the dependence from second moments
    assert fitted > raw + 0.5 * (truth - raw) and fitted < 1.1 * truth
    assert np.mean(losses["train"][-50:]) < np.mean(losses["train"][:50])


def test_early_stopping_keeps_the_flows_that_generalise():
    """On Gaussian data with few samples, flows fitted for every step overfit (held-out likelihood falls);
    the held-out check stops the fit and keeps the best flows, which score better on fresh samples."""
    x = redundant(3, 2, rho=0.5).sample(6000, seed=0).reshape(6000, 6).astype(np.float32)
    train, fresh = x[:1000], torch.from_numpy(x[1000:])

    def fresh_loss(**early_stopping):
        flows, losses = fit_flows(train, (2, 2, 2), steps=1200, transforms=3, hidden=32, check_every=50, **early_stopping)
        with torch.no_grad():
            return float(gaussian_loss(*flows.transform_and_log_det(fresh))), losses

    stopped, losses = fresh_loss(patience=5)
    assert len(losses["train"]) < 1200 and len(losses["validation"]) == len(losses["train"]) // 50
    overfitted, losses = fresh_loss(validation=0.0)
    assert len(losses["train"]) == 1200 and not losses["validation"]
    assert stopped < overfitted - 0.05


def test_flow_estimator_saves_loads_and_resumes_its_flows(tmp_path):
    x = TransformedSystem(redundant(3, 2, rho=0.6), "spiral").sample(800, seed=1)
    config = EstimatorConfig(steps=40, width=16, mc_repeats=2, marginals="flow", flow_steps=20, flow_transforms=1, flow_width=8,
                             checkpoint_every=20)
    fitted = InformationEstimator(config).fit(x, measures=("tc",), checkpoint_dir=tmp_path / "ckpt")
    assert (tmp_path / "ckpt" / FLOWS).is_file()
    loaded = InformationEstimator.load(fitted.save(tmp_path / "model"))
    flat = x.reshape(len(x), -1).astype(np.float32)
    np.testing.assert_array_equal(loaded.network_inputs(flat), fitted.network_inputs(flat))
    assert loaded.measure(x, seed=4)["tc"].value == pytest.approx(fitted.measure(x, seed=4)["tc"].value)

    # resuming takes the checkpoint's flows instead of fitting new ones (different flows, different inputs)
    with torch.no_grad():
        for p in fitted.flows.parameters():
            p.add_(0.5)
    save_file({k: v.contiguous() for k, v in fitted.flows.state_dict().items()}, tmp_path / "ckpt" / FLOWS)
    resumed = InformationEstimator(config.model_copy(update={"steps": 60})).fit(x, measures=("tc",), checkpoint_dir=tmp_path / "ckpt", resume=True)
    np.testing.assert_allclose(resumed.flows.apply(flat), fitted.flows.apply(flat))

    (tmp_path / "model" / FLOWS).unlink()
    with pytest.raises(UserError, match="holds no flows.safetensors"):
        InformationEstimator.load(tmp_path / "model")
    with pytest.raises(UserError, match="not flow"):
        InformationEstimator(config).fit(x, measures=("entropy",))
