"""One modality autoencoder: AutoencoderKL + codec + latent normalisation, saved as a folder.

Folder layout (``ModalityAutoencoder.save_pretrained`` / ``from_pretrained``; nothing is pickled)::

    <dir>/perception.json              format version, name, sparse-map codec config
    <dir>/autoencoder/                 diffusers save_pretrained: config.json + *.safetensors
    <dir>/normalization.safetensors    {"mean", "std"}: [C, h, w] or [C, 1, 1]

``encoder`` and ``decoder`` are plain ``nn.Module`` wrappers (no data-dependent Python control flow)
for ONNX export: x [B, C_x, H, W] → normalised z [B, C, H/f, W/f] and back.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import AutoencoderKL
from torch import nn

from perception.codec import CameraCodec, SparseMapCodec
from perception.config import AutoencoderName, SparseMapConfig
from perception.normalization import LatentNormalizer
from perception.vae import downsample_factor
from preprocessing.errors import UserError

FORMAT_VERSION = 1


class NormalizedEncoder(nn.Module):
    """x [B, C_x, H, W] in the ShardDataset layout → normalised latent [B, C, H/f, W/f] (posterior mode)."""

    def __init__(self, vae: AutoencoderKL, codec: nn.Module, normalizer: LatentNormalizer):
        super().__init__()
        self.vae, self.codec, self.normalizer = vae, codec, normalizer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.vae.encode(self.codec.to_network(x)).latent_dist.mode()
        return self.normalizer.normalize(z)


class LatentDecoder(nn.Module):
    """Normalised latent [B, C, h, w] → reconstruction [B, C_x, h·f, w·f] in the ShardDataset layout."""

    def __init__(self, vae: AutoencoderKL, codec: nn.Module, normalizer: LatentNormalizer):
        super().__init__()
        self.vae, self.codec, self.normalizer = vae, codec, normalizer

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        y = self.vae.decode(self.normalizer.denormalize(z)).sample
        return self.codec.from_network(y)


class ModalityAutoencoder(nn.Module):
    """Deterministic autoencoder of one modality ("camera", "lidar" or "radar").

    ``forward(x)`` is the raw network output used for training (``codec.loss(forward(x), x)``);
    ``encode``/``decode`` are the normalised-latent API used downstream.
    """

    def __init__(
        self,
        name: AutoencoderName,
        vae: AutoencoderKL,
        sparse: SparseMapConfig | None = None,
        normalizer: LatentNormalizer | None = None,
    ):
        super().__init__()
        self.name = name
        self.sparse = sparse
        self.vae = vae
        self.codec = SparseMapCodec(sparse) if sparse is not None else CameraCodec()
        if (vae.config.in_channels, vae.config.out_channels) != (self.codec.in_channels, self.codec.out_channels):
            raise UserError(
                f"{name} autoencoder has {vae.config.in_channels}→{vae.config.out_channels} channels, its data needs "
                f"{self.codec.in_channels}→{self.codec.out_channels}"
            )
        self.normalizer = normalizer or LatentNormalizer.identity(vae.config.latent_channels)

    @property
    def latent_channels(self) -> int:
        return self.vae.config.latent_channels

    @property
    def downsample(self) -> int:
        return downsample_factor(self.vae)

    @property
    def encoder(self) -> NormalizedEncoder:
        """Export wrapper sharing this model's weights (not a registered sub-module: no duplicate state)."""
        return NormalizedEncoder(self.vae, self.codec, self.normalizer)

    @property
    def decoder(self) -> LatentDecoder:
        return LatentDecoder(self.vae, self.codec, self.normalizer)

    def raw_latent(self, x: torch.Tensor) -> torch.Tensor:
        """Un-normalised posterior mode [B, C, h, w] (what the normalisation statistics are measured on)."""
        return self.vae.encode(self.codec.to_network(x)).latent_dist.mode()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(self.raw_latent(x)).sample

    def _check_input(self, x: torch.Tensor) -> None:
        f = self.downsample
        if x.dim() != 4 or x.shape[1] != self.codec.in_channels or x.shape[2] % f or x.shape[3] % f:
            raise ValueError(
                f"{self.name} autoencoder expects [B, {self.codec.in_channels}, H, W] with H, W divisible by {f}, "
                f"got {tuple(x.shape)}"
            )
        self.normalizer.check_grid((x.shape[2] // f, x.shape[3] // f))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 4 or z.shape[1] != self.latent_channels:
            raise ValueError(f"{self.name} decoder expects [B, {self.latent_channels}, h, w], got {tuple(z.shape)}")
        self.normalizer.check_grid(tuple(z.shape))
        return self.decoder(z)

    def save_pretrained(self, path: Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.vae.save_pretrained(path / "autoencoder", safe_serialization=True)
        self.normalizer.save(path / "normalization.safetensors")
        spec = {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "sparse": self.sparse.model_dump() if self.sparse is not None else None,
        }
        (path / "perception.json").write_text(json.dumps(spec, indent=2))

    @classmethod
    def from_pretrained(cls, path: str | Path) -> ModalityAutoencoder:
        path = Path(path)
        spec_path = path / "perception.json"
        if not spec_path.is_file():
            raise UserError(f"{path} is not a perception autoencoder folder (no perception.json)")
        spec = json.loads(spec_path.read_text())
        if spec.get("format_version") != FORMAT_VERSION:
            raise UserError(f"{spec_path}: unsupported format_version {spec.get('format_version')}")
        sparse = SparseMapConfig.model_validate(spec["sparse"]) if spec["sparse"] is not None else None
        vae = AutoencoderKL.from_pretrained(path / "autoencoder", use_safetensors=True)
        normalizer = LatentNormalizer.load(path / "normalization.safetensors")
        model = cls(spec["name"], vae, sparse, normalizer)
        return model.eval()
