"""Per-frame scores of every method on one test set → means, spreads and a breakdown by darkness.

Darkness is the night frame's mean luminance (Rec. 601 luma of the uint8 frame); the frames of a
test set are cut into quartiles of it, darkest first, so that what LiDAR and radar add where the
camera sees least shows.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from perception.image_quality import gmsd, psnr, ssim

METRICS = ("psnr", "ssim", "gmsd", "lpips")
LUMA = np.array([0.299, 0.587, 0.114])


def mean_luminance(frames: np.ndarray) -> np.ndarray:
    """uint8 [B, H, W, 3] → mean luma per frame [B] in 0…255."""
    return (frames.astype(np.float64) @ LUMA).mean(axis=(1, 2))


def quartiles(values: np.ndarray) -> np.ndarray:
    """Quartile 0 (smallest values) … 3 of each value, by rank (ties keep their order)."""
    ranks = np.argsort(np.argsort(values, kind="stable"), kind="stable")
    return ranks * 4 // max(len(values), 1)


def _stats(values: list[float]) -> dict | None:
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "frames": len(values)} if values else None


class HeldOutScores:
    """Scores of every method on the frames of one test set."""

    def __init__(self, lpips=None):
        self.lpips = lpips
        self.values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.luminance: list[float] = []

    def add(self, references: np.ndarray, night: np.ndarray, columns: dict[str, np.ndarray]) -> None:
        """references/night uint8 [B, H, W, 3]; columns {method: uint8 [B, H, W, 3]}."""
        self.luminance.extend(mean_luminance(night).tolist())
        for method, images in columns.items():
            for reference, image in zip(references, images, strict=True):
                values = self.values[method]
                values["psnr"].append(psnr(reference, image))
                values["ssim"].append(ssim(reference, image))
                values["gmsd"].append(gmsd(reference, image))
                if self.lpips is not None:
                    values["lpips"].append(self.lpips(reference, image))

    def summary(self) -> dict:
        """{"frames", "methods": {method: {metric: {mean, std, frames} | None}}, "by_darkness": [...]}"""
        return {
            "frames": len(self.luminance),
            "methods": {m: {name: _stats(v.get(name, [])) for name in METRICS} for m, v in self.values.items()},
            "by_darkness": self.by_darkness(),
        }

    def by_darkness(self) -> list[dict]:
        """Per quartile of night luminance (darkest first): its range, frame count and every method's means."""
        luminance = np.asarray(self.luminance)
        quartile = quartiles(luminance)
        rows = []
        for q in range(4):
            members = np.flatnonzero(quartile == q)
            if len(members) == 0:
                continue
            methods = {
                method: {name: float(np.mean(np.asarray(v[name])[members])) for name in ("psnr", "ssim", "gmsd")}
                for method, v in self.values.items()
            }
            rows.append({"quartile": q + 1, "luminance": [float(luminance[members].min()), float(luminance[members].max())],
                         "frames": len(members), "methods": methods})  # fmt: skip
        return rows
