"""Rendered night stays out of diffusion training unless a config asks for it, and a model folder
records the scenes it was trained on."""

from __future__ import annotations

import json

import pytest
import torch

from fusion.diffusion.latents import draw_frames, encode_dataset, pair_weights
from fusion.diffusion.multitime import MODALITIES
from fusion.diffusion.run import TRAINING_SCENES, train_run, training_scenes
from preprocessing.dataset import ShardDataset
from preprocessing.errors import UserError
from tests.test_diffusion_training import tiny_config

DAY, NIGHT = MODALITIES.index("day"), MODALITIES.index("night")


class FirstChannels:
    """Stands in for the autoencoders: a frame's 'latent' is its first three channels, so every
    latent shows exactly which image was encoded."""

    def encode(self, name: str, frames: torch.Tensor) -> torch.Tensor:
        return frames[:, :3]


@pytest.fixture(scope="module")
def train_set(shards):
    dataset = ShardDataset(shards, split="train")
    assert any(r["day_twin"] for r in dataset.records) and not all(r["night_scene"] for r in dataset.records)
    return dataset


def test_twin_frames_are_encoded_only_with_rendered_night_pairs(train_set):
    records = train_set.records
    day_scene = [i for i, r in enumerate(records) if not r["night_scene"]]
    latents, tokens = encode_dataset(train_set, FirstChannels(), batch_size=3, hflip=False)
    assert tokens == [records[i]["sample_token"] for i in day_scene] and len(latents) == len(day_scene)

    count = len(records)
    latents, tokens = encode_dataset(train_set, FirstChannels(), batch_size=count, hflip=True, rendered_night_pairs=True)
    assert tokens == 2 * [r["sample_token"] for r in records]  # one batch: the frames, then their mirror images
    for i, record in enumerate(records):
        item = train_set[i]
        assert torch.equal(latents[i, DAY], item["day"]) and torch.equal(latents[i, NIGHT], item["night"])
        assert torch.equal(latents[count + i, DAY], item["day"].flip(-1))
        if record["night_scene"]:  # rendered night → its day twin, a real pair
            assert latents[i, DAY].mean() > latents[i, NIGHT].mean() + 0.5


@pytest.mark.parametrize("weight", [1.0, 3.0])
def test_rendered_night_pairs_are_drawn_as_often_as_their_weight_says(train_set, weight):
    """Share of rendered-night pairs in the batches = w·n / (w·n + m) for n of them among m + n frames."""
    records = train_set.records
    rendered = torch.tensor([r["night_scene"] for r in records])
    weights = pair_weights(records, weight)
    assert torch.equal(weights[rendered], torch.full((int(rendered.sum()),), weight)) and (weights[~rendered] == 1).all()
    drawn = draw_frames(len(records), 50_000, torch.Generator().manual_seed(0), weights)
    n, m = rendered.sum().item(), (~rendered).sum().item()
    assert rendered[drawn].float().mean().item() == pytest.approx(weight * n / (weight * n + m), abs=0.01)


def test_model_folder_records_its_training_scenes(train_set, shards, autoencoders, tmp_path):
    scenes = {r["scene_token"]: r["scene_name"] for r in train_set.records}
    night = {r["scene_token"] for r in train_set.records if r["night_scene"]}
    day = {token: name for token, name in scenes.items() if token not in night}
    assert day and len(day) < len(scenes)
    for pairs, expected in ((False, day), (True, scenes)):
        out = tmp_path / f"pairs-{pairs}"
        train_run(tiny_config(steps=2, rendered_night_pairs=pairs), shards, autoencoders, out, show_progress=False)
        frames = sum(r["scene_token"] in expected for r in train_set.records)
        recorded = json.loads((out / TRAINING_SCENES).read_text())
        assert recorded == {"scene_tokens": sorted(expected), "scene_names": sorted(expected.values()), "frames": frames}
        assert training_scenes(out) == set(expected)
    (out / TRAINING_SCENES).unlink()  # a resumed run rewrites it from the latent cache
    train_run(tiny_config(steps=3, rendered_night_pairs=True), shards, autoencoders, out, resume=True, show_progress=False)
    assert json.loads((out / TRAINING_SCENES).read_text()) == recorded
    with pytest.raises(UserError, match=str(tmp_path / "elsewhere" / TRAINING_SCENES)):
        training_scenes(tmp_path / "elsewhere")
