"""The set of modality autoencoders that downstream stages use: ``load_autoencoders(DIR)``.

DIR holds one folder per autoencoder (``camera/``, ``lidar/``, ``radar/``, see ``perception.model``).
Modalities map to autoencoders as ``day``/``night``/``camera`` → camera (one shared latent space, so
night→day enhancement stays in it), ``lidar`` → lidar, ``radar`` → radar. Every latent is the
normalised posterior mode [B, latent_channels, H/downsample, W/downsample], on the same grid for
every modality so that tokens line up.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from perception.config import AUTOENCODER_NAMES
from perception.model import ModalityAutoencoder
from preprocessing.errors import UserError

AUTOENCODER_OF_MODALITY = {"day": "camera", "night": "camera", "camera": "camera", "lidar": "lidar", "radar": "radar"}


class Autoencoders(nn.Module):
    """Frozen modality autoencoders with a modality-keyed encode/decode API."""

    def __init__(self, models: dict[str, ModalityAutoencoder]):
        super().__init__()
        if not models:
            raise UserError("no autoencoders given")
        layouts = {name: (m.latent_channels, m.downsample) for name, m in models.items()}
        if len(set(layouts.values())) > 1:
            raise UserError(f"autoencoders disagree on (latent_channels, downsample): {layouts}")
        self.models = nn.ModuleDict(models)
        self.requires_grad_(False)
        self.eval()

    @property
    def latent_channels(self) -> int:
        return next(iter(self.models.values())).latent_channels

    @property
    def downsample(self) -> int:
        return next(iter(self.models.values())).downsample

    def model(self, modality: str) -> ModalityAutoencoder:
        """The autoencoder serving ``modality`` ∈ {day, night, camera, lidar, radar}."""
        if modality not in AUTOENCODER_OF_MODALITY:
            raise ValueError(f"unknown modality {modality!r}; expected one of {sorted(AUTOENCODER_OF_MODALITY)}")
        name = AUTOENCODER_OF_MODALITY[modality]
        if name not in self.models:
            raise UserError(f"no {name} autoencoder loaded (modality {modality!r}); loaded: {sorted(self.models)}")
        return self.models[name]

    @torch.no_grad()
    def encode(self, modality: str, x: torch.Tensor) -> torch.Tensor:
        """x [B, C_x, H, W] (ShardDataset layout) → normalised z [B, latent_channels, H/f, W/f]."""
        return self.model(modality).encode(x)

    @torch.no_grad()
    def decode(self, modality: str, z: torch.Tensor) -> torch.Tensor:
        """Normalised z [B, latent_channels, h, w] → x [B, C_x, h·f, w·f] (sparse maps: gated values + 0/1 mask)."""
        return self.model(modality).decode(z)


def load_autoencoders(path: str | Path, names: tuple[str, ...] | None = None) -> Autoencoders:
    """Load the autoencoder folders under ``path`` (all of camera/lidar/radar that exist, or exactly ``names``)."""
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"autoencoder directory not found: {path}")
    wanted = names if names is not None else tuple(n for n in AUTOENCODER_NAMES if (path / n).is_dir())
    missing = [n for n in wanted if not (path / n).is_dir()]
    if missing or not wanted:
        raise UserError(f"{path}: missing autoencoder folder(s) {missing or list(AUTOENCODER_NAMES)}")
    return Autoencoders({name: ModalityAutoencoder.from_pretrained(path / name) for name in wanted})
