"""Training on the generated world: learning, held-out latent statistics, checkpoints and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from rich.console import Console
from safetensors.torch import load_file
from torch.utils.data import default_collate

from perception import load_autoencoders
from perception.checkpoint import checkpoint_dirs, latest_checkpoint
from perception.cli import train_autoencoders
from perception.config import AutoencodersConfig, TrainConfig
from perception.train import TrainingRun, learning_rate, train_autoencoder
from preprocessing.config import validate
from preprocessing.dataset import ShardDataset
from preprocessing.errors import UserError
from tests.fixtures.autoencoders import TINY_CONFIG

REPO = Path(__file__).resolve().parents[1]


def tiny_config(**train) -> AutoencodersConfig:
    """The tiny config with the LiDAR section's training settings overridden."""
    data = yaml.safe_load(TINY_CONFIG.read_text())
    data["lidar"]["train"] = {**data["lidar"]["train"], **train}
    return validate(AutoencodersConfig, data)


def splits(shards: Path):
    return ShardDataset(shards, "train"), ShardDataset(shards, "val")


def model_weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(next((folder / "autoencoder").glob("*.safetensors"))))


def test_learning_rate_warms_up_then_stays_or_decays():
    cosine = TrainConfig(steps=100, learning_rate=1e-3, warmup_steps=10, lr_schedule="cosine")
    rates = [learning_rate(cosine, step) for step in range(100)]
    assert rates[0] == pytest.approx(1e-4) and rates[:10] == sorted(rates[:10])
    assert max(rates) == pytest.approx(1e-3, rel=0.01) and rates[10:] == sorted(rates[10:], reverse=True)
    assert rates[-1] < 1e-5
    constant = cosine.model_copy(update={"lr_schedule": "constant"})
    assert [learning_rate(constant, step) for step in (9, 50, 99)] == [pytest.approx(1e-3)] * 3


@pytest.mark.parametrize("name", ["camera", "lidar", "radar"])
def test_training_reduces_the_loss_and_reports_validation_metrics(autoencoders, name):
    metrics = json.loads((autoencoders / name / "metrics.json").read_text())
    loss = metrics["train_loss"]
    steps = yaml.safe_load(TINY_CONFIG.read_text())[name]["train"]["steps"]
    assert len(loss) == metrics["step"] == steps
    first, last = sum(loss[:3]) / 3, sum(loss[-5:]) / 5
    assert last < 0.75 * first, f"{name}: loss {first:.3f} → {last:.3f}"
    validation = metrics["validation"]
    assert validation["loss"] < first  # held-out frames too
    expected = {"camera": ["day_psnr", "day_ssim", "night_psnr"], "lidar": ["depth_mae", "mask_f1"],
                "radar": ["depth_mae", "rcs_mae", "velocity_mae", "mask_f1"]}[name]  # fmt: skip
    assert all(key in validation and validation[key] == validation[key] for key in expected)  # present, not NaN
    assert metrics["samples_per_second"] > 0


def test_normalised_latents_are_standardised_on_held_out_frames(autoencoders, shards):
    aes = load_autoencoders(autoencoders)
    val = ShardDataset(shards, "val")
    batch = default_collate([val[i] for i in range(len(val))])
    latents = {
        "camera": torch.cat([aes.encode("day", batch["day"]), aes.encode("night", batch["night"])]),
        "lidar": aes.encode("lidar", batch["lidar"]),
        "radar": aes.encode("radar", batch["radar"]),
    }
    for name, z in latents.items():
        assert z.shape[1:] == (4, 64 // 8, 112 // 8)
        assert abs(z.mean().item()) < 0.25, name
        assert 0.7 < z.std().item() < 1.4, name


def test_resumed_training_ends_with_the_weights_of_an_uninterrupted_run(shards, tmp_path):
    train_set, val_set = splits(shards)
    settings = {"checkpoint_every": 2, "ema_decay": 0.9, "batch_size": 3, "validate_every": 2}

    def run(steps: int, out: Path, resume: bool = False) -> dict:
        config = tiny_config(steps=steps, **settings)
        return train_autoencoder("lidar", config, train_set, val_set, out, resume=resume, console=Console(quiet=True))

    full = run(5, tmp_path / "a")
    run(3, tmp_path / "b")  # interrupted: the newest checkpoint is mid-epoch (8 samples / batch 3 → 2 steps/epoch)
    with pytest.raises(UserError, match="--resume"):
        run(5, tmp_path / "b")
    resumed = run(5, tmp_path / "b", resume=True)
    assert resumed["resumed_from"] == 3
    assert resumed["train_loss"] == pytest.approx(full["train_loss"], rel=1e-5)
    a, b = model_weights(tmp_path / "a" / "lidar"), model_weights(tmp_path / "b" / "lidar")
    assert all(torch.allclose(a[key], b[key], atol=1e-6) for key in a)
    kept = [path.name for path in checkpoint_dirs(tmp_path / "b" / "checkpoints" / "lidar")]
    assert kept == ["step_00000004", "step_00000005"]


def test_bf16_training_runs_the_network_in_bfloat16_and_still_learns(shards, tmp_path):
    train_set, val_set = splits(shards)
    config = tiny_config(mixed_precision="bf16")
    run = TrainingRun("lidar", config, train_set, val_set, None, None)
    seen = []
    run.core.vae.encoder.conv_in.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    run.train_step(next(run.batches()))
    assert seen == [torch.bfloat16]  # the autocast reaches the convolutions
    assert {p.dtype for p in run.core.vae.parameters()} == {torch.float32}  # the weights it updates do not change type
    loss = train_autoencoder("lidar", config, train_set, val_set, tmp_path, console=Console(quiet=True))["train_loss"]
    assert sum(loss[-5:]) / 5 < 0.75 * sum(loss[:3]) / 3


@pytest.mark.slow
def test_killed_training_resumes_from_its_checkpoint(shards, tmp_path):
    data = yaml.safe_load(TINY_CONFIG.read_text())
    data["lidar"]["train"].update(steps=40, checkpoint_every=2)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "deploy.cli", "train-ae", "--config", str(config), "--data", str(shards),
               "--out", str(out), "--modality", "lidar"]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 600
        while latest_checkpoint(out / "checkpoints" / "lidar") is None:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "no checkpoint within 10 minutes"
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    killed_at = latest_checkpoint(out / "checkpoints" / "lidar").step
    assert 2 <= killed_at < 40 and not (out / "lidar").exists()  # no half-written model folder
    resumed = train_autoencoders(validate(AutoencodersConfig, data), shards, out, ("lidar",), resume=True)
    metrics = resumed["lidar"]
    assert metrics["resumed_from"] == killed_at and len(metrics["train_loss"]) == 40
    assert load_autoencoders(out).encode("lidar", ShardDataset(shards, "val")[0]["lidar"][None]).shape == (1, 4, 8, 14)


def test_a_time_limit_ends_autoencoder_training_at_the_steps_it_holds(shards, tmp_path):
    from perception.budget import PROBE, SKIP

    train_set, val_set = splits(shards)
    config = tiny_config(max_minutes=1e-6)  # no time left once the pace is known
    metrics = train_autoencoder("lidar", config, train_set, val_set, tmp_path, console=Console(quiet=True))
    assert metrics["step"] == SKIP + PROBE < config.lidar.train.steps and len(metrics["train_loss"]) == SKIP + PROBE
    again = train_autoencoder("lidar", config, train_set, val_set, tmp_path, resume=True, console=Console(quiet=True))
    assert again["step"] == SKIP + PROBE  # finished: the resumed call returns the saved run
