"""The ingest configuration (``configs/ingest.yaml`` + CLI flags), validated by pydantic."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from preprocessing.config import StrictModel
from preprocessing.night import NightRanges
from preprocessing.pointclouds import RadarFilters

# Fields that only say where/how to run: they may change between a run and its --resume.
RUNTIME_FIELDS = ("out", "workers", "executor", "address")


def parse_resolution(text: str) -> tuple[int, int]:
    """'288x512' → (288, 512) as (height, width); ValueError otherwise."""
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"resolution must look like HEIGHTxWIDTH (e.g. 288x512), got {text!r}") from None
    return height, width


class IngestConfig(StrictModel):
    """Everything that defines an ingest run; all fields but ``RUNTIME_FIELDS`` determine the output bytes."""

    dataroot: Path
    version: str = "v1.0-mini"
    out: Path
    resolution: tuple[int, int] = (288, 512)  # (height, width); multiples of 8 for the f8 autoencoders
    camera: str = "CAM_FRONT"
    splits: tuple[str, ...] | None = None
    condition: Literal["all", "day", "night"] = "all"
    camera_sweeps: bool = False  # every camera frame (12 Hz) instead of keyframes (2 Hz)
    nsweeps: int = Field(1, ge=1, le=30)  # LiDAR sweeps aggregated per frame
    radar_sweeps: int = Field(1, ge=1, le=30)
    limit: int | None = Field(None, ge=1)
    seed: int = Field(0, ge=0)
    min_dist: float = Field(1.0, ge=0.0)
    shard_size: int = Field(32, ge=1)
    radar_filters: RadarFilters = RadarFilters()
    night: NightRanges = NightRanges()
    workers: int = Field(2, ge=0)
    executor: Literal["local", "ray"] = "local"
    address: str | None = None

    @field_validator("resolution", mode="before")
    @classmethod
    def _resolution(cls, value):
        return parse_resolution(value) if isinstance(value, str) else value

    @field_validator("resolution")
    @classmethod
    def _multiple_of_8(cls, value: tuple[int, int]) -> tuple[int, int]:
        if min(value) < 8 or value[0] % 8 or value[1] % 8:
            raise ValueError(f"height and width must be positive multiples of 8, got {value[0]}x{value[1]}")
        return value

    @property
    def out_size(self) -> tuple[int, int]:
        """(width, height), the order OpenCV and the rasteriser use."""
        return self.resolution[1], self.resolution[0]

    def fingerprint(self) -> dict:
        """The output-defining part, as stored in ``ingest.json`` and the manifest."""
        return self.model_dump(mode="json", exclude=set(RUNTIME_FIELDS))
