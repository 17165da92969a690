"""Every method of the evaluation table, as a function of one collated batch → uint8 frames.

Floors that ignore the input or see only the night frame: the constant mean day frame of the
training split, the night input itself, automatic gamma, CLAHE. Peers: the supervised direct
regressor (night + LiDAR + radar → day, L1). The model: MLD with each conditioning set, enhancing
from t̃ and generating from T. Ceiling: the camera autoencoder's reconstruction of the reference.
"""

from __future__ import annotations

import numpy as np

from fusion.diffusion.baselines import BASELINES
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


def mld_name(conditions: str, t_start: float) -> str:
    return f"MLD {conditions} · t̃={t_start:g}"


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
        t_start = enhancer.defaults.t_start if settings.t_start is None else settings.t_start
        self.start_times = [t_start] + ([1.0] if settings.generation and t_start < 1 else [])

    @property
    def names(self) -> list[str]:
        """Row order of the table."""
        names = [CONSTANT, NIGHT_INPUT, *BASELINES] + ([REGRESSOR] if self.regressor is not None else [])
        names += [mld_name(c, t) for t in self.start_times for c in CONDITION_SETS]
        return names + [AUTOENCODER_CEILING]

    @property
    def generation_names(self) -> list[str]:
        """The MLD rows that generate from T rather than enhance from t̃ < 1."""
        return [mld_name(c, 1.0) for c in CONDITION_SETS] if 1.0 in self.start_times[1:] else []

    def mld(self, batch: dict, conditions: tuple[str, ...], seed: int, **knobs) -> np.ndarray:
        """MLD-enhanced uint8 frames [B, H, W, 3]; unset knobs come from the settings, then the model."""
        knobs = {"t_start": self.start_times[0], "steps": self.settings.steps, "guidance": self.settings.guidance} | knobs
        return to_uint8(self.enhancer.enhance({name: batch[name] for name in conditions}, seed=seed, **knobs))

    def columns(self, batch: dict, seed: int) -> dict[str, np.ndarray]:
        """{method: uint8 [B, H, W, 3]} for every method, in ``names`` order."""
        night = to_uint8(batch["night"])
        columns = {CONSTANT: np.broadcast_to(self.constant, night.shape), NIGHT_INPUT: night}
        columns |= {name: np.stack([method(image) for image in night]) for name, method in BASELINES.items()}
        if self.regressor is not None:
            columns[REGRESSOR] = to_uint8(self.regressor.enhance(batch))
        for t_start in self.start_times:
            for name, conditions in CONDITION_SETS.items():
                columns[mld_name(name, t_start)] = self.mld(batch, conditions, seed, t_start=t_start)
        autoencoders = self.enhancer.autoencoders
        columns[AUTOENCODER_CEILING] = to_uint8(autoencoders.decode("day", autoencoders.encode("day", batch["day"])))
        return columns
