"""``manifest.json`` of an ONNX export: what the graphs are, the constants around them, and checksums.

The exporter (``deploy.export``) writes it; the runtime reads it and refuses to run unless it has the
structure below (``SCHEMA``), every file it names is a plain file name inside the folder
(``deploy.runtime.confined``), every file it loads has the recorded size and sha256 — checked on
the very bytes that are then loaded (``Manifest.read``) — and every graph has the recorded input and
output names. Layout (all JSON)::

    format          FORMAT
    versions        {nightfusion, torch, diffusers, onnx, onnxscript, onnxruntime, opset}
    modalities      ["day", "night", "radar", "lidar"]  (slot order of the denoiser)
    frame           {height, width, channels: {camera, lidar, radar}}
    latent          {channels, downsample, height, width}
    precisions      ["fp32", ...]                       (variants present in the folder)
    graphs          {name: {inputs: [{name, shape, dtype}], outputs: [...], files: {precision: file},
                            parity_max_abs_diff: float}}
    normalization   {camera|lidar|radar: {mean, std, shape}}   (baked into the graphs; for reference)
    codecs          {lidar|radar: sparse-map value ranges}      (baked into the graphs; for reference)
    schedule        DDIM constants (see ``ddim``)
    sampling        {steps, guidance, t_start}               (the model's defaults)
    redundancy      score definition (see ``redundancy``; its draws and null latents in ``draws_file``), or null
    files           {file: {sha256, bytes}}                  (every other file of the folder)

Shapes use the string "batch" for the dynamic batch axis.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from deploy.runtime.confined import confined_file
from deploy.runtime.schema import (
    SchemaError, choice, either, integer, list_of, map_of, nullable, number, optional, record, text, tuple_of,
)
from preprocessing.errors import UserError

FORMAT = "nightfusion.onnx/1"
MANIFEST_FILE = "manifest.json"
PRECISIONS = ("fp32", "fp16", "int8")
ENCODER_OF_MODALITY = {"night": "camera_encoder", "radar": "radar_encoder", "lidar": "lidar_encoder"}
REQUIRED_GRAPHS = ("camera_encoder", "camera_decoder", "lidar_encoder", "radar_encoder", "denoiser")

# What the runtime reads, with the types it relies on (``frame.height: "64"`` failed every frame).
_POSITIVE, _INDEX = integer(minimum=1), integer(minimum=0)
_TENSOR = record(name=text, shape=list_of(either(_INDEX, choice("batch"))), dtype=text)
_REDUNDANCY = record(
    sensors=list_of(text), window=tuple_of(_POSITIVE, _POSITIVE), dims=list_of(_POSITIVE),
    standardizer=record(mean=list_of(number), std=list_of(number)), integral_weight=number, horizon=number,
    configurations=list_of(list_of(_INDEX)), divergences=map_of(list_of(tuple_of(_INDEX, _INDEX, _INDEX))),
    self_information=optional(map_of(tuple_of(_INDEX, _INDEX))), measures=map_of(list_of(tuple_of(number, text))), score=text,
    nominal=nullable(record(statistics=list_of(text), mean=list_of(number), cov=list_of(list_of(number)), threshold=number,
                            flat_floor=optional(map_of(number)))),
    draws_file=text,
)  # fmt: skip
SCHEMA = record(
    format=text, modalities=list_of(text),
    frame=record(height=_POSITIVE, width=_POSITIVE),
    latent=record(channels=_POSITIVE, height=_POSITIVE, width=_POSITIVE),
    graphs=map_of(record(inputs=list_of(_TENSOR), outputs=list_of(_TENSOR), files=map_of(text))),
    schedule=record(alphas_cumprod=list_of(number), final_alpha_cumprod=number, num_train_timesteps=_POSITIVE,
                    timestep_spacing=text),
    sampling=record(steps=_POSITIVE, guidance=number, t_start=number),
    redundancy=nullable(_REDUNDANCY),
    files=map_of(record(sha256=text, bytes=_INDEX)),
)  # fmt: skip


class ModelIntegrityError(UserError):
    """An export folder whose files were modified, are missing, or do not belong together."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_entry(path: Path) -> dict:
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size}


@dataclass(frozen=True)
class Manifest:
    """A parsed, verified manifest; ``folder`` is the export directory it describes."""

    folder: Path
    data: dict

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.data["modalities"])

    @property
    def frame_size(self) -> tuple[int, int]:
        """(height, width) of the frames the graphs take."""
        return self.data["frame"]["height"], self.data["frame"]["width"]

    @property
    def has_redundancy(self) -> bool:
        return self.data.get("redundancy") is not None

    def file(self, name: str) -> Path:
        """``folder / name`` for a file name from the manifest; refused unless it stays inside the folder."""
        try:
            return confined_file(self.folder, name)
        except ValueError as error:
            raise ModelIntegrityError(f"{self.folder / MANIFEST_FILE}: {error}") from None

    def graph_file(self, graph: str, precision: str) -> Path:
        files = self.data["graphs"][graph]["files"]
        if precision not in files:
            raise ModelIntegrityError(
                f"{self.folder}: graph {graph} has no {precision} variant (exported: {', '.join(files)}); "
                f"re-export with --{precision} or choose one of those"
            )
        return self.file(files[precision])

    def read(self, name: str) -> bytes:
        """The bytes of the listed file ``name``, refused unless they have the recorded size and sha256.
        Callers load these bytes, never the path again: the file that is checked is the file that is used."""
        entry = self.data["files"].get(name)
        _require(entry is not None, self.folder, f"{name} is not listed in the manifest")
        path = self.file(name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ModelIntegrityError(f"{path}: missing (the manifest lists it); the export folder is incomplete") from None
        if len(data) != entry["bytes"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise ModelIntegrityError(
                f"{path}: checksum mismatch with {MANIFEST_FILE} — the file was modified or comes from another "
                "export; refusing to load it (re-export the models)"
            )
        return data


def _require(condition: bool, folder: Path, message: str) -> None:
    if not condition:
        raise ModelIntegrityError(f"{folder / MANIFEST_FILE}: {message}")


def load_manifest(folder: str | Path, precision: str = "fp32") -> Manifest:
    """Read ``folder/manifest.json``, check its structure and the checksums of the ``precision`` variant."""
    folder = Path(folder)
    path = folder / MANIFEST_FILE
    if not path.is_file():
        raise ModelIntegrityError(f"{folder} is not an ONNX export folder: {MANIFEST_FILE} is missing")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise ModelIntegrityError(f"{path} is not valid JSON: {error}") from None
    _require(isinstance(data, dict) and data.get("format") == FORMAT, folder,
             f"unsupported format {data.get('format') if isinstance(data, dict) else None!r}, expected {FORMAT!r}")
    try:
        SCHEMA(data, "")
    except SchemaError as error:
        raise ModelIntegrityError(f"{path}: {error}") from None
    _require(precision in PRECISIONS, folder, f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    missing = [name for name in REQUIRED_GRAPHS if name not in data["graphs"]]
    _require(not missing, folder, f"graphs {missing} are missing")
    _require(data["modalities"] == ["day", "night", "radar", "lidar"], folder,
             f"modalities {data['modalities']} differ from the runtime's slot order day, night, radar, lidar")
    manifest = Manifest(folder, data)
    graphs = [name for name in data["graphs"] if name != "info_denoiser" or manifest.has_redundancy]
    names = [manifest.graph_file(name, precision).name for name in graphs]
    for name in names + ([data["redundancy"]["draws_file"]] if manifest.has_redundancy else []):
        manifest.read(name)  # fail here, before any session is built; the loaders read (and check) again
    return manifest
