"""Conditional DDIM sampling with classifier-free guidance, and night→day enhancement from t̃ (SPEC §5).

Shapes: latents [B, M, C, h, w] in the slot order of ``multitime.MODALITIES``; target/presence [B, M] bool.
Conditioning slots are copied back after every step (Algorithm 4's masking), so they stay clean.
"""

from __future__ import annotations

import torch
from diffusers import DDIMScheduler

from fusion.diffusion.config import denoising_steps
from fusion.diffusion.model import MultimodalDiT
from fusion.diffusion.multitime import MODALITIES, modality_index, multi_time


def guided_prediction(
    model: MultimodalDiT,
    latents: torch.Tensor,
    tau: torch.Tensor,
    target: torch.Tensor,
    presence: torch.Tensor,
    noise: torch.Tensor,
    guidance: float,
) -> torch.Tensor:
    """Classifier-free guidance of the network's prediction (ε or v, both linear in the score):
    ε = ε(z_t | ∅) + w·(ε(z_t | A2) − ε(z_t | ∅)), ∅: every conditioning slot absent. → [B, M, C, h, w]."""
    if guidance == 1.0:  # the guided combination is the conditional prediction itself
        return model(latents, tau, presence, noise)
    both = model(
        torch.cat([latents, latents]),
        torch.cat([tau, tau]),
        torch.cat([presence, presence & target]),
        torch.cat([noise, noise]),
    )
    conditional, unconditional = both.chunk(2)
    return unconditional + guidance * (conditional - unconditional)


def reverse_timesteps(scheduler: DDIMScheduler, steps: int, strength: float) -> torch.Tensor:
    """The last ⌊steps·strength⌋ timesteps of a ``steps``-step schedule (diffusers' img2img truncation)."""
    scheduler.set_timesteps(steps)
    count = denoising_steps(steps, strength)
    if count < 1:
        raise ValueError(f"t_start={strength} with {steps} steps leaves no denoising step")
    return scheduler.timesteps[steps - count :]


@torch.no_grad()
def sample(
    model: MultimodalDiT,
    scheduler: DDIMScheduler,
    latents: torch.Tensor,
    target: torch.Tensor,
    presence: torch.Tensor,
    *,
    steps: int,
    guidance: float,
    generator: torch.Generator,
    strength: float = 1.0,
) -> torch.Tensor:
    """Generate the target slots given the present conditioning slots.

    ``latents`` holds the clean conditioning latents and, in the target slots, the starting point that is
    diffused to the first timestep (meaningful when ``strength`` < 1: SDEdit/img2img). Absent slots are
    filled with one noise draw per sample, fixed along the reverse path (their τ stays at T).
    Returns [B, M, C, h, w]: the targets denoised to τ = 0, every other slot unchanged.
    """
    timesteps = reverse_timesteps(scheduler, steps, strength)
    batch = latents.shape[0]
    start_noise = torch.randn(latents.shape, generator=generator, dtype=latents.dtype)
    absent_noise = torch.randn(latents.shape, generator=generator, dtype=latents.dtype)
    mask = target[:, :, None, None, None]
    z = torch.where(mask, scheduler.add_noise(latents, start_noise, timesteps[:1].repeat(batch)), latents)
    for t in timesteps:
        tau = multi_time(target, presence, t.repeat(batch), scheduler.config.num_train_timesteps)
        prediction = guided_prediction(model, z, tau, target, presence, absent_noise, guidance)
        z = torch.where(mask, scheduler.step(prediction, int(t), z).prev_sample, z)
    return z


def enhancement_inputs(conditions: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Slots for night→day: ``day`` is the target and starts from the night latent; the given conditions
    (must include ``night``, each [B, C, h, w]) are present, the other slots absent.

    Returns latents [B, M, C, h, w], target [B, M], presence [B, M].
    """
    if "night" not in conditions:
        raise ValueError("enhancement needs the night latent")
    unknown = set(conditions) - set(MODALITIES[1:])
    if unknown:
        raise ValueError(f"unknown conditioning modalities {sorted(unknown)}")
    night = conditions["night"]
    slots = [conditions.get(name, torch.zeros_like(night)) for name in MODALITIES]
    slots[modality_index("day")] = night
    batch = night.shape[0]
    target = torch.zeros(batch, len(MODALITIES), dtype=torch.bool)
    target[:, modality_index("day")] = True
    presence = target.clone()
    for name in conditions:
        presence[:, modality_index(name)] = True
    return torch.stack(slots, dim=1), target, presence
