"""The report as one self-contained HTML page: inline CSS, plots embedded as base64 PNG, no network.

A short inline script counts the figures the browser actually decoded and writes the result into
``#figure-status`` (the headless-browser test reads it back).
"""

from __future__ import annotations

import base64
from html import escape

from fusion.redundancy.plots import FIGURES, MEASURE_LABELS

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; } .note { color: #555; }
"""

SCRIPT = """
window.addEventListener("load", function () {
  var images = document.querySelectorAll("figure img");
  var shown = Array.prototype.filter.call(images, function (img) { return img.complete && img.naturalWidth > 0; });
  document.getElementById("figure-status").textContent = shown.length + " of " + images.length + " figures rendered";
});
"""


def _number(value, error=None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if error is None else f"{value:.3f} ± {error:.3f}"


def _summary_table(report: dict) -> str:
    head = "".join(f"<th>{escape(label)}</th>" for label in MEASURE_LABELS.values())
    rows = []
    for name, block in report["conditions"].items():
        measures = block["measures"]
        cells = "".join(f"<td>{_number(measures[m]['value'], measures[m]['error'])}</td>" for m in MEASURE_LABELS)
        suspect = block.get("attribution", {}).get("suspect", "")
        faults = ", ".join(block["faults"]) or "none"
        rows.append(
            f"<tr><td>{escape(name)}</td><td>{escape(block['scenes'])}</td><td>{escape(faults)}</td>"
            f"<td>{block['frames']}</td>{cells}<td>{escape(suspect)}</td></tr>"
        )
    return (
        f"<table><tr><th>condition</th><th>scenes</th><th>faults</th><th>frames</th>{head}<th>suspect</th></tr>"
        + "".join(rows) + "</table>"
    )  # fmt: skip


def _gradient_table(report: dict) -> str:
    sensors = report["sensors"]
    rows = []
    for name, block in report["conditions"].items():
        gradient = block["measures"].get("o_gradient")
        if gradient is None:
            continue
        cells = "".join(f"<td>{_number(v, e)}</td>" for v, e in zip(gradient["value"], gradient["error"]))
        rows.append(f"<tr><td>{escape(name)}</td>{cells}</tr>")
    head = "".join(f"<th>{escape(s)}</th>" for s in sensors)
    return f"<table><tr><th>∂ᵢΩ</th>{head}</tr>{''.join(rows)}</table>" if rows else ""


def _figure(name: str, caption: str, png: bytes) -> str:
    data = base64.b64encode(png).decode()
    return (
        f'<figure id="{name}"><img alt="{escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def render_html(report: dict) -> str:
    """The complete page for a report dict."""
    with_gradient = any("o_gradient" in b["measures"] for b in report["conditions"].values())
    figures = "".join(
        _figure(name, caption, make(report)) for name, (caption, make) in FIGURES.items() if name != "gradient" or with_gradient
    )
    silent = ", ".join(report["silent_sensors"]) or "none"
    skipped = "".join(f"<li>{escape(name)}: {escape(reason)}</li>" for name, reason in report["skipped_conditions"].items())
    uncertainty = f"std over {len(report['seeds'])} estimator seeds" if len(report["seeds"]) > 1 else "Monte-Carlo standard error (one seed)"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sensor redundancy report</title><style>{STYLE}</style></head>
<body>
<h1>Sensor redundancy report</h1>
<p class="note">Sensors: {escape(", ".join(report["sensors"]))} (silent, left out: {escape(silent)}).
Unit: {report["unit"]}. Uncertainty: {uncertainty}, {report["mc_repeats"]} Monte-Carlo repeats.
Descriptor: normalised latents pooled over {report["descriptor"]["cell"]}×{report["descriptor"]["cell"]} latent cells
({report["descriptor"]["cells_per_frame"]} samples per frame). Reference condition: {escape(report["reference"])}.
Ω &gt; 0: the sensors back each other up (redundancy); Ω &lt; 0: they only make sense together (synergy).</p>
<p id="figure-status" class="note">figures not checked (scripts disabled)</p>
<h2>Measures per condition</h2>
{_summary_table(report)}
{f"<p class='note'>Conditions left out:</p><ul>{skipped}</ul>" if skipped else ""}
<h2>Gradient of O-information per sensor</h2>
{_gradient_table(report)}
<h2>Figures</h2>
{figures}
<script>{SCRIPT}</script>
</body></html>
"""
