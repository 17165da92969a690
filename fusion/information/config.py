"""Hyper-parameters of an information estimator (validated; the YAML form is configs/information.yaml)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from preprocessing.config import StrictModel


class EstimatorConfig(StrictModel):
    """Backbone, training and Monte-Carlo settings.

    Defaults follow what was measured accurate on N = 3–6 low-dimensional Gaussian systems
    (width 64–128, depth 2, lr 3e-3, 3000–4000 steps); larger systems need more steps and width
    (thesis Table C.1 scales the width with the total dimension).
    """

    backbone: Literal["mlp", "transformer"] = "mlp"
    width: int = Field(128, ge=8)
    depth: int = Field(2, ge=1)
    heads: int = Field(4, ge=1)
    tau_features: int = Field(16, ge=2, multiple_of=2)
    steps: int = Field(10_000, ge=1)
    batch_size: int = Field(256, ge=2)
    lr: float = Field(3e-3, gt=0)
    ema_decay: float = Field(0.999, ge=0, lt=1)
    mc_repeats: int = Field(10, ge=1)
    eval_batch_size: int = Field(4096, ge=1)
    # "gaussianize": map each coordinate to normal margins first (rank-based; dependence measures are
    # invariant to it, entropies are not); "flow": gaussianize, then one normalizing flow per variable
    # fitted to make the joint Gaussian (see flows.py); "standardize": mean 0 / std 1 only
    marginals: Literal["standardize", "gaussianize", "flow"] = "standardize"
    # start from the exact denoiser of a Gaussian with the standardised training inputs' covariance; an MLP
    # learns a gate and a residual (backbones/gaussian_skip.py; backbone mlp only; not exported to the vehicle)
    gaussian_skip: bool = False
    flow_steps: int = Field(2500, ge=1)
    flow_transforms: int = Field(6, ge=1)
    flow_width: int = Field(64, ge=4)
    checkpoint_every: int = Field(2000, ge=1)
    seed: int = 0

    @model_validator(mode="after")
    def _heads_divide_width(self) -> "EstimatorConfig":
        if self.backbone == "transformer" and self.width % self.heads:
            raise ValueError(f"width {self.width} must be a multiple of heads {self.heads}")
        if self.gaussian_skip and self.backbone != "mlp":
            raise ValueError("gaussian_skip wraps the mlp backbone; set backbone: mlp or gaussian_skip: false")
        return self
