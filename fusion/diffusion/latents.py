"""Encode shard frames once into the normalised latents the DiT trains on, and cache them on disk.

Frames come from ``preprocessing.dataset.ShardDataset`` (contract 2) and are encoded with the
autoencoders of ``perception.load_autoencoders`` (contract 3); the result is one tensor
[N, M, C, h, w] in ``multitime.MODALITIES`` slot order. Real night scenes are left out: their ``day``
image is the night frame itself (no day target) or its rendered day twin, which is ground truth for
evaluating on rendered night and enters training only with ``rendered_night_pairs``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from rich.progress import Progress
from safetensors import safe_open
from torch.utils.data import DataLoader, Subset

from fusion.diffusion.multitime import MODALITIES
from perception.tensor_files import tensors_to_bytes
from preprocessing.atomic import atomic_write_bytes


def flip_frames(frames: dict) -> dict:
    """Mirror every image-plane tensor left↔right (the maps stay aligned with the camera)."""
    return {name: frames[name].flip(-1) for name in MODALITIES}


@torch.no_grad()
def encode_frames(autoencoders, batch: dict) -> torch.Tensor:
    """Collated ShardDataset batch → latents [B, M, C, h, w]."""
    return torch.stack([autoencoders.encode(name, batch[name]).float() for name in MODALITIES], dim=1)


def training_frames(records: list[dict], rendered_night_pairs: bool = False) -> list[int]:
    """Indices of the shard records with a day target: day scenes (with synthesised night) and, with
    ``rendered_night_pairs``, night-scene frames with a day twin."""
    return [
        i for i, record in enumerate(records)
        if not record["night_scene"] or (rendered_night_pairs and record.get("day_twin", False))
    ]  # fmt: skip


def pair_weights(records: list[dict], rendered_night_weight: float) -> torch.Tensor:
    """[N] sampling weight of each training frame ``records``: ``rendered_night_weight`` for a night-scene
    frame (rendered night against its day twin), 1 for a day-scene frame (synthesised night)."""
    return torch.tensor([rendered_night_weight if record["night_scene"] else 1.0 for record in records])


def draw_frames(count: int, size: int, generator: torch.Generator, weights: torch.Tensor | None = None) -> torch.Tensor:
    """[size] indices into ``count`` frames: uniform, or in proportion to ``weights`` [count]."""
    if weights is None:
        return torch.randint(count, (size,), generator=generator)
    return torch.multinomial(weights, size, replacement=True, generator=generator)


def encode_dataset(
    dataset, autoencoders, *, batch_size: int, hflip: bool, rendered_night_pairs: bool = False, progress: Progress | None = None
) -> tuple[torch.Tensor, list[str]]:
    """Latents of every ``training_frames`` frame of a ShardDataset (and of its mirror image with
    ``hflip``) and their sample tokens."""
    indices = training_frames(dataset.records, rendered_night_pairs)
    if not indices:
        raise ValueError("the dataset has no day frames (every frame is from a real night scene)")
    task = progress.add_task("encoding latents", total=len(indices)) if progress else None
    chunks, tokens = [], []
    for batch in DataLoader(Subset(dataset, indices), batch_size=batch_size, shuffle=False):
        frames = {name: batch[name] for name in MODALITIES}
        for view in [frames, flip_frames(frames)] if hflip else [frames]:
            chunks.append(encode_frames(autoencoders, view))
            tokens.extend(batch["sample_token"])
        if progress:
            progress.advance(task, len(batch["sample_token"]))
    return torch.cat(chunks), tokens


def save_latents(path: Path, latents: torch.Tensor, tokens: list[str]) -> None:
    atomic_write_bytes(path, tensors_to_bytes({"latents": latents}, {"tokens": json.dumps(tokens)}))


def load_latents(path: Path) -> tuple[torch.Tensor, list[str]]:
    with safe_open(str(path), framework="pt") as handle:
        return handle.get_tensor("latents"), json.loads(handle.metadata()["tokens"])
