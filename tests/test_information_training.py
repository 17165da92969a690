"""Denoiser training: configuration sampling, masking, checkpoint/resume."""

import json

import numpy as np
import pytest
import torch

from tests.fixtures.information import single_torch_thread  # noqa: F401  (autouse)
from fusion.information.backbones import build_backbone
from fusion.information.config import EstimatorConfig
from fusion.information.configurations import ABSENT, CLEAN, DIFFUSED, conditional, joint, marginal
from fusion.information.measures import required_configurations
from fusion.information.schedule import VPSchedule
from fusion.information.training import ConfigurationSampler, Trainer, learning_rate, noised_inputs
from preprocessing.errors import UserError

SCHEDULE = VPSchedule()


def test_required_configurations_per_measure():
    assert required_configurations(("tc",), 3) == sorted({joint(range(3), 3), *(marginal(i, 3) for i in range(3))})
    o_info = set(required_configurations(("o_information",), 4))
    assert len(o_info) == 2 * 4 + 1  # joint, N marginals, N full conditionals (thesis App. C.2.1)
    gradient = set(required_configurations(("o_gradient",), 4))
    assert o_info < gradient and conditional(0, [1, 2], 4) in gradient and joint([1, 2, 3], 4) in gradient


def test_sampler_gives_each_kind_an_equal_share():
    configurations = required_configurations(("o_gradient",), 4)
    sampler = ConfigurationSampler(configurations)
    roles = sampler.sample(60000, torch.Generator().manual_seed(0))
    kinds = (roles == DIFFUSED).sum(dim=1) * 10 + (roles == CLEAN).sum(dim=1)
    _, counts = torch.unique(kinds, return_counts=True)
    assert len(counts) == 5  # full joint, sub-joints, marginals, full and sub-conditionals
    assert torch.allclose(counts / 60000.0, torch.full((5,), 0.2), atol=0.01)


def test_noised_inputs_follow_the_roles():
    dims = (2, 1, 3)
    x0, noise, filler = torch.randn(4, 6), torch.randn(4, 6), torch.randn(4, 6)
    t = torch.full((4, 1), 0.3)
    roles = torch.tensor([[DIFFUSED, CLEAN, ABSENT]] * 4)
    x_in, tau, mask = noised_inputs(x0, roles, t, noise, filler, dims, SCHEDULE)
    expected = SCHEDULE.alpha(t) * x0[:, :2] + SCHEDULE.sigma(t) * noise[:, :2]
    assert torch.allclose(x_in[:, :2], expected) and torch.equal(x_in[:, 2:3], x0[:, 2:3]) and torch.equal(x_in[:, 3:], filler[:, 3:])
    assert torch.equal(tau, torch.tensor([[0.3, 0.0, 1.0]] * 4))
    assert mask.tolist() == [[1, 1, 0, 0, 0, 0]] * 4


def test_learning_rate_warms_up_then_decays():
    config = EstimatorConfig(steps=1000, lr=1e-2)
    rates = [learning_rate(step, config.steps, config.lr) for step in range(1000)]
    assert rates[0] < rates[19] == pytest.approx(1e-2) and rates[-1] < 1e-4
    assert all(a >= b for a, b in zip(rates[20:], rates[21:]))


def _trainer(steps: int) -> Trainer:
    config = EstimatorConfig(width=16, depth=1, steps=steps, batch_size=32, checkpoint_every=3, seed=5)
    torch.manual_seed(0)
    net = build_backbone(config, (1, 2), SCHEDULE)
    return Trainer(net, (1, 2), required_configurations(("tc", "dtc"), 2), SCHEDULE, config)


def test_resumed_training_matches_an_uninterrupted_run(tmp_path):
    x = torch.randn(200, 3)
    reference = _trainer(8).run(x)
    interrupted = _trainer(8)
    real_step, calls = interrupted.optimizer.step, []

    def crash_at_step_five(*args, **kwargs):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    interrupted.optimizer.step = crash_at_step_five
    with pytest.raises(KeyboardInterrupt):
        interrupted.run(x, checkpoint_dir=tmp_path)
    assert json.loads((tmp_path / "checkpoint.json").read_text())["step"] == 3  # last checkpoint before the crash
    resumed = _trainer(8)
    resumed.load_checkpoint(tmp_path)
    assert resumed.step == 3 and len(resumed.losses) == 3
    result = resumed.run(x)
    for a, b in zip(reference.state_dict().values(), result.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6)
    assert not all(torch.allclose(a, b) for a, b in zip(reference.state_dict().values(), _trainer(8).net.state_dict().values()))


def test_checkpoint_of_other_settings_is_refused(tmp_path):
    _trainer(3).run(torch.randn(50, 3), checkpoint_dir=tmp_path)
    config = EstimatorConfig(width=32, depth=1, steps=8, batch_size=32, seed=5)
    other = Trainer(build_backbone(config, (1, 2), SCHEDULE), (1, 2), required_configurations(("tc",), 2), SCHEDULE, config)
    with pytest.raises(UserError, match="other data dimensions, measures or settings"):
        other.load_checkpoint(tmp_path)
    with pytest.raises(UserError, match="no checkpoint"):
        other.load_checkpoint(tmp_path / "missing")


def test_training_lowers_the_denoising_loss():
    x = torch.from_numpy(np.random.default_rng(0).multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], 2000).astype(np.float32))
    config = EstimatorConfig(width=32, depth=1, steps=400, batch_size=128, lr=3e-3)
    trainer = Trainer(build_backbone(config, (1, 1), SCHEDULE), (1, 1), required_configurations(("tc", "dtc"), 2), SCHEDULE, config)
    trainer.run(x)
    assert np.mean(trainer.losses[-50:]) < 0.8 * np.mean(trainer.losses[:50])
