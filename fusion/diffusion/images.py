"""Frames in and out of the enhancement pipeline: RGB image files and sensor-map arrays.

Tensors follow the ShardDataset layout: RGB [B, 3, H, W] in [-1, 1]; maps [B, C, H, W] float32.
Pictures are uint8 [H, W, 3] RGB (OpenCV's BGR is converted at the file boundary only).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from preprocessing.atomic import atomic_write_bytes
from preprocessing.errors import UserError

ASPECT_TOLERANCE = 0.01


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """[B, 3, H, W] in [-1, 1] → uint8 [B, H, W, 3]."""
    unit = (x.detach().float().cpu().clamp(-1, 1) + 1) / 2
    return (unit.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)


def from_uint8(images: np.ndarray) -> torch.Tensor:
    """uint8 [B, H, W, 3] → [B, 3, H, W] in [-1, 1]."""
    return torch.from_numpy(images.astype(np.float32) / 127.5 - 1).permute(0, 3, 1, 2).contiguous()


def read_rgb(path: Path, size: tuple[int, int]) -> np.ndarray:
    """An image file as uint8 [H, W, 3] RGB at ``size`` = (H, W); resized only if the aspect ratio matches."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise UserError(f"cannot read image {path}")
    height, width = size
    if abs(image.shape[1] / image.shape[0] - width / height) > ASPECT_TOLERANCE * width / height:
        raise UserError(
            f"{path}: {image.shape[1]}×{image.shape[0]} does not have the model's aspect ratio {width}×{height}"
        )
    if image.shape[:2] != (height, width):
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def write_rgb(path: Path, image: np.ndarray) -> None:
    """Write uint8 [H, W, 3] RGB to ``path`` (format from the suffix), atomically."""
    ok, encoded = cv2.imencode(Path(path).suffix or ".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise UserError(f"cannot encode an image as {Path(path).suffix!r} for {path}")
    atomic_write_bytes(path, encoded.tobytes())


def read_map(path: Path, channels: int, size: tuple[int, int]) -> torch.Tensor:
    """A projected sensor map saved with ``numpy.save``: float32 [channels, H, W] exactly at ``size``."""
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise UserError(f"cannot read sensor map {path}: {error}") from None
    if array.shape != (channels, *size):
        raise UserError(f"{path}: expected a map of shape {(channels, *size)}, got {array.shape}")
    return torch.from_numpy(array.astype(np.float32))
