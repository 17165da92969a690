"""DDIM sampling with guidance and enhancement from t̃, on random latents; save → load → same samples."""

from __future__ import annotations

import pytest
import torch

from fusion.diffusion.checkpoint import load_model, save_model
from fusion.diffusion.config import ModelConfig, SampleConfig, ScheduleConfig
from fusion.diffusion.model import MultimodalDiT
from fusion.diffusion.multitime import MODALITIES, multi_time
from fusion.diffusion.sampling import enhancement_inputs, guided_prediction, reverse_timesteps, sample
from fusion.diffusion.schedule import make_scheduler

DAY, NIGHT, RADAR, LIDAR = (MODALITIES.index(name) for name in ("day", "night", "radar", "lidar"))


@pytest.fixture(scope="module")
def model() -> MultimodalDiT:
    torch.manual_seed(0)
    net = MultimodalDiT(ModelConfig(hidden_size=32, depth=2, num_heads=2, latent_size=(4, 6)))
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.normal_(0, 0.1)
    return net.eval()


def night_inputs(with_lidar=True, batch=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    conditions = {"night": torch.randn(batch, 4, 4, 6, generator=generator)}
    if with_lidar:
        conditions["lidar"] = torch.randn(batch, 4, 4, 6, generator=generator)
    return enhancement_inputs(conditions)


def run(model, latents, target, presence, seed=0, **knobs):
    knobs = {"steps": 10, "guidance": 2.0, "strength": 0.5} | knobs
    return sample(
        model, make_scheduler(ScheduleConfig()), latents, target, presence,
        generator=torch.Generator().manual_seed(seed), **knobs,
    )  # fmt: skip


def test_enhancement_inputs_start_day_from_night():
    latents, target, presence = night_inputs()
    assert torch.equal(latents[:, DAY], latents[:, NIGHT])
    assert target[:, DAY].all() and target.sum() == 2
    assert presence[:, [DAY, NIGHT, LIDAR]].all() and not presence[:, RADAR].any()


def test_reverse_timesteps_follow_img2img_truncation():
    scheduler = make_scheduler(ScheduleConfig())
    full = reverse_timesteps(scheduler, 50, 1.0)
    half = reverse_timesteps(scheduler, 50, 0.5)
    assert len(full) == 50 and full[0] == 999
    assert len(half) == 25 and torch.equal(half, full[25:])
    assert 450 <= int(half[0]) <= 500
    with pytest.raises(ValueError):
        reverse_timesteps(scheduler, 10, 0.05)


def test_sampling_is_seeded_and_keeps_conditions_clean(model):
    latents, target, presence = night_inputs()
    seen = []
    handle = model.register_forward_hook(lambda module, args, out: seen.append(args))
    try:
        first = run(model, latents, target, presence, seed=3)
    finally:
        handle.remove()
    assert torch.equal(first, run(model, latents, target, presence, seed=3))
    assert not torch.allclose(first[:, DAY], run(model, latents, target, presence, seed=4)[:, DAY])
    assert torch.equal(first[:, [NIGHT, LIDAR]], latents[:, [NIGHT, LIDAR]])
    assert len(seen) == 5  # 10 steps × t̃ 0.5, conditional and unconditional batched together
    for model_latents, tau, model_presence, _ in seen:
        conditional = model_latents[:2]
        assert torch.equal(conditional[:, [NIGHT, LIDAR]], latents[:, [NIGHT, LIDAR]])
        assert (tau[:, [NIGHT, LIDAR]] == 0).all() and (tau[:, DAY] > 0).all()
        assert model_presence[2:, [NIGHT, LIDAR]].eq(False).all()  # unconditional half: conditions absent


def test_guidance_extrapolates_linearly(model):
    latents, target, presence = night_inputs()
    tau = multi_time(target, presence, torch.tensor([400, 400]), 1000)
    noise = torch.randn_like(latents)
    eps = {w: guided_prediction(model, latents, tau, target, presence, noise, w) for w in (0.0, 1.0, 2.0)}
    assert torch.allclose(eps[1.0], model(latents, tau, presence, noise), atol=1e-6)
    assert torch.allclose(eps[0.0], model(latents, tau, presence & target, noise), atol=1e-6)
    assert torch.allclose(eps[2.0] - eps[1.0], eps[1.0] - eps[0.0], atol=1e-5)
    assert not torch.allclose(eps[1.0], eps[0.0], atol=1e-4)


class GaussianOracle(torch.nn.Module):
    """The exact ε-predictor when every latent is N(0, I): ε̂ = √(1 − ᾱ_τ)·z_τ. Its DDIM path keeps z fixed."""

    def __init__(self):
        super().__init__()
        self.alphas_cumprod = make_scheduler(ScheduleConfig()).alphas_cumprod

    def forward(self, latents, tau, presence, noise):
        alpha = self.alphas_cumprod[tau.clamp(max=len(self.alphas_cumprod) - 1)]
        return (1 - alpha).sqrt()[:, :, None, None, None] * latents


def test_start_time_controls_how_much_of_the_input_is_kept():
    """Small t̃ keeps the night latent (weight √ᾱ_t̃); t̃ = 1 forgets it (√ᾱ_T ≈ 0.006)."""
    oracle = GaussianOracle()
    latents, target, presence = night_inputs()
    shifted = latents.clone()
    shifted[:, DAY] += 1.0  # a different starting point, same conditions and noise

    def kept(strength):
        a = run(oracle, latents, target, presence, strength=strength, steps=20)
        b = run(oracle, shifted, target, presence, strength=strength, steps=20)
        return (b[:, DAY] - a[:, DAY]).mean().item()

    def closed_form(strength):
        """√ᾱ of the first timestep, times cos(θ_prev − θ_t) per DDIM step (ᾱ_t = cos²θ_t) for this oracle."""
        alphas = oracle.alphas_cumprod.double()
        timesteps = reverse_timesteps(make_scheduler(ScheduleConfig()), 20, strength).tolist()
        factor = alphas[timesteps[0]].sqrt()
        for t in timesteps:
            previous = alphas[t - 50] if t >= 50 else torch.tensor(1.0, dtype=torch.float64)
            factor *= (previous * alphas[t]).sqrt() + ((1 - previous) * (1 - alphas[t])).sqrt()
        return factor.item()

    for strength in (0.1, 0.5, 1.0):
        assert kept(strength) == pytest.approx(closed_form(strength), rel=1e-3, abs=1e-4)
    assert kept(0.1) > 0.85 and kept(1.0) < 0.01


def test_save_load_gives_the_same_samples(model, tmp_path):
    save_model(tmp_path, model, ScheduleConfig(), SampleConfig(steps=7), step=3)
    loaded, schedule, defaults = load_model(tmp_path)
    assert defaults.steps == 7 and schedule == ScheduleConfig()
    latents, target, presence = night_inputs()
    assert torch.equal(run(model, latents, target, presence), run(loaded, latents, target, presence))
