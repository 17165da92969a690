"""Configuration of MLD: architecture, noise schedule, training and sampling (``configs/mld_*.yaml``).

The YAML files describe architecture and procedure only; the latent grid is taken from the data at
training time and stored with the trained model (``ModelConfig``), so no resolution is hard-coded.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from perception.budget import MaxMinutes
from perception.precision import Precision
from preprocessing.config import StrictModel

Modality = Literal["day", "night", "radar", "lidar"]


class ArchitectureConfig(StrictModel):
    """DiT trunk size (DiT-XL/2: patch 2, hidden 1152, depth 28, heads 16)."""

    patch_size: int = Field(2, ge=1)
    hidden_size: int = Field(384, ge=8)
    depth: int = Field(12, ge=1)
    num_heads: int = Field(6, ge=1)
    mlp_ratio: float = Field(4.0, gt=0)
    condition_path: bool = Field(
        True, description="add each clean condition's patch embedding to the tokens at its grid position (see model)"
    )

    @model_validator(mode="after")
    def _heads_divide_hidden(self):
        if self.hidden_size % self.num_heads or (self.hidden_size // self.num_heads) % 2:
            raise ValueError("hidden_size must be an even multiple of num_heads")
        return self


class ModelConfig(ArchitectureConfig):
    """Everything needed to rebuild the network: the architecture plus the latent layout it was trained on."""

    latent_channels: int = Field(4, ge=1)
    latent_size: tuple[int, int]
    num_train_timesteps: int = Field(1000, ge=2)

    @model_validator(mode="after")
    def _patch_divides_grid(self):
        if any(side % self.patch_size for side in self.latent_size):
            raise ValueError(f"latent grid {self.latent_size} is not divisible by patch_size {self.patch_size}")
        return self


class ScheduleConfig(StrictModel):
    """Discrete VP schedule; linear 1e-4 … 0.02 over 1000 steps is the VP-SDE β 0.1 … 20 of App. A.1.2."""

    num_train_timesteps: int = Field(1000, ge=2)
    beta_start: float = Field(1e-4, gt=0)
    beta_end: float = Field(0.02, gt=0, lt=1)
    beta_schedule: Literal["linear", "scaled_linear"] = "linear"
    prediction_type: Literal["epsilon", "v_prediction"] = Field(
        "epsilon",
        description="what the network predicts: ε (the thesis) or v = √ᾱ·ε − √(1−ᾱ)·z₀, whose loss keeps the "
        "weight of the noisiest steps, where only the conditions tell the target (Salimans & Ho 2022)",
    )


class TrainConfig(StrictModel):
    steps: int = Field(1000, ge=1)
    batch_size: int = Field(16, ge=1)
    learning_rate: float = Field(1e-4, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    warmup_steps: int = Field(0, ge=0)
    lr_schedule: Literal["constant", "cosine"] = Field("constant", description="after warm-up: constant, or cosine decay to 0 at `steps`")
    grad_clip: float = Field(1.0, gt=0)
    ema_decay: float = Field(0.999, ge=0, lt=1)
    p_uncond: float = Field(0.1, ge=0, le=1, description="d: probability that the conditioning set is empty")
    condition_keep: dict[Modality, float] = Field(
        {}, description="per condition, the probability that it joins a non-empty conditioning set (default 0.5 "
        "each: every non-empty set equally likely, the thesis' ν)"
    )
    targets: tuple[Modality, ...] = ("day",)
    conditions: tuple[Modality, ...] = ("night", "radar", "lidar")
    hflip: bool = Field(True, description="also train on horizontally mirrored frames (encoded once)")
    rendered_night_pairs: bool = Field(False, description="also train on night-scene frames with a day twin (rendered night → day)")
    rendered_night_weight: float = Field(
        1.0, gt=0, description="how often a rendered-night pair is drawn against a synthetic-night frame"
    )
    mixed_precision: Precision = "no"
    max_minutes: MaxMinutes = None
    gradient_checkpointing: bool = False
    checkpoint_every: int = Field(200, ge=1)
    log_every: int = Field(10, ge=1)
    seed: int = 0
    encode_batch_size: int = Field(16, ge=1)

    @model_validator(mode="after")
    def _roles_disjoint(self):
        if not self.targets:
            raise ValueError("targets must name at least one modality")
        if set(self.targets) & set(self.conditions):
            raise ValueError("a modality cannot be both a target and a condition")
        if not set(self.condition_keep) <= set(self.conditions):
            raise ValueError(f"condition_keep names {sorted(set(self.condition_keep) - set(self.conditions))}, not conditions")
        if any(not 0 < p <= 1 for p in self.condition_keep.values()):
            raise ValueError("condition_keep probabilities must lie in (0, 1]")
        return self


def denoising_steps(steps: int, t_start: float) -> int:
    """DDIM steps actually run from t̃ = ``t_start`` on a ``steps``-step schedule: its last ⌊steps · t̃⌋
    (diffusers' img2img truncation)."""
    return min(int(steps * t_start), steps)


class SampleConfig(StrictModel):
    steps: int = Field(50, ge=1)
    guidance: float = Field(2.0, ge=0)
    t_start: float = Field(0.5, gt=0, le=1)

    @property
    def denoising_steps(self) -> int:
        """DDIM steps actually run with these knobs (``denoising_steps``)."""
        return denoising_steps(self.steps, self.t_start)


class MLDConfig(StrictModel):
    model: ArchitectureConfig = ArchitectureConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    train: TrainConfig = TrainConfig()
    sample: SampleConfig = SampleConfig()
