"""Training of one modality autoencoder (thesis Eq. 3.6: each AE alone on its reconstruction loss).

Loop: AdamW with linear warm-up then a constant or cosine learning rate, gradient clipping, optional
EMA of the weights (diffusers ``EMAModel``), ``accelerate.Accelerator`` so the same code runs on one
CPU or several devices.
Data order is a pure function of (seed, epoch) — accelerate's seedable sampler — so a resumed run
sees the batches the killed run would have seen and ends with the same weights.

Outputs under ``out``::

    checkpoints/<name>/step_N/   periodic checkpoints (``perception.checkpoint``)
    <name>/                      final model folder (``perception.model``), written atomically,
                                 with metrics.json: validation metrics, loss history, throughput

After the last step the (EMA) weights get their latent normalisation, measured over
``normalization.batches`` training batches, and are validated on the held-out split, including the
mean/std of the normalised held-out latents.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration, set_seed
from diffusers.training_utils import EMAModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch.utils.data import DataLoader, Dataset

from perception.budget import STEP_PLAN, StepBudget
from perception.checkpoint import Checkpoint, checkpoint_vae, latest_checkpoint, restore_training_state, save_checkpoint
from perception.config import AutoencoderName, AutoencodersConfig, SparseMapConfig, SparseSection, TrainConfig
from perception.data import autoencoder_input
from perception.evaluation import measure_normalizer, validate
from perception.model import ModalityAutoencoder
from perception.precision import forward_precision, resolve_precision
from perception.vae import build_vae, load_vae
from preprocessing.atomic import atomic_directory
from preprocessing.errors import UserError


def initial_model(name: AutoencoderName, config: AutoencodersConfig, pretrained: Path | None) -> ModalityAutoencoder:
    """A new model from the config, or the camera AE initialised from a diffusers AutoencoderKL folder."""
    section = config.section(name)
    sparse = section.representation if isinstance(section, SparseSection) else None
    if pretrained is not None:
        if name != "camera":
            raise UserError(f"--pretrained applies to the camera autoencoder only, not {name}")
        vae = load_vae(pretrained)
    else:
        channels = len(sparse.channels) + 1 if sparse is not None else 3
        vae = build_vae(section.architecture, channels, channels)
    return ModalityAutoencoder(name, vae, sparse)


def resumed_model(name: AutoencoderName, config: AutoencodersConfig, checkpoint: Checkpoint) -> ModalityAutoencoder:
    """The checkpoint's model; its architecture comes from the checkpoint (it may have been pretrained)."""
    section = config.section(name)
    sparse = section.representation if isinstance(section, SparseSection) else None
    recorded = checkpoint.state["representation"]
    if (SparseMapConfig.model_validate(recorded) if recorded is not None else None) != sparse:
        raise UserError(f"{checkpoint.path}: the {name} representation in the config differs from the checkpoint's")
    return ModalityAutoencoder(name, checkpoint_vae(checkpoint), sparse)


def make_loader(dataset: Dataset, batch_size: int, num_workers: int, shuffle: bool, seed: int) -> DataLoader:
    """Shuffled loaders drop the last partial batch (every training step sees ``batch_size`` samples)."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle, drop_last=shuffle, num_workers=num_workers, generator=generator
    )


def learning_rate(settings: TrainConfig, step: int, total: int | None = None) -> float:
    """Linear warm-up over ``warmup_steps``, then constant or a cosine decay reaching 0 at ``total`` (default
    ``steps``; a ``StepBudget``'s total under a time limit). Also used by the MLD and the regressor: any train
    section with these fields."""
    warmup = min(1.0, (step + 1) / max(settings.warmup_steps, 1))
    if settings.lr_schedule == "constant":
        return settings.learning_rate * warmup
    total = settings.steps if total is None else total
    progress = min(1.0, max(0, step - settings.warmup_steps) / max(total - settings.warmup_steps, 1))
    return settings.learning_rate * warmup * 0.5 * (1.0 + math.cos(math.pi * progress))


def progress_bar(console: Console | None, disable: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=disable,
    )


class TrainingRun:
    """One autoencoder's optimisation state: model, optimizer, EMA, data order, step and loss history."""

    def __init__(
        self,
        name: AutoencoderName,
        config: AutoencodersConfig,
        train_set: Dataset,
        val_set: Dataset | None,
        checkpoint: Checkpoint | None,
        pretrained: Path | None,
        budget: StepBudget | None = None,
    ):
        self.name, self.config, self.train_set = name, config, train_set
        self.settings = tc = config.section(name).train
        self.budget = budget
        self.accelerator = Accelerator(
            dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=tc.seed)
        )
        self.precision = resolve_precision(tc.mixed_precision, self.accelerator.device.type)
        set_seed(tc.seed)
        model = resumed_model(name, config, checkpoint) if checkpoint else initial_model(name, config, pretrained)
        model.train()
        optimizer = torch.optim.AdamW(model.vae.parameters(), lr=tc.learning_rate, weight_decay=tc.weight_decay)
        loader = make_loader(train_set, tc.batch_size, tc.num_workers, shuffle=True, seed=tc.seed)
        self.model, self.optimizer, self.loader = self.accelerator.prepare(model, optimizer, loader)
        self.core: ModalityAutoencoder = self.accelerator.unwrap_model(self.model)
        self.ema = EMAModel(self.core.vae.parameters(), decay=tc.ema_decay) if tc.ema_decay is not None else None
        self.step, self.history, self.resumed_from = 0, [], 0
        if checkpoint is not None:
            restore_training_state(checkpoint, self.optimizer, self.ema, self.core.vae)
            self.step, self.history, self.resumed_from = checkpoint.step, checkpoint.state["history"], checkpoint.step
        has_val = val_set is not None and len(val_set) > 0
        self.val_loader = make_loader(val_set, tc.batch_size, tc.num_workers, False, tc.seed) if has_val else None
        sparse = self.core.sparse.model_dump() if self.core.sparse is not None else None
        self.metadata = {"name": name, "pretrained": str(pretrained) if pretrained else None, "representation": sparse}

    def batches(self) -> Iterator[dict]:
        """Training batches from the current step on, epoch after epoch, in the seed's fixed order."""
        epoch, offset = divmod(self.step, len(self.loader))
        while True:
            loader = self.accelerator.skip_first_batches(self.loader, offset) if offset else self.loader
            loader.set_epoch(epoch)  # on the skipping loader too: it would otherwise restart at epoch 0
            yield from loader
            epoch, offset = epoch + 1, 0

    def train_step(self, batch: dict) -> int:
        """One optimisation step on ``batch``; returns the number of samples it used (all processes)."""
        tc = self.settings
        x = autoencoder_input(batch, self.name)
        with forward_precision(self.precision, self.accelerator.device.type):
            y = self.model(x)
        loss = self.core.codec.loss(y.float(), x)
        self.accelerator.backward(loss)
        self.accelerator.clip_grad_norm_(self.model.parameters(), tc.grad_clip)
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(tc, self.step, self.budget.total if self.budget else None)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.step(self.core.vae.parameters())
        self.step += 1
        self.history.append(self.accelerator.gather(loss.detach()).mean().item())
        return len(x) * self.accelerator.num_processes

    @contextmanager
    def ema_weights(self) -> Iterator[None]:
        """Temporarily swap in the EMA weights (what the final model will be), if EMA is on."""
        if self.ema is None:
            yield
            return
        self.ema.store(self.core.vae.parameters())
        self.ema.copy_to(self.core.vae.parameters())
        try:
            yield
        finally:
            self.ema.restore(self.core.vae.parameters())

    def validate(self, latents: bool = False) -> dict:
        return validate(self.core, self.val_loader, self.settings.validation_batches, self.accelerator.device, latents)

    def save_checkpoint(self, root: Path) -> None:
        metadata = {**self.metadata, "history": self.history}
        save_checkpoint(
            root, self.step, self.core.vae, self.optimizer, self.ema, metadata, self.settings.keep_checkpoints
        )

    def finalize(self) -> None:
        """Keep the EMA weights and measure the latent normalisation on training batches."""
        if self.ema is not None:
            self.ema.copy_to(self.core.vae.parameters())
        self.core.eval()
        tc, norm = self.settings, self.config.normalization
        loader = make_loader(self.train_set, tc.batch_size, tc.num_workers, shuffle=True, seed=tc.seed)
        self.core.normalizer = measure_normalizer(
            self.core, loader, norm.batches, norm.per, norm.eps, self.accelerator.device
        )


def train_autoencoder(
    name: AutoencoderName,
    config: AutoencodersConfig,
    train_set: Dataset,
    val_set: Dataset | None,
    out: Path,
    *,
    resume: bool = False,
    pretrained: Path | None = None,
    console: Console | None = None,
) -> dict:
    """Train (or resume) the ``name`` autoencoder; returns the metrics written to ``out/name/metrics.json``."""
    tc = config.section(name).train
    model_dir, checkpoint_root = Path(out) / name, Path(out) / "checkpoints" / name
    checkpoint = latest_checkpoint(checkpoint_root)
    if not resume and (checkpoint is not None or model_dir.exists()):
        raise UserError(f"{model_dir} or its checkpoints already exist; pass --resume to continue, or another --out")
    budget = StepBudget(tc.steps, tc.max_minutes, checkpoint_root / STEP_PLAN)
    if resume and model_dir.is_dir() and checkpoint is not None and checkpoint.step >= budget.total:
        return json.loads((model_dir / "metrics.json").read_text())
    if len(train_set) < tc.batch_size:
        raise UserError(
            f"{name}: the training split has {len(train_set)} samples, fewer than batch_size {tc.batch_size}"
        )

    run = TrainingRun(name, config, train_set, val_set, checkpoint, pretrained, budget)
    main_process = run.accelerator.is_main_process
    samples, seconds = 0, 0.0
    with progress_bar(console, not main_process) as progress:
        task = progress.add_task(f"train {name} AE", total=budget.total, completed=run.step, loss=float("nan"))
        batches, tick = run.batches(), time.perf_counter()
        while run.step < budget.total:
            samples += run.train_step(next(batches))
            step_seconds = time.perf_counter() - tick  # data loading + step; not validation or checkpoints
            seconds += step_seconds
            budget.record(run.step - 1, step_seconds)
            progress.update(task, completed=run.step, total=budget.total, loss=run.history[-1])
            if main_process and run.step % tc.validate_every == 0 and run.step < budget.total:  # the last one: below
                with run.ema_weights():
                    metrics = run.validate()
                progress.console.print(
                    f"{name} step {run.step}: " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
                )
            if main_process and (run.step % tc.checkpoint_every == 0 or run.step == budget.total):
                run.save_checkpoint(checkpoint_root)
            run.accelerator.wait_for_everyone()
            tick = time.perf_counter()

    metrics = {
        "step": run.step,
        "resumed_from": run.resumed_from,
        "train_loss": run.history,
        "samples_per_second": samples / seconds if seconds else None,
        "precision": run.precision,
    }
    if main_process:
        run.finalize()
        metrics["validation"] = run.validate(latents=True)
        with atomic_directory(model_dir, overwrite=True) as tmp:
            run.core.save_pretrained(tmp)
            (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2))
    run.accelerator.wait_for_everyone()
    return metrics
