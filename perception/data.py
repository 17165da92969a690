"""What each autoencoder reads from a ShardDataset batch.

The camera autoencoder is shared by ``day`` and ``night`` (SPEC §5), so it trains on both frames of
every sample: [2B, 3, H, W]. A night scene contributes its real night frame only (twice): its ``day``
slot holds that frame again or its rendered day twin, ground truth that must not leak into the
autoencoders. LiDAR [B, 3, H, W] and radar [B, 4, H, W] maps are used as stored (raw sparse; the
codec densifies the encoder input if configured).
"""

from __future__ import annotations

import torch

from perception.config import AutoencoderName


def _night_scenes(batch: dict, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(batch["night_scene"], dtype=torch.bool, device=device)


def autoencoder_input(batch: dict, name: AutoencoderName) -> torch.Tensor:
    if name == "camera":
        day, night = batch["day"], batch["night"]
        day = torch.where(_night_scenes(batch, day.device)[:, None, None, None], night, day)
        return torch.cat([day, night])
    return batch[name]


def camera_views(batch: dict, reconstruction: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Split a camera reconstruction of ``autoencoder_input`` into (reference, reconstruction) per view.

    ``day`` keeps only day scenes (a night scene's ``day`` half is its night frame); ``night`` keeps all.
    """
    day, night = batch["day"], batch["night"]
    day_scene = ~_night_scenes(batch, day.device)
    day_rec, night_rec = reconstruction.to(day.device).split([len(day), len(night)])
    views = {"day": (day[day_scene], day_rec[day_scene]), "night": (night, night_rec)}
    return {view: pair for view, pair in views.items() if len(pair[0])}
