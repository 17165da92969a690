"""The autoencoders see real camera frames only: a night scene's day twin never enters their input."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from perception.data import autoencoder_input, camera_views
from preprocessing.dataset import ShardDataset


def test_camera_input_holds_no_day_twin(shards):
    dataset = ShardDataset(shards)
    batch = next(iter(DataLoader(dataset, batch_size=len(dataset))))
    night = batch["night_scene"]
    assert night.any() and batch["day_twin"][night].all() and not batch["day_twin"][~night].any()
    frames = autoencoder_input(batch, "camera")
    day_half, night_half = frames.split(len(dataset))
    assert torch.equal(night_half, batch["night"])
    assert torch.equal(day_half[~night], batch["day"][~night]) and torch.equal(day_half[night], batch["night"][night])
    for twin in batch["day"][night]:
        assert not (frames == twin).flatten(1).all(1).any()
    views = camera_views(batch, frames)  # a perfect reconstruction
    assert torch.equal(views["day"][0], batch["day"][~night]) and torch.equal(views["night"][0], batch["night"])
