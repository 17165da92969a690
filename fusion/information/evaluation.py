"""Monte-Carlo evaluation of score-based KL divergences, per sample, from one trained denoiser.

For every sample and Monte-Carlo repeat one time t ~ q (log-SNR importance density, stratified
over the batch) and one noise draw are shared by all configurations, so the two sides of each divergence see the same
x_t; the integrand of each divergence is (Z/2)·Σ_i ‖ε̂_left[i] − ε̂_right[i]‖² (SPEC §6).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from fusion.information.configurations import Configuration
from fusion.information.measures import Divergence
from fusion.information.progress import progress_bar
from fusion.information.schedule import VPSchedule
from fusion.information.training import noised_inputs


def _slices(dims: Sequence[int]) -> list[slice]:
    ends = np.cumsum(dims)
    return [slice(int(end - d), int(end)) for d, end in zip(dims, ends)]


@torch.no_grad()
def _predict_all(net: nn.Module, x0: torch.Tensor, configurations: Sequence[Configuration], dims: Sequence[int],
                 schedule: VPSchedule, generator: torch.Generator) -> dict[Configuration, torch.Tensor]:
    """ε̂ [B, D] for every configuration at one shared (t, ε, filler) draw."""
    t = schedule.sample_t((x0.shape[0], 1), generator, stratified=True)
    noise = torch.randn(x0.shape, generator=generator)
    filler = torch.randn(x0.shape, generator=generator)
    predictions = {}
    for configuration in configurations:
        roles = torch.tensor(configuration).expand(x0.shape[0], -1)
        x_in, tau_in, _ = noised_inputs(x0, roles, t, noise, filler, dims, schedule)
        predictions[configuration] = net(x_in, tau_in)
    return predictions


@torch.no_grad()
def pointwise_divergences(
    net: nn.Module,
    x0: torch.Tensor,
    dims: Sequence[int],
    divergences: Sequence[Divergence],
    schedule: VPSchedule,
    repeats: int,
    batch_size: int,
    generator: torch.Generator,
    progress: bool = False,
) -> np.ndarray:
    """Integrands [repeats, n, K] of the K ``divergences`` (nats) on the standardised samples x0 [n, D]."""
    net.eval()
    slices = _slices(dims)
    configurations = sorted(set().union(*(d.configurations for d in divergences)))
    out = np.empty((repeats, x0.shape[0], len(divergences)), dtype=np.float64)
    batches = range(0, x0.shape[0], batch_size)
    with progress_bar("measuring", repeats * len(batches), progress) as bar:
        for repeat in range(repeats):
            for start in batches:
                predictions = _predict_all(net, x0[start : start + batch_size], configurations, dims, schedule, generator)
                for k, divergence in enumerate(divergences):
                    squared = sum(
                        ((predictions[left][:, slices[i]] - predictions[right][:, slices[i]]) ** 2).sum(dim=1)
                        for i, left, right in divergence.terms
                    )
                    out[repeat, start : start + batch_size, k] = (schedule.integral_weight * squared).double().numpy()
                bar.advance()
    return out
