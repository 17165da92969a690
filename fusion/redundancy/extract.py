"""Frames → per-sensor descriptors through the perception autoencoders.

For sensor s with autoencoder kind k and a frame's input x_s (``Sensor.inputs``):

    descriptor_s = cell_descriptors(encode_k(x_s) − encode_k(null_k), cell)      [P, C]

where null_k is the input of a sensor that delivers nothing (a black image, an empty map). The
offset makes "no data" exactly the zero descriptor at every cell, so a dead sensor is a constant
variable instead of a fingerprint of the image position (the encoder's border effects and the
element-wise latent normalisation would otherwise tell every cell apart). ``null_latents`` is what
the vehicle runtime stores next to its encoders to compute the same descriptors.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from fusion.redundancy.descriptors import cell_descriptors
from fusion.redundancy.frames import SensorMaps
from fusion.redundancy.sensors import Sensor
from preprocessing.errors import UserError

NULL_INPUT = {"camera": -1.0, "lidar": 0.0, "radar": 0.0}  # black in [-1, 1]; empty sparse map


class DescriptorExtractor:
    """Encodes batches of ``SensorMaps`` and pools them into descriptors {sensor name: [B, P, C]}."""

    def __init__(self, autoencoders, sensors: Sequence[Sensor], cell: int):
        self.aes, self.sensors, self.cell = autoencoders, tuple(sensors), cell
        self.null_latents: dict[str, np.ndarray] = {}  # kind → [C, h, w], filled on first use

    def _encode(self, kind: str, x: np.ndarray) -> np.ndarray:
        try:
            return self.aes.encode(kind, torch.from_numpy(x)).numpy()
        except ValueError as error:  # wrong resolution for element-wise normalisation, wrong channels
            raise UserError(f"the {kind} autoencoder cannot encode these frames: {error}") from None

    def null_latent(self, kind: str, shape: tuple[int, ...]) -> np.ndarray:
        """encode(null input) [C, h, w] for inputs of ``shape`` [C_x, H, W]."""
        if kind not in self.null_latents:
            self.null_latents[kind] = self._encode(kind, np.full((1, *shape), NULL_INPUT[kind], np.float32))[0]
        return self.null_latents[kind]

    def __call__(self, frames: Sequence[SensorMaps], sensors: Sequence[Sensor] | None = None) -> dict[str, np.ndarray]:
        """Descriptors of ``sensors`` (default: all of this extractor's) for a batch of frames."""
        out = {}
        for sensor in self.sensors if sensors is None else sensors:
            x = np.stack([sensor.inputs(maps) for maps in frames]).astype(np.float32)
            z = self._encode(sensor.kind, x) - self.null_latent(sensor.kind, x.shape[1:])
            try:
                out[sensor.name] = cell_descriptors(z, self.cell)
            except ValueError as error:
                raise UserError(str(error)) from None
        return out
