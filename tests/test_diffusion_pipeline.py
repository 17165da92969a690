"""End to end on the generated world: shards + autoencoders → train → enhance (evaluation: test_evaluation.py).

Uses the session fixtures ``shards`` (64×112) and ``autoencoders``; one tiny model is trained per module.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from deploy.cli import app
from fusion.diffusion.config import MLDConfig
from fusion.diffusion.enhance import Enhancer
from fusion.diffusion.images import read_rgb, to_uint8, write_rgb
from fusion.diffusion.run import train_run
from preprocessing.config import load_config
from preprocessing.dataset import ShardDataset
from preprocessing.errors import UserError

runner = CliRunner()


def tiny_config(**train) -> MLDConfig:
    config = load_config("configs/mld_tiny.yaml", MLDConfig)
    return config.model_copy(update={"train": config.train.model_copy(update=train)})


@pytest.fixture(scope="module")
def trained(shards, autoencoders, tmp_path_factory):
    out = tmp_path_factory.mktemp("mld") / "run"
    summary = train_run(tiny_config(), shards, autoencoders, out, show_progress=False)
    return out, summary


@pytest.fixture(scope="module")
def held_out(shards):
    dataset = ShardDataset(shards, split="val")
    index = next(i for i, record in enumerate(dataset.records) if not record["night_scene"])
    return dataset[index]


def test_training_on_the_world_reduces_the_loss(trained, shards):
    out, summary = trained
    assert summary["loss_after"] < 0.8 * summary["loss_before"], summary
    # the folder is self-contained and only day scenes of the train split were encoded (twice: hflip)
    assert {p.name for p in (out / "autoencoders").iterdir()} == {"camera", "lidar", "radar"}
    from fusion.diffusion.latents import load_latents

    latents, tokens = load_latents(out / "cache" / "latents-train.safetensors")
    train = ShardDataset(shards, split="train").records
    day_tokens = {r["sample_token"] for r in train if not r["night_scene"]}
    assert set(tokens) == day_tokens and len(tokens) == 2 * len(day_tokens)
    assert latents.shape == (len(tokens), 4, 4, 8, 14)


def test_run_folder_is_protected(trained, shards, autoencoders):
    out, _ = trained
    with pytest.raises(UserError, match="--resume"):
        train_run(tiny_config(), shards, autoencoders, out, show_progress=False)
    with pytest.raises(UserError, match="train.learning_rate"):
        train_run(tiny_config(learning_rate=0.5), shards, autoencoders, out, resume=True, show_progress=False)


def test_enhancement_is_seeded_and_file_inputs_match_the_sample(trained, shards, held_out, tmp_path):
    out, _ = trained
    token = held_out["sample_token"]
    common = ["enhance", "--model", str(out), "--steps", "6"]
    first, again, other = (tmp_path / name for name in ("a.png", "b.png", "c.png"))
    for path, seed in ((first, "1"), (again, "1"), (other, "2")):
        result = runner.invoke(app, common + ["--sample", token, "--data", str(shards), "--seed", seed, "--out", str(path)])
        assert result.exit_code == 0, result.output
    assert first.read_bytes() == again.read_bytes()
    assert first.read_bytes() != other.read_bytes()
    assert read_rgb(first, (64, 112)).shape == (64, 112, 3)

    # the same frame given as files (night PNG + map arrays) gives the same image
    write_rgb(tmp_path / "night.png", to_uint8(held_out["night"][None])[0])
    np.save(tmp_path / "lidar.npy", held_out["lidar"].numpy())
    np.save(tmp_path / "radar.npy", held_out["radar"].numpy())
    files = tmp_path / "files.png"
    result = runner.invoke(
        app,
        common + ["--night", str(tmp_path / "night.png"), "--lidar", str(tmp_path / "lidar.npy"),
                  "--radar", str(tmp_path / "radar.npy"), "--seed", "1", "--out", str(files)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert files.read_bytes() == first.read_bytes()


def test_conditioning_changes_the_enhanced_frame(trained, held_out):
    enhancer = Enhancer(trained[0])
    frames = {name: held_out[name][None] for name in ("night", "lidar", "radar")}
    with_maps = enhancer.enhance(frames, steps=6, seed=0)
    night_only = enhancer.enhance({"night": frames["night"]}, steps=6, seed=0)
    assert with_maps.shape == (1, 3, 64, 112) and with_maps.abs().max() <= 1
    assert not torch.allclose(with_maps, night_only, atol=1e-3)


def test_batch_enhancement_writes_one_frame_per_input(trained, shards, held_out, tmp_path):
    out, _ = trained
    common = ["enhance", "--model", str(out), "--steps", "4", "--batch-size", "3"]
    result = runner.invoke(app, common + ["--data", str(shards), "--split", "val", "--out", str(tmp_path / "val")])
    assert result.exit_code == 0, result.output
    keys = {record["key"] for record in ShardDataset(shards, split="val").records}
    assert {p.stem for p in (tmp_path / "val").iterdir()} == keys and all(read_rgb(p, (64, 112)).any() for p in (tmp_path / "val").iterdir())

    folder = tmp_path / "nights"
    for name in ("a", "b"):
        write_rgb(folder / f"{name}.png", to_uint8(held_out["night"][None])[0])
        (tmp_path / "lidar").mkdir(exist_ok=True)
        np.save(tmp_path / "lidar" / f"{name}.npy", held_out["lidar"].numpy())
    result = runner.invoke(app, common + ["--night", str(folder), "--lidar", str(tmp_path / "lidar"), "--out", str(tmp_path / "day")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "day").iterdir()) == ["a.png", "b.png"]
    result = runner.invoke(app, common + ["--night", str(folder), "--out", str(tmp_path / "one.png")])
    assert result.exit_code != 0 and "folder" in str(result.exception or result.output)
