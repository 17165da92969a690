"""Model folders and resumable training state: safetensors + JSON, never pickle.

A trained model folder (the ``--out`` of ``nightfusion train``) holds::

    config.json          {"model": ModelConfig, "schedule": ScheduleConfig, "sample": SampleConfig, "step": int}
    model.safetensors    EMA weights of the DiT
    autoencoders/        copy of the autoencoder folder the latents came from (so the folder is self-contained)
    checkpoint/          training state for --resume (weights, EMA, AdamW moments, step)
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from fusion.diffusion.config import ModelConfig, SampleConfig, ScheduleConfig
from fusion.diffusion.model import MultimodalDiT
from perception.tensor_files import load_tensors, write_safetensors
from preprocessing.atomic import atomic_directory, atomic_write_json
from preprocessing.config import validate
from preprocessing.errors import UserError

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CHECKPOINT_DIR = "checkpoint"


def save_model(
    folder: Path, model: MultimodalDiT, schedule: ScheduleConfig, sample: SampleConfig, step: int
) -> None:
    """Write weights and config of ``model`` into ``folder`` (each file atomically)."""
    write_safetensors(folder / WEIGHTS_FILE, model.state_dict())
    atomic_write_json(
        folder / CONFIG_FILE,
        {
            "model": model.config.model_dump(mode="json"),
            "schedule": schedule.model_dump(mode="json"),
            "sample": sample.model_dump(mode="json"),
            "step": step,
        },
    )


def read_model_config(folder: Path) -> dict:
    path = Path(folder) / CONFIG_FILE
    if not path.is_file():
        raise UserError(f"{folder} is not an MLD model folder: {CONFIG_FILE} is missing")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise UserError(f"{path} is not valid JSON: {error}") from None


def load_model(folder: Path) -> tuple[MultimodalDiT, ScheduleConfig, SampleConfig]:
    """Rebuild the DiT from ``folder`` in eval mode; returns it with its schedule and default sampling."""
    folder = Path(folder)
    raw = read_model_config(folder)
    source = str(folder / CONFIG_FILE)
    model = MultimodalDiT(validate(ModelConfig, raw.get("model", {}), source))
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise UserError(f"{folder} has no {WEIGHTS_FILE}")
    model.load_state_dict(load_tensors(weights))
    return (
        model.eval(),
        validate(ScheduleConfig, raw.get("schedule", {}), source),
        validate(SampleConfig, raw.get("sample", {}), source),
    )


def flatten_optimizer(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list[dict]]:
    """AdamW state → ({"<param>.<field>": tensor}, JSON-able param groups)."""
    state = optimizer.state_dict()
    tensors = {
        f"{index}.{field}": value
        for index, fields in state["state"].items()
        for field, value in fields.items()
    }
    return tensors, state["param_groups"]


def unflatten_optimizer(tensors: dict[str, torch.Tensor], param_groups: list[dict]) -> dict:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        index, field = key.split(".", 1)
        state.setdefault(int(index), {})[field] = value
    return {"state": state, "param_groups": param_groups}


def save_training_state(
    folder: Path,
    model: torch.nn.Module,
    ema: torch.optim.swa_utils.AveragedModel,
    optimizer: torch.optim.Optimizer,
    step: int,
) -> None:
    """Replace ``folder/checkpoint`` atomically with the state needed to continue from ``step``."""
    optimizer_tensors, param_groups = flatten_optimizer(optimizer)
    with atomic_directory(folder / CHECKPOINT_DIR, overwrite=True) as tmp:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, tmp / "model.safetensors")
        save_file({k: v.contiguous() for k, v in ema.state_dict().items()}, tmp / "ema.safetensors")
        save_file(optimizer_tensors, tmp / "optimizer.safetensors")
        (tmp / "state.json").write_text(json.dumps({"step": step, "param_groups": param_groups}))


def load_training_state(
    folder: Path,
    model: torch.nn.Module,
    ema: torch.optim.swa_utils.AveragedModel,
    optimizer: torch.optim.Optimizer,
) -> int:
    """Restore the state written by ``save_training_state``; returns the step to continue from."""
    checkpoint = folder / CHECKPOINT_DIR
    if not (checkpoint / "state.json").is_file():
        raise UserError(f"--resume: no training checkpoint in {checkpoint}")
    state = json.loads((checkpoint / "state.json").read_text())
    model.load_state_dict(load_tensors(checkpoint / "model.safetensors"))
    ema.load_state_dict(load_tensors(checkpoint / "ema.safetensors"))
    optimizer.load_state_dict(
        unflatten_optimizer(load_tensors(checkpoint / "optimizer.safetensors"), state["param_groups"])
    )
    return int(state["step"])
