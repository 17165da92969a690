"""Monte-Carlo evaluation of score-based KL divergences, per sample, from one trained denoiser.

For every sample and Monte-Carlo repeat one time t ~ q (log-SNR importance density, stratified
over the batch) and one noise draw are shared by all configurations, so the two sides of each divergence see the same
x_t; the integrand of each divergence is (Z/2)·Σ_i ‖ε̂_left[i] − ε̂_right[i]‖² (SPEC §6), that of a
self-information −log N(x_i) + (Z/2)·(‖ε_i − ε̂_marginal[i]‖² − ‖ε_i − σ x_t,i‖²) (``measures``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from fusion.information.configurations import Configuration
from fusion.information.measures import Integrand, SelfInformation
from fusion.information.progress import progress_bar
from fusion.information.schedule import VPSchedule
from fusion.information.training import noised_inputs


def _slices(dims: Sequence[int]) -> list[slice]:
    ends = np.cumsum(dims)
    return [slice(int(end - d), int(end)) for d, end in zip(dims, ends)]


@torch.no_grad()
def _predict_all(net: nn.Module, x0: torch.Tensor, configurations: Sequence[Configuration], dims: Sequence[int],
                 schedule: VPSchedule, generator: torch.Generator) -> tuple[dict[Configuration, torch.Tensor], torch.Tensor, torch.Tensor]:
    """(ε̂ [B, D] for every configuration, t [B, 1], ε [B, D]) at one shared (t, ε, filler) draw."""
    t = schedule.sample_t((x0.shape[0], 1), generator, stratified=True)
    noise = torch.randn(x0.shape, generator=generator)
    filler = torch.randn(x0.shape, generator=generator)
    predictions = {}
    for configuration in configurations:
        roles = torch.tensor(configuration).expand(x0.shape[0], -1)
        x_in, tau_in, _ = noised_inputs(x0, roles, t, noise, filler, dims, schedule)
        predictions[configuration] = net(x_in, tau_in)
    return predictions, t, noise


def self_information(x0: torch.Tensor, eps_hat: torch.Tensor, noise: torch.Tensor, t: torch.Tensor, schedule: VPSchedule) -> torch.Tensor:
    """[B] −log p(x0) estimates of standardised samples x0 [B, d] (``measures``: log-ratio against N(0, I))."""
    sigma = schedule.sigma(t)
    x_t = schedule.alpha(t) * x0 + sigma * noise
    reference = 0.5 * (x0**2).sum(dim=1) + 0.5 * x0.shape[1] * math.log(2 * math.pi)
    losses = ((noise - eps_hat) ** 2).sum(dim=1) - ((noise - sigma * x_t) ** 2).sum(dim=1)
    return reference + schedule.integral_weight * losses


@torch.no_grad()
def pointwise_integrands(
    net: nn.Module,
    x0: torch.Tensor,
    dims: Sequence[int],
    integrands: Sequence[Integrand],
    schedule: VPSchedule,
    repeats: int,
    batch_size: int,
    generator: torch.Generator,
    progress: bool = False,
) -> np.ndarray:
    """Values [repeats, n, K] of the K ``integrands`` (nats) on the standardised samples x0 [n, D]."""
    net.eval()
    slices = _slices(dims)
    configurations = sorted(set().union(*(item.configurations for item in integrands)))
    out = np.empty((repeats, x0.shape[0], len(integrands)), dtype=np.float64)
    batches = range(0, x0.shape[0], batch_size)
    with progress_bar("measuring", repeats * len(batches), progress) as bar:
        for repeat in range(repeats):
            for start in batches:
                x = x0[start : start + batch_size]
                predictions, t, noise = _predict_all(net, x, configurations, dims, schedule, generator)
                for k, item in enumerate(integrands):
                    if isinstance(item, SelfInformation):
                        part = slices[item.variable]
                        value = self_information(x[:, part], predictions[item.configuration][:, part], noise[:, part], t, schedule)
                    else:
                        squared = sum(
                            ((predictions[left][:, slices[i]] - predictions[right][:, slices[i]]) ** 2).sum(dim=1)
                            for i, left, right in item.terms
                        )
                        value = schedule.integral_weight * squared
                    out[repeat, start : start + batch_size, k] = value.double().numpy()
                bar.advance()
    return out
