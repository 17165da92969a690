"""``nightfusion export``: a trained MLD folder (+ autoencoders, + information estimator) → ONNX folder.

Writes, atomically (the folder appears complete under its name or not at all)::

    camera_encoder.onnx camera_decoder.onnx lidar_encoder.onnx radar_encoder.onnx denoiser.onnx
    [info_denoiser.onnx]            fp32 graphs, opset 20, dynamic batch (see ``export_graphs``)
    [redundancy.npz]                the redundancy score's fixed draws and null latents (``export_redundancy``)
    [*.fp16.onnx] [*.int8.onnx]     reduced-precision variants (``--fp16``, ``--int8``)
    manifest.json                   see ``deploy.runtime.manifest``

Every fp32 graph is checked against its torch module on fresh inputs at export; the largest
difference is recorded in the manifest and the export fails if it exceeds ``parity_tolerance``.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from pathlib import Path

import torch
from deploy.config import ExportSettings
from deploy.export_graphs import OPSET, DenoiserGraph, GraphSpec, InfoDenoiserGraph, export_graph
from deploy.export_redundancy import ScoreSource, redundancy_section, score_source
from deploy.precision import make_variant
from deploy.runtime.manifest import FORMAT, MANIFEST_FILE, file_entry
from fusion.diffusion.checkpoint import load_model
from fusion.diffusion.enhance import AUTOENCODER_FOLDER
from fusion.diffusion.multitime import MODALITIES
from fusion.diffusion.schedule import make_scheduler
from fusion.information.estimator import InformationEstimator
from perception import Autoencoders, load_autoencoders
from preprocessing.atomic import atomic_directory, atomic_write_json
from preprocessing.errors import UserError

VERSIONED_PACKAGES = ("nightfusion", "torch", "diffusers", "timm", "onnx", "onnxscript", "onnxruntime")


def sparse_map(channels: int, frame: tuple[int, int]) -> Callable[[int, torch.Generator], tuple[torch.Tensor]]:
    """Example sparse maps [B, channels, H, W] = (depth > 1 m, signed values…, valid) on ~20 % of the pixels."""

    def make(batch: int, generator: torch.Generator) -> tuple[torch.Tensor]:
        shape = (batch, 1, *frame)
        valid = (torch.rand(shape, generator=generator) < 0.2).float()
        depth = 1.0 + 60.0 * torch.rand(shape, generator=generator)
        values = 20.0 * torch.randn((batch, channels - 2, *frame), generator=generator)
        return (torch.cat([depth, values, torch.ones(shape)], dim=1) * valid,)

    return make


def graph_specs(model, autoencoders: Autoencoders, info: InformationEstimator | None) -> list[GraphSpec]:
    """The graphs of an export, with example-input builders at the model's frame size."""
    f = autoencoders.downsample
    grid = tuple(model.config.latent_size)
    frame = (grid[0] * f, grid[1] * f)
    latent = (autoencoders.latent_channels, *grid)
    slots = (len(MODALITIES), *latent)
    horizon = model.config.num_train_timesteps

    def image(batch, g):
        return (torch.rand((batch, 3, *frame), generator=g) * 2 - 1,)

    def latents(batch, g):
        return (torch.randn((batch, *latent), generator=g),)

    def denoiser_inputs(batch, g):
        tau = torch.randint(0, horizon + 1, (batch, len(MODALITIES)), generator=g).float()
        presence = torch.rand((batch, len(MODALITIES)), generator=g) < 0.6
        return torch.randn((batch, *slots), generator=g), tau, presence, torch.randn((batch, *slots), generator=g)

    specs = [
        GraphSpec("camera_encoder", autoencoders.model("camera").encoder, ("x",), ("z",), image),
        GraphSpec("camera_decoder", autoencoders.model("camera").decoder, ("z",), ("x",), latents),
        GraphSpec("lidar_encoder", autoencoders.model("lidar").encoder, ("x",), ("z",), sparse_map(3, frame)),
        GraphSpec("radar_encoder", autoencoders.model("radar").encoder, ("x",), ("z",), sparse_map(4, frame)),
        GraphSpec("denoiser", DenoiserGraph(model), ("latents", "tau", "presence", "noise"), ("eps",), denoiser_inputs),
    ]
    if info is not None:
        n_vars, total, horizon_t = len(info.dims), sum(info.dims), info.schedule.T

        def info_inputs(batch, g):
            roles = torch.randint(0, 3, (batch, n_vars), generator=g)
            t = torch.rand((batch, 1), generator=g) * horizon_t
            tau = torch.where(roles == 0, 0.0, torch.where(roles == 1, t, horizon_t))
            return torch.randn((batch, total), generator=g), tau

        specs.append(GraphSpec("info_denoiser", InfoDenoiserGraph(info.net), ("x", "tau"), ("eps",), info_inputs))
    return specs


def schedule_section(scheduler) -> dict:
    """The DDIM constants the runtime's numpy scheduler needs (``deploy.runtime.ddim``)."""
    config = scheduler.config
    return {
        "num_train_timesteps": config.num_train_timesteps,
        "beta_start": config.beta_start,
        "beta_end": config.beta_end,
        "beta_schedule": config.beta_schedule,
        "timestep_spacing": config.timestep_spacing,
        "steps_offset": config.steps_offset,
        "prediction_type": config.prediction_type,
        "clip_sample": config.clip_sample,
        "alphas_cumprod": scheduler.alphas_cumprod.float().tolist(),
        "final_alpha_cumprod": float(scheduler.final_alpha_cumprod),
    }


def autoencoder_sections(autoencoders: Autoencoders) -> tuple[dict, dict]:
    """(normalisation statistics, sparse-map codec ranges) per autoencoder, for the manifest."""
    normalization, codecs = {}, {}
    for name, model in autoencoders.models.items():
        stats = model.normalizer
        normalization[name] = {"shape": list(stats.mean.shape), "mean": stats.mean.flatten().tolist(),
                               "std": stats.std.flatten().tolist()}
        if model.sparse is not None:
            codecs[name] = model.sparse.model_dump(mode="json")
    return normalization, codecs


def versions() -> dict:
    found = {}
    for package in VERSIONED_PACKAGES:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = None
    return {**found, "opset": OPSET}


def load_inputs(model_dir: Path, autoencoder_dir: Path | None):
    model, schedule, sample = load_model(model_dir)
    autoencoder_dir = autoencoder_dir or Path(model_dir) / AUTOENCODER_FOLDER
    autoencoders = load_autoencoders(autoencoder_dir)
    missing = {"camera", "lidar", "radar"} - set(autoencoders.models)
    if missing:
        raise UserError(f"{autoencoder_dir}: the vehicle runtime needs the {sorted(missing)} autoencoder(s) too")
    if autoencoders.latent_channels != model.config.latent_channels:
        raise UserError(f"{autoencoder_dir}: latents have {autoencoders.latent_channels} channels, the model "
                        f"in {model_dir} was trained on {model.config.latent_channels}")
    for name, ae in autoencoders.models.items():
        try:
            ae.normalizer.check_grid(tuple(model.config.latent_size))
        except ValueError as error:
            raise UserError(f"{autoencoder_dir}/{name}: {error}") from None
    return model, make_scheduler(schedule), sample, autoencoders


def export_all(specs: list[GraphSpec], folder: Path, precisions: tuple[str, ...], settings: ExportSettings,
               on_step: Callable[[str], None]) -> dict:
    """Export every graph (and its precision variants) into ``folder``; returns the manifest's ``graphs``."""
    generator = torch.Generator().manual_seed(settings.seed)
    graphs = {}
    for spec in specs:
        on_step(f"exporting {spec.name}")
        path = folder / f"{spec.name}.onnx"
        entry, difference = export_graph(spec, path, generator)
        if not difference <= settings.parity_tolerance:
            raise UserError(f"exported {spec.name} differs from torch by {difference:.3g} "
                            f"(> parity_tolerance {settings.parity_tolerance}); the export is not trustworthy")
        files = {"fp32": path.name}
        for precision in precisions:
            on_step(f"converting {spec.name} to {precision}")
            files[precision] = make_variant(path, precision).name
        graphs[spec.name] = {**entry, "files": files, "parity_max_abs_diff": difference}
    return graphs


def export_models(
    model_dir: Path,
    out: Path,
    *,
    autoencoder_dir: Path | None = None,
    info_dir: Path | None = None,
    precisions: tuple[str, ...] = (),
    settings: ExportSettings = ExportSettings(),
    overwrite: bool = False,
    on_step: Callable[[str], None] = lambda _: None,
) -> dict:
    """Export the graphs of ``model_dir`` into ``out`` (see the module docstring); returns the manifest."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise UserError(f"{out} already exists; choose another --out or pass --overwrite")
    model, scheduler, sample, autoencoders = load_inputs(Path(model_dir), autoencoder_dir)
    grid = tuple(model.config.latent_size)
    source: ScoreSource | None = None
    if info_dir is not None:
        source = score_source(info_dir, autoencoders, grid, settings.redundancy_draws, settings.seed)
    specs = graph_specs(model, autoencoders, source.estimator if source else None)
    f = autoencoders.downsample
    normalization, codecs = autoencoder_sections(autoencoders)
    with atomic_directory(out, overwrite=overwrite) as tmp:
        # the score first: an estimator that does not fit the descriptors fails before the slow graph exports
        redundancy = redundancy_section(source, autoencoders.latent_channels, grid, tmp) if source else None
        graphs = export_all(specs, tmp, precisions, settings, on_step)
        manifest = {
            "format": FORMAT,
            "versions": versions(),
            "source": {"model": str(model_dir), "autoencoders": str(autoencoder_dir or Path(model_dir) / AUTOENCODER_FOLDER),
                       "information": str(info_dir) if info_dir else None},
            "modalities": list(MODALITIES),
            "frame": {"height": grid[0] * f, "width": grid[1] * f,
                      "channels": {name: ae.codec.in_channels for name, ae in autoencoders.models.items()}},
            "latent": {"channels": autoencoders.latent_channels, "downsample": f, "height": grid[0], "width": grid[1]},
            "precisions": ["fp32", *precisions],
            "graphs": graphs,
            "normalization": normalization,
            "codecs": codecs,
            "schedule": schedule_section(scheduler),
            "sampling": sample.model_dump(mode="json"),
            "redundancy": redundancy,
            "files": {p.name: file_entry(p) for p in sorted(tmp.iterdir()) if p.is_file()},
        }
        atomic_write_json(tmp / MANIFEST_FILE, manifest)
    return manifest
