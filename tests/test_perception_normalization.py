"""Latent normalisation statistics: multi-batch accumulation, element/channel modes, persistence."""

from __future__ import annotations

import pytest
import torch

from perception.normalization import LatentNormalizer, LatentStatistics


def gaussian_latents(n, seed, shape=(4, 3, 5)):
    """Latents whose every element has its own mean and std (known exactly)."""
    g = torch.Generator().manual_seed(0)
    mean, std = torch.randn(shape, generator=g) * 3, torch.rand(shape, generator=g) * 2 + 0.1
    noise = torch.randn((n, *shape), generator=torch.Generator().manual_seed(seed))
    return mean + std * noise, mean, std


@pytest.mark.parametrize("per", ["element", "channel"])
def test_statistics_over_several_batches_equal_those_of_all_samples(per):
    z, _, _ = gaussian_latents(24, seed=1)
    stats = LatentStatistics(per)
    for chunk in z.split([5, 11, 8]):
        stats.update(chunk)
    mean, std = stats.result(eps=1e-6)
    dims = (0,) if per == "element" else (0, 2, 3)
    expected_mean, expected_std = z.mean(dim=dims), z.std(dim=dims)
    if per == "channel":
        expected_mean, expected_std = expected_mean.view(-1, 1, 1), expected_std.view(-1, 1, 1)
    assert torch.allclose(mean, expected_mean, atol=1e-5)
    assert torch.allclose(std, expected_std, atol=1e-5)
    first_batch_only = LatentStatistics(per)
    first_batch_only.update(z[:5])
    assert not torch.allclose(first_batch_only.result(1e-6)[1], std, atol=1e-3)


def test_element_wise_normalisation_whitens_held_out_samples():
    train, true_mean, true_std = gaussian_latents(4000, seed=2)
    stats = LatentStatistics("element")
    for chunk in train.split(256):
        stats.update(chunk)
    normalizer = LatentNormalizer(*stats.result(eps=1e-6))
    assert torch.allclose(normalizer.mean, true_mean, atol=0.15) and torch.allclose(normalizer.std, true_std, rtol=0.1)
    held_out = normalizer.normalize(gaussian_latents(2000, seed=3)[0])
    assert held_out.mean(0).abs().max() < 0.15  # every element, not just on average
    assert (held_out.std(0) - 1).abs().max() < 0.15
    assert torch.allclose(normalizer.denormalize(held_out), gaussian_latents(2000, seed=3)[0], atol=1e-4)


def test_constant_elements_get_the_std_floor():
    z = torch.zeros(10, 2, 2, 2)
    z[:, 0] = 3 * torch.randn(10, 2, 2, generator=torch.Generator().manual_seed(0))
    stats = LatentStatistics("element")
    stats.update(z)
    mean, std = stats.result(eps=0.5)
    assert torch.all(std[1] == 0.5) and torch.all(std[0] > 0.5)
    assert torch.isfinite(LatentNormalizer(mean, std).normalize(z)).all()


def test_element_statistics_reject_another_latent_grid(tmp_path):
    stats = LatentStatistics("element")
    stats.update(torch.randn(8, 4, 3, 5))
    normalizer = LatentNormalizer(*stats.result(1e-4))
    normalizer.save(tmp_path / "normalization.safetensors")
    loaded = LatentNormalizer.load(tmp_path / "normalization.safetensors")
    assert torch.equal(loaded.mean, normalizer.mean) and torch.equal(loaded.std, normalizer.std)
    loaded.check_grid((8, 4, 3, 5))
    with pytest.raises(ValueError, match=r"latent grid \(6, 10\) differs"):
        loaded.check_grid((8, 4, 6, 10))
    channel = LatentStatistics("channel")
    channel.update(torch.randn(8, 4, 3, 5))
    LatentNormalizer(*channel.result(1e-4)).check_grid((1, 4, 6, 10))  # channel statistics fit any grid
