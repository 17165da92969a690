"""Multi-time masking (SPEC §5, thesis §3.4.3, Algorithm 3): who is diffused, who conditions, who is absent.

Every modality slot i of a sample has one of three roles, encoded by two boolean masks:

- target       (``target[i]``):                diffused to the sample's timestep t, τ_i = t;
- conditioning (``presence[i] & ~target[i]``): clean, never noised, τ_i = 0;
- absent       (``~presence[i]``):             uninformative, replaced by pure noise at τ_i = T.

τ is measured in the DDIM scheduler's discrete timesteps (0 … T−1 diffused, 0 clean, T absent).
Shapes: masks [B, M] bool, timesteps [B] long, latents [B, M, C, h, w] float.
"""

from __future__ import annotations

import itertools

import torch

MODALITIES: tuple[str, ...] = ("day", "night", "radar", "lidar")  # SPEC §2, fixed order everywhere


def modality_index(name: str) -> int:
    return MODALITIES.index(name)


def role_masks(names: tuple[str, ...]) -> torch.Tensor:
    """[M] bool mask with True at the slots of ``names``."""
    mask = torch.zeros(len(MODALITIES), dtype=torch.bool)
    for name in names:
        mask[modality_index(name)] = True
    return mask


def conditioning_subsets(candidates: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every non-empty subset of ``candidates``, in a fixed order."""
    return [
        subset
        for size in range(1, len(candidates) + 1)
        for subset in itertools.combinations(candidates, size)
    ]


def subset_probabilities(subsets: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """[S] probabilities of the non-empty conditioning sets ``subsets`` [S, M] when slot i joins with
    probability ``keep`` [M] independently, renormalised over the non-empty sets (all 0.5: uniform)."""
    chance = torch.where(subsets, keep, 1 - keep).prod(1)
    return chance / chance.sum()


def sample_conditioning(
    batch: int,
    candidates: tuple[str, ...],
    p_empty: float,
    generator: torch.Generator,
    keep: dict[str, float] | None = None,
) -> torch.Tensor:
    """Draw A2 per sample: ∅ with probability d = ``p_empty``, else a non-empty subset of ``candidates``.

    Uniform over the subsets by default (thesis ν(∅) = d, ν(U) = (1 − d)/(2^k − 1)); ``keep`` gives a
    condition's probability of joining (default 0.5), e.g. to favour the camera that every enhancement
    request carries. Returns the [B, M] bool mask of the conditioning slots.
    """
    subsets = torch.stack([role_masks(s) for s in conditioning_subsets(candidates)])  # [S, M]
    joins = torch.tensor([(keep or {}).get(name, 0.5) for name in MODALITIES])
    choice = torch.multinomial(subset_probabilities(subsets, joins), batch, replacement=True, generator=generator)
    empty = torch.rand(batch, generator=generator) < p_empty
    return subsets[choice] & ~empty[:, None]


def multi_time(
    target: torch.Tensor, presence: torch.Tensor, timesteps: torch.Tensor, num_train_timesteps: int
) -> torch.Tensor:
    """τ [B, M] long: t for targets, 0 for conditioning slots, T for absent slots."""
    tau = torch.where(target, timesteps[:, None], torch.zeros_like(timesteps)[:, None])
    return torch.where(presence, tau, torch.full_like(tau, num_train_timesteps))


def masked_diffusion(
    z0: torch.Tensor, noise: torch.Tensor, target: torch.Tensor, noised_targets: torch.Tensor
) -> torch.Tensor:
    """Compose the network input C(z_t^{A1}, z^{A2}): targets take their noised value, the rest stay clean.

    Absent slots keep whatever they hold; the network replaces them by noise itself (see ``model``).
    """
    return torch.where(target[:, :, None, None, None], noised_targets, z0)


def loss_weight(target: torch.Tensor) -> torch.Tensor:
    """Eq. A.3 per sample, ω = 1 + dim(A2)/dim(A1), with the thesis' A1 ∪ A2 = every modality [B].

    A slot absent here (pure noise at τ = T: conditioned on "nothing") counts towards A2 like a clean
    condition, so ω = M/|A1| (all slots have the same latent size) and every conditioning set, the
    empty one included, weighs the same per latent dimension of the masked mean ε-loss. Counting only
    the present conditions gave the unconditional branch, the one guidance needs, ω = 1 against up to 4.
    """
    return target.shape[1] / target.sum(1).float()
