"""A training run folder: shards + autoencoders → cached latents → trained, self-contained model folder.

    OUT/run.json                      the config and inputs of the run (a resume must match them)
    OUT/autoencoders/                 copy of the autoencoders (the model folder needs no other path)
    OUT/cache/latents-train.safetensors   every training frame encoded once
    OUT/training_scenes.json          the scenes of those frames (``training_scenes``): evaluations refuse them
    OUT/config.json, model.safetensors, checkpoint/, log.jsonl   (see ``checkpoint`` and ``train``)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from rich.progress import Progress

from fusion.diffusion.checkpoint import CHECKPOINT_DIR
from fusion.diffusion.config import MLDConfig
from fusion.diffusion.enhance import AUTOENCODER_FOLDER
from fusion.diffusion.latents import encode_dataset, load_latents, pair_weights, save_latents
from fusion.diffusion.train import train_on_latents
from perception import load_autoencoders
from perception.config import AUTOENCODER_NAMES
from preprocessing.atomic import atomic_directory, atomic_write_json
from preprocessing.dataset import ShardDataset
from preprocessing.errors import UserError
from preprocessing.shards import list_samples

RUN_FILE = "run.json"
LATENT_CACHE = Path("cache") / "latents-train.safetensors"
TRAINING_SCENES = "training_scenes.json"


def config_differences(stored: dict, given: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested config dumps."""
    keys = sorted(set(stored) | set(given))
    differences = []
    for key in keys:
        a, b = stored.get(key), given.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            differences += config_differences(a, b, f"{prefix}{key}.")
        elif a != b:
            differences.append(f"{prefix}{key}")
    return differences


def open_run(out: Path, config: MLDConfig, resume: bool) -> None:
    """Create the run folder, or check that ``--resume`` continues the same run (only train.steps and train.max_minutes may change)."""
    given = config.model_dump(mode="json")
    record = out / RUN_FILE
    if not resume:
        if out.exists() and any(out.iterdir()):
            raise UserError(f"{out} already exists and is not empty: pass --resume to continue it, or a new --out")
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(record, {"config": given})
        return
    if not record.is_file():
        raise UserError(f"--resume: {out} is not a training run folder ({RUN_FILE} missing)")
    stored = json.loads(record.read_text())["config"]
    differences = [key for key in config_differences(stored, given) if key not in ("train.steps", "train.max_minutes")]
    if differences:
        raise UserError(f"--resume: the config differs from the run in {out} at {', '.join(differences)}")
    atomic_write_json(record, {"config": given})


def copy_autoencoders(source: Path, target: Path) -> None:
    """Copy the model folders (camera/, lidar/, radar/), not their training checkpoints."""
    names = [name for name in AUTOENCODER_NAMES if (source / name).is_dir()]
    if not names:
        raise UserError(f"{source} holds none of the autoencoder folders {', '.join(AUTOENCODER_NAMES)}")
    with atomic_directory(target) as tmp:
        for name in names:
            shutil.copytree(source / name, tmp / name)


def training_latents(out: Path, data: Path, config: MLDConfig, progress: Progress) -> tuple[torch.Tensor, list[str]]:
    """Latents of the training split and their sample tokens, encoded once with the run's copy of the autoencoders."""
    cache = out / LATENT_CACHE
    if cache.is_file():
        return load_latents(cache)
    autoencoders = load_autoencoders(out / AUTOENCODER_FOLDER)
    try:
        latents, tokens = encode_dataset(
            ShardDataset(data, split="train"),
            autoencoders,
            batch_size=config.train.encode_batch_size,
            hflip=config.train.hflip,
            rendered_night_pairs=config.train.rendered_night_pairs,
            progress=progress,
        )
    except ValueError as error:
        raise UserError(f"{data}: {error}") from None
    save_latents(cache, latents, tokens)
    return latents, tokens


def scene_summary(records: list[dict], frames: int) -> dict:
    """What a model was trained on: {"scene_tokens", "scene_names": sorted lists, "frames": N}."""
    return {
        "scene_tokens": sorted({r["scene_token"] for r in records}),
        "scene_names": sorted({r["scene_name"] for r in records}),
        "frames": frames,
    }


def latent_records(out: Path, data: Path, tokens: list[str]) -> list[dict]:
    """The shard record of each cached latent (by its sample token)."""
    record_of = {r["sample_token"]: r for r in list_samples(data, split="train")}
    if not set(tokens) <= record_of.keys():  # a cache left by a resumed run on other shards
        raise UserError(f"{out / LATENT_CACHE} holds frames that are not in the train split of {data}")
    return [record_of[t] for t in tokens]


def record_training_scenes(out: Path, records: list[dict], views: int) -> None:
    """Write ``training_scenes.json`` (``scene_summary``) for the cached latents' ``records``
    (``views`` per frame: 2 with hflip)."""
    atomic_write_json(out / TRAINING_SCENES, scene_summary(records, len(records) // views))


def training_scenes(model_folder: str | Path) -> set[str]:
    """Tokens of the scenes whose frames trained the model in ``model_folder``."""
    path = Path(model_folder) / TRAINING_SCENES
    try:
        return set(json.loads(path.read_text())["scene_tokens"])
    except FileNotFoundError:
        raise UserError(f"{path} not found: the model folder does not record which scenes it was trained on") from None
    except (json.JSONDecodeError, KeyError, TypeError):
        raise UserError(f"{path} is not a training-scenes record") from None


def train_run(
    config: MLDConfig,
    data: Path,
    autoencoders: Path,
    out: Path,
    *,
    resume: bool = False,
    pretrained: Path | None = None,
    show_progress: bool = True,
) -> dict:
    """Train MLD on the shards at ``data``; returns the summary of ``train_on_latents``."""
    if not Path(data).exists():
        raise UserError(f"shard directory not found: {data}")
    if not Path(autoencoders).is_dir():
        raise UserError(f"autoencoder directory not found: {autoencoders}")
    open_run(out, config, resume)
    if not (out / AUTOENCODER_FOLDER).is_dir():
        copy_autoencoders(Path(autoencoders), out / AUTOENCODER_FOLDER)
    with Progress(disable=not show_progress) as progress:
        latents, tokens = training_latents(out, Path(data), config, progress)
    records = latent_records(out, Path(data), tokens)
    record_training_scenes(out, records, views=2 if config.train.hflip else 1)
    return train_on_latents(
        config,
        latents,
        out,
        resume=resume and (out / CHECKPOINT_DIR / "state.json").is_file(),
        pretrained=pretrained,
        show_progress=show_progress,
        frame_weights=pair_weights(records, config.train.rendered_night_weight),
    )
