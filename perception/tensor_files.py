"""Reading and writing safetensors files: a truncated or corrupt file is a ``UserError`` naming it, not a
traceback; a file is written whole or not at all."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from preprocessing.atomic import atomic_write_bytes
from preprocessing.errors import UserError


def load_tensors(path: str | Path) -> dict[str, torch.Tensor]:
    """``safetensors.torch.load_file(path)``; UserError if the file is not valid safetensors."""
    try:
        return load_file(str(path))
    except SafetensorError as error:
        raise UserError(f"{path}: not a readable safetensors file, truncated or corrupt ({error})") from None


def tensors_to_bytes(tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> bytes:
    return save({name: tensor.detach().contiguous().cpu() for name, tensor in tensors.items()}, metadata)


def write_safetensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """``tensors`` (e.g. a ``state_dict()``) to ``path`` atomically."""
    atomic_write_bytes(path, tensors_to_bytes(tensors))
