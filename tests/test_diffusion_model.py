"""The multimodal DiT and the multi-time masking, on random latents (no data needed)."""

from __future__ import annotations

import pytest
import torch

from fusion.diffusion.config import ModelConfig
from fusion.diffusion.model import MultimodalDiT
from fusion.diffusion.multitime import (
    MODALITIES,
    conditioning_subsets,
    loss_weight,
    multi_time,
    role_masks,
    sample_conditioning,
)

T = 1000


def tiny_model(latent_size=(8, 14), seed=0) -> MultimodalDiT:
    """A DiT whose every parameter is random: adaLN-Zero would otherwise make the output identically 0."""
    torch.manual_seed(seed)
    model = MultimodalDiT(ModelConfig(patch_size=2, hidden_size=32, depth=2, num_heads=2, latent_size=latent_size))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0, 0.2)
    return model.eval()


def inputs(batch=2, latent_size=(8, 14), seed=1):
    generator = torch.Generator().manual_seed(seed)
    latents = torch.randn(batch, len(MODALITIES), 4, *latent_size, generator=generator)
    presence = torch.tensor([[True, True, False, True]] * batch)  # day, night, lidar present; radar absent
    tau = torch.tensor([[500, 0, 0, 0]] * batch)
    return latents, tau, presence


@pytest.mark.parametrize("latent_size", [(8, 14), (6, 6)])
def test_forward_keeps_the_latent_layout(latent_size):
    model = tiny_model(latent_size)
    latents, tau, presence = inputs(latent_size=latent_size)
    eps = model(latents, tau, presence)
    assert eps.shape == latents.shape
    assert torch.isfinite(eps).all()
    tokens = model.embed(latents, presence & (tau == 0))
    assert tokens.shape == (2, len(MODALITIES), (latent_size[0] // 2) * (latent_size[1] // 2), 32)


@pytest.mark.parametrize("condition_path", [True, False])
def test_condition_path_reaches_the_tokens_at_its_own_position_only(condition_path):
    """A clean night latent changed in the top-left patch moves the day token of that patch (and no other)
    before any attention; a diffused or absent night, or a model without the path, moves no day token."""
    torch.manual_seed(0)
    config = ModelConfig(patch_size=2, hidden_size=32, depth=1, num_heads=2, latent_size=(8, 14), condition_path=condition_path)
    model = MultimodalDiT(config).eval()
    latents, tau, presence = inputs()
    day, night = MODALITIES.index("day"), MODALITIES.index("night")
    changed = latents.clone()
    changed[:, night, :, :2, :2] += 1.0
    for conditioning, moves in [(presence & (tau == 0), condition_path), (torch.zeros_like(presence), False)]:
        moved = (model.embed(changed, conditioning) - model.embed(latents, conditioning))[:, day].abs().sum(-1)
        assert bool(moved[:, 0].gt(0).all()) == moves
        assert moved[:, 1:].eq(0).all()


def test_unpatchify_inverts_patch_layout():
    model = tiny_model()
    x = torch.randn(2, len(MODALITIES), 4, 8, 14)
    p = model.config.patch_size
    # patchify in the reference order (patch rows, patch cols, channels) by hand
    patches = x.unflatten(3, (4, p)).unflatten(5, (7, p)).permute(0, 1, 3, 5, 4, 6, 2).flatten(4).flatten(2, 3)
    assert torch.equal(model.unpatchify(patches), x)


def test_fresh_model_predicts_zero_noise():
    """adaLN-Zero: the output layer starts at zero, as in the reference DiT."""
    model = MultimodalDiT(ModelConfig(hidden_size=32, depth=1, num_heads=2, latent_size=(4, 4)))
    latents, tau, presence = inputs(latent_size=(4, 4))
    assert model(latents, tau, presence).abs().max() == 0


def test_absent_modality_input_is_ignored():
    model = tiny_model()
    latents, tau, presence = inputs()
    radar = MODALITIES.index("radar")
    reference = model(latents, tau, presence)

    changed = latents.clone()
    changed[:, radar] = torch.randn_like(changed[:, radar]) * 10
    changed_tau = tau.clone()
    changed_tau[:, radar] = 3
    assert torch.equal(model(changed, changed_tau, presence), reference)

    # the same change on a present conditioning slot does change the target's prediction
    night = MODALITIES.index("night")
    conditioned = latents.clone()
    conditioned[:, night] += 1.0
    day = MODALITIES.index("day")
    assert not torch.allclose(model(conditioned, tau, presence)[:, day], reference[:, day], atol=1e-4)


def test_absent_noise_argument_is_what_absent_slots_hold():
    model = tiny_model()
    latents, tau, presence = inputs()
    noise = torch.randn_like(latents)
    radar = MODALITIES.index("radar")
    as_present = presence.clone()
    as_present[:, radar] = True
    absent_tau = tau.clone()
    absent_tau[:, radar] = T
    filled = latents.clone()
    filled[:, radar] = noise[:, radar]
    assert torch.allclose(model(latents, tau, presence, noise), model(filled, absent_tau, as_present), atol=1e-6)


def test_each_modality_is_modulated_by_its_own_time():
    model = tiny_model()
    latents, tau, presence = inputs()
    captured = []
    model.blocks[0].adaLN_modulation.register_forward_hook(lambda module, args, out: captured.append(args[0]))
    model(latents, tau, presence)
    changed = tau.clone()
    night = MODALITIES.index("night")
    changed[:, night] = 700
    model(latents, changed, presence)
    before, after = captured  # c [B, M, D]
    others = [i for i in range(len(MODALITIES)) if i != night]
    assert torch.equal(before[:, others], after[:, others])
    assert not torch.allclose(before[:, night], after[:, night])
    expected = model.t_embedder(changed[:, night].float()) + model.y_embedder()[night]
    assert torch.allclose(after[:, night], expected, atol=1e-6)


def test_multi_time_vector_roles():
    target = role_masks(("day",)).expand(3, -1)
    presence = target | torch.tensor([[False, True, False, False], [False, True, True, True], [False] * 4])
    tau = multi_time(target, presence, torch.tensor([10, 20, 30]), T)
    assert tau.tolist() == [[10, 0, T, T], [20, 0, 0, 0], [30, T, T, T]]



def test_loss_weight_is_eq_a3_with_every_modality_in_a1_or_a2():
    """ω = 1 + dim(A2)/dim(A1) where A2 is every slot not diffused (clean or absent): the same for every
    conditioning set, the empty one included, so each weighs alike per latent dimension."""
    for targets in (("day",), ("day", "night")):
        for conditions in [(), *conditioning_subsets(("radar", "lidar"))]:
            target = role_masks(targets)[None]
            dim_a1 = len(targets)
            dim_a2 = len(conditions) + (len(MODALITIES) - len(targets) - len(conditions))  # clean + absent
            assert loss_weight(target).tolist() == [1 + dim_a2 / dim_a1]
    assert loss_weight(role_masks(("day",))[None]).tolist() == [4.0]


def test_conditioning_sets_follow_nu():
    candidates = ("night", "radar", "lidar")
    d = 0.3
    masks = sample_conditioning(40_000, candidates, d, torch.Generator().manual_seed(0))
    assert not masks[:, MODALITIES.index("day")].any()
    empty = (~masks.any(1)).float().mean().item()
    assert abs(empty - d) < 0.01
    codes = (masks.long() * torch.tensor([0, 1, 2, 4])).sum(1)
    counts = torch.bincount(codes[codes > 0], minlength=8)[1:].float() / len(masks)
    assert torch.allclose(counts, torch.full((7,), (1 - d) / 7), atol=0.01)


def test_keep_probabilities_weigh_each_conditioning_set_by_its_members():
    """keep(night) = 0.9, others 0.5: P(U) ∝ ∏ keep or (1 − keep) over the conditions, renormalised over the
    non-empty sets; every set stays possible and ∅ keeps probability d."""
    candidates = ("night", "radar", "lidar")
    d, keep = 0.2, {"night": 0.9}
    masks = sample_conditioning(40_000, candidates, d, torch.Generator().manual_seed(1), keep)
    assert abs((~masks.any(1)).float().mean().item() - d) < 0.01
    codes = (masks.long() * torch.tensor([0, 1, 2, 4])).sum(1)  # night 1, radar 2, lidar 4
    counts = torch.bincount(codes[codes > 0], minlength=8)[1:].float() / len(masks)
    chance = torch.tensor([
        (0.9 if code & 1 else 0.1) * 0.5 * 0.5 for code in range(1, 8)
    ])
    assert torch.allclose(counts, (1 - d) * chance / chance.sum(), atol=0.01)
    assert counts[[1, 3, 5]].sum().item() == pytest.approx((1 - d) * 0.1 * 0.75 / (1 - 0.1 * 0.25), abs=0.01)  # no night
