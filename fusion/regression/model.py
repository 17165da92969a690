"""The direct regressor network: ``diffusers.UNet2DModel`` from the stacked inputs to the day frame.

Inputs are the ShardDataset tensors of the configured conditions, each scaled to about ±1 and stacked
along channels: [B, 3 (+3 LiDAR) (+4 radar), H, W] → day RGB [B, 3, H, W] in [-1, 1]. The U-Net's
time embedding is unused (always t = 0). H and W must be divisible by 2^(levels − 1).

A model folder holds ``regressor.json`` (the ``RegressorModelConfig``, the training step and the scenes
it was trained on) and ``unet/`` written by diffusers' ``save_pretrained`` (safetensors).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import UNet2DModel
from torch import nn

from fusion.regression.config import INPUT_SCALES, RegressorModelConfig
from preprocessing.atomic import atomic_directory, atomic_write_json
from preprocessing.config import validate
from preprocessing.errors import UserError

CONFIG_FILE = "regressor.json"
UNET_FOLDER = "unet"


class DirectRegressor(nn.Module):
    def __init__(self, config: RegressorModelConfig, unet: UNet2DModel | None = None):
        super().__init__()
        self.config = config
        levels = len(config.block_out_channels)
        self.unet = unet or UNet2DModel(
            in_channels=sum(len(INPUT_SCALES[name]) for name in config.conditions),
            out_channels=3,
            block_out_channels=config.block_out_channels,
            layers_per_block=config.layers_per_block,
            norm_num_groups=config.norm_num_groups,
            down_block_types=("DownBlock2D",) * levels,
            up_block_types=("UpBlock2D",) * levels,
        )
        for name in config.conditions:
            self.register_buffer(f"scale_{name}", torch.tensor(INPUT_SCALES[name]).view(1, -1, 1, 1), persistent=False)

    def stack_inputs(self, frames: dict[str, torch.Tensor]) -> torch.Tensor:
        """{night [B,3,H,W], lidar [B,3,H,W], radar [B,4,H,W]} → scaled network input [B, C_in, H, W]."""
        missing = [name for name in self.config.conditions if name not in frames]
        if missing:
            raise ValueError(f"the regressor needs {', '.join(missing)} as well")
        return torch.cat([frames[name] / getattr(self, f"scale_{name}") for name in self.config.conditions], dim=1)

    def forward(self, frames: dict[str, torch.Tensor]) -> torch.Tensor:
        """The predicted day frame [B, 3, H, W] (unclamped: the L1 loss sees the raw output)."""
        x = self.stack_inputs(frames)
        return self.unet(x, torch.zeros(len(x), device=x.device)).sample

    @torch.no_grad()
    def enhance(self, frames: dict[str, torch.Tensor]) -> torch.Tensor:
        """Day frames [B, 3, H, W] in [-1, 1]."""
        return self(frames).clamp(-1, 1)

    def save(self, folder: Path, *, step: int, scenes: dict) -> None:
        """Write (or replace) the model files in ``folder``, each atomically; other files there stay."""
        with atomic_directory(Path(folder) / UNET_FOLDER, overwrite=True) as tmp:
            self.unet.save_pretrained(tmp, safe_serialization=True)
        record = {"model": self.config.model_dump(mode="json"), "step": step, "training_scenes": scenes}
        atomic_write_json(Path(folder) / CONFIG_FILE, record)

    @classmethod
    def load(cls, folder: Path) -> tuple[DirectRegressor, dict]:
        """(model in eval mode, its ``regressor.json`` record) from a folder written by ``save``."""
        folder = Path(folder)
        path = folder / CONFIG_FILE
        if not path.is_file() or not (folder / UNET_FOLDER).is_dir():
            raise UserError(f"{folder} is not a regressor folder ({CONFIG_FILE} and {UNET_FOLDER}/ expected)")
        try:
            record = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise UserError(f"{path} is not valid JSON: {error}") from None
        config = validate(RegressorModelConfig, record.get("model", {}), str(path))
        unet = UNet2DModel.from_pretrained(folder / UNET_FOLDER, use_safetensors=True)
        return cls(config, unet).eval(), record
