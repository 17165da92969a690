"""Evaluation building blocks: image I/O, the OpenCV baselines, PSNR/SSIM and LPIPS with local weights."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from fusion.diffusion.baselines import auto_gamma, clahe
from fusion.diffusion.images import from_uint8, read_map, read_rgb, to_uint8, write_rgb
from fusion.diffusion.metrics import LPIPS, gmsd, psnr, ssim
from preprocessing.errors import UserError


def scene(height=72, width=128, seed=0) -> np.ndarray:
    """A smooth colourful uint8 RGB test picture with some texture."""
    y, x = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    noise = np.random.default_rng(seed).normal(0, 0.05, (height, width, 3))
    image = np.stack([x, y, 0.5 + 0.5 * np.sin(8 * x * y)], axis=-1) + noise
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def test_uint8_round_trip_and_files(tmp_path):
    image = scene()
    assert np.array_equal(to_uint8(from_uint8(image[None]))[0], image)
    write_rgb(tmp_path / "a.png", image)
    assert np.array_equal(read_rgb(tmp_path / "a.png", image.shape[:2]), image)
    half = read_rgb(tmp_path / "a.png", (36, 64))  # same aspect ratio: resized
    assert half.shape == (36, 64, 3)
    assert abs(half.astype(float).mean() - image.mean()) < 2
    with pytest.raises(UserError, match="aspect ratio"):
        read_rgb(tmp_path / "a.png", (64, 64))
    with pytest.raises(UserError, match="cannot read"):
        read_rgb(tmp_path / "missing.png", (72, 128))


def test_sensor_maps_must_match_the_model_grid(tmp_path):
    np.save(tmp_path / "lidar.npy", np.zeros((3, 8, 14), np.float32))
    assert read_map(tmp_path / "lidar.npy", 3, (8, 14)).shape == (3, 8, 14)
    with pytest.raises(UserError, match="expected a map of shape"):
        read_map(tmp_path / "lidar.npy", 4, (8, 14))


def test_baselines_brighten_a_dark_frame():
    day = scene()
    night = (day.astype(np.float32) * 0.12).astype(np.uint8)
    for method in (clahe, auto_gamma):
        enhanced = method(night)
        assert enhanced.shape == night.shape and enhanced.dtype == np.uint8
        assert enhanced.mean() > 1.5 * night.mean()
        assert psnr(day, enhanced) > psnr(day, night)
    assert abs(auto_gamma(night).mean() / 255 - 0.5) < 0.1
    # gamma is one monotone curve for every value: the order of values is kept
    values_in, values_out = night.ravel(), auto_gamma(night).ravel()
    order = np.argsort(values_in, kind="stable")
    assert (np.diff(values_out[order].astype(int)) >= 0).all()


def test_psnr_and_ssim_rank_degradations():
    day = scene()
    rng = np.random.default_rng(1)
    slight = np.clip(day + rng.normal(0, 3, day.shape), 0, 255).astype(np.uint8)
    strong = np.clip(day + rng.normal(0, 30, day.shape), 0, 255).astype(np.uint8)
    assert psnr(day, day) == np.inf and ssim(day, day) == pytest.approx(1.0)
    assert psnr(day, slight) > psnr(day, strong) > 10
    assert ssim(day, slight) > ssim(day, strong)


def test_ssim_is_the_standard_one():
    """11×11 Gaussian window, σ = 1.5, population covariance: piq's implementation to rounding, torchmetrics'
    to its border handling; scikit-image's defaults (7×7 uniform, sample covariance) differ."""
    import piq
    from skimage.metrics import structural_similarity
    from torchmetrics.functional.image import structural_similarity_index_measure

    day = scene()
    blurred = cv2.GaussianBlur(day, (0, 0), 2.0)
    tensors = [torch.from_numpy(x).permute(2, 0, 1)[None].double() for x in (blurred, day)]
    value = ssim(day, blurred)
    assert value == pytest.approx(float(piq.ssim(*(t / 255 for t in tensors), data_range=1.0)), abs=1e-9)
    reference = structural_similarity_index_measure(*tensors, data_range=255.0, gaussian_kernel=True, sigma=1.5, kernel_size=11)
    assert value == pytest.approx(float(reference), abs=2e-3)
    assert abs(value - structural_similarity(day, blurred, data_range=255, channel_axis=-1)) > 5e-3


def test_gmsd_is_a_structure_measure_a_blur_cannot_win():
    """A blurred frame beats a uniformly darkened one on PSNR, yet loses on GMSD: its edges are gone."""
    day = scene(seed=3)
    y, x = np.mgrid[0:72, 0:128]
    day[(x // 8 + y // 8) % 2 == 0] //= 3  # a checkerboard of edges
    blurred = cv2.GaussianBlur(day, (0, 0), 1.5)
    darker = (day * 0.6).astype(np.uint8)
    assert psnr(day, blurred) > psnr(day, darker)
    assert gmsd(day, blurred) > gmsd(day, darker)
    assert gmsd(day, day) == pytest.approx(0.0, abs=1e-9)
    constant = np.broadcast_to(day.mean(axis=(0, 1)).astype(np.uint8), day.shape)
    assert gmsd(day, constant) > gmsd(day, darker)


def test_lpips_uses_the_local_backbone(tmp_path):
    import torchvision

    torch.manual_seed(0)
    backbone = torchvision.models.alexnet(weights=None).state_dict()
    save_file({k: v.contiguous() for k, v in backbone.items()}, tmp_path / "alexnet.safetensors")
    metric = LPIPS(tmp_path / "alexnet.safetensors")
    loaded = metric.network.state_dict()
    assert torch.equal(loaded["net.slice1.0.weight"], backbone["features.0.weight"])
    assert torch.equal(loaded["net.slice5.10.bias"], backbone["features.10.bias"])
    day = scene()
    noisy = np.clip(day + np.random.default_rng(2).normal(0, 40, day.shape), 0, 255).astype(np.uint8)
    assert metric(day, day) == pytest.approx(0.0, abs=1e-7)
    assert metric(day, noisy) > 0

    save_file({"features.0.weight": backbone["features.0.weight"]}, tmp_path / "partial.safetensors")
    with pytest.raises(UserError, match="not an AlexNet state dict"):
        LPIPS(tmp_path / "partial.safetensors")
