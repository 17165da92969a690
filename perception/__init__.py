"""Per-modality deterministic autoencoders (SPEC §5): camera (shared by day and night), LiDAR, radar.

``load_autoencoders(DIR)`` gives the frozen set with ``encode(modality, x)`` / ``decode(modality, z)``
on normalised latents [B, 4, H/8, W/8]; ``nightfusion train-ae`` trains them.
"""

from perception.bundle import Autoencoders, load_autoencoders
from perception.model import ModalityAutoencoder

__all__ = ["Autoencoders", "ModalityAutoencoder", "load_autoencoders"]
