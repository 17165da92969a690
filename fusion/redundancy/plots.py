"""The report's figures as PNG bytes (matplotlib, Agg backend: no display needed).

Each function takes the report dict (``fusion.redundancy.report``) and returns one PNG:
measures per condition, per-sensor shares I(X_i; X∖i) and ∂_iΩ, pairwise MI heat-maps, per-frame Ω
along each scene. Bars show the value with its bootstrap interval (``fusion.redundancy.intervals``).
"""

from __future__ import annotations

import io
from functools import partial

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

MEASURE_LABELS = {"o_information": "Ω (O-information)", "tc": "TC", "dtc": "DTC", "s_information": "S"}


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def _floats(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _grouped_bars(axis, groups: list[str], series: dict[str, tuple[list, list, list]]) -> None:
    """Bars of several series (values, interval lows, interval highs) side by side per group."""
    width = 0.8 / max(1, len(series))
    x = np.arange(len(groups))
    for k, (label, (values, low, high)) in enumerate(series.items()):
        values, low, high = _floats(values), _floats(low), _floats(high)
        errors = np.nan_to_num(np.stack([values - low, high - values]).clip(min=0.0))
        axis.bar(x + (k - (len(series) - 1) / 2) * width, values, width, yerr=errors, capsize=3, label=label)
    axis.set_xticks(x, groups, rotation=20, ha="right")
    axis.axhline(0.0, color="black", linewidth=0.8)
    axis.legend(fontsize=8)


def measures_figure(report: dict) -> bytes:
    """Ω, TC, DTC, S per condition with error bars."""
    names = list(report["conditions"])
    figure, axis = plt.subplots(figsize=(max(6, 1.3 * len(names)), 4))
    series = {}
    for m, label in MEASURE_LABELS.items():
        blocks = [report["conditions"][c]["measures"][m] for c in names]
        series[label] = ([b["value"] for b in blocks], [b["interval"][0] for b in blocks], [b["interval"][1] for b in blocks])
    _grouped_bars(axis, names, series)
    axis.set_ylabel(f"information ({report['unit']})")
    axis.set_title("Redundancy (Ω > 0) and total dependence per condition")
    return _png(figure)


def per_sensor_figure(report: dict, measure: str, label: str, title: str) -> bytes:
    """A per-sensor measure (``mi_rest``, ``o_gradient``): bars per sensor, one per condition."""
    sensors, names = report["sensors"], list(report["conditions"])
    figure, axis = plt.subplots(figsize=(max(6, 1.2 * len(sensors) * max(1, len(names)) / 3), 4))
    series = {}
    for c in names:
        block = report["conditions"][c]["measures"].get(measure)
        if block is not None:
            series[c] = (block["value"], *block["interval"])
    _grouped_bars(axis, sensors, series)
    axis.set_ylabel(f"{label} ({report['unit']})")
    axis.set_title(title)
    return _png(figure)


def mi_figure(report: dict) -> bytes:
    """Pairwise MI heat-map per condition (shared colour scale)."""
    sensors, names = report["sensors"], list(report["conditions"])
    matrices = [np.array([[np.nan if v is None else v for v in row] for row in report["conditions"][c]["measures"]["mi_j"]["value"]]) for c in names]
    top = max(1e-6, float(np.nanmax([np.nanmax(m) for m in matrices])))
    columns = min(4, len(names))
    rows = -(-len(names) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns + 1, 3.0 * rows), squeeze=False)
    for axis in axes.flat[len(names):]:
        axis.axis("off")
    for axis, name, matrix in zip(axes.flat, names, matrices):
        image = axis.imshow(matrix, vmin=0.0, vmax=top, cmap="viridis")
        axis.set_xticks(range(len(sensors)), sensors, rotation=60, ha="right", fontsize=7)
        axis.set_yticks(range(len(sensors)), sensors, fontsize=7)
        axis.set_title(name, fontsize=9)
        for (i, j), value in np.ndenumerate(matrix):
            if not np.isnan(value):
                axis.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color="white" if value < 0.6 * top else "black")
    figure.colorbar(image, ax=axes, shrink=0.8, label=f"MI ({report['unit']})")
    return _png(figure)


def per_frame_figure(report: dict) -> bytes:
    """Per-frame Ω along each scene (seconds from the scene's first frame), one line per condition."""
    scenes: dict[str, dict[str, tuple[list, list]]] = {}
    for name, block in report["conditions"].items():
        for frame in block["per_frame"]:
            times, values = scenes.setdefault(frame["scene"], {}).setdefault(name, ([], []))
            times.append(frame["timestamp"])
            values.append(frame["o_information"])
    columns = min(3, len(scenes))
    rows = -(-len(scenes) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.5 * columns, 3.0 * rows), squeeze=False)
    for axis in axes.flat[len(scenes):]:
        axis.axis("off")
    for axis, (scene, lines) in zip(axes.flat, sorted(scenes.items())):
        start = min(min(t) for t, _ in lines.values())
        for name, (times, values) in lines.items():
            axis.plot((np.array(times) - start) / 1e6, values, marker=".", markersize=3, linewidth=1, label=name)
        axis.set_title(scene, fontsize=9)
        axis.set_xlabel("time (s)")
        axis.set_ylabel(f"per-frame Ω ({report['unit']})")
        axis.legend(fontsize=7)
    return _png(figure)


FIGURES = {
    "measures": ("O-information, TC, DTC and S per condition (bars: bootstrap interval over the measured frames or scenes).", measures_figure),
    "share": ("What each sensor shares with all the others, I(X_i; X without i), per condition: the drop names the suspect.",
              partial(per_sensor_figure, measure="mi_rest", label="I(Xᵢ; X∖i)", title="What each sensor shares with the others")),
    "gradient": ("Gradient of O-information per sensor and condition (with three sensors every ∂ᵢΩ equals Ω).",
                 partial(per_sensor_figure, measure="o_gradient", label="∂ᵢΩ", title="Ω(X) − Ω(X without i)")),
    "mutual-information": ("Pairwise mutual information (MINDE-j) per condition.", mi_figure),
    "per-frame": ("Per-frame redundancy (mean pointwise Ω of the frame's cells) along each scene.", per_frame_figure),
}
