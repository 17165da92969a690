"""Every method of the evaluation table, as a function of one collated batch → uint8 frames.

Floors that ignore the input or see only the night frame: the constant mean day frame of the
training split, the night input itself, automatic gamma, CLAHE. Peers: the supervised direct
regressor (night + LiDAR + radar → day, L1). The model: MLD with each conditioning set, once per sampler
(e.g. its posterior mean, one DDIM step from T; a sample from T; the thesis' enhancement from t̃ = 0.5).
Ceiling: the camera autoencoder's reconstruction of the reference.
"""

from __future__ import annotations

import numpy as np

from fusion.diffusion.baselines import BASELINES
from fusion.diffusion.config import SampleConfig
from fusion.diffusion.enhance import Enhancer
from fusion.diffusion.images import to_uint8
from fusion.evaluation.settings import EvaluationSettings
from fusion.regression.model import DirectRegressor

CONDITION_SETS: dict[str, tuple[str, ...]] = {
    "night+lidar+radar": ("night", "lidar", "radar"),
    "night+lidar": ("night", "lidar"),
    "night+radar": ("night", "radar"),
    "night": ("night",),
}
CONSTANT = "constant (train mean day)"
NIGHT_INPUT = "night input"
REGRESSOR = "regressor (U-Net, L1)"
AUTOENCODER_CEILING = "autoencoder(day) ceiling"


def sampler_label(sampler: SampleConfig) -> str:
    """e.g. "t̃=1, 1 step, w=1": one DDIM step from T is the network's x̂₀, the posterior mean."""
    return f"t̃={sampler.t_start:g}, {sampler.steps} step{'s' if sampler.steps > 1 else ''}, w={sampler.guidance:g}"


def mld_name(conditions: str, sampler: SampleConfig) -> str:
    return f"MLD {conditions} · {sampler_label(sampler)}"


class Methods:
    """The methods to compare; ``columns(batch)`` runs all of them on a batch."""

    def __init__(
        self,
        enhancer: Enhancer,
        constant: np.ndarray,
        settings: EvaluationSettings,
        regressor: DirectRegressor | None = None,
    ):
        self.enhancer, self.constant, self.settings, self.regressor = enhancer, constant, settings, regressor
        resolved = (sampler.resolve(enhancer.defaults) for sampler in settings.samplers)
        self.samplers = list({sampler_label(sampler): sampler for sampler in resolved}.values())  # each once

    @property
    def names(self) -> list[str]:
        """Row order of the table."""
        names = [CONSTANT, NIGHT_INPUT, *BASELINES] + ([REGRESSOR] if self.regressor is not None else [])
        names += [mld_name(c, sampler) for sampler in self.samplers for c in CONDITION_SETS]
        return names + [AUTOENCODER_CEILING]

    @property
    def secondary_names(self) -> list[str]:
        """The MLD rows of every sampler but the first (left out of the darkness plot)."""
        return [mld_name(c, sampler) for sampler in self.samplers[1:] for c in CONDITION_SETS]

    def mld(self, batch: dict, conditions: tuple[str, ...], seed: int, sampler: SampleConfig) -> np.ndarray:
        """MLD-enhanced uint8 frames [B, H, W, 3] with the knobs of ``sampler``."""
        frames = {name: batch[name] for name in conditions}
        return to_uint8(self.enhancer.enhance(frames, seed=seed, **sampler.model_dump()))

    def columns(self, batch: dict, seed: int) -> dict[str, np.ndarray]:
        """{method: uint8 [B, H, W, 3]} for every method, in ``names`` order."""
        night = to_uint8(batch["night"])
        columns = {CONSTANT: np.broadcast_to(self.constant, night.shape), NIGHT_INPUT: night}
        columns |= {name: np.stack([method(image) for image in night]) for name, method in BASELINES.items()}
        if self.regressor is not None:
            columns[REGRESSOR] = to_uint8(self.regressor.enhance(batch))
        for sampler in self.samplers:
            for name, conditions in CONDITION_SETS.items():
                columns[mld_name(name, sampler)] = self.mld(batch, conditions, seed, sampler)
        autoencoders = self.enhancer.autoencoders
        columns[AUTOENCODER_CEILING] = to_uint8(autoencoders.decode("day", autoencoders.encode("day", batch["day"])))
        return columns
