"""Gather the inputs of one enhancement: from files (night image, map arrays) or from a shard sample.

Returns a dict of batch-of-one tensors in the ShardDataset layout: ``night`` [1, 3, H, W] in [-1, 1],
optional ``lidar`` [1, 3, H, W] and ``radar`` [1, 4, H, W].
"""

from __future__ import annotations

from pathlib import Path

import torch

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
