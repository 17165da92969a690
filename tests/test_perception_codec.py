"""Sparse-map codec: value scaling, densified encoder input, masked loss (no data or training needed)."""

from __future__ import annotations

import pytest
import torch

from perception.codec import SparseMapCodec
from perception.config import SparseMapConfig
from preprocessing.config import validate
from preprocessing.errors import UserError

LIDAR = {
    "channels": [
        {"name": "depth", "low": 1.0, "high": 80.0, "log": True},
        {"name": "intensity", "low": 0.0, "high": 255.0},
    ]
}


def sparse_map(batch=2, height=16, width=24, density=0.3, seed=0) -> torch.Tensor:
    """Random LiDAR-layout map [B, 3, H, W]: depth 1–80 m, intensity 0–255, zeros where invalid."""
    g = torch.Generator().manual_seed(seed)
    valid = (torch.rand(batch, 1, height, width, generator=g) < density).float()
    depth = 1.0 + 79.0 * torch.rand(batch, 1, height, width, generator=g)
    intensity = 255.0 * torch.rand(batch, 1, height, width, generator=g)
    return torch.cat([depth * valid, intensity * valid, valid], dim=1)


def codec(**overrides) -> SparseMapCodec:
    return SparseMapCodec(validate(SparseMapConfig, {**LIDAR, **overrides}))


def perfect_output(c: SparseMapCodec, x: torch.Tensor) -> torch.Tensor:
    """The network output that reconstructs ``x`` exactly: true codes and confident mask logits."""
    return torch.cat([c.codes(x[:, :-1]), 20.0 * (2 * x[:, -1:] - 1)], dim=1)


def test_values_survive_coding_and_empty_pixels_decode_to_zero():
    c, x = codec(), sparse_map()
    y = perfect_output(c, x)
    valid = x[:, -1:].bool().expand(-1, 2, -1, -1)
    assert torch.allclose(c.values(y[:, :-1])[valid], x[:, :-1][valid], rtol=1e-5)
    reconstruction = c.from_network(y)
    assert torch.allclose(reconstruction, x, rtol=1e-5, atol=1e-4)
    assert c.loss(y, x) < 1e-6


def test_log_depth_codes_relative_steps_and_linear_channels_absolute_steps():
    values = torch.tensor([[2.0, 4.0, 20.0, 40.0], [10.0, 20.0, 100.0, 110.0]]).view(1, 2, 1, 4)
    depth, intensity = codec().codes(values)[0, :, 0]
    assert (depth[1] - depth[0]).item() == pytest.approx((depth[3] - depth[2]).item(), abs=1e-6)  # ×2 anywhere
    assert (intensity[1] - intensity[0]).item() == pytest.approx((intensity[3] - intensity[2]).item(), abs=1e-6)
    assert (depth[1] - depth[0]) > 0.1  # and the code is not saturated


def test_loss_counts_values_only_on_valid_pixels_and_trains_the_mask():
    c, x = codec(), sparse_map()
    y = perfect_output(c, x)
    empty, valid = (x[:, 2] == 0), (x[:, 2] == 1)
    changed_empty = y.clone()
    changed_empty[:, 0][empty] += 0.7  # wrong depth where there is no return: must not matter
    assert c.loss(changed_empty, x) == pytest.approx(c.loss(y, x).item(), abs=1e-7)
    changed_valid = y.clone()
    changed_valid[:, 0][valid] += 0.1
    assert c.loss(changed_valid, x) > c.loss(y, x) + 1e-3
    wrong_mask = y.clone()
    wrong_mask[:, 2] *= -1
    assert c.loss(wrong_mask, x) > c.loss(y, x) + 1.0


def test_densify_fills_empty_pixels_from_neighbours_and_keeps_returns():
    x = torch.zeros(1, 3, 5, 5)
    x[0, :, 2, 1] = torch.tensor([10.0, 100.0, 1.0])
    x[0, :, 2, 3] = torch.tensor([40.0, 200.0, 1.0])
    plain, dense = codec().to_network(x), codec(densify=3).to_network(x)
    assert torch.equal(dense[:, :, 2, 1], plain[:, :, 2, 1]) and torch.equal(dense[:, :, 2, 3], plain[:, :, 2, 3])
    between = dense[0, :2, 2, 2]
    assert torch.allclose(between, (plain[0, :2, 2, 1] + plain[0, :2, 2, 3]) / 2)
    assert torch.all(dense[0, :2, 0, 4] == 0)  # nothing within the window: stays empty
    assert torch.equal(dense[:, 2], plain[:, 2])  # the mask channel is never densified


def test_invalid_channel_range_is_a_user_error():
    with pytest.raises(UserError, match="high"):
        validate(SparseMapConfig, {"channels": [{"name": "depth", "low": 5.0, "high": 1.0}]})
    with pytest.raises(UserError, match="log channel needs low > 0"):
        validate(SparseMapConfig, {"channels": [{"name": "depth", "low": 0.0, "high": 80.0, "log": True}]})
