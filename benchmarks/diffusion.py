"""Speed of the MLD diffusion stage on this machine, printed side by side.

- matmul peak: best GFLOP/s of a large float32 ``torch.mm`` (the ceiling for dense layers here);
- DiT forward: FLOPs counted by ``torch.utils.flop_counter`` / measured time → achieved GFLOP/s and its
  fraction of the matmul peak;
- training throughput: samples/s of ``train_on_latents`` (the real loop: batch drawing, forward,
  backward, AdamW, EMA) on random latents;
- enhancement latency per image: the guided DDIM loop from t̃ on latents, and — with ``--model`` — the
  whole ``Enhancer.enhance`` (encode, DiT loop, decode).

    .venv/bin/python benchmarks/diffusion.py --config configs/mld_demo.yaml --latent-size 16 28
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from fusion.diffusion.config import MLDConfig, ModelConfig
from fusion.diffusion.model import MultimodalDiT
from fusion.diffusion.multitime import MODALITIES
from fusion.diffusion.sampling import enhancement_inputs, sample
from fusion.diffusion.schedule import make_scheduler
from fusion.diffusion.train import train_on_latents
from preprocessing.config import load_config
from timing import best_time


def matmul_peak(size: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    return 2 * size**3 / best_time(lambda: torch.mm(a, b), repeats) / 1e9


def dit_forward(model: MultimodalDiT, batch: int, repeats: int) -> tuple[float, float]:
    """(GFLOP per forward, achieved GFLOP/s) of one ε-prediction on ``batch`` samples."""
    latents = torch.randn(batch, len(MODALITIES), model.config.latent_channels, *model.config.latent_size)
    tau = torch.randint(0, 1000, (batch, len(MODALITIES)))
    presence = torch.ones(batch, len(MODALITIES), dtype=torch.bool)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(latents, tau, presence)
    gflop = counter.get_total_flops() / 1e9
    with torch.no_grad():
        seconds = best_time(lambda: model(latents, tau, presence), repeats)
    return gflop, gflop / seconds


def training_throughput(config: MLDConfig, latent_size: tuple[int, int], steps: int) -> float:
    config = config.model_copy(
        update={"train": config.train.model_copy(update={"steps": steps, "checkpoint_every": 10**9, "log_every": 10**9})}
    )
    latents = torch.randn(64, len(MODALITIES), 4, *latent_size)
    with tempfile.TemporaryDirectory() as out:
        return train_on_latents(config, latents, Path(out), show_progress=False)["samples_per_s"]


def enhancement_latency(model: MultimodalDiT, config: MLDConfig, repeats: int) -> float:
    night = torch.randn(1, model.config.latent_channels, *model.config.latent_size)
    conditions = {"night": night, "lidar": torch.randn_like(night), "radar": torch.randn_like(night)}
    latents, target, presence = enhancement_inputs(conditions)
    scheduler = make_scheduler(config.schedule)

    def run():
        sample(
            model, scheduler, latents, target, presence, steps=config.sample.steps, guidance=config.sample.guidance,
            strength=config.sample.t_start, generator=torch.Generator().manual_seed(0),
        )  # fmt: skip

    return best_time(run, repeats)


def full_enhancement_latency(folder: Path, repeats: int) -> float:
    from fusion.diffusion.enhance import Enhancer

    enhancer = Enhancer(folder)
    height, width = enhancer.frame_size
    frames = {"night": torch.rand(1, 3, height, width) * 2 - 1, "lidar": torch.zeros(1, 3, height, width),
              "radar": torch.zeros(1, 4, height, width)}  # fmt: skip
    return best_time(lambda: enhancer.enhance(frames), repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/mld_demo.yaml")
    parser.add_argument("--latent-size", type=int, nargs=2, default=(16, 28), metavar=("H", "W"))
    parser.add_argument("--batch", type=int, default=8, help="batch of the timed DiT forward")
    parser.add_argument("--train-steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", type=Path, help="trained model folder: also time the full Enhancer")
    args = parser.parse_args()

    config = load_config(args.config, MLDConfig)
    model = MultimodalDiT(
        ModelConfig(**config.model.model_dump(), latent_size=tuple(args.latent_size), num_train_timesteps=config.schedule.num_train_timesteps)
    ).eval()
    parameters = sum(p.numel() for p in model.parameters()) / 1e6
    peak = matmul_peak()
    gflop, achieved = dit_forward(model, args.batch, args.repeats)
    rows = [
        ("config", f"{args.config}  ({parameters:.1f} M parameters, latent grid {args.latent_size[0]}×{args.latent_size[1]}, threads {torch.get_num_threads()})"),
        ("matmul peak (float32, 2048³)", f"{peak:8.1f} GFLOP/s"),
        (f"DiT forward, batch {args.batch}", f"{gflop:8.2f} GFLOP  → {achieved:8.1f} GFLOP/s = {achieved / peak:6.1%} of peak"),
        ("training throughput", f"{training_throughput(config, tuple(args.latent_size), args.train_steps):8.2f} samples/s  (batch {config.train.batch_size}, {config.train.mixed_precision})"),
        (f"enhancement, DiT loop ({config.sample.steps} steps × t̃ {config.sample.t_start}, guidance {config.sample.guidance})",
         f"{enhancement_latency(model, config, args.repeats) * 1e3:8.1f} ms/image"),
    ]  # fmt: skip
    if args.model:
        rows.append(("enhancement, full (encode + DiT + decode)", f"{full_enhancement_latency(args.model, args.repeats) * 1e3:8.1f} ms/image"))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
