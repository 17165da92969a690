"""Configuration of the modality autoencoders (``configs/autoencoder_*.yaml``).

One YAML file describes all three autoencoders: the shared camera AE (``day`` and ``night``), the
LiDAR AE and the radar AE. Each section has the diffusers ``AutoencoderKL`` architecture and its
training procedure; the sparse sections add the value ranges of their map channels. Nothing here
fixes a resolution: the autoencoders are fully convolutional and the latent grid is H/f × W/f with
f = 2^(len(block_out_channels) − 1).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from perception.budget import MaxMinutes
from perception.precision import Precision
from preprocessing.config import StrictModel

AutoencoderName = Literal["camera", "lidar", "radar"]
AUTOENCODER_NAMES: tuple[AutoencoderName, ...] = ("camera", "lidar", "radar")


class ArchitectureConfig(StrictModel):
    """``diffusers.AutoencoderKL`` size. SD-VAE (KL-f8): (128, 256, 512, 512), 2 layers, 32 groups."""

    block_out_channels: tuple[int, ...] = (128, 256, 512, 512)
    layers_per_block: int = Field(2, ge=1)
    norm_num_groups: int = Field(32, ge=1)
    latent_channels: int = Field(4, ge=1)
    mid_block_add_attention: bool = True

    @model_validator(mode="after")
    def _groups_divide_channels(self):
        if not self.block_out_channels:
            raise ValueError("block_out_channels must not be empty")
        bad = [c for c in self.block_out_channels if c % self.norm_num_groups]
        if bad:
            raise ValueError(f"block_out_channels {bad} are not divisible by norm_num_groups {self.norm_num_groups}")
        return self


class ChannelRange(StrictModel):
    """How one value channel of a sparse map is scaled to [-1, 1] for the network.

    ``low``…``high`` map linearly to −1…1 (values outside are clipped); with ``log`` the mapping is
    linear in log(value), which spends the code range evenly over relative depth errors.
    """

    name: str
    low: float
    high: float
    log: bool = False

    @model_validator(mode="after")
    def _valid_range(self):
        if self.high <= self.low:
            raise ValueError(f"channel {self.name}: high ({self.high}) must exceed low ({self.low})")
        if self.log and self.low <= 0:
            raise ValueError(f"channel {self.name}: a log channel needs low > 0, got {self.low}")
        return self


class SparseMapConfig(StrictModel):
    """Representation of a sparse map (ShardDataset layout: value channels, then the validity mask)."""

    channels: tuple[ChannelRange, ...]
    mask_weight: float = Field(1.0, ge=0, description="weight of the validity-mask BCE next to the masked value loss")
    mask_pos_weight: float = Field(
        1.0, gt=0, description="BCE weight of valid pixels (sparse maps: >1 counters class imbalance)"
    )
    densify: int = Field(
        1, ge=1, description="odd window of the masked-mean fill of empty pixels in the encoder input (1: none)"
    )

    @model_validator(mode="after")
    def _odd_kernel(self):
        if self.densify % 2 == 0:
            raise ValueError(f"densify must be odd, got {self.densify}")
        return self


class TrainConfig(StrictModel):
    steps: int = Field(1000, ge=1)
    batch_size: int = Field(8, ge=1)
    learning_rate: float = Field(1e-4, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    warmup_steps: int = Field(0, ge=0)
    lr_schedule: Literal["constant", "cosine"] = Field(
        "constant", description="after warm-up; cosine decays to 0 at `steps`"
    )
    grad_clip: float = Field(1.0, gt=0)
    ema_decay: float | None = Field(None, ge=0, lt=1, description="EMA of weights; null disables EMA")
    mixed_precision: Precision = "no"
    max_minutes: MaxMinutes = None
    checkpoint_every: int = Field(100, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    validate_every: int = Field(100, ge=1)
    validation_batches: int = Field(4, ge=1)
    num_workers: int = Field(0, ge=0)
    seed: int = 0


class NormalizationConfig(StrictModel):
    """Latent normalisation (App. A.1.1): statistics over ``batches`` training batches after training.

    ``element``: one mean/std per latent element [C, h, w] as in the thesis (ties the model to its
    training resolution); ``channel``: one per latent channel [C, 1, 1] (any resolution).
    """

    batches: int = Field(16, ge=1)
    per: Literal["element", "channel"] = "element"
    eps: float = Field(1e-4, gt=0, description="floor of the std, so constant latent elements stay finite")


class CameraSection(StrictModel):
    architecture: ArchitectureConfig = ArchitectureConfig()
    train: TrainConfig = TrainConfig()


class SparseSection(StrictModel):
    architecture: ArchitectureConfig = ArchitectureConfig()
    representation: SparseMapConfig
    train: TrainConfig = TrainConfig()


class AutoencodersConfig(StrictModel):
    camera: CameraSection = CameraSection()
    lidar: SparseSection
    radar: SparseSection
    normalization: NormalizationConfig = NormalizationConfig()

    def section(self, name: AutoencoderName) -> CameraSection | SparseSection:
        return getattr(self, name)
