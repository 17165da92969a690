"""Per-modality deterministic autoencoders (SPEC §5): camera (shared by day and night), LiDAR, radar.

``load_autoencoders(DIR)`` gives the frozen set with ``encode(modality, x)`` / ``decode(modality, z)``
on normalised latents [B, 4, H/8, W/8]; ``nightfusion train-ae`` trains them.

The public names are resolved lazily (PEP 562) so that importing ``perception.config`` or the CLI
does not import torch and diffusers.
"""

from __future__ import annotations

import importlib

_PUBLIC = {
    "Autoencoders": "perception.bundle",
    "load_autoencoders": "perception.bundle",
    "ModalityAutoencoder": "perception.model",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'perception' has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name]), name)
