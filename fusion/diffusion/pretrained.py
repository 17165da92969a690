"""Initialise the shared trunk from a reference (facebookresearch/DiT) checkpoint, e.g. DiT-XL/2 on ImageNet.

The reference layout is kept by ``model.MultimodalDiT``, so most tensors copy by name. The rest map as:

- ``x_embedder.proj.*``             → every per-modality ``x_embedder.<modality>.proj.*``;
- ``y_embedder.embedding_table``    → its last row (the classifier-free "null class") for every modality;
- ``final_layer.linear.*``          → the ε half of a learn-sigma output (reference channels are [ε, Σ]);
- ``pos_embed``                     → skipped: fixed sin-cos, recomputed for this model's latent grid;
- ``blocks.N.*`` with N ≥ depth     → skipped;
- ``modality_embed``, ``condition_embedder.*`` have no reference counterpart: freshly initialised.

Anything whose shape still differs is skipped; parameters that received nothing keep their fresh
initialisation. The report lists all three groups.
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from fusion.diffusion.model import MultimodalDiT
from fusion.diffusion.multitime import MODALITIES
from perception.tensor_files import load_tensors
from preprocessing.errors import UserError


@dataclass
class LoadReport:
    loaded: list[str] = field(default_factory=list)  # our parameter names, filled from the checkpoint
    skipped: dict[str, str] = field(default_factory=dict)  # checkpoint key → why it was not used
    initialised: list[str] = field(default_factory=list)  # our parameter names left at their initialisation

    def summary(self) -> str:
        counts = f"loaded {len(self.loaded)}, skipped {len(self.skipped)}, newly initialised {len(self.initialised)}"
        lines = [counts]
        lines += [f"  skipped {key}: {reason}" for key, reason in sorted(self.skipped.items())]
        lines += [f"  initialised {key}" for key in sorted(self.initialised)]
        return "\n".join(lines)


def read_reference_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a DiT checkpoint: ``.safetensors``, or a torch file read with ``weights_only=True``.

    A DiT ``train.py`` checkpoint ({"model", "ema", "opt", "args"}) cannot be read safely because of its
    pickled ``args``; its ``ema`` state dict must be extracted first (the released DiT-XL-2 files are plain
    state dicts and load directly).
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"pretrained DiT checkpoint not found: {path}")
    if path.suffix == ".safetensors":
        return load_tensors(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise UserError(f"{path} holds more than tensors and will not be unpickled ({error})") from None
    state = state.get("ema", state)
    if not all(isinstance(value, torch.Tensor) for value in state.values()):
        raise UserError(f"{path} is not a state dict of tensors")
    return state


def eps_half(tensor: torch.Tensor, patch: int, channels: int) -> torch.Tensor:
    """Keep the first ``channels`` output channels of a per-patch projection laid out (p, p, C_ref)."""
    rows = tensor.reshape(patch, patch, -1, *tensor.shape[1:])[:, :, :channels]
    return rows.reshape(patch * patch * channels, *tensor.shape[1:])


def translate(key: str, value: torch.Tensor, model: MultimodalDiT) -> tuple[dict[str, torch.Tensor], str]:
    """Our tensors for one reference entry, or an empty dict with the reason it is not used."""
    config = model.config
    if key == "pos_embed":
        return {}, "fixed sin-cos positions are recomputed for this latent grid"
    block = re.match(r"blocks\.(\d+)\.", key)
    if block and int(block.group(1)) >= config.depth:
        return {}, f"block beyond this model's depth {config.depth}"
    if key.startswith("x_embedder.proj."):
        leaf = key.removeprefix("x_embedder.")
        return {f"x_embedder.{name}.{leaf}": value for name in MODALITIES}, ""
    if key == "y_embedder.embedding_table.weight":
        return {key: value[-1:].expand(len(MODALITIES), -1).clone()}, ""
    if key.startswith("final_layer.linear."):
        if value.shape[0] == 2 * config.patch_size**2 * config.latent_channels:  # learn-sigma checkpoint
            value = eps_half(value, config.patch_size, config.latent_channels)
        return {key: value}, ""
    return {key: value}, ""


def load_reference_dit(model: MultimodalDiT, state: dict[str, torch.Tensor]) -> LoadReport:
    """Copy every usable tensor of the reference ``state`` into ``model`` (in place) and report."""
    ours = model.state_dict()
    report = LoadReport()
    updates: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        mapped, reason = translate(key, value, model)
        if not mapped:
            report.skipped[key] = reason
            continue
        mismatched = [name for name, tensor in mapped.items() if name not in ours or ours[name].shape != tensor.shape]
        if mismatched:
            expected = {name: tuple(ours[name].shape) for name in mismatched if name in ours}
            report.skipped[key] = f"shape {tuple(value.shape)} does not fit {expected or 'any parameter'}"
            continue
        updates.update(mapped)
    model.load_state_dict({**ours, **updates})
    report.loaded = sorted(updates)
    report.initialised = sorted(set(ours) - set(updates))
    return report
