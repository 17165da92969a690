"""Building and loading the diffusers ``AutoencoderKL`` that every modality autoencoder is made of.

All modalities use the same KL-f8 design as Stable Diffusion (``DownEncoderBlock2D`` /
``UpDecoderBlock2D`` stacks, a mid block with attention, 2·C posterior moments of which only the
mean — the posterior mode — is used, so encoding is deterministic). The sparse maps only differ in
their input/output channel counts.
"""

from __future__ import annotations

from pathlib import Path

from diffusers import AutoencoderKL

from perception.config import ArchitectureConfig
from preprocessing.errors import UserError


def build_vae(architecture: ArchitectureConfig, in_channels: int, out_channels: int) -> AutoencoderKL:
    """A freshly initialised AutoencoderKL; downsampling factor 2^(len(block_out_channels) − 1)."""
    depth = len(architecture.block_out_channels)
    return AutoencoderKL(
        in_channels=in_channels,
        out_channels=out_channels,
        down_block_types=("DownEncoderBlock2D",) * depth,
        up_block_types=("UpDecoderBlock2D",) * depth,
        block_out_channels=architecture.block_out_channels,
        layers_per_block=architecture.layers_per_block,
        norm_num_groups=architecture.norm_num_groups,
        latent_channels=architecture.latent_channels,
        mid_block_add_attention=architecture.mid_block_add_attention,
    )


def downsample_factor(vae: AutoencoderKL) -> int:
    return 2 ** (len(vae.config.block_out_channels) - 1)


def load_vae(path: Path) -> AutoencoderKL:
    """Load a diffusers AutoencoderKL folder (safetensors only, never a pickle).

    ``path`` is either the VAE folder itself (``config.json`` + ``diffusion_pytorch_model.safetensors``)
    or a pipeline folder with a ``vae/`` sub-folder, like a Stable Diffusion checkpoint.
    """
    path = Path(path)
    if not (path / "config.json").is_file() and (path / "vae" / "config.json").is_file():
        path = path / "vae"
    if not (path / "config.json").is_file():
        raise UserError(f"no diffusers AutoencoderKL folder at {path} (expected config.json, or vae/config.json)")
    try:
        return AutoencoderKL.from_pretrained(path, use_safetensors=True)
    except (OSError, ValueError) as error:
        raise UserError(f"cannot load AutoencoderKL from {path}: {error}") from None
