"""Reading safetensors files: a truncated or corrupt file is a ``UserError`` naming it, not a traceback."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from preprocessing.errors import UserError


def load_tensors(path: str | Path) -> dict[str, torch.Tensor]:
    """``safetensors.torch.load_file(path)``; UserError if the file is not valid safetensors."""
    try:
        return load_file(str(path))
    except SafetensorError as error:
        raise UserError(f"{path}: not a readable safetensors file, truncated or corrupt ({error})") from None
