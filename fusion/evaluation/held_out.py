"""The two test sets of held-out frames, the check that no model saw their scenes, and the constant floor.

- ``synthetic night``: frames of held-out day scenes; night synthesised from the day frame (the
  training distribution);
- ``rendered night``: frames of held-out night scenes rendered at night, against their day twins
  (same geometry, poses and instant, rendered by day): the vehicle's case, trained on synthetic night
  and applied to real night.
"""

from __future__ import annotations

import numpy as np

from preprocessing.dataset import ShardDataset
from preprocessing.errors import UserError
from preprocessing.shards import decode_member, read_members

SYNTHETIC_NIGHT, RENDERED_NIGHT = "synthetic night", "rendered night"


def held_out_sets(records: list[dict]) -> dict[str, list[int]]:
    """Indices into ``records`` of each test set (rendered night needs a day twin as reference)."""
    return {
        SYNTHETIC_NIGHT: [i for i, r in enumerate(records) if not r["night_scene"]],
        RENDERED_NIGHT: [i for i, r in enumerate(records) if r["night_scene"] and r.get("day_twin", False)],
    }


def spread(indices: list[int], count: int | None) -> list[int]:
    """At most ``count`` of ``indices``, evenly spaced, so that a limit still covers every scene."""
    if count is None or count >= len(indices):
        return list(indices)
    return [indices[round(k)] for k in np.linspace(0, len(indices) - 1, count)]


def check_unseen(records: list[dict], training_scenes: set[str], model: str) -> None:
    """UserError when any evaluated frame comes from a scene ``model`` was trained on."""
    seen = sorted({r["scene_name"] for r in records if r["scene_token"] in training_scenes})
    if seen:
        raise UserError(f"{model} was trained on held-out scene(s) {', '.join(seen)}: evaluate on scenes it never saw")


def mean_day_image(dataset: ShardDataset) -> np.ndarray:
    """The constant floor: the mean day frame (uint8 [H, W, 3]) of the paired frames of ``dataset``."""
    records = [r for r in dataset.records if not r["night_scene"]]
    if not records:
        raise UserError(f"{dataset.path}: no day frames to average for the constant baseline")
    total = None
    for record in records:
        day = decode_member("day.png", read_members(record, ("day.png",))["day.png"]).astype(np.float64)
        total = day if total is None else total + day
    return np.round(total / len(records)).astype(np.uint8)
