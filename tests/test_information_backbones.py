"""Denoiser backbones: the ``forward(x, tau) -> eps`` contract the ONNX export relies on."""

import pytest
import torch

from tests.fixtures.information import single_torch_thread  # noqa: F401  (autouse)
from fusion.information.backbones import ResidualMLP, VariableTransformer, build_backbone
from fusion.information.config import EstimatorConfig
from fusion.information.schedule import VPSchedule

SCHEDULE = VPSchedule()
DIMS = (2, 1, 3)


def randomised(net: torch.nn.Module) -> torch.nn.Module:
    """Zero-initialised output layers would make every check pass trivially: perturb all weights."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.add_(0.3 * torch.randn(parameter.shape, generator=generator))
    return net.eval()


@pytest.fixture(params=["mlp", "transformer"])
def net(request):
    config = EstimatorConfig(backbone=request.param, width=32, depth=2, heads=2)
    return randomised(build_backbone(config, DIMS, SCHEDULE))


def inputs(batch: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    tau = torch.rand(batch, 3, generator=generator)
    tau[:, 1] = 0.0  # clean
    tau[:, 2] = SCHEDULE.T  # absent
    return torch.randn(batch, sum(DIMS), generator=generator), tau


def test_output_has_the_input_shape_and_depends_on_tau(net):
    x, tau = inputs(4)
    out = net(x, tau)
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert not torch.allclose(out, net(x, tau * 0.5))


def test_samples_are_processed_independently(net):
    x, tau = inputs(6)
    assert torch.allclose(net(x, tau)[:2], net(x[:2], tau[:2]), atol=1e-5)


def test_three_dimensional_input_for_equal_dimensions():
    for cls in (ResidualMLP, VariableTransformer):
        net = randomised(cls((2, 2, 2), SCHEDULE, width=32, depth=1))
        x, tau = torch.randn(3, 3, 2), torch.rand(3, 3)
        assert torch.allclose(net(x, tau), net(x.reshape(3, 6), tau).reshape(3, 3, 2))


def test_transformer_ignores_absent_variables():
    """An absent variable is a NULL token: its input values cannot leak into the prediction."""
    net = randomised(VariableTransformer(DIMS, SCHEDULE, width=32, depth=2, heads=2))
    x, tau = inputs(4)
    other = x.clone()
    other[:, 3:] = torch.randn(4, 3)  # the absent third variable
    assert torch.allclose(net(x, tau), net(other, tau), atol=1e-6)
    tau_present = tau.clone()
    tau_present[:, 2] = 0.5
    assert not torch.allclose(net(x, tau_present), net(other, tau_present))


def test_forward_exports_with_a_dynamic_batch(net):
    """torch.export (the front end of the dynamo ONNX exporter) traces one graph for any batch size."""
    x, tau = inputs(5)
    batch = torch.export.Dim("batch")
    program = torch.export.export(net, (x, tau), dynamic_shapes=({0: batch}, {0: batch}))
    x2, tau2 = inputs(9, seed=2)
    assert torch.allclose(program.module()(x2, tau2), net(x2, tau2), atol=1e-5)
