"""Evaluating a modality autoencoder over a data loader: validation metrics and latent statistics.

``validate`` runs the reconstruction metrics of ``perception.metrics`` (and optionally the mean/std
of the normalised latents) over held-out batches; ``measure_normalizer`` measures the latent
normalisation over training batches. Both are used after training and by the benchmark.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from perception.data import autoencoder_input, camera_views
from perception.metrics import MetricAccumulator, add_image_quality, add_sparse_quality
from perception.model import ModalityAutoencoder
from perception.normalization import LatentNormalizer, LatentStatistics


@torch.no_grad()
def measure_normalizer(
    model: ModalityAutoencoder, loader: DataLoader, batches: int, per: str, eps: float, device
) -> LatentNormalizer:
    """Element/channel-wise mean and std of raw latents over the first ``batches`` batches of ``loader``."""
    stats = LatentStatistics(per)
    for index, batch in enumerate(loader):
        if index >= batches:
            break
        stats.update(model.raw_latent(autoencoder_input(batch, model.name).to(device)))
    mean, std = stats.result(eps)
    return LatentNormalizer(mean.to(device), std.to(device))


@torch.no_grad()
def validate(
    model: ModalityAutoencoder, loader: DataLoader | None, batches: int, device, latents: bool = False
) -> dict:
    """Metrics over up to ``batches`` batches: loss, camera PSNR/SSIM per view or sparse MAE/mask F1,
    and with ``latents`` the mean and std of the normalised latents. Empty without a loader."""
    if loader is None:
        return {}
    was_training = model.training
    model.eval()
    acc = MetricAccumulator()
    for index, batch in enumerate(loader):
        if index >= batches:
            break
        x = autoencoder_input(batch, model.name).to(device)
        y = model(x)
        acc.add("loss", model.codec.loss(y, x) * len(x), len(x))
        if model.name == "camera":
            for view, (frames, reconstruction) in camera_views(batch, model.codec.from_network(y)).items():
                add_image_quality(acc, f"{view}_", frames, reconstruction)
        else:
            add_sparse_quality(acc, model.codec, x, y)
        if latents:
            z = model.encode(x)
            acc.add("latent_mean", z.sum(), z.numel())
            acc.add("latent_sq", z.square().sum(), z.numel())
    model.train(was_training)
    metrics = acc.result()
    if "latent_sq" in metrics:
        metrics["latent_std"] = max(metrics.pop("latent_sq") - metrics["latent_mean"] ** 2, 0.0) ** 0.5
    return metrics
