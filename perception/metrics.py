"""Validation metrics of the autoencoders, accumulated as ratios of sums over batches.

Camera: PSNR and standard SSIM (``perception.image_quality``) per image on [0, 1] RGB, averaged over images.
Sparse maps: mean absolute error of every value channel over the *reference's* valid pixels, using
the decoded values before gating by the predicted mask (so value and mask quality are separate
numbers), and the F1 score of the predicted validity mask.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch
from perception.codec import SparseMapCodec
from perception.image_quality import psnr, ssim


class MetricAccumulator:
    """metric = Σ numerator / Σ denominator over everything added."""

    def __init__(self):
        self.sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])

    def add(self, key: str, numerator: float, denominator: float) -> None:
        self.sums[key][0] += float(numerator)
        self.sums[key][1] += float(denominator)

    def result(self) -> dict[str, float]:
        return {key: num / den for key, (num, den) in self.sums.items() if den > 0}


def to_unit_images(x: torch.Tensor) -> np.ndarray:
    """[B, 3, H, W] in [-1, 1] → float64 [B, H, W, 3] in [0, 1]."""
    return ((x.detach().cpu().double().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).numpy()


def add_image_quality(
    acc: MetricAccumulator, prefix: str, reference: torch.Tensor, reconstruction: torch.Tensor
) -> None:
    """PSNR (dB) and SSIM of each reconstructed frame; both tensors [B, 3, H, W] in [-1, 1]."""
    for ref, rec in zip(to_unit_images(reference), to_unit_images(reconstruction), strict=True):
        acc.add(f"{prefix}psnr", psnr(ref, rec, data_range=1.0), 1)
        acc.add(f"{prefix}ssim", ssim(ref, rec, data_range=1.0), 1)


def add_sparse_quality(acc: MetricAccumulator, codec: SparseMapCodec, reference: torch.Tensor, y: torch.Tensor) -> None:
    """Per-channel MAE on valid pixels and mask F1; ``reference`` [B, C+1, H, W], ``y`` the raw network output."""
    valid = reference[:, -1:] > 0
    predicted = codec.values(y[:, :-1])
    error = (predicted - reference[:, :-1]).abs()
    for index, channel in enumerate(codec.config.channels):
        acc.add(f"{channel.name}_mae", error[:, index : index + 1][valid].sum(), valid.sum())
    predicted_valid = y[:, -1:] > 0
    true_pos = (predicted_valid & valid).sum()
    wrong = (predicted_valid ^ valid).sum()
    acc.add("mask_f1", 2 * true_pos, 2 * true_pos + wrong)
