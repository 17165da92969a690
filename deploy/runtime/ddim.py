"""diffusers' ``DDIMScheduler`` (η = 0, ε- or v-prediction) in numpy, from the constants in the manifest.

The exporter stores the scheduler's float32 ``alphas_cumprod`` [T], ``final_alpha_cumprod``, the
timestep spacing and offset; this module replays ``set_timesteps``, ``add_noise`` and ``step``
with the same float32 arithmetic, so the runtime's trajectory is the torch pipeline's (see
``tests/test_deploy_ddim.py``). The img2img truncation (enhancement from t̃) keeps the last
⌊steps·t̃⌋ timesteps, as ``fusion.diffusion.sampling.reverse_timesteps`` does.
"""

from __future__ import annotations

import numpy as np


class DDIM:
    """Deterministic DDIM over a discrete schedule; arrays are float32, timesteps int64."""

    def __init__(self, schedule: dict):
        self.prediction_type = schedule.get("prediction_type", "epsilon")
        if self.prediction_type not in ("epsilon", "v_prediction") or schedule.get("clip_sample", False):
            raise ValueError("the runtime's DDIM supports ε- and v-prediction without sample clipping only")
        self.alphas_cumprod = np.asarray(schedule["alphas_cumprod"], dtype=np.float32)
        self.final_alpha_cumprod = np.float32(schedule["final_alpha_cumprod"])
        self.num_train_timesteps = int(schedule["num_train_timesteps"])
        self.spacing = schedule["timestep_spacing"]
        self.steps_offset = int(schedule.get("steps_offset", 0))
        if self.alphas_cumprod.shape != (self.num_train_timesteps,):
            raise ValueError(f"alphas_cumprod has {self.alphas_cumprod.shape}, expected ({self.num_train_timesteps},)")

    def timesteps(self, steps: int) -> np.ndarray:
        """``DDIMScheduler.set_timesteps(steps).timesteps`` [steps], descending."""
        total = self.num_train_timesteps
        if not 1 <= steps <= total:
            raise ValueError(f"steps must be in 1..{total}, got {steps}")
        if self.spacing == "linspace":
            return np.linspace(0, total - 1, steps).round()[::-1].copy().astype(np.int64)
        if self.spacing == "leading":
            ratio = total // steps
            return (np.arange(0, steps) * ratio).round()[::-1].copy().astype(np.int64) + self.steps_offset
        if self.spacing == "trailing":
            return np.round(np.arange(total, 0, -total / steps)).astype(np.int64) - 1
        raise ValueError(f"unsupported timestep spacing {self.spacing!r}")

    def reverse_timesteps(self, steps: int, strength: float) -> np.ndarray:
        """The last ⌊steps·strength⌋ timesteps: the reverse path from t̃ = strength."""
        count = min(int(steps * strength), steps)
        if count < 1:
            raise ValueError(f"t_start={strength} with {steps} steps leaves no denoising step")
        return self.timesteps(steps)[steps - count :]

    def add_noise(self, x: np.ndarray, noise: np.ndarray, timestep: int) -> np.ndarray:
        """√ᾱ_t x + √(1 − ᾱ_t) ε."""
        alpha = self.alphas_cumprod[timestep]
        return alpha**0.5 * x + (1 - alpha) ** 0.5 * noise

    def step(self, output: np.ndarray, timestep: int, sample: np.ndarray, steps: int) -> np.ndarray:
        """x_{t_prev} from x_t and the network's ``output`` (ε̂ or v̂) for a ``steps``-step schedule (η = 0)."""
        prev = timestep - self.num_train_timesteps // steps
        alpha = self.alphas_cumprod[timestep]
        alpha_prev = self.alphas_cumprod[prev] if prev >= 0 else self.final_alpha_cumprod
        beta = 1 - alpha
        if self.prediction_type == "v_prediction":  # v = √ᾱ ε − √(1−ᾱ) x₀
            original = alpha**0.5 * sample - beta**0.5 * output
            eps = alpha**0.5 * output + beta**0.5 * sample
        else:
            eps = output
            original = (sample - beta**0.5 * eps) / alpha**0.5
        direction = (1 - alpha_prev) ** 0.5 * eps
        return alpha_prev**0.5 * original + direction
