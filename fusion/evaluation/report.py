"""What ``evaluate`` writes besides metrics.json: markdown tables, the frame grid and plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from fusion.evaluation.methods import CONSTANT, NIGHT_INPUT

REFERENCE = "reference day"


def _cell(entry: dict | None, digits: int) -> str:
    return "unavailable" if entry is None else f"{entry['mean']:.{digits}f} ± {entry['std']:.{digits}f}"


def markdown_tables(test_sets: dict[str, dict]) -> str:
    """Per test set: every method's PSNR / SSIM / GMSD / LPIPS, then PSNR and SSIM per darkness quartile."""
    parts = []
    for name, result in test_sets.items():
        if not result["frames"]:
            parts.append(f"### {name}: no frames ({result.get('reason', 'none held out')})\n")
            continue
        lines = [f"### {name} — {result['frames']} frames of held-out scene(s) {', '.join(result['scenes'])}", "",
                 "| method | PSNR (dB) ↑ | SSIM ↑ | GMSD ↓ | LPIPS ↓ |", "|---|---|---|---|---|"]  # fmt: skip
        for method, m in result["methods"].items():
            cells = [_cell(m["psnr"], 2), _cell(m["ssim"], 3), _cell(m["gmsd"], 3), _cell(m["lpips"], 3)]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        quartiles = result["by_darkness"]
        header = [f"Q{q['quartile']} (luma {q['luminance'][0]:.0f}–{q['luminance'][1]:.0f}, {q['frames']})" for q in quartiles]
        lines += ["", "PSNR (dB) / SSIM by darkness quartile of the night frame (Q1 darkest):", "",
                  "| method | " + " | ".join(header) + " |", "|---" * (len(header) + 1) + "|"]  # fmt: skip
        for method in result["methods"]:
            cells = [f"{q['methods'][method]['psnr']:.2f} / {q['methods'][method]['ssim']:.3f}" for q in quartiles]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def save_grid(path: Path, rows: list[tuple[str, dict[str, np.ndarray]]], columns: list[str]) -> None:
    """One row per frame (labelled with its test set), one column per method, the reference last."""
    height, width = rows[0][1][REFERENCE].shape[:2]
    figure = Figure(figsize=(1.25 * len(columns) * width / height, 1.25 * len(rows) + 0.9))
    axes = figure.subplots(len(rows), len(columns), squeeze=False)
    for r, (label, images) in enumerate(rows):
        for c, name in enumerate(columns):
            axes[r, c].imshow(images[name])
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
            if r == 0:
                axes[r, c].set_title(name.replace(" · ", "\n"), fontsize=6)
        axes[r, 0].set_ylabel(label, fontsize=6)
    figure.tight_layout(pad=0.3)
    figure.savefig(path, dpi=130)


def save_darkness_plot(path: Path, test_sets: dict[str, dict], methods: list[str]) -> None:
    """PSNR per darkness quartile, one panel per test set, the input-ignoring floor dashed."""
    present = {name: r for name, r in test_sets.items() if r["frames"]}
    figure = Figure(figsize=(4.6 * len(present), 3.4))
    axes = figure.subplots(1, len(present), squeeze=False)[0]
    for axis, (name, result) in zip(axes, present.items()):
        quartiles = [q["quartile"] for q in result["by_darkness"]]
        for method in methods:
            psnrs = [q["methods"][method]["psnr"] for q in result["by_darkness"]]
            style = {"linestyle": "--", "color": "black"} if method == CONSTANT else {"marker": "o"}
            if method == NIGHT_INPUT:
                style = {"linestyle": ":", "color": "grey"}
            axis.plot(quartiles, psnrs, label=method, linewidth=1.2, **style)
        axis.set_title(f"{name} ({result['frames']} frames)", fontsize=9)
        axis.set_xlabel("darkness quartile of the night frame (1 = darkest)")
        axis.set_xticks(quartiles)
        axis.set_ylabel("PSNR (dB)")
    axes[-1].legend(fontsize=6, loc="best")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def save_sweep_plot(path: Path, knob: str, sweep: dict, references: dict[str, float]) -> None:
    """PSNR against one sampling knob, with the floors on the same frames as dashed lines."""
    figure = Figure(figsize=(4.5, 3.2))
    axis = figure.subplots()
    measured = [(value, psnr) for value, psnr in zip(sweep["values"], sweep["psnr"]) if psnr is not None]
    axis.plot(*zip(*measured) if measured else ([], []), marker="o", label="MLD night+lidar+radar")
    for name, value in references.items():
        axis.axhline(value, linestyle="--", linewidth=1, label=name, color="grey" if name == NIGHT_INPUT else "black")
    axis.set_xlabel({"t_start": "t̃ (start time)", "guidance": "guidance weight", "steps": "DDIM steps"}[knob])
    axis.set_ylabel("PSNR (dB)")
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
