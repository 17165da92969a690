"""Codecs between the ShardDataset layout of a modality and the space its autoencoder works in.

The autoencoder sees ``to_network(x)`` and produces ``y``; ``loss(y, x)`` trains it and
``from_network(y)`` returns a reconstruction in the ShardDataset layout again.

Camera: RGB in [-1, 1] is used as is (the SD-VAE convention); reconstruction loss is L1 + MSE (L1 keeps
edges and small structures that MSE alone trades for smooth averages).

Sparse maps (LiDAR [depth, intensity, valid], radar [depth, RCS, velocity, valid]) — the raw sparse
map is the target, so empty pixels never count as "value 0":
- every value channel is scaled to a code in [-1, 1] (linear, or linear in log(value) for depth, so
  the code spends its range on relative depth accuracy), clipped at the configured range;
- encoder input = codes of the value channels, optionally densified by a masked-mean fill of empty
  pixels over a small window (a normalised convolution), plus the validity mask as ±1;
- decoder output = one code per value channel plus a validity logit;
- loss = MSE of the codes over valid pixels only + ``mask_weight`` · BCE(logit, valid);
- reconstruction = decoded values where the logit is > 0, zeros elsewhere, and the 0/1 mask.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from perception.config import SparseMapConfig


class CameraCodec(nn.Module):
    """Identity codec of RGB frames [B, 3, H, W] in [-1, 1]."""

    in_channels = 3
    out_channels = 3

    def to_network(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def from_network(self, y: torch.Tensor) -> torch.Tensor:
        return y.clamp(-1.0, 1.0)

    def loss(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return F.l1_loss(y, x) + F.mse_loss(y, x)


class SparseMapCodec(nn.Module):
    """Codec of a sparse map [B, C+1, H, W] = (C value channels, validity ∈ {0, 1})."""

    def __init__(self, config: SparseMapConfig):
        super().__init__()
        self.config = config
        is_log = torch.tensor([c.log for c in config.channels])
        low = torch.tensor([c.low for c in config.channels], dtype=torch.float32)
        high = torch.tensor([c.high for c in config.channels], dtype=torch.float32)
        self.register_buffer("is_log", is_log.view(1, -1, 1, 1), persistent=False)
        self.register_buffer("low", low.view(1, -1, 1, 1), persistent=False)
        self.register_buffer("high", high.view(1, -1, 1, 1), persistent=False)
        self.register_buffer("t_low", self._transform(self.low), persistent=False)
        self.register_buffer("t_high", self._transform(self.high), persistent=False)
        self.in_channels = len(config.channels) + 1
        self.out_channels = len(config.channels) + 1

    def _transform(self, values: torch.Tensor) -> torch.Tensor:
        # clamp before log: empty pixels hold 0 and are masked out later anyway
        return torch.where(self.is_log, torch.log(values.clamp_min(self.low)), values)

    def codes(self, values: torch.Tensor) -> torch.Tensor:
        """Physical values [B, C, H, W] → codes in [-1, 1]."""
        scaled = (self._transform(values) - self.t_low) / (self.t_high - self.t_low)
        return (2.0 * scaled - 1.0).clamp(-1.0, 1.0)

    def values(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes [B, C, H, W] → physical values (not gated by any mask)."""
        t = self.t_low + (codes.clamp(-1.0, 1.0) + 1.0) / 2.0 * (self.t_high - self.t_low)
        return torch.where(self.is_log, torch.exp(t), t)

    def _densify(self, codes: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        k = self.config.densify
        if k == 1:
            return codes * valid
        summed = F.avg_pool2d(codes * valid, k, stride=1, padding=k // 2, count_include_pad=False)
        weight = F.avg_pool2d(valid, k, stride=1, padding=k // 2, count_include_pad=False)
        filled = summed / weight.clamp_min(1e-6)
        return torch.where(valid > 0, codes, filled)

    def to_network(self, x: torch.Tensor) -> torch.Tensor:
        valid = x[:, -1:]
        codes = self._densify(self.codes(x[:, :-1]), valid)
        return torch.cat([codes, 2.0 * valid - 1.0], dim=1)

    def from_network(self, y: torch.Tensor) -> torch.Tensor:
        valid = (y[:, -1:] > 0).to(y.dtype)
        return torch.cat([self.values(y[:, :-1]) * valid, valid], dim=1)

    def loss(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        valid = x[:, -1:]
        target = self.codes(x[:, :-1])
        squared = (y[:, :-1] - target).square() * valid
        value_loss = squared.sum() / (valid.sum() * target.shape[1]).clamp_min(1.0)
        pos_weight = torch.tensor(self.config.mask_pos_weight, device=y.device, dtype=y.dtype)
        mask_loss = F.binary_cross_entropy_with_logits(y[:, -1:], valid, pos_weight=pos_weight)
        return value_loss + self.config.mask_weight * mask_loss
