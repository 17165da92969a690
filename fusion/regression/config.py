"""Configuration of the direct regressor (``configs/regressor_*.yaml``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from perception.budget import MaxMinutes
from perception.precision import Precision
from preprocessing.config import StrictModel

Condition = Literal["night", "lidar", "radar"]

# Channels of each input in the ShardDataset layout and the scale that brings its values to about ±1:
# RGB is already in [-1, 1]; LiDAR (depth m, intensity, valid); radar (depth m, RCS dBsm, velocity m/s, valid).
INPUT_SCALES: dict[str, tuple[float, ...]] = {
    "night": (1.0, 1.0, 1.0),
    "lidar": (80.0, 255.0, 1.0),
    "radar": (250.0, 50.0, 40.0, 1.0),
}


class RegressorArchitecture(StrictModel):
    """``diffusers.UNet2DModel`` size: one resolution level per entry of ``block_out_channels``."""

    block_out_channels: tuple[int, ...] = (32, 64, 128)
    layers_per_block: int = Field(1, ge=1)
    norm_num_groups: int = Field(8, ge=1)

    @model_validator(mode="after")
    def _groups_divide_channels(self):
        bad = [c for c in self.block_out_channels if c % self.norm_num_groups]
        if not self.block_out_channels or bad:
            raise ValueError(f"block_out_channels {list(self.block_out_channels)} must be non-empty multiples of norm_num_groups")
        return self


class RegressorModelConfig(RegressorArchitecture):
    """What rebuilds a trained network: its size and the inputs it was trained on."""

    conditions: tuple[Condition, ...] = ("night", "lidar", "radar")

    @model_validator(mode="after")
    def _needs_night(self):
        if "night" not in self.conditions or len(set(self.conditions)) != len(self.conditions):
            raise ValueError("conditions must include night, each input at most once")
        return self


class RegressorTrainConfig(StrictModel):
    steps: int = Field(2000, ge=1)
    batch_size: int = Field(16, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    warmup_steps: int = Field(50, ge=0)
    lr_schedule: Literal["constant", "cosine"] = Field("constant", description="after warm-up: constant, or cosine decay to 0 at `steps`")
    grad_clip: float = Field(1.0, gt=0)
    ema_decay: float = Field(0.99, ge=0, lt=1)
    hflip: bool = True
    rendered_night_pairs: bool = Field(False, description="also train on night-scene frames with a day twin, as the MLD's option")
    rendered_night_weight: float = Field(1.0, gt=0, description="how often a rendered-night pair is drawn, as the MLD's option")
    mixed_precision: Precision = "no"
    max_minutes: MaxMinutes = None
    checkpoint_every: int = Field(200, ge=1)
    log_every: int = Field(25, ge=1)
    seed: int = 0


class RegressorConfig(StrictModel):
    model: RegressorModelConfig = RegressorModelConfig()
    train: RegressorTrainConfig = RegressorTrainConfig()
