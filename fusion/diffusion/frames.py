"""Gather the inputs of enhancement: from files (night image, map arrays) or from shard samples.

``enhancement_frames`` gives one frame, ``frame_batches`` every frame of a shard split or of a folder of
night images. Frames are dicts of tensors in the ShardDataset layout: ``night`` [B, 3, H, W] in [-1, 1],
optional ``lidar`` [B, 3, H, W] and ``radar`` [B, 4, H, W].
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from fusion.diffusion.images import from_uint8, read_map, read_rgb
from preprocessing.dataset import ShardDataset
from preprocessing.errors import UserError

MAP_CHANNELS = {"lidar": 3, "radar": 4}


def shard_sample(data: Path, token: str) -> dict:
    """The ShardDataset item with ``sample_token == token`` (any split)."""
    dataset = ShardDataset(data)
    for index, record in enumerate(dataset.records):
        if record["sample_token"] == token:
            return dataset[index]
    raise UserError(f"sample {token} is not in the shards at {data}")


def enhancement_frames(
    size: tuple[int, int],
    *,
    night: Path | None = None,
    lidar: Path | None = None,
    radar: Path | None = None,
    sample: str | None = None,
    data: Path | None = None,
) -> dict[str, torch.Tensor]:
    """Files take precedence over the shard sample; a sample supplies whatever files do not."""
    if (sample is None) != (data is None):
        raise UserError("--sample and --data go together")
    if night is None and sample is None:
        raise UserError("give the night frame with --night IMG or --sample TOKEN --data SHARDS")
    frames: dict[str, torch.Tensor] = {}
    if sample is not None:
        item = shard_sample(data, sample)
        if tuple(item["night"].shape[-2:]) != tuple(size):
            raise UserError(f"shards at {data} are {tuple(item['night'].shape[-2:])}, the model needs {tuple(size)}")
        frames = {name: item[name][None] for name in ("night", "lidar", "radar")}
    if night is not None:
        frames["night"] = from_uint8(read_rgb(night, size)[None])
    for name, path in (("lidar", lidar), ("radar", radar)):
        if path is not None:
            frames[name] = read_map(path, MAP_CHANNELS[name], size)[None]
    return frames


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _folder_batches(size, night: Path, lidar: Path | None, radar: Path | None, batch_size: int):
    images = sorted(p for p in night.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise UserError(f"{night} holds no night images ({', '.join(IMAGE_SUFFIXES)})")
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        frames = {"night": from_uint8(torch.stack([torch.from_numpy(read_rgb(p, size)) for p in chunk]).numpy())}
        for name, folder in (("lidar", lidar), ("radar", radar)):
            if folder is not None:
                frames[name] = torch.stack([read_map(folder / f"{p.stem}.npy", MAP_CHANNELS[name], size) for p in chunk])
        yield [p.stem for p in chunk], frames


def _shard_batches(size, data: Path, split: str | None, batch_size: int):
    dataset = ShardDataset(data, split=split)
    if not dataset.records:
        raise UserError(f"no frames in the shards at {data}" + (f" (split {split!r})" if split else ""))
    keys = [record["key"] for record in dataset.records]
    for start, batch in zip(range(0, len(keys), batch_size), DataLoader(dataset, batch_size=batch_size)):
        if tuple(batch["night"].shape[-2:]) != tuple(size):
            raise UserError(f"shards at {data} are {tuple(batch['night'].shape[-2:])}, the model needs {tuple(size)}")
        yield keys[start : start + batch_size], {name: batch[name] for name in ("night", "lidar", "radar")}


def frame_batches(
    size: tuple[int, int],
    *,
    night: Path | None = None,
    lidar: Path | None = None,
    radar: Path | None = None,
    data: Path | None = None,
    split: str | None = None,
    batch_size: int = 16,
) -> Iterator[tuple[list[str], dict[str, torch.Tensor]]]:
    """(names, frames) batches of every frame of a shard split (named by camera token) or of a folder of
    night images (named by file stem; ``lidar``/``radar`` folders then hold ``<stem>.npy`` maps)."""
    if night is not None:
        return _folder_batches(size, night, lidar, radar, batch_size)
    return _shard_batches(size, data, split, batch_size)
