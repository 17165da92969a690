"""``ShardDataset``: the torch view of an ingest output (contract 2 of the shared contracts).

Items are dicts::

    day, night    float32 [3,H,W] RGB in [-1, 1]
    lidar         float32 [3,H,W] (depth m, intensity, valid ∈ {0,1})
    radar         float32 [4,H,W] (depth m, RCS, radial velocity m/s, valid ∈ {0,1})
    sample_token, scene_token   str
    night_scene   bool (a real night frame: ``night`` is that frame)
    day_twin      bool (night scenes only: ``day`` is the frame's day twin, rendered ground truth of the
                  same instant; without a twin ``day`` is the night frame again — exclude from paired training)

Maps are the raw sparse ones; densifying is the consumer's job. Calibration, raw points and the
night-synthesis parameters are in ``dataset.records[i]`` / ``preprocessing.shards.load_sample``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from preprocessing.shards import decode_member, list_samples, read_members

_FIELDS = ("day.png", "night.png", "lidar.npy.gz", "radar.npy.gz")


def image_to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """[H,W,3] uint8 → float32 [3,H,W] in [-1, 1]."""
    return torch.from_numpy(rgb).permute(2, 0, 1).float().div_(127.5).sub_(1.0)


class ShardDataset(Dataset):
    """Random access to the samples of an ingest output directory, optionally of one split."""

    def __init__(self, path: str | Path, split: str | None = None):
        self.path = Path(path)
        self.records = list_samples(self.path, split)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict:
        record = self.records[index]
        data = {field: decode_member(field, raw) for field, raw in read_members(record, _FIELDS).items()}
        return {
            "day": image_to_tensor(data["day.png"]),
            "night": image_to_tensor(data["night.png"]),
            "lidar": torch.from_numpy(data["lidar.npy.gz"]),
            "radar": torch.from_numpy(data["radar.npy.gz"]),
            "sample_token": record["sample_token"],
            "scene_token": record["scene_token"],
            "night_scene": bool(record["night_scene"]),
            "day_twin": bool(record.get("day_twin", False)),  # shards ingested before day twins lack it
        }
