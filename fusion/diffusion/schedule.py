"""The discrete noise schedule shared by training and sampling: a ``diffusers.DDIMScheduler``."""

from __future__ import annotations

from diffusers import DDIMScheduler

from fusion.diffusion.config import ScheduleConfig


def make_scheduler(schedule: ScheduleConfig) -> DDIMScheduler:
    """DDIM for the configured prediction (ε or v); "trailing" spacing starts the reverse process at the last timestep T−1 and the
    final step lands on the clean sample (ᾱ = 1)."""
    return DDIMScheduler(
        num_train_timesteps=schedule.num_train_timesteps,
        beta_start=schedule.beta_start,
        beta_end=schedule.beta_end,
        beta_schedule=schedule.beta_schedule,
        clip_sample=False,
        set_alpha_to_one=True,
        timestep_spacing="trailing",
        prediction_type=schedule.prediction_type,
    )
