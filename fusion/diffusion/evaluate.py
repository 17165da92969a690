"""Table 3.5 on held-out frames: enhanced night frames against the true day frames.

Rows: the four conditioning sets (night+lidar+radar, night+lidar, night+radar, night), the baselines
that see only the night frame (the night input itself, CLAHE, automatic gamma) and, as the ceiling any
latent method can reach, the camera autoencoder's reconstruction of the day frame. Columns: PSNR, SSIM
(scikit-image) and LPIPS (when local backbone weights are given). Also sweeps PSNR over t̃, guidance
weight and number of steps on a few frames.

Outputs (written atomically into one folder): metrics.json, metrics.md, grid.png (night | enhanced per
set | day), psnr_vs_t_start.png, psnr_vs_guidance.png, psnr_vs_steps.png.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from pydantic import Field
from rich.progress import Progress
from torch.utils.data import DataLoader, Subset

from fusion.diffusion.baselines import BASELINES, clahe
from fusion.diffusion.enhance import Enhancer
from fusion.diffusion.images import to_uint8
from fusion.diffusion.metrics import LPIPS, psnr, ssim
from preprocessing.atomic import atomic_directory
from preprocessing.config import StrictModel
from preprocessing.dataset import ShardDataset
from preprocessing.errors import UserError

CONDITION_SETS: dict[str, tuple[str, ...]] = {
    "night+lidar+radar": ("night", "lidar", "radar"),
    "night+lidar": ("night", "lidar"),
    "night+radar": ("night", "radar"),
    "night": ("night",),
}
NIGHT_INPUT = "night input"
AUTOENCODER_CEILING = "autoencoder(day)"


class EvaluationSettings(StrictModel):
    split: str | None = "val"
    t_start: float = Field(0.5, gt=0, le=1)
    steps: int = Field(50, ge=1)
    guidance: float = Field(2.0, ge=0)
    seed: int = 0
    batch_size: int = Field(8, ge=1)
    limit: int | None = Field(None, ge=1, description="evaluate at most this many held-out frames")
    grid_frames: int = Field(4, ge=1)
    sweep_frames: int = Field(8, ge=0, description="frames used for the t̃/guidance/steps sweeps (0: no sweeps)")
    sweep_t_start: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9)
    sweep_guidance: tuple[float, ...] = (0.0, 1.0, 2.0, 3.0, 4.0)
    sweep_steps: tuple[int, ...] = (5, 10, 25, 50)


def day_frames(dataset, limit: int | None) -> Subset:
    """Held-out frames that have a true day image (real night scenes have none)."""
    indices = [index for index, record in enumerate(dataset.records) if not record["night_scene"]]
    if not indices:
        raise ValueError("no held-out day frames to evaluate on")
    return Subset(dataset, indices[:limit])


class Scores:
    """Per-method lists of per-frame metric values → mean and standard deviation."""

    def __init__(self, lpips: LPIPS | None):
        self.lpips = lpips
        self.values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))

    def add(self, method: str, references: np.ndarray, images: np.ndarray) -> None:
        for reference, image in zip(references, images):
            self.values[method]["psnr"].append(psnr(reference, image))
            self.values[method]["ssim"].append(ssim(reference, image))
            if self.lpips is not None:
                self.values[method]["lpips"].append(self.lpips(reference, image))

    def summary(self) -> dict[str, dict[str, dict[str, float] | None]]:
        names = ("psnr", "ssim", "lpips")
        return {
            method: {
                name: {"mean": float(np.mean(v)), "std": float(np.std(v)), "frames": len(v)}
                if (v := metrics.get(name))
                else None
                for name in names
            }
            for method, metrics in self.values.items()
        }


def enhance_batch(
    enhancer: Enhancer, batch: dict, conditions: tuple[str, ...], settings: EvaluationSettings, seed: int, **overrides
) -> np.ndarray:
    """Enhanced uint8 frames [B, H, W, 3] of one collated batch with the given conditioning set."""
    knobs = {"t_start": settings.t_start, "steps": settings.steps, "guidance": settings.guidance} | overrides
    return to_uint8(enhancer.enhance({name: batch[name] for name in conditions}, seed=seed, **knobs))


def score_dataset(enhancer: Enhancer, frames: Subset, settings: EvaluationSettings, scores: Scores, progress):
    """Fill ``scores`` for every method; returns the uint8 columns of the first ``grid_frames`` frames."""
    grid: dict[str, list[np.ndarray]] = defaultdict(list)
    task = progress.add_task("evaluating", total=len(frames))
    for index, batch in enumerate(DataLoader(frames, batch_size=settings.batch_size)):
        day, night = to_uint8(batch["day"]), to_uint8(batch["night"])
        columns = {NIGHT_INPUT: night}
        columns |= {name: np.stack([method(image) for image in night]) for name, method in BASELINES.items()}
        reconstruction = enhancer.autoencoders.decode("day", enhancer.autoencoders.encode("day", batch["day"]))
        columns[AUTOENCODER_CEILING] = to_uint8(reconstruction)
        for name, conditions in CONDITION_SETS.items():
            columns[name] = enhance_batch(enhancer, batch, conditions, settings, settings.seed + index)
        columns["day"] = day
        for method, images in columns.items():
            if method != "day":
                scores.add(method, day, images)
            grid[method].extend(images[: max(settings.grid_frames - len(grid[method]), 0)])
        progress.advance(task, len(day))
    return grid


def run_sweeps(enhancer: Enhancer, frames: Subset, settings: EvaluationSettings, progress) -> dict[str, dict]:
    """Mean PSNR of the all-sensor enhancement of the first ``sweep_frames`` frames, one knob varied at a time."""
    if settings.sweep_frames == 0:
        return {}
    count = min(settings.sweep_frames, len(frames))
    batch = next(iter(DataLoader(Subset(frames, range(count)), batch_size=count)))
    day, night = to_uint8(batch["day"]), to_uint8(batch["night"])
    sweeps: dict[str, dict] = {
        "reference": {
            NIGHT_INPUT: float(np.mean([psnr(ref, image) for ref, image in zip(day, night)])),
            "clahe": float(np.mean([psnr(ref, clahe(image)) for ref, image in zip(day, night)])),
        }
    }
    plans = {"t_start": settings.sweep_t_start, "guidance": settings.sweep_guidance, "steps": settings.sweep_steps}
    task = progress.add_task("sweeps", total=sum(len(values) for values in plans.values()))
    for knob, values in plans.items():
        psnrs = []
        for value in values:
            conditions = CONDITION_SETS["night+lidar+radar"]
            images = enhance_batch(enhancer, batch, conditions, settings, settings.seed, **{knob: value})
            psnrs.append(float(np.mean([psnr(ref, image) for ref, image in zip(day, images)])))
            progress.advance(task)
        sweeps[knob] = {"values": list(values), "psnr": psnrs}
    return sweeps


def markdown_table(summary: dict) -> str:
    def cell(entry: dict | None, digits: int) -> str:
        return "unavailable" if entry is None else f"{entry['mean']:.{digits}f} ± {entry['std']:.{digits}f}"

    lines = ["| method | PSNR (dB) ↑ | SSIM ↑ | LPIPS ↓ |", "|---|---|---|---|"]
    for method, metrics in summary.items():
        cells = [cell(metrics["psnr"], 2), cell(metrics["ssim"], 3), cell(metrics["lpips"], 3)]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def save_grid(path: Path, grid: dict[str, list[np.ndarray]]) -> None:
    """Rows = frames; columns = night | enhanced per conditioning set | day."""
    columns = [NIGHT_INPUT, *CONDITION_SETS, "day"]
    rows = len(grid["day"])
    height, width = grid["day"][0].shape[:2]
    figure = Figure(figsize=(2.2 * len(columns) * width / height, 2.2 * rows + 0.4))
    axes = figure.subplots(rows, len(columns), squeeze=False)
    for row in range(rows):
        for column, name in enumerate(columns):
            axes[row, column].imshow(grid[name][row])
            axes[row, column].axis("off")
            if row == 0:
                axes[row, column].set_title(name, fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def save_sweep_plot(path: Path, knob: str, sweep: dict, references: dict[str, float]) -> None:
    """PSNR against one sampling knob, with the baselines on the same frames as dashed lines."""
    figure = Figure(figsize=(4.5, 3.2))
    axis = figure.subplots()
    axis.plot(sweep["values"], sweep["psnr"], marker="o", label="MLD night+lidar+radar")
    for name, value in references.items():
        colour = "grey" if name == NIGHT_INPUT else "tab:orange"
        axis.axhline(value, linestyle="--", linewidth=1, label=name, color=colour)
    axis.set_xlabel({"t_start": "t̃ (start time)", "guidance": "guidance weight", "steps": "DDIM steps"}[knob])
    axis.set_ylabel("PSNR (dB)")
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def evaluate(
    model: Path,
    data: Path,
    out: Path,
    settings: EvaluationSettings,
    *,
    lpips_weights: Path | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
) -> dict:
    """Run the evaluation and write its folder ``out``; returns the content of metrics.json."""
    if Path(out).exists() and not overwrite:
        raise UserError(f"{out} already exists (pass --overwrite to replace it)")
    enhancer = Enhancer(model)
    frames = day_frames(ShardDataset(data, split=settings.split), settings.limit)
    scores = Scores(LPIPS(lpips_weights) if lpips_weights else None)
    with Progress(disable=not show_progress) as progress:
        grid = score_dataset(enhancer, frames, settings, scores, progress)
        sweeps = run_sweeps(enhancer, frames, settings, progress)
    summary = scores.summary()
    metrics = {
        "frames": len(frames),
        "settings": settings.model_dump(mode="json"),
        "lpips": "computed" if lpips_weights else "unavailable: no --lpips-weights given",
        "methods": summary,
        "sweeps": sweeps,
    }
    with atomic_directory(out, overwrite=overwrite) as tmp:
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2))
        (tmp / "metrics.md").write_text(markdown_table(summary))
        save_grid(tmp / "grid.png", grid)
        for knob in ("t_start", "guidance", "steps"):
            if knob in sweeps:
                save_sweep_plot(tmp / f"psnr_vs_{knob}.png", knob, sweeps[knob], sweeps["reference"])
    return metrics
