"""Denoiser backbones: ``forward(x [B, D] or [B, N, d], tau [B, N]) -> eps`` (same shape as x)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from fusion.information.backbones.gaussian_skip import GaussianSkip
from fusion.information.backbones.mlp import ResidualMLP
from fusion.information.backbones.transformer import VariableTransformer
from fusion.information.config import EstimatorConfig
from fusion.information.schedule import VPSchedule


def build_backbone(config: EstimatorConfig, dims: Sequence[int], schedule: VPSchedule) -> nn.Module:
    """The backbone named by ``config.backbone`` for variables of dimensions ``dims``, or with
    ``config.gaussian_skip`` the Gaussian skip around an MLP (its covariance set by ``fit_covariance``)."""
    if config.gaussian_skip:
        return GaussianSkip(dims, schedule, width=config.width, depth=config.depth, tau_features=config.tau_features)
    if config.backbone == "mlp":
        return ResidualMLP(dims, schedule, width=config.width, depth=config.depth, tau_features=config.tau_features)
    return VariableTransformer(
        dims, schedule, width=config.width, depth=config.depth, heads=config.heads, tau_features=config.tau_features)


__all__ = ["GaussianSkip", "ResidualMLP", "VariableTransformer", "build_backbone"]
