"""Untrained models with random weights, saved in the folder layouts ``nightfusion export`` reads.

Export parity and runtime speed do not depend on training, so tests and ``benchmarks/deploy.py``
build these in seconds instead of training. Zero-initialised layers (adaLN-Zero, output layers)
are perturbed so that every graph computes something non-trivial.

    <out>/mld/                      MLD model folder (config.json, model.safetensors, autoencoders/)
    <out>/info/                     information estimator over the vehicle descriptors (3 × latent_channels)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fusion.diffusion.checkpoint import save_model
from fusion.diffusion.config import ModelConfig, SampleConfig, ScheduleConfig
from fusion.diffusion.enhance import AUTOENCODER_FOLDER
from fusion.diffusion.model import MultimodalDiT
from fusion.information.backbones import build_backbone
from fusion.information.config import EstimatorConfig
from fusion.information.estimator import InformationEstimator
from fusion.information.variables import Standardizer
from perception.config import ArchitectureConfig, ChannelRange, SparseMapConfig
from perception.model import ModalityAutoencoder
from perception.normalization import LatentNormalizer
from perception.vae import build_vae

LIDAR_MAP = SparseMapConfig(
    channels=(ChannelRange(name="depth", low=1.0, high=80.0, log=True), ChannelRange(name="intensity", low=0.0, high=255.0)),
    densify=3,
)
RADAR_MAP = SparseMapConfig(
    channels=(
        ChannelRange(name="depth", low=1.0, high=250.0, log=True),
        ChannelRange(name="rcs", low=-30.0, high=50.0),
        ChannelRange(name="velocity", low=-40.0, high=40.0),
    )
)


@dataclass(frozen=True)
class RandomModelSizes:
    """Sizes of the random models; ``frame`` (H, W) must be divisible by 8 · patch_size."""

    frame: tuple[int, int] = (32, 48)
    ae_channels: tuple[int, ...] = (8, 8, 8, 8)
    ae_groups: int = 4
    hidden_size: int = 32
    depth: int = 2
    num_heads: int = 4
    patch_size: int = 2
    info_width: int = 32
    steps: int = 6


def perturb(module: torch.nn.Module, generator: torch.Generator, scale: float = 0.05) -> None:
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.add_(scale * torch.randn(parameter.shape, generator=generator))


def random_autoencoder(name: str, sizes: RandomModelSizes, generator: torch.Generator) -> ModalityAutoencoder:
    architecture = ArchitectureConfig(
        block_out_channels=sizes.ae_channels, layers_per_block=1, norm_num_groups=sizes.ae_groups, latent_channels=4
    )
    sparse = {"camera": None, "lidar": LIDAR_MAP, "radar": RADAR_MAP}[name]
    channels = 3 if sparse is None else len(sparse.channels) + 1
    vae = build_vae(architecture, channels, channels)
    grid = (4, sizes.frame[0] // 8, sizes.frame[1] // 8)
    normalizer = LatentNormalizer(0.1 * torch.randn(grid, generator=generator), 0.5 + torch.rand(grid, generator=generator))
    model = ModalityAutoencoder(name, vae, sparse, normalizer)
    perturb(model, generator, 0.01)
    return model.eval()


def random_models(out: Path, sizes: RandomModelSizes = RandomModelSizes(), seed: int = 0) -> tuple[Path, Path]:
    """Write a random MLD folder (with autoencoders) and a random information estimator; returns their paths."""
    out = Path(out)
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # module constructors draw their initial weights from the global generator
    mld = out / "mld"
    for name in ("camera", "lidar", "radar"):
        random_autoencoder(name, sizes, generator).save_pretrained(mld / AUTOENCODER_FOLDER / name)
    config = ModelConfig(
        patch_size=sizes.patch_size, hidden_size=sizes.hidden_size, depth=sizes.depth, num_heads=sizes.num_heads,
        mlp_ratio=2.0, latent_size=(sizes.frame[0] // 8, sizes.frame[1] // 8),
    )  # fmt: skip
    model = MultimodalDiT(config)
    perturb(model, generator)
    save_model(mld, model, ScheduleConfig(), SampleConfig(steps=sizes.steps, guidance=2.0, t_start=0.5), step=0)

    estimator = InformationEstimator(EstimatorConfig(width=sizes.info_width, depth=2, tau_features=8))
    estimator.dims, estimator.measures = (4, 4, 4), ("o_information",)
    estimator.standardizer = Standardizer(np.zeros(12, np.float32), np.full(12, 0.5, np.float32))
    estimator.net = build_backbone(estimator.config, estimator.dims, estimator.schedule)
    perturb(estimator.net, generator, 0.2)
    info = estimator.save(out / "info")
    return mld, info
