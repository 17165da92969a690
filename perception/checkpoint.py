"""Training checkpoints of one autoencoder, in safetensors + JSON (nothing is pickled).

A checkpoint is a directory ``<root>/step_<NNNNNNNN>/`` written atomically::

    vae_config.json        diffusers config of the AutoencoderKL (rebuilds the architecture)
    vae.safetensors        its weights
    optimizer.safetensors  optimizer tensors, keyed "<param index>.<name>" (Adam moments and steps)
    ema.safetensors        EMA shadow weights keyed by parameter name (only with EMA)
    state.json             step, optimizer param groups, EMA counters, run metadata

Resuming loads the newest complete checkpoint; old ones beyond ``keep`` are deleted.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import AutoencoderKL
from diffusers.training_utils import EMAModel
from safetensors.torch import save_file

from perception.tensor_files import load_tensors
from preprocessing.atomic import atomic_directory
from preprocessing.errors import UserError

PREFIX = "step_"


@dataclass
class Checkpoint:
    path: Path
    state: dict

    @property
    def step(self) -> int:
        return int(self.state["step"])


def checkpoint_dirs(root: Path) -> list[Path]:
    """Complete checkpoints under ``root``, oldest first (partial ones never carry the final name)."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and p.name.startswith(PREFIX) and (p / "state.json").is_file()]
    return sorted(found, key=lambda p: int(p.name[len(PREFIX) :]))


def latest_checkpoint(root: Path) -> Checkpoint | None:
    dirs = checkpoint_dirs(root)
    if not dirs:
        return None
    return Checkpoint(dirs[-1], json.loads((dirs[-1] / "state.json").read_text()))


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimizer state dict into flat tensors and a JSON-able remainder."""
    state_dict = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, entries in state_dict["state"].items():
        for key, value in entries.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def optimizer_state_dict(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict] = {}
    for flat, value in list(tensors.items()) + list(meta["scalars"].items()):
        index, key = flat.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(
    root: Path,
    step: int,
    vae: AutoencoderKL,
    optimizer: torch.optim.Optimizer,
    ema: EMAModel | None,
    metadata: dict,
    keep: int,
) -> Path:
    path = root / f"{PREFIX}{step:08d}"
    optimizer_flat, optimizer_meta = optimizer_tensors(optimizer)
    state = {"step": step, "optimizer": optimizer_meta, **metadata}
    with atomic_directory(path, overwrite=True) as tmp:
        (tmp / "vae_config.json").write_text(vae.to_json_string())
        save_file({k: v.detach().cpu().contiguous() for k, v in vae.state_dict().items()}, str(tmp / "vae.safetensors"))
        save_file(optimizer_flat, str(tmp / "optimizer.safetensors"))
        if ema is not None:
            names = [name for name, _ in vae.named_parameters()]
            shadow = {name: p.detach().cpu().contiguous() for name, p in zip(names, ema.shadow_params, strict=True)}
            save_file(shadow, str(tmp / "ema.safetensors"))
            state["ema"] = {k: v for k, v in ema.state_dict().items() if k != "shadow_params"}
        (tmp / "state.json").write_text(json.dumps(state, indent=2))
    for old in checkpoint_dirs(root)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return path


def checkpoint_vae(checkpoint: Checkpoint) -> AutoencoderKL:
    """Rebuild the checkpoint's AutoencoderKL with its weights."""
    config = json.loads((checkpoint.path / "vae_config.json").read_text())
    vae = AutoencoderKL.from_config(config)
    vae.load_state_dict(load_tensors(checkpoint.path / "vae.safetensors"))
    return vae


def restore_training_state(checkpoint: Checkpoint, optimizer: torch.optim.Optimizer, ema: EMAModel | None, vae) -> None:
    """Load optimizer moments and EMA shadow weights (the weights themselves come from ``checkpoint_vae``)."""
    if (ema is not None) != ("ema" in checkpoint.state):
        raise UserError(
            f"{checkpoint.path}: EMA was {'on' if 'ema' in checkpoint.state else 'off'} in this run; "
            "keep train.ema_decay as it was to resume"
        )
    tensors = load_tensors(checkpoint.path / "optimizer.safetensors")
    optimizer.load_state_dict(optimizer_state_dict(tensors, checkpoint.state["optimizer"]))
    if ema is not None:
        shadow = load_tensors(checkpoint.path / "ema.safetensors")
        device = next(vae.parameters()).device
        shadow_params = [shadow[name].to(device) for name, _ in vae.named_parameters()]
        ema.load_state_dict({**checkpoint.state["ema"], "shadow_params": shadow_params})
