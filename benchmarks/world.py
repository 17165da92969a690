"""Synthetic-world generation throughput, measured side by side in one run.

    .venv/bin/python benchmarks/world.py [--scenes 2] [--samples 6]

Prints frames/s for CAM_FRONT at nuScenes resolution (1600×900) and at the demo's 800×450, with
one and two worker processes, and the time a 10-scene × 40-sample world would take at that rate.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from preprocessing.world import generate_world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=2)
    parser.add_argument("--samples", type=int, default=6)
    args = parser.parse_args()

    table = Table(title=f"world generation: {args.scenes} scenes × {args.samples} samples, CAM_FRONT + LIDAR_TOP + 5 radars")
    for column in ("camera", "workers", "camera frames", "lidar frames", "radar frames", "seconds", "frames/s", "camera frames/s", "10×40 world (min)"):
        table.add_column(column, justify="right")
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in ((1600, 900), (800, 450)):
            for workers in (1, 2):
                out = Path(tmp) / f"{size[0]}-{workers}"
                summary = generate_world(out, scenes=args.scenes, samples=args.samples, seed=0, camera_size=size, workers=workers, progress=False)
                frames, seconds = summary["frames"], summary["seconds"]
                per_scene = seconds / args.scenes
                # A scene of K samples lasts 0.5·(K−1) + 0.5 s; scale per-scene time by duration.
                scale = (0.5 * 39 + 0.5) / (0.5 * (args.samples - 1) + 0.5)
                rates[(size, workers)] = sum(frames.values()) / seconds
                table.add_row(
                    f"{size[0]}×{size[1]}", str(workers), str(frames["camera"]), str(frames["lidar"]), str(frames["radar"]),
                    f"{seconds:.1f}", f"{rates[(size, workers)]:.1f}", f"{frames['camera'] / seconds:.2f}",
                    f"{10 * per_scene * scale / 60:.1f}",
                )  # fmt: skip
    console = Console()
    console.print(table)
    for size in ((1600, 900), (800, 450)):
        console.print(f"{size[0]}×{size[1]}: 2 workers / 1 worker = {rates[(size, 2)] / rates[(size, 1)]:.2f}×")


if __name__ == "__main__":
    main()
