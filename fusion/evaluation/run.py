"""``evaluate``: every method on both held-out test sets → one folder of tables, figures and metrics.json.

Outputs (written atomically into one folder): metrics.json, metrics.md, grid.png (per row a held-out
frame of either test set: night | every method | reference), psnr_by_darkness.png and, with
``sweep_frames``, PSNR of the all-sensor MLD against t̃, guidance weight and DDIM steps.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from rich.progress import Progress
from torch.utils.data import DataLoader, Subset

from fusion.diffusion.baselines import clahe
from fusion.diffusion.enhance import Enhancer
from fusion.diffusion.images import to_uint8
from fusion.diffusion.metrics import LPIPS, psnr
from fusion.diffusion.run import training_scenes
from fusion.evaluation.held_out import SYNTHETIC_NIGHT, check_unseen, mean_day_image, spread, held_out_sets
from fusion.evaluation.methods import CONDITION_SETS, CONSTANT, NIGHT_INPUT, Methods
from fusion.evaluation.report import REFERENCE, markdown_tables, save_darkness_plot, save_grid, save_sweep_plot
from fusion.evaluation.scores import HeldOutScores
from fusion.evaluation.settings import EvaluationSettings
from fusion.regression.model import DirectRegressor
from preprocessing.atomic import atomic_directory
from preprocessing.dataset import ShardDataset
from preprocessing.errors import UserError


def score_test_set(methods: Methods, frames: Subset, settings: EvaluationSettings, scores: HeldOutScores,
                   seed: int, grid_rows: int, progress, label: str) -> list[dict[str, np.ndarray]]:  # fmt: skip
    """Fill ``scores`` with every method on ``frames``; returns the columns of ``grid_rows`` frames spread over it."""
    wanted = set(spread(list(range(len(frames))), grid_rows))
    grid, task = [], progress.add_task(label, total=len(frames))
    for index, batch in enumerate(DataLoader(frames, batch_size=settings.batch_size)):
        columns = methods.columns(batch, seed + index)
        references = to_uint8(batch["day"])
        scores.add(references, columns[NIGHT_INPUT], columns)
        for row in range(len(references)):
            if index * settings.batch_size + row in wanted:
                grid.append({name: images[row] for name, images in columns.items()} | {REFERENCE: references[row]})
        progress.advance(task, len(references))
    return grid


def run_sweeps(methods: Methods, frames: Subset, settings: EvaluationSettings, progress) -> dict[str, dict]:
    """Mean PSNR of the all-sensor MLD on the first ``sweep_frames`` frames, one knob of the first sampler varied
    at a time; a value that leaves no denoising step (t̃ · steps < 1) is recorded as None."""
    if settings.sweep_frames == 0 or len(frames) == 0:
        return {}
    count = min(settings.sweep_frames, len(frames))
    batch = next(iter(DataLoader(Subset(frames, range(count)), batch_size=count)))
    day, night = to_uint8(batch["day"]), to_uint8(batch["night"])
    sweeps: dict[str, dict] = {"reference": {
        CONSTANT: float(np.mean([psnr(ref, methods.constant) for ref in day])),
        NIGHT_INPUT: float(np.mean([psnr(ref, image) for ref, image in zip(day, night)])),
        "clahe": float(np.mean([psnr(ref, clahe(image)) for ref, image in zip(day, night)])),
    }}  # fmt: skip
    plans = {"t_start": settings.sweep_t_start, "guidance": settings.sweep_guidance, "steps": settings.sweep_steps}
    base = methods.samplers[0]
    task = progress.add_task("sweeps", total=sum(len(values) for values in plans.values()))
    for knob, values in plans.items():
        psnrs = []
        for value in values:
            sampler = base.model_copy(update={knob: value})
            if sampler.denoising_steps < 1:
                psnrs.append(None)
            else:
                images = methods.mld(batch, CONDITION_SETS["night+lidar+radar"], settings.seed, sampler)
                psnrs.append(float(np.mean([psnr(ref, image) for ref, image in zip(day, images)])))
            progress.advance(task)
        sweeps[knob] = {"values": list(values), "psnr": psnrs, "base": base.model_dump()}
    return sweeps


def load_regressor(folder: Path | None, records: list[dict]) -> DirectRegressor | None:
    if folder is None:
        return None
    regressor, record = DirectRegressor.load(folder)
    check_unseen(records, set(record.get("training_scenes", {}).get("scene_tokens", [])), f"the regressor {folder}")
    return regressor


def evaluate(
    model: Path,
    data: Path,
    out: Path,
    settings: EvaluationSettings,
    *,
    regressor: Path | None = None,
    lpips_weights: Path | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
) -> dict:
    """Run the evaluation and write its folder ``out``; returns the content of metrics.json."""
    if Path(out).exists() and not overwrite:
        raise UserError(f"{out} already exists (pass --overwrite to replace it)")
    enhancer = Enhancer(model)
    dataset = ShardDataset(data, split=settings.split)
    sets = {name: spread(indices, settings.limit) for name, indices in held_out_sets(dataset.records).items()}
    if not any(sets.values()):
        raise UserError(f"{data}: split {settings.split!r} holds no day frame and no night frame with a day twin")
    evaluated = [dataset.records[i] for indices in sets.values() for i in indices]
    check_unseen(evaluated, training_scenes(model), f"the model {model}")
    constant = mean_day_image(ShardDataset(data, split="train"))
    if constant.shape[:2] != enhancer.frame_size:
        raise UserError(f"{data}: frames are {constant.shape[:2]}, the model {model} works on {enhancer.frame_size}")
    methods = Methods(enhancer, constant, settings, load_regressor(regressor, evaluated))
    lpips = LPIPS(lpips_weights) if lpips_weights else None

    results, grid = {}, []
    with Progress(disable=not show_progress) as progress:
        for number, (name, indices) in enumerate(sets.items()):
            scores = HeldOutScores(lpips)
            rows = score_test_set(methods, Subset(dataset, indices), settings, scores, settings.seed + 1000 * number,
                                  settings.grid_frames, progress, name)  # fmt: skip
            results[name] = scores.summary() | {"scenes": sorted({dataset.records[i]["scene_name"] for i in indices})}
            if not indices:
                results[name]["reason"] = "no held-out frames of this kind (a rendered-night frame needs a day twin)"
            grid += [(f"{name} #{k + 1}", row) for k, row in enumerate(rows)]
        sweeps = run_sweeps(methods, Subset(dataset, sets[SYNTHETIC_NIGHT]), settings, progress)
    metrics = {
        "settings": settings.model_dump(mode="json"),
        "lpips": "computed" if lpips_weights else "unavailable: no --lpips-weights given",
        "methods": methods.names,
        "test_sets": results,
        "sweeps": sweeps,
    }
    with atomic_directory(out, overwrite=overwrite) as tmp:
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2))
        (tmp / "metrics.md").write_text(markdown_tables(results))
        save_grid(tmp / "grid.png", grid, [NIGHT_INPUT, *(n for n in methods.names if n != NIGHT_INPUT), REFERENCE])
        plotted = [n for n in methods.names if n not in methods.secondary_names]
        save_darkness_plot(tmp / "psnr_by_darkness.png", results, plotted)
        for knob in ("t_start", "guidance", "steps"):
            if knob in sweeps:
                save_sweep_plot(tmp / f"psnr_vs_{knob}.png", knob, sweeps[knob], sweeps["reference"])
    return metrics
