"""``nightfusion record``: a vehicle recording (``deploy.runtime.recording``) from a nuScenes dataroot.

Frames are the camera keyframes that ingestion would plan (``preprocessing.planning.plan``: same
scene selection by split and condition, same sensor records), with the sensor files copied as
the vehicle would deliver them: the camera image, the LiDAR sweep and each radar's sweep, and
their calibration. ``synthesize_night`` replaces day images by the night synthesis of SPEC §4
(seeded per frame as in ingestion), to drive the runtime with night frames from day scenes.
Frame folders are named ``000000``, ``000001``, … in plan order; ``calibration.json`` also
records the source tokens. The recording appears atomically.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import cv2

from deploy.runtime.recording import CALIBRATION_FILE
from preprocessing.atomic import atomic_directory
from preprocessing.errors import UserError
from preprocessing.frames import SampleSpec, SensorFrame
from preprocessing.images import CorruptImageError
from preprocessing.night import sample_night_params, synthesize_night
from preprocessing.planning import Selection, plan
from preprocessing.sample import SampleError, read_rgb, sample_seed
from preprocessing.tables import TolerantNuScenes


def _entry(frame: SensorFrame, file: str) -> dict:
    return {"channel": frame.channel, "file": file, "timestamp": frame.timestamp,
            "sensor": frame.sensor.to_json(), "ego": frame.ego.to_json()}


def calibration(spec: SampleSpec, camera_file: str) -> dict:
    camera = spec.camera
    return {
        "source": {"sample_token": spec.sample_token, "scene_name": spec.scene_name, "camera_token": spec.key,
                   "night_scene": spec.night_scene},
        "camera": {**_entry(camera, camera_file), "size": list(camera.size), "intrinsic": [list(r) for r in camera.intrinsic]},
        "lidar": _entry(spec.lidar[0], f"{spec.lidar[0].channel}.pcd.bin"),
        "radars": [_entry(sweeps[0], f"{sweeps[0].channel}.pcd") for sweeps in spec.radars],
    }


def write_frame(spec: SampleSpec, folder: Path, synthesize: bool, seed: int) -> None:
    folder.mkdir()
    camera = spec.camera
    if synthesize and not spec.night_scene:
        try:
            day = read_rgb(camera)
        except (SampleError, CorruptImageError) as error:
            raise UserError(f"cannot synthesise the night frame of sample {spec.sample_token}: {error}") from None
        night = synthesize_night(day, sample_night_params(sample_seed(seed, spec.key)))
        camera_file = f"{camera.channel}.png"
        cv2.imwrite(str(folder / camera_file), cv2.cvtColor(night, cv2.COLOR_RGB2BGR))
    else:
        camera_file = f"{camera.channel}{Path(camera.path).suffix}"
        shutil.copyfile(camera.path, folder / camera_file)
    shutil.copyfile(spec.lidar[0].path, folder / f"{spec.lidar[0].channel}.pcd.bin")
    for sweeps in spec.radars:
        shutil.copyfile(sweeps[0].path, folder / f"{sweeps[0].channel}.pcd")
    (folder / CALIBRATION_FILE).write_text(json.dumps(calibration(spec, camera_file), indent=2))


def write_recording(
    dataroot: Path,
    out: Path,
    *,
    version: str = "v1.0-mini",
    camera: str = "CAM_FRONT",
    condition: str = "night",
    splits: tuple[str, ...] | None = None,
    limit: int | None = None,
    synthesize: bool = False,
    seed: int = 0,
    on_frame: Callable[[int, int], None] = lambda done, total: None,
) -> dict:
    """Write the recording; returns {frames, skipped, out}."""
    out = Path(out)
    if out.exists():
        raise UserError(f"{out} already exists; choose another --out")
    nusc = TolerantNuScenes(version, dataroot)
    planned = plan(nusc, Selection(camera=camera, splits=splits, condition=condition, limit=limit))
    if not planned.specs:
        raise UserError(f"no {camera} frames in {dataroot} match condition={condition} splits={splits}")
    with atomic_directory(out) as tmp:
        for index, spec in enumerate(planned.specs):
            write_frame(spec, tmp / f"{index:06d}", synthesize, seed)
            on_frame(index + 1, len(planned.specs))
    return {"frames": len(planned.specs), "skipped": len(planned.skipped), "out": str(out)}
