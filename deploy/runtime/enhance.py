"""Night→day enhancement on onnxruntime: encode, guided DDIM from t̃, decode (SPEC §5, §8).

The numpy counterpart of ``fusion.diffusion.enhance.Enhancer``: the ``day`` slot starts from the
night latent diffused to the first timestep, the present conditions stay clean, absent slots are
replaced by noise inside the denoiser graph, and classifier-free guidance runs the conditional and
the unconditional prediction side by side (torch runs them as one batch of two). With the same
``start_noise``/``absent_noise`` as the torch pipeline draws, the result matches it
(``tests/test_deploy_enhance.py``).

Shapes: frames [B, C_x, H, W] (ShardDataset layout); latents [B, M, C, h, w] in manifest slot order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from deploy.runtime.ddim import DDIM
from deploy.runtime.graphs import Graphs
from deploy.runtime.manifest import ENCODER_OF_MODALITY

CONDITIONS = tuple(ENCODER_OF_MODALITY)  # night, radar, lidar


@dataclass
class Enhanced:
    """image [B, 3, H, W] in [-1, 1]; latents: the normalised condition latents [B, C, h, w] by modality;
    seconds: wall time per stage (encode, denoise, decode) and per denoising step; finite: False when the
    final latent or the decoder's raw output held NaN/±inf (clipping to [-1, 1] would hide them)."""

    image: np.ndarray
    latents: dict[str, np.ndarray]
    seconds: dict[str, float] = field(default_factory=dict)
    finite: bool = True


class Enhancer:
    """Enhancement with the graphs of one export; ``steps``/``guidance``/``t_start`` default to the model's."""

    def __init__(self, graphs: Graphs):
        self.graphs = graphs
        manifest = graphs.manifest
        self.modalities = manifest.modalities
        self.ddim = DDIM(manifest.data["schedule"])
        self.defaults = manifest.data["sampling"]
        latent = manifest.data["latent"]
        self.latent_shape = (latent["channels"], latent["height"], latent["width"])

    def encode(self, frames: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """ShardDataset-layout batches [B, C_x, H, W] by modality → normalised latents [B, C, h, w], the
        encoders running side by side."""
        calls = [(ENCODER_OF_MODALITY[name], {"x": np.ascontiguousarray(x, dtype=np.float32)}) for name, x in frames.items()]
        return dict(zip(frames, self.graphs.run_concurrently(calls)))

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Latents → frames [B, 3, H, W] as the decoder gives them (not clipped)."""
        return self.graphs.run_one("camera_decoder", z=np.ascontiguousarray(z, dtype=np.float32))

    def slots(self, latents: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(latents [B, M, C, h, w], target [B, M], presence [B, M]): ``day`` is the target and starts from
        the night latent; the given conditions are present, the other slots absent (zeros)."""
        night = latents["night"]
        slots = [latents.get(name, np.zeros_like(night)) for name in self.modalities]
        slots[self.modalities.index("day")] = night
        target = np.array([name == "day" for name in self.modalities])
        presence = target | np.array([name in latents for name in self.modalities])
        batch = night.shape[0]
        return np.stack(slots, axis=1), np.tile(target, (batch, 1)), np.tile(presence, (batch, 1))

    def guided_prediction(self, z, tau, target, presence, noise, guidance: float) -> np.ndarray:
        """Guided prediction (ε or v): ε = ε(z_t | ∅) + w·(ε(z_t | A2) − ε(z_t | ∅)), ∅ = every
        conditioning slot absent; the two predictions run side by side."""
        inputs = {"latents": z, "tau": tau, "presence": presence, "noise": noise}
        if guidance == 1.0:
            return self.graphs.run_one("denoiser", **inputs)
        conditional, unconditional = self.graphs.run_concurrently(
            [("denoiser", inputs), ("denoiser", {**inputs, "presence": presence & target})]
        )
        return unconditional + guidance * (conditional - unconditional)

    def enhance(
        self,
        frames: dict[str, np.ndarray],
        *,
        steps: int | None = None,
        guidance: float | None = None,
        t_start: float | None = None,
        seed: int = 0,
        start_noise: np.ndarray | None = None,
        absent_noise: np.ndarray | None = None,
    ) -> Enhanced:
        """frames: ``night`` and any of ``radar``/``lidar`` → the enhanced day frame.

        ``start_noise``/``absent_noise`` [B, M, C, h, w] default to draws from ``seed``; pass the torch
        pipeline's draws to reproduce it.
        """
        steps = steps or self.defaults["steps"]
        guidance = self.defaults["guidance"] if guidance is None else guidance
        t_start = t_start or self.defaults["t_start"]
        unknown = set(frames) - set(CONDITIONS)
        if "night" not in frames or unknown:
            raise ValueError(f"enhancement needs 'night' and optionally radar/lidar, got {sorted(frames)}")
        seconds: dict[str, float] = {}
        clock = time.perf_counter()
        latents = self.encode(frames)
        seconds["encode"] = time.perf_counter() - clock

        clock = time.perf_counter()
        z0, target, presence = self.slots(latents)
        rng = np.random.default_rng(seed)
        start_noise = rng.standard_normal(z0.shape, np.float32) if start_noise is None else start_noise
        absent_noise = rng.standard_normal(z0.shape, np.float32) if absent_noise is None else absent_noise
        timesteps = self.ddim.reverse_timesteps(steps, t_start)
        mask = target[:, :, None, None, None]
        z = np.where(mask, self.ddim.add_noise(z0, start_noise, int(timesteps[0])), z0).astype(np.float32)
        horizon = np.float32(self.ddim.num_train_timesteps)
        for t in timesteps:
            tau = np.where(presence, np.where(target, np.float32(t), np.float32(0)), horizon).astype(np.float32)
            prediction = self.guided_prediction(z, tau, target, presence, absent_noise, guidance)
            z = np.where(mask, self.ddim.step(prediction, int(t), z, steps), z).astype(np.float32)
        seconds["denoise"] = time.perf_counter() - clock
        seconds["per_step"] = seconds["denoise"] / len(timesteps)

        clock = time.perf_counter()
        day = z[:, self.modalities.index("day")]
        decoded = self.decode(day)
        seconds["decode"] = time.perf_counter() - clock
        finite = bool(np.isfinite(day).all() and np.isfinite(decoded).all())
        return Enhanced(np.clip(decoded, -1.0, 1.0), latents, seconds, finite)
