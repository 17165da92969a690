"""Masked multi-time diffusion training (SPEC §5, thesis Algorithm 3) on cached latents.

Each step draws, per sample: a frame, the conditioning set A2 (∅ with probability d, else a uniform
non-empty subset of the conditions), a timestep t and noise. Targets are diffused to t, conditions stay
clean at τ = 0, the rest is absent (noise at τ = T); the ε-loss is masked to the targets and weighted by
Eq. A.3. All randomness of step s comes from a generator seeded by (seed, s, rank), so a run resumed
from a checkpoint continues exactly as an uninterrupted one.

Runs under ``accelerate`` (one CPU up to several GPUs) with an EMA of the weights and an optional bfloat16
forward (``perception.precision``); ``save_training_state`` every ``checkpoint_every`` steps and the EMA
model folder alongside.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from torch.optim.swa_utils import AveragedModel

from fusion.diffusion.checkpoint import load_training_state, save_model, save_training_state
from fusion.diffusion.config import MLDConfig, ModelConfig, TrainConfig
from fusion.diffusion.latents import draw_frames
from fusion.diffusion.model import MultimodalDiT
from fusion.diffusion.multitime import loss_weight, masked_diffusion, multi_time, role_masks, sample_conditioning
from fusion.diffusion.pretrained import load_reference_dit, read_reference_checkpoint
from fusion.diffusion.schedule import make_scheduler
from perception.budget import STEP_PLAN, StepBudget
from perception.precision import forward_precision, resolve_precision
from perception.train import learning_rate
from preprocessing.atomic import atomic_write_text


@dataclass
class Batch:
    """One training batch: network inputs [B, M, …], the noise, what the network must predict (ε or v),
    role masks and Eq. A.3 weights [B]."""

    latents: torch.Tensor
    tau: torch.Tensor
    presence: torch.Tensor
    noise: torch.Tensor
    prediction: torch.Tensor
    target: torch.Tensor
    weight: torch.Tensor

    def to(self, device: torch.device) -> Batch:
        return Batch(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})


def step_generator(seed: int, step: int, rank: int = 0) -> torch.Generator:
    """Independent, reproducible randomness for one (run seed, step, process) triple."""
    state = np.random.SeedSequence([seed, step, rank]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def draw_batch(
    latents: torch.Tensor, config: TrainConfig, num_train_timesteps: int, scheduler, generator, frame_weights: torch.Tensor | None = None
) -> Batch:
    """latents [N, M, C, h, w] → a masked multi-time training batch of ``config.batch_size`` samples,
    frames drawn uniformly or in proportion to ``frame_weights`` [N]."""
    size = config.batch_size
    z0 = latents[draw_frames(len(latents), size, generator, frame_weights)]
    target = role_masks(config.targets).expand(size, -1)
    presence = target | sample_conditioning(size, config.conditions, config.p_uncond, generator, config.condition_keep)
    timesteps = torch.randint(num_train_timesteps, (size,), generator=generator)
    noise = torch.randn(z0.shape, generator=generator)
    velocity = scheduler.config.prediction_type == "v_prediction"
    return Batch(
        latents=masked_diffusion(z0, noise, target, scheduler.add_noise(z0, noise, timesteps)),
        tau=multi_time(target, presence, timesteps, num_train_timesteps),
        presence=presence,
        noise=noise,  # its absent slots double as the noise that stands in for absent modalities
        prediction=scheduler.get_velocity(z0, noise, timesteps) if velocity else noise,
        target=target,
        weight=loss_weight(target),
    )


def denoising_loss(model: torch.nn.Module, batch: Batch, precision: str = "no") -> torch.Tensor:
    """ω(A1, A2) · mean squared prediction error (ε or v) over the target slots, averaged over the batch."""
    with forward_precision(precision, batch.latents.device.type):
        predicted = model(batch.latents, batch.tau, batch.presence, batch.noise).float()
    mask = batch.target[:, :, None, None, None].float()
    per_sample = ((predicted - batch.prediction) ** 2 * mask).flatten(1).sum(1) / mask.expand_as(predicted).flatten(1).sum(1)
    return (batch.weight * per_sample).mean()


def fixed_batch_loss(model: torch.nn.Module, latents: torch.Tensor, config: MLDConfig, seed: int = 12345) -> float:
    """The denoising loss on one batch drawn from a fixed seed: comparable across training steps."""
    scheduler = make_scheduler(config.schedule)
    batch = draw_batch(latents, config.train, config.schedule.num_train_timesteps, scheduler, step_generator(seed, 0))
    with torch.no_grad():
        return float(denoising_loss(model, batch.to(next(model.parameters()).device)))


def ema_with_warmup(decay: float):
    """EMA update for ``AveragedModel``: decay min(d, (1+n)/(10+n)) so early averages are not stuck at init."""

    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], num_averaged) -> None:
        rate = 1.0 - min(decay, (1 + int(num_averaged)) / (10 + int(num_averaged)))
        for average, value in zip(averaged, current):
            average.lerp_(value, rate)

    return update


def model_config_for(config: MLDConfig, latents: torch.Tensor) -> ModelConfig:
    """The architecture of ``config`` on the latent layout of the data [N, M, C, h, w]."""
    return ModelConfig(
        **config.model.model_dump(),
        latent_channels=latents.shape[2],
        latent_size=tuple(latents.shape[-2:]),
        num_train_timesteps=config.schedule.num_train_timesteps,
    )


def progress_bar(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}"),
        TimeRemainingColumn(),
        disable=not enabled,
    )


def train_on_latents(
    config: MLDConfig,
    latents: torch.Tensor,
    out: Path,
    *,
    resume: bool = False,
    pretrained: Path | None = None,
    show_progress: bool = True,
    frame_weights: torch.Tensor | None = None,
) -> dict:
    """Train (or continue training) on latents [N, M, C, h, w], drawn uniformly or by ``frame_weights`` [N];
    writes the model folder ``out``.

    Returns a summary: steps run, fixed-batch loss before/after, throughput in samples/s.
    """
    train = config.train
    accelerator = Accelerator()
    precision = resolve_precision(train.mixed_precision, accelerator.device.type)
    torch.manual_seed(train.seed)  # parameter initialisation
    model = MultimodalDiT(model_config_for(config, latents))
    if pretrained is not None and not resume:
        report = load_reference_dit(model, read_reference_checkpoint(pretrained))
        atomic_write_text(out / "pretrained_report.txt", report.summary() + "\n")
    model.gradient_checkpointing = train.gradient_checkpointing
    ema = AveragedModel(model, multi_avg_fn=ema_with_warmup(train.ema_decay)).eval()
    optimizer = torch.optim.AdamW(model.parameters(), lr=train.learning_rate, weight_decay=train.weight_decay)
    start = load_training_state(out, model, ema, optimizer) if resume else 0
    budget = StepBudget(train.steps, train.max_minutes, out / STEP_PLAN)
    loss_before = fixed_batch_loss(ema.module, latents, config)
    model, optimizer = accelerator.prepare(model, optimizer)
    ema.to(accelerator.device)
    scheduler = make_scheduler(config.schedule)
    model.train()

    log_path = out / "log.jsonl"
    started, done = time.perf_counter(), 0
    with progress_bar(show_progress and accelerator.is_main_process) as progress:
        task = progress.add_task("training", total=budget.total, completed=start, loss=float("nan"))
        step = start
        budget.start()
        while step < budget.total:
            lr = learning_rate(train, step, budget.total)  # f(step) only: a resumed run continues the same schedule
            for group in optimizer.param_groups:
                group["lr"] = lr
            generator = step_generator(train.seed, step, accelerator.process_index)
            batch = draw_batch(latents, train, config.schedule.num_train_timesteps, scheduler, generator, frame_weights)
            loss = denoising_loss(model, batch.to(accelerator.device), precision)
            optimizer.zero_grad(set_to_none=True)
            accelerator.backward(loss)
            accelerator.clip_grad_norm_(model.parameters(), train.grad_clip)
            optimizer.step()
            ema.update_parameters(accelerator.unwrap_model(model))
            done += 1
            budget.lap(step)
            progress.update(task, advance=1, total=budget.total, loss=loss.item())
            last = step + 1 == budget.total
            if accelerator.is_main_process and ((step + 1) % train.log_every == 0 or last):
                with log_path.open("a") as log:
                    log.write(json.dumps({"step": step + 1, "loss": loss.item(), "lr": lr}) + "\n")
            if accelerator.is_main_process and ((step + 1) % train.checkpoint_every == 0 or last):
                save_training_state(out, accelerator.unwrap_model(model), ema, optimizer, step + 1)
                save_model(out, ema.module, config.schedule, config.sample, step + 1)
            step += 1
    elapsed = time.perf_counter() - started
    return {
        "steps": budget.total,
        "resumed_from": start,
        "loss_before": loss_before,
        "loss_after": fixed_batch_loss(ema.module, latents, config),
        "samples_per_s": done * train.batch_size * accelerator.num_processes / max(elapsed, 1e-9),
        "precision": precision,
    }
