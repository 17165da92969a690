"""Demo-size autoencoders on a generated world: held-out reconstruction quality and training speed.

    .venv/bin/python benchmarks/autoencoders.py [--out runs/bench_autoencoders]
        [--config configs/autoencoder_demo.yaml] [--scenes 10] [--samples 12] [--resolution 64x112]
        [--steps camera=N,lidar=N,radar=N]

1. generate a world (``--scenes`` × ``--samples`` keyframes, CAM_FRONT at twice the demo resolution),
2. ingest it at the demo resolution (train/val split by scene),
3. train the three autoencoders with the demo config, optionally for more steps than the demo spends
   (``--steps``; the architecture stays the demo's; ``--resume``-safe: rerunning continues),
4. evaluate every AE on the whole held-out split and print the measured numbers next to the targets:
   camera PSNR ≥ 30 dB on day frames, LiDAR depth MAE ≤ 0.5 m on valid pixels; plus SSIM, night-frame
   quality, radar errors, mask F1, held-out normalised-latent mean/std, and training throughput,
5. print, as a reference for the camera PSNR, what the best linear code of the same size reaches
   (PCA of 8×8 RGB patches with 4 components: the KL-f8 latent's budget).

Each step is skipped when its output already exists, so the script can be rerun after a kill.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from perception import load_autoencoders
from perception.cli import train_autoencoders
from perception.config import AUTOENCODER_NAMES, AutoencodersConfig
from perception.evaluation import validate
from perception.metrics import MetricAccumulator, add_image_quality
from perception.train import make_loader
from preprocessing.config import load_config
from preprocessing.dataset import ShardDataset
from preprocessing.ingest import ingest
from preprocessing.ingest_config import IngestConfig, parse_resolution
from preprocessing.world import generate_world

TARGETS = {("camera", "day_psnr"): (30.0, ">="), ("lidar", "depth_mae"): (0.5, "<=")}


def prepare_data(out: Path, scenes: int, samples: int, resolution: tuple[int, int], console: Console) -> Path:
    world, shards = out / "world", out / "shards"
    height, width = resolution
    if not (world / "v1.0-mini").is_dir():
        console.print(f"generating {scenes} scenes × {samples} keyframes …")
        generate_world(world, scenes=scenes, samples=samples, seed=3, camera_size=(2 * width, 2 * height),
                       camera_sweeps=False, progress=True, overwrite=True)  # fmt: skip
    if not (shards / "manifest.json").is_file():
        console.print(f"ingesting at {height}×{width} …")
        ingest(IngestConfig(dataroot=world, out=shards, resolution=resolution, workers=2), resume=True)
    return shards


def day_images(shards: Path, split: str, limit: int) -> torch.Tensor:
    data = ShardDataset(shards, split)
    return torch.stack([data[i]["day"] for i in range(min(limit, len(data)))])


def linear_code_psnr(shards: Path, downsample: int, channels: int, limit: int = 512) -> float:
    """Held-out day PSNR of the best *linear* code with the camera latent's budget: PCA of the
    ``downsample``² RGB patches fitted on the train split, ``channels`` components per patch (a KL-f8
    autoencoder with 4 latent channels keeps 4 numbers per 8×8 patch). A reference for the AE's PSNR."""
    train, val = day_images(shards, "train", limit), day_images(shards, "val", limit)

    def patches(x: torch.Tensor) -> torch.Tensor:  # [B, 3, H, W] → [B·h·w, 3·d·d]
        return torch.nn.functional.unfold(x.double(), downsample, stride=downsample).transpose(1, 2).flatten(0, 1)

    fitted = patches(train)
    mean = fitted.mean(0)
    basis = torch.linalg.svd(fitted - mean, full_matrices=False).Vh[:channels]  # [k, 3·d·d]
    coded = (patches(val) - mean) @ basis.T @ basis + mean
    batch, _, height, width = val.shape
    blocks = (height // downsample) * (width // downsample)
    decoded = torch.nn.functional.fold(coded.unflatten(0, (batch, blocks)).transpose(1, 2), (height, width),
                                       downsample, stride=downsample)  # fmt: skip
    acc = MetricAccumulator()
    add_image_quality(acc, "", val, decoded.float())
    return acc.result()["psnr"]


def evaluate(aes, shards: Path) -> dict[str, dict]:
    """Metrics of every AE over the whole val split (same code as the validation during training)."""
    val = ShardDataset(shards, "val")
    loader = make_loader(val, batch_size=8, num_workers=0, shuffle=False, seed=0)
    return {
        name: validate(aes.models[name], loader, len(loader), torch.device("cpu"), latents=True) for name in aes.models
    }


def report(
    held_out: dict[str, dict],
    training: dict[str, dict],
    seconds: dict[str, tuple[float, float]],
    linear_psnr: float,
    console: Console,
) -> None:
    table = Table(title="autoencoders on held-out scenes (demo config)")
    for column in ("autoencoder", "metric", "measured", "target"):
        table.add_column(column)
    for name, metrics in held_out.items():
        for key, value in metrics.items():
            target = TARGETS.get((name, key))
            verdict = ""
            if target is not None:
                bound, sense = target
                passed = value >= bound if sense == ">=" else value <= bound
                verdict = f"{sense} {bound:g}  " + ("[green]met[/]" if passed else "[red]missed[/]")
            table.add_row(name, key, f"{value:.4g}", verdict)
    console.print(table)
    console.print(f"reference: a linear code of the same size (patch PCA, train split) reaches {linear_psnr:.2f} dB "
                  "day PSNR on the held-out frames")
    speed = Table(title=f"training on this machine ({torch.get_num_threads()} torch threads)")
    for column in ("autoencoder", "steps", "wall s", "CPU s", "train samples/s"):
        speed.add_column(column)
    for name, metrics in training.items():
        wall, cpu = seconds.get(name, (float("nan"), float("nan")))
        rate = metrics.get("samples_per_second")
        speed.add_row(name, str(metrics["step"]), f"{wall:.0f}", f"{cpu:.0f}", f"{rate:.2f}" if rate else "-")
    console.print(speed)
    console.print(
        "camera samples are frames (day and night of each sample); times exclude data generation and cover only "
        "the steps run in this invocation (a resumed run reports the rest); CPU s is process CPU time, which "
        "approximates wall time on an otherwise idle machine with one thread"
    )


def parse_steps(text: str) -> dict[str, int]:
    """``camera=4000,lidar=3000`` → {"camera": 4000, "lidar": 3000}."""
    steps = {}
    for item in filter(None, text.split(",")):
        name, _, value = item.partition("=")
        if name not in AUTOENCODER_NAMES or not value.isdigit() or int(value) < 1:
            raise argparse.ArgumentTypeError(f"expected NAME=STEPS with NAME in {AUTOENCODER_NAMES}, got {item!r}")
        steps[name] = int(value)
    return steps


def with_steps(config: AutoencodersConfig, steps: dict[str, int]) -> AutoencodersConfig:
    """The config with the training steps of the named autoencoders replaced (cosine schedules follow)."""
    sections = {}
    for name, count in steps.items():
        section = config.section(name)
        sections[name] = section.model_copy(update={"train": section.train.model_copy(update={"steps": count})})
    return config.model_copy(update=sections)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/bench_autoencoders"))
    parser.add_argument("--config", type=Path, default=Path("configs/autoencoder_demo.yaml"))
    parser.add_argument("--scenes", type=int, default=10)
    parser.add_argument("--samples", type=int, default=12)
    parser.add_argument("--resolution", type=parse_resolution, default=(64, 112), help="HxW of the shards (the demo's: 64x112)")
    parser.add_argument("--steps", type=parse_steps, default={}, help="training steps per AE, e.g. camera=4000,lidar=3000")
    args = parser.parse_args()
    console = Console()
    config = with_steps(load_config(args.config, AutoencodersConfig), args.steps)
    shards = prepare_data(args.out, args.scenes, args.samples, args.resolution, console)
    ae_dir, seconds, training = args.out / "autoencoders", {}, {}
    for name in AUTOENCODER_NAMES:
        started, cpu_started = time.perf_counter(), time.process_time()
        training.update(train_autoencoders(config, shards, ae_dir, (name,), resume=True, console=console))
        seconds[name] = (time.perf_counter() - started, time.process_time() - cpu_started)
    aes = load_autoencoders(ae_dir)
    held_out = evaluate(aes, shards)
    camera = aes.models["camera"]
    linear_psnr = linear_code_psnr(shards, camera.downsample, camera.latent_channels)
    results = {"held_out": held_out, "seconds": seconds, "linear_code_day_psnr": linear_psnr}
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    report(held_out, training, seconds, linear_psnr, console)


if __name__ == "__main__":
    main()
