"""What each autoencoder reads from a ShardDataset batch.

The camera autoencoder is shared by ``day`` and ``night`` (SPEC §5), so it trains on both frames of
every sample: [2B, 3, H, W]. LiDAR [B, 3, H, W] and radar [B, 4, H, W] maps are used as stored
(raw sparse; the codec densifies the encoder input if configured).
"""

from __future__ import annotations

import torch

from perception.config import AutoencoderName


def autoencoder_input(batch: dict, name: AutoencoderName) -> torch.Tensor:
    if name == "camera":
        return torch.cat([batch["day"], batch["night"]])
    return batch[name]


def camera_views(batch: dict, reconstruction: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Split a camera reconstruction of ``autoencoder_input`` into (reference, reconstruction) per view.

    ``day`` keeps only day scenes (in a night scene ``day`` is the real night frame); ``night`` keeps all.
    """
    day, night = batch["day"], batch["night"]
    day_scene = ~torch.as_tensor(batch["night_scene"], dtype=torch.bool, device=day.device)
    day_rec, night_rec = reconstruction.to(day.device).split([len(day), len(night)])
    views = {"day": (day[day_scene], day_rec[day_scene]), "night": (night, night_rec)}
    return {view: pair for view, pair in views.items() if len(pair[0])}
