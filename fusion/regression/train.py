"""Training of the direct regressor: L1 between the predicted and the true day frame.

The paired frames of the train split (day scenes: synthesised night → day) are decoded once into
memory. Each step draws a batch (and its mirror flags) from a generator seeded by (seed, step), so a
run resumed from its checkpoint continues exactly as an uninterrupted one. AdamW with linear warm-up,
gradient clipping and an EMA of the weights, which is what the model folder holds.

    OUT/run.json         the config (a --resume must match it, except train.steps and train.max_minutes)
    OUT/regressor.json, OUT/unet/   the model folder (``fusion.regression.model``)
    OUT/checkpoint/      weights, EMA, AdamW moments, step (safetensors + JSON)
    OUT/log.jsonl        the training loss
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from rich.progress import Progress
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import DataLoader, Subset

from fusion.diffusion.checkpoint import CHECKPOINT_DIR, load_training_state, save_training_state
from fusion.diffusion.latents import draw_frames, pair_weights, training_frames
from fusion.diffusion.run import open_run, scene_summary
from fusion.diffusion.train import ema_with_warmup, progress_bar, step_generator
from fusion.regression.config import RegressorConfig
from fusion.regression.model import DirectRegressor
from perception.budget import STEP_PLAN, StepBudget
from perception.precision import forward_precision, resolve_precision
from perception.train import learning_rate
from preprocessing.dataset import ShardDataset
from preprocessing.errors import UserError

FIELDS = ("day", "night", "lidar", "radar")


def paired_frames(
    data: Path, rendered_night_pairs: bool = False, progress: Progress | None = None
) -> tuple[dict[str, torch.Tensor], list[dict]]:
    """Every paired frame of the train split as tensors {day, night, lidar, radar} [N, C, H, W], and their
    shard records."""
    dataset = ShardDataset(data, split="train")
    indices = training_frames(dataset.records, rendered_night_pairs)  # the MLD's own choice of frames
    if not indices:
        raise UserError(f"{data}: the train split has no day frames to learn from")
    task = progress.add_task("loading frames", total=len(indices)) if progress else None
    chunks: dict[str, list[torch.Tensor]] = {name: [] for name in FIELDS}
    for batch in DataLoader(Subset(dataset, indices), batch_size=64):
        for name in FIELDS:
            chunks[name].append(batch[name])
        if progress:
            progress.advance(task, len(batch["day"]))
    return {name: torch.cat(parts) for name, parts in chunks.items()}, [dataset.records[i] for i in indices]


def draw(
    frames: dict[str, torch.Tensor], batch_size: int, hflip: bool, generator: torch.Generator, weights: torch.Tensor | None = None
) -> dict:
    """A random batch, frames drawn uniformly or by ``weights`` [N]; with ``hflip`` each frame is mirrored
    (all its maps with it) with probability ½."""
    index = draw_frames(len(frames["day"]), batch_size, generator, weights)
    flip = (torch.rand(batch_size, generator=generator) < 0.5) if hflip else torch.zeros(batch_size, dtype=torch.bool)
    return {name: torch.where(flip[:, None, None, None], values[index].flip(-1), values[index]) for name, values in frames.items()}


def l1_loss(model: DirectRegressor, batch: dict, precision: str = "no") -> torch.Tensor:
    with forward_precision(precision, batch["day"].device.type):
        prediction = model(batch)
    return F.l1_loss(prediction.float(), batch["day"])


def train_regressor(config: RegressorConfig, data: Path, out: Path, *, resume: bool = False, show_progress: bool = True) -> dict:
    """Train (or continue) the regressor on the shards at ``data``; returns steps, loss before/after, seconds."""
    if not Path(data).exists():
        raise UserError(f"shard directory not found: {data}")
    open_run(out, config, resume)
    train = config.train
    with Progress(disable=not show_progress) as progress:
        frames, records = paired_frames(Path(data), config.train.rendered_night_pairs, progress)
    scenes = scene_summary(records, len(records))
    weights = pair_weights(records, train.rendered_night_weight)
    precision = resolve_precision(train.mixed_precision)
    torch.manual_seed(train.seed)
    model = DirectRegressor(config.model)
    ema = AveragedModel(model, multi_avg_fn=ema_with_warmup(train.ema_decay)).eval()
    optimizer = torch.optim.AdamW(model.parameters(), lr=train.learning_rate)
    start = load_training_state(out, model, ema, optimizer) if resume and (out / CHECKPOINT_DIR / "state.json").is_file() else 0
    budget = StepBudget(train.steps, train.max_minutes, out / STEP_PLAN)
    fixed = draw(frames, train.batch_size, False, step_generator(12345, 0))
    with torch.no_grad():
        loss_before = float(l1_loss(ema.module, fixed))
    model.train()
    started = time.perf_counter()
    with progress_bar(show_progress) as bar:
        task = bar.add_task("training regressor", total=budget.total, completed=start, loss=float("nan"))
        step = start
        budget.start()
        while step < budget.total:
            lr = learning_rate(train, step, budget.total)
            for group in optimizer.param_groups:
                group["lr"] = lr
            batch = draw(frames, train.batch_size, train.hflip, step_generator(train.seed, step), weights)
            loss = l1_loss(model, batch, precision)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), train.grad_clip)
            optimizer.step()
            ema.update_parameters(model)
            budget.lap(step)
            bar.update(task, advance=1, total=budget.total, loss=loss.item())
            last = step + 1 == budget.total
            if (step + 1) % train.log_every == 0 or last:
                with (out / "log.jsonl").open("a") as log:
                    log.write(json.dumps({"step": step + 1, "loss": loss.item(), "lr": lr}) + "\n")
            if (step + 1) % train.checkpoint_every == 0 or last:
                save_training_state(out, model, ema, optimizer, step + 1)
                ema.module.save(out, step=step + 1, scenes=scenes)
            step += 1
    with torch.no_grad():
        loss_after = float(l1_loss(ema.module, fixed))
    return {"steps": budget.total, "resumed_from": start, "loss_before": loss_before, "loss_after": loss_after,
            "seconds": time.perf_counter() - started, "frames": scenes["frames"], "precision": precision}  # fmt: skip
