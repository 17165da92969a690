"""Settings of ``nightfusion evaluate`` (also used by the demo's evaluation stage)."""

from __future__ import annotations

from pydantic import Field

from fusion.diffusion.config import SampleConfig
from preprocessing.config import StrictModel, parse_options, validate
from preprocessing.errors import UserError


class Sampler(StrictModel):
    """How one group of MLD rows (one per conditioning set) is sampled; an unset knob takes the model's own
    default (its config's ``sample`` section)."""

    t_start: float | None = Field(None, gt=0, le=1, description="start time t̃ (1: generate from T)")
    steps: int | None = Field(None, ge=1, description="DDIM steps of the full schedule")
    guidance: float | None = Field(None, ge=0, description="classifier-free guidance weight")

    def resolve(self, defaults: SampleConfig) -> SampleConfig:
        """The concrete knobs: these settings over the model's ``defaults``."""
        sampler = SampleConfig(**(defaults.model_dump() | self.model_dump(exclude_none=True)))
        if sampler.denoising_steps < 1:
            raise UserError(f"sampler t̃={sampler.t_start:g} with {sampler.steps} DDIM step(s) leaves no denoising step: "
                            "give more steps")  # fmt: skip
        return sampler


def parse_sampler(text: str) -> Sampler:
    """``t_start=0.5,steps=20,guidance=1.5`` (any of them; none: the model's defaults) → Sampler."""
    return validate(Sampler, parse_options(text, "--sampler"), f"--sampler {text}")


class EvaluationSettings(StrictModel):
    split: str = "val"
    samplers: tuple[Sampler, ...] = Field(
        (Sampler(),), min_length=1, description="one group of MLD rows each; the first (default: the model's own "
        "sampling) is the one plotted by darkness and swept",
    )  # fmt: skip
    seed: int = 0
    batch_size: int = Field(8, ge=1)
    limit: int | None = Field(None, ge=1, description="at most this many frames per test set, spread over it")
    grid_frames: int = Field(3, ge=1, description="grid rows per test set")
    sweep_frames: int = Field(8, ge=0, description="frames used for the t̃/guidance/steps sweeps (0: no sweeps)")
    sweep_t_start: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9)
    sweep_guidance: tuple[float, ...] = (0.0, 1.0, 2.0, 3.0, 4.0)
    sweep_steps: tuple[int, ...] = (5, 10, 25, 50)
