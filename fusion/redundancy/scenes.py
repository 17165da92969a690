"""Disjoint frame sets by whole scenes: what an estimator is fitted on is never what it is measured on.

Frames of one scene are near-copies of each other (12 Hz frames of the same street), so a split by
frame would leak: a denoiser over-fitted to a scene would score its other frames as if it knew them.
``SceneFolds`` deals each lighting group's scenes (day, night), sorted by name, in turn to ``folds``
folds; ``held_out`` is the fold that is measured (report) or calibrates thresholds (monitor), the
others fit. Dealing per lighting group keeps both sides with day and night scenes when there are
at least ``folds`` scenes of each. ``describe`` is what ``report.json`` records of a frame set:
its count, scenes and the SHA-256 of its sorted sample keys.
"""

from __future__ import annotations

import hashlib

from pydantic import Field, model_validator

from preprocessing.config import StrictModel


class SceneFolds(StrictModel):
    folds: int = Field(2, ge=2)
    held_out: int = Field(1, ge=0)

    @model_validator(mode="after")
    def _fold_exists(self) -> "SceneFolds":
        if self.held_out >= self.folds:
            raise ValueError(f"held_out {self.held_out} must be below folds {self.folds}")
        return self

    def fold_of(self, records: list[dict]) -> dict[str, int]:
        """Scene name → fold, dealt in turn within each lighting group."""
        folds = {}
        for night in (False, True):
            names = sorted({r["scene_name"] for r in records if r["night_scene"] == night})
            folds |= {name: k % self.folds for k, name in enumerate(names)}
        return folds

    def split(self, records: list[dict]) -> tuple[list[dict], list[dict]]:
        """(fitting records, held-out records), disjoint by scene, order kept."""
        fold = self.fold_of(records)
        return [r for r in records if fold[r["scene_name"]] != self.held_out], [r for r in records if fold[r["scene_name"]] == self.held_out]


def describe(frames: list[dict]) -> dict:
    """Count, scene names and SHA-256 of the sorted frame keys of a frame set (``key`` and ``scene_name`` per frame)."""
    keys = sorted(f["key"] for f in frames)
    return {
        "frames": len(keys),
        "scenes": sorted({f["scene_name"] for f in frames}),
        "sha256": hashlib.sha256("\n".join(keys).encode()).hexdigest(),
    }
