"""Night→day enhancement with a trained model folder (SPEC §5 "Enhancement from an intermediate time").

encode night (+ radar, lidar) → start the ``day`` slot from the night latent diffused to t̃ → guided DDIM
reverse to 0 with the clean conditions → decode with the camera autoencoder. Seeded: the same inputs
and seed give the same frame.
"""

from __future__ import annotations

from pathlib import Path

import torch

from fusion.diffusion.checkpoint import load_model
from fusion.diffusion.multitime import modality_index
from fusion.diffusion.sampling import enhancement_inputs, sample
from fusion.diffusion.schedule import make_scheduler
from perception import load_autoencoders

AUTOENCODER_FOLDER = "autoencoders"


class Enhancer:
    """A trained MLD folder (DiT + schedule + autoencoders) ready to enhance frames."""

    def __init__(self, folder: Path):
        folder = Path(folder)
        self.model, schedule, self.defaults = load_model(folder)
        self.scheduler = make_scheduler(schedule)
        self.autoencoders = load_autoencoders(folder / AUTOENCODER_FOLDER)

    @property
    def frame_size(self) -> tuple[int, int]:
        """(H, W) of the frames the model works on."""
        height, width = self.model.config.latent_size
        return height * self.autoencoders.downsample, width * self.autoencoders.downsample

    @torch.no_grad()
    def enhance(
        self,
        frames: dict[str, torch.Tensor],
        *,
        t_start: float | None = None,
        steps: int | None = None,
        guidance: float | None = None,
        seed: int = 0,
    ) -> torch.Tensor:
        """frames: ``night`` [B, 3, H, W] and optionally ``radar`` [B, 4, H, W], ``lidar`` [B, 3, H, W]
        (ShardDataset layout) → the enhanced day frame [B, 3, H, W] in [-1, 1]. Unset knobs use the
        model's sampling defaults."""
        latents = {name: self.autoencoders.encode(name, frame) for name, frame in frames.items()}
        slots, target, presence = enhancement_inputs(latents)
        generated = sample(
            self.model,
            self.scheduler,
            slots,
            target,
            presence,
            steps=steps or self.defaults.steps,
            guidance=self.defaults.guidance if guidance is None else guidance,
            strength=t_start or self.defaults.t_start,
            generator=torch.Generator().manual_seed(seed),
        )
        return self.autoencoders.decode("day", generated[:, modality_index("day")]).clamp(-1, 1)
