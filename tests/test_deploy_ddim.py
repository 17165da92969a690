"""The runtime's numpy DDIM reproduces diffusers' DDIMScheduler from the exported constants."""

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler

from deploy.export import schedule_section
from deploy.runtime.ddim import DDIM
from fusion.diffusion.config import ScheduleConfig
from fusion.diffusion.sampling import reverse_timesteps
from fusion.diffusion.schedule import make_scheduler


def scheduler_with(spacing: str, **schedule) -> DDIMScheduler:
    base = make_scheduler(ScheduleConfig(**schedule))
    return DDIMScheduler.from_config({**base.config, "timestep_spacing": spacing, "steps_offset": 1 if spacing == "leading" else 0})


@pytest.mark.parametrize("spacing", ["trailing", "leading", "linspace"])
@pytest.mark.parametrize("steps", [1, 7, 50])
def test_timesteps_equal_set_timesteps(spacing, steps):
    scheduler = scheduler_with(spacing)
    ddim = DDIM(schedule_section(scheduler))
    scheduler.set_timesteps(steps)
    np.testing.assert_array_equal(ddim.timesteps(steps), scheduler.timesteps.numpy())


@pytest.mark.parametrize("steps,strength", [(50, 0.5), (10, 0.35), (7, 1.0), (3, 0.34)])
def test_reverse_timesteps_equal_the_torch_truncation(steps, strength):
    scheduler = make_scheduler(ScheduleConfig())
    ddim = DDIM(schedule_section(scheduler))
    expected = reverse_timesteps(scheduler, steps, strength).numpy()
    np.testing.assert_array_equal(ddim.reverse_timesteps(steps, strength), expected)
    assert len(expected) == int(steps * strength)


def test_a_start_that_leaves_no_step_is_refused():
    ddim = DDIM(schedule_section(make_scheduler(ScheduleConfig())))
    with pytest.raises(ValueError, match="no denoising step"):
        ddim.reverse_timesteps(10, 0.05)


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
@pytest.mark.parametrize("beta_schedule", ["linear", "scaled_linear"])
def test_add_noise_and_steps_match_to_float32_rounding(beta_schedule, prediction_type):
    schedule = ScheduleConfig(beta_schedule=beta_schedule, num_train_timesteps=400, prediction_type=prediction_type)
    scheduler = make_scheduler(schedule)
    ddim = DDIM(schedule_section(scheduler))
    generator = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(2, 4, 3, 5, generator=generator), torch.randn(2, 4, 3, 5, generator=generator)
    steps = 9
    timesteps = reverse_timesteps(scheduler, steps, 0.8)
    torch_z = scheduler.add_noise(x0, noise, timesteps[:1].repeat(2))
    numpy_z = ddim.add_noise(x0.numpy(), noise.numpy(), int(timesteps[0]))
    np.testing.assert_allclose(numpy_z, torch_z.numpy(), rtol=1e-6, atol=1e-6)
    for t in timesteps:  # a trajectory down to the final ᾱ = 1 step
        eps = torch.randn(x0.shape, generator=generator)
        torch_z = scheduler.step(eps, int(t), torch_z).prev_sample
        numpy_z = ddim.step(eps.numpy(), int(t), numpy_z, steps)
        np.testing.assert_allclose(numpy_z, torch_z.numpy(), rtol=1e-6, atol=1e-6)  # an ulp or two
    assert numpy_z.dtype == np.float32
    assert not np.allclose(numpy_z, x0.numpy())  # the steps moved the sample


def test_unsupported_schedules_are_refused():
    section = schedule_section(make_scheduler(ScheduleConfig()))
    with pytest.raises(ValueError, match="ε- and v-prediction"):
        DDIM({**section, "prediction_type": "sample"})
    with pytest.raises(ValueError, match="spacing"):
        DDIM({**section, "timestep_spacing": "karras"}).timesteps(10)
