"""Settings of ``nightfusion evaluate`` (also used by the demo's evaluation stage)."""

from __future__ import annotations

from pydantic import Field

from preprocessing.config import StrictModel


class EvaluationSettings(StrictModel):
    split: str = "val"
    # None: the model's own sampling defaults (its config's ``sample`` section)
    t_start: float | None = Field(None, gt=0, le=1, description="start time t̃ of the enhancement rows")
    generation: bool = Field(True, description="also rows that generate from T (t̃ = 1)")
    steps: int | None = Field(None, ge=1)
    guidance: float | None = Field(None, ge=0)
    seed: int = 0
    batch_size: int = Field(8, ge=1)
    limit: int | None = Field(None, ge=1, description="at most this many frames per test set, spread over it")
    grid_frames: int = Field(3, ge=1, description="grid rows per test set")
    sweep_frames: int = Field(8, ge=0, description="frames used for the t̃/guidance/steps sweeps (0: no sweeps)")
    sweep_t_start: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9)
    sweep_guidance: tuple[float, ...] = (0.0, 1.0, 2.0, 3.0, 4.0)
    sweep_steps: tuple[int, ...] = (5, 10, 25, 50)
