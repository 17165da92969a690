"""Masked multi-time training on synthetic latents: batches, loss reduction, checkpoints and --resume."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from fusion.diffusion.checkpoint import load_model
from fusion.diffusion.config import MLDConfig
from fusion.diffusion.multitime import MODALITIES
from fusion.diffusion.schedule import make_scheduler
from fusion.diffusion.train import draw_batch, step_generator, train_on_latents
from preprocessing.config import load_config

DAY, NIGHT = MODALITIES.index("day"), MODALITIES.index("night")


def correlated_latents(count=48, size=(4, 6), seed=0) -> torch.Tensor:
    """[N, M, 4, h, w]: day is a fixed function of night, radar/lidar carry part of it."""
    generator = torch.Generator().manual_seed(seed)
    night = torch.randn(count, 4, *size, generator=generator)
    day = 0.8 * night.flip(1) + 0.2
    radar = night[:, :2].repeat(1, 2, 1, 1) + 0.1 * torch.randn(count, 4, *size, generator=generator)
    lidar = night.roll(1, dims=1)
    return torch.stack([day, night, radar, lidar], dim=1)


def tiny_config(**train) -> MLDConfig:
    config = load_config("configs/mld_tiny.yaml", MLDConfig)
    return config.model_copy(update={"train": config.train.model_copy(update=train)})


def test_training_batch_never_noises_conditions():
    config = tiny_config(batch_size=256)
    latents = correlated_latents()
    scheduler = make_scheduler(config.schedule)
    batch = draw_batch(latents, config.train, 1000, scheduler, step_generator(0, 0))
    conditioning = batch.presence & ~batch.target
    assert batch.target[:, DAY].all() and batch.target.sum(1).eq(1).all()
    assert conditioning.any() and (~batch.presence).any()
    # every conditioning slot holds a clean training latent exactly, at τ = 0
    clean = [(batch.latents[b, i] == latents[:, i]).flatten(1).all(1).any() for b, i in conditioning.nonzero()]
    assert all(clean)
    assert (batch.tau[conditioning] == 0).all()
    assert (batch.tau[~batch.presence] == 1000).all()
    # the target is diffused: it matches no clean latent
    assert not any((batch.latents[b, DAY] == latents[:, DAY]).flatten(1).all(1).any() for b in range(8))


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
def test_the_regression_target_recovers_the_clean_target_latent(prediction_type):
    """ε: z₀ = (z_t − √(1−ᾱ)·ε)/√ᾱ; v: z₀ = √ᾱ·z_t − √(1−ᾱ)·v — the target is exactly what DDIM inverts."""
    config = tiny_config(batch_size=64)
    config = config.model_copy(update={"schedule": config.schedule.model_copy(update={"prediction_type": prediction_type})})
    latents = correlated_latents(count=1)  # one frame: every sample's z₀ is known
    scheduler = make_scheduler(config.schedule)
    batch = draw_batch(latents, config.train, 1000, scheduler, step_generator(0, 0))
    alpha = scheduler.alphas_cumprod[batch.tau[:, DAY]][:, None, None, None]
    noisy, prediction = batch.latents[:, DAY], batch.prediction[:, DAY]
    if prediction_type == "v_prediction":
        clean = alpha.sqrt() * noisy - (1 - alpha).sqrt() * prediction
    else:
        clean = (noisy - (1 - alpha).sqrt() * prediction) / alpha.sqrt()
        assert torch.equal(batch.prediction, batch.noise)
    torch.testing.assert_close(clean, latents[:, DAY].expand_as(clean), rtol=0, atol=1e-5 / alpha.min().sqrt().item())


def test_step_randomness_is_reproducible_and_distinct():
    a = torch.randn(5, generator=step_generator(0, 3))
    assert torch.equal(a, torch.randn(5, generator=step_generator(0, 3)))
    assert not torch.equal(a, torch.randn(5, generator=step_generator(0, 4)))
    assert not torch.equal(a, torch.randn(5, generator=step_generator(0, 3, rank=1)))


def test_training_reduces_the_denoising_loss(tmp_path):
    summary = train_on_latents(tiny_config(steps=60), correlated_latents(), tmp_path, show_progress=False)
    assert summary["loss_after"] < 0.7 * summary["loss_before"], summary
    logged = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert logged[-1]["step"] == 60
    model, schedule, sample = load_model(tmp_path)
    assert model.config.latent_size == (4, 6)
    assert sample.steps == 10


def test_a_cosine_schedule_warms_up_then_decays_to_zero_at_the_last_step(tmp_path):
    config = tiny_config(steps=25, warmup_steps=5, learning_rate=1e-3, lr_schedule="cosine", log_every=1)
    train_on_latents(config, correlated_latents(), tmp_path, show_progress=False)
    rates = [json.loads(line)["lr"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert rates[:5] == pytest.approx([2e-4, 4e-4, 6e-4, 8e-4, 1e-3])  # warm-up, then the peak
    assert all(a >= b for a, b in zip(rates[4:], rates[5:])) and rates[-1] < 0.01 * rates[4]
    assert rates[15] == pytest.approx(5e-4)  # step 15 of the 5…25 decay is half-way: half the peak


def test_resume_continues_exactly(tmp_path):
    latents = correlated_latents()
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    straight.mkdir()
    interrupted.mkdir()
    train_on_latents(tiny_config(steps=40, checkpoint_every=20), latents, straight, show_progress=False)
    train_on_latents(tiny_config(steps=20, checkpoint_every=20), latents, interrupted, show_progress=False)
    summary = train_on_latents(
        tiny_config(steps=40, checkpoint_every=20), latents, interrupted, resume=True, show_progress=False
    )
    assert summary["resumed_from"] == 20
    for name in ("model.safetensors", "checkpoint/model.safetensors", "checkpoint/optimizer.safetensors"):
        a, b = load_file(straight / name), load_file(interrupted / name)
        assert a.keys() == b.keys()
        for key in a:
            assert torch.allclose(a[key], b[key], atol=1e-6), (name, key)


def test_resume_without_checkpoint_is_a_user_error(tmp_path):
    from preprocessing.errors import UserError

    with pytest.raises(UserError, match="no training checkpoint"):
        train_on_latents(tiny_config(steps=2), correlated_latents(), tmp_path, resume=True, show_progress=False)


def test_gradient_checkpointing_gives_the_same_gradients():
    from fusion.diffusion.model import MultimodalDiT
    from fusion.diffusion.train import denoising_loss, model_config_for

    config, latents = tiny_config(batch_size=4), correlated_latents()
    batch = draw_batch(latents, config.train, 1000, make_scheduler(config.schedule), step_generator(0, 0))
    gradients = []
    for checkpointing in (False, True):
        torch.manual_seed(0)
        model = MultimodalDiT(model_config_for(config, latents)).train()
        with torch.no_grad():  # leave adaLN-Zero so that every block receives gradient
            for parameter in model.parameters():
                parameter.normal_(0, 0.05)
        model.gradient_checkpointing = checkpointing
        denoising_loss(model, batch).backward()
        gradients.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    assert gradients[0].abs().sum() > 0
    assert torch.allclose(gradients[0], gradients[1], atol=1e-6)


def test_the_bf16_denoising_loss_runs_the_dit_in_bfloat16_and_matches_float32():
    from fusion.diffusion.model import MultimodalDiT
    from fusion.diffusion.train import denoising_loss, model_config_for

    config, latents = tiny_config(batch_size=16), correlated_latents()
    batch = draw_batch(latents, config.train, 1000, make_scheduler(config.schedule), step_generator(0, 0))
    torch.manual_seed(0)
    model = MultimodalDiT(model_config_for(config, latents))
    with torch.no_grad():  # leave adaLN-Zero so that the prediction depends on every block
        for parameter in model.parameters():
            parameter.normal_(0, 0.05)
    seen = []
    model.blocks[0].mlp.fc1.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    with torch.no_grad():
        exact, bf16 = denoising_loss(model, batch), denoising_loss(model, batch, "bf16")
    assert seen == [torch.float32, torch.bfloat16]  # the setting reaches the transformer blocks
    assert bf16.dtype == torch.float32 and abs(bf16 - exact) < 0.02 * exact, (bf16, exact)


def test_a_time_limit_ends_the_run_at_the_steps_it_holds_and_a_resume_keeps_them(tmp_path):
    from perception.budget import PROBE, SKIP, STEP_PLAN

    config = tiny_config(steps=60, max_minutes=1e-6, lr_schedule="cosine", warmup_steps=2, log_every=1)
    summary = train_on_latents(config, correlated_latents(), tmp_path, show_progress=False)
    assert summary["steps"] == SKIP + PROBE  # no time left once the pace is known
    logged = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert logged[-1]["step"] == SKIP + PROBE and json.loads((tmp_path / STEP_PLAN).read_text())["total"] == SKIP + PROBE
    assert json.loads((tmp_path / "checkpoint" / "state.json").read_text())["step"] == SKIP + PROBE  # the last step is kept
    resumed = train_on_latents(config, correlated_latents(), tmp_path, resume=True, show_progress=False)
    assert (resumed["steps"], resumed["resumed_from"]) == (SKIP + PROBE, SKIP + PROBE)
