"""Encode shard frames once into the normalised latents the DiT trains on, and cache them on disk.

Frames come from ``preprocessing.dataset.ShardDataset`` (contract 2) and are encoded with the
autoencoders of ``perception.load_autoencoders`` (contract 3); the result is one tensor
[N, M, C, h, w] in ``multitime.MODALITIES`` slot order. Real night scenes are left out: their ``day``
image is the night frame itself, so they carry no day target.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from rich.progress import Progress
from safetensors import safe_open
from torch.utils.data import DataLoader

from fusion.diffusion.checkpoint import tensors_to_bytes
from fusion.diffusion.multitime import MODALITIES
from preprocessing.atomic import atomic_write_bytes


def flip_frames(frames: dict) -> dict:
    """Mirror every image-plane tensor left↔right (the maps stay aligned with the camera)."""
    return {name: frames[name].flip(-1) for name in MODALITIES}


@torch.no_grad()
def encode_frames(autoencoders, batch: dict) -> torch.Tensor:
    """Collated ShardDataset batch → latents [B, M, C, h, w]."""
    return torch.stack([autoencoders.encode(name, batch[name]).float() for name in MODALITIES], dim=1)


def encode_dataset(
    dataset, autoencoders, *, batch_size: int, hflip: bool, progress: Progress | None = None
) -> tuple[torch.Tensor, list[str]]:
    """Latents of every paired frame (and of its mirror image with ``hflip``) and their sample tokens."""
    task = progress.add_task("encoding latents", total=len(dataset)) if progress else None
    chunks, tokens = [], []
    for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        paired = ~torch.as_tensor(batch["night_scene"], dtype=torch.bool)
        if paired.any():
            frames = {name: batch[name][paired] for name in MODALITIES}
            names = [token for token, keep in zip(batch["sample_token"], paired.tolist()) if keep]
            for view in [frames, flip_frames(frames)] if hflip else [frames]:
                chunks.append(encode_frames(autoencoders, view))
                tokens.extend(names)
        if progress:
            progress.advance(task, len(paired))
    if not chunks:
        raise ValueError("the dataset has no day frames (every frame is from a real night scene)")
    return torch.cat(chunks), tokens


def save_latents(path: Path, latents: torch.Tensor, tokens: list[str]) -> None:
    atomic_write_bytes(path, tensors_to_bytes({"latents": latents}, {"tokens": json.dumps(tokens)}))


def load_latents(path: Path) -> tuple[torch.Tensor, list[str]]:
    with safe_open(str(path), framework="pt") as handle:
        return handle.get_tensor("latents"), json.loads(handle.metadata()["tokens"])
