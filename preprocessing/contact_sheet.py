"""A contact sheet of an ingest output: one row per sample, columns day | night | LiDAR | radar overlays."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from preprocessing.atomic import atomic_write_bytes
from preprocessing.errors import UserError
from preprocessing.shards import list_samples, load_sample

COLUMNS = ("day", "night", "LiDAR depth", "radar depth")
_HEADER = 18  # px


def overlay(rgb: np.ndarray, point_map: np.ndarray, max_depth: float = 60.0) -> np.ndarray:
    """[H,W,3] RGB with the valid pixels of a [C,H,W] map (channel 0 depth, last validity) as coloured dots."""
    valid = point_map[-1] > 0
    dots = cv2.dilate(valid.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # single pixels are invisible
    depth = cv2.dilate(np.where(valid, point_map[0], 0).astype(np.float32), np.ones((3, 3), np.uint8))
    scaled = np.clip(255.0 * (1.0 - depth / max_depth), 0, 255).astype(np.uint8)  # near = red, far = blue
    colours = cv2.cvtColor(cv2.applyColorMap(scaled, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    out = (rgb * 0.5).astype(np.uint8)  # dim the frame so the returns stand out
    out[dots] = colours[dots]
    return out


def _label(image: np.ndarray, text: str) -> np.ndarray:
    header = np.zeros((_HEADER, image.shape[1], 3), np.uint8)
    cv2.putText(header, text, (3, _HEADER - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return np.vstack([header, image])


def contact_sheet(out_dir: str | Path, count: int = 8, split: str | None = None) -> np.ndarray:
    """[rows·(H+header), 4·W, 3] uint8 RGB for the first ``count`` samples (spread over the whole output)."""
    records = list_samples(out_dir, split)
    if not records:
        raise UserError(f"{out_dir} holds no samples{f' in split {split!r}' if split else ''}")
    picks = np.unique(np.linspace(0, len(records) - 1, min(count, len(records))).round().astype(int))
    rows = []
    for index in picks:
        sample = load_sample(records[index], verify=True)
        meta = sample["meta"]
        day = sample["day"]
        tiles = [day, sample["night"], overlay(day, sample["lidar"]), overlay(day, sample["radar"])]
        night = "real night" if meta["night_scene"] else f"synthetic night k={meta['night_synthesis']['darkness']:.2f}"
        titles = [f"{meta['scene_name']} {meta['split']}", night, COLUMNS[2], COLUMNS[3]]
        rows.append(np.hstack([_label(tile, title) for tile, title in zip(tiles, titles)]))
    return np.vstack(rows)


def write_contact_sheet(out_dir: str | Path, path: str | Path, count: int = 8, split: str | None = None) -> Path:
    """Render the contact sheet and write it atomically as PNG; returns the path."""
    sheet = contact_sheet(out_dir, count, split)
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    if not ok:
        raise UserError(f"could not encode the contact sheet for {out_dir}")
    atomic_write_bytes(path, encoded.tobytes())
    return Path(path)
