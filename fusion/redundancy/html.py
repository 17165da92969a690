"""The report as one self-contained HTML page: inline CSS, plots embedded as base64 PNG, no network.

A short inline script counts the figures the browser actually decoded and writes the result into
``#figure-status`` (the headless-browser tests read it back; the demo's summary page uses it too).
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
figcaption { color: #555; font-size: 0.9em; } .note { color: #555; } .copula { color: #777; font-size: 0.85em; }
"""

FIGURE_CHECK_SCRIPT = """
window.addEventListener("load", function () {
  var images = document.querySelectorAll("img");
  var shown = Array.prototype.filter.call(images, function (img) { return img.complete && img.naturalWidth > 0; });
  document.getElementById("figure-status").textContent = shown.length + " of " + images.length + " figures rendered";
});
"""


def _number(value, interval=None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if interval is None else f"{value:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]"


def _copula(measure: dict) -> str:
    """The Gaussian-copula value under an estimate, marked ≠ when it lies outside the estimate's interval."""
    copula = measure.get("gaussian_copula")
    if copula is None or copula["value"] is None:
        return ""
    mark = " ≠" if copula["outside_interval"] else ""
    return f"<br><span class='copula'>copula {copula['value']:.3f}{mark}</span>"


def _frames(block: dict) -> str:
    fit, measured = block["frames"]["fit"], block["frames"]["measured"]
    return f"{fit['frames']} ({len(fit['scenes'])}) / {measured['frames']} ({len(measured['scenes'])})"


def _summary_table(report: dict) -> str:
    head = "".join(f"<th>{escape(label)}</th>" for label in MEASURE_LABELS.values())
    rows = []
    for name, block in report["conditions"].items():
        measures = block["measures"]
        cells = "".join(f"<td>{_number(measures[m]['value'], measures[m]['interval'])}{_copula(measures[m])}</td>" for m in MEASURE_LABELS)
        attribution = block.get("attribution", {})
        suspect = attribution.get("suspect", "")
        if suspect and not attribution["separated"]:
            suspect += " (not separated)"
        faults = ", ".join(block["faults"]) or "none"
        rows.append(
            f"<tr><td>{escape(name)}</td><td>{escape(block['scenes'])}</td><td>{escape(faults)}</td>"
            f"<td>{_frames(block)}</td>{cells}<td>{escape(suspect)}</td></tr>"
        )
    return (
        f"<table><tr><th>condition</th><th>scenes</th><th>faults / control</th><th>frames (scenes) fit / measured</th>{head}"
        "<th>suspect</th></tr>" + "".join(rows) + "</table>"
    )  # fmt: skip


def _per_sensor_table(report: dict, measure: str, label: str) -> str:
    rows = []
    for name, block in report["conditions"].items():
        values = block["measures"].get(measure)
        if values is None:
            continue
        cells = "".join(f"<td>{_number(v, (lo, hi))}</td>" for v, lo, hi in zip(values["value"], *values["interval"]))
        rows.append(f"<tr><td>{escape(name)}</td>{cells}</tr>")
    head = "".join(f"<th>{escape(s)}</th>" for s in report["sensors"])
    return f"<table><tr><th>{escape(label)}</th>{head}</tr>{''.join(rows)}</table>" if rows else ""


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
    interval, holdout = report["interval"], report["holdout"]
    seeds = f" and one of the {len(report['seeds'])} estimator seeds" if len(report["seeds"]) > 1 else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sensor redundancy report</title><style>{STYLE}</style></head>
<body>
<h1>Sensor redundancy report</h1>
<p class="note">Sensors: {escape(", ".join(report["sensors"]))} (silent, left out: {escape(silent)}).
Unit: {report["unit"]}. Descriptor: normalised latents pooled over {report["descriptor"]["cell"]}×{report["descriptor"]["cell"]}
latent cells ({report["descriptor"]["cells_per_frame"]} samples per frame). Reference condition: {escape(report["reference"])}.
Ω &gt; 0: the sensors back each other up (redundancy); Ω &lt; 0: they only make sense together (synergy).</p>
<p class="note" id="what-the-bars-are"><b>Out of sample:</b> per condition the estimator is fitted on the frames of some
scenes and measured on the frames of other scenes (each lighting group's scenes dealt to {holdout["folds"]} folds, fold
{holdout["held_out"]} measured). <b>Brackets and bars</b> are {100 * interval["level"]:.0f} % bootstrap intervals: the
measured {escape(interval["unit"])}s are drawn again with replacement{seeds}, {interval["resamples"]} times; they say how
much the value depends on which {escape(interval["unit"])}s were measured. Frames of one scene are alike, so with
<code>unit: frame</code> the interval is narrower than a new scene would justify. They are not Monte-Carlo errors
({report["mc_repeats"]} repeats per estimate, in <code>report.json</code> as <code>mc_stderr</code>).
<b>Suspect</b>: the sensor whose share I(X<sub>i</sub>; X∖i) drops the most, as a fraction of its share in {escape(report["reference"])};
"not separated" when its interval still overlaps the nominal one — then the report does not know.
<b>copula</b>: the Gaussian-copula value of the same measure on the same measured samples (milliseconds to compute,
exact when the cells are monotone transforms of a Gaussian); ≠ marks a copula value outside the interval: the
dependence is not Gaussian there, or the estimator is off.</p>
<p id="figure-status" class="note">figures not checked (scripts disabled)</p>
<h2>Measures per condition</h2>
{_summary_table(report)}
{f"<p class='note'>Conditions left out:</p><ul>{skipped}</ul>" if skipped else ""}
<h2>What each sensor shares with the others, I(X<sub>i</sub>; X∖i)</h2>
{_per_sensor_table(report, "mi_rest", "I(Xᵢ; X∖i)")}
<h2>Gradient of O-information per sensor</h2>
<p class="note">∂ᵢΩ = Ω(X) − Ω(X without i). With three sensors it equals Ω for every sensor (the O-information of
two variables is 0), so differences between sensors are estimator error; it attributes only with four sensors or more.</p>
{_per_sensor_table(report, "o_gradient", "∂ᵢΩ")}
<h2>Figures</h2>
{figures}
<script>{FIGURE_CHECK_SCRIPT}</script>
</body></html>
"""
