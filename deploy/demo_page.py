"""The demo's summary page: one self-contained HTML file linking every stage's artefacts.

Reads only the stage results recorded in ``stages.json`` and the files the stages wrote, so the
page shows the numbers measured in that run.
"""

from __future__ import annotations

import html
from pathlib import Path

from fusion.redundancy.html import FIGURE_CHECK_SCRIPT
from preprocessing.atomic import atomic_write_json, atomic_write_text

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}img{max-width:100%;border:1px solid #ddd}
h2{border-bottom:1px solid #ddd;margin-top:1.6em}.muted{color:#777}"""


def table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.0f}"
    if isinstance(value, dict) and "mean" in value:
        return f"{value['mean']:.2f} ± {value['std']:.2f}"
    return "—" if value is None else str(value)


def link(out: Path, path: str | Path, text: str | None = None) -> str:
    relative = Path(path).resolve().relative_to(out.resolve())
    return f'<a href="{html.escape(str(relative))}">{html.escape(text or str(relative))}</a>'


def image(out: Path, path: Path) -> str:
    return f'<p><img src="{html.escape(str(path.resolve().relative_to(out.resolve())))}"></p>' if path.is_file() else ""


def section(title: str, seconds: float, body: str) -> str:
    return f'<h2>{html.escape(title)} <span class="muted">({seconds:.0f} s)</span></h2>{body}'


def world_section(out: Path, result: dict) -> str:
    rows = [[s["name"], s["description"], s["samples"]] for s in result["scenes"]]
    return (f"<p>{link(out, result['dataroot'], 'nuScenes-format dataroot')}: {result['sample_data']} sample_data, "
            f"{result['annotations']} annotations.</p>" + table(["scene", "description", "keyframes"], rows))  # fmt: skip


def ingest_section(out: Path, result: dict) -> str:
    rows = [[key, result[key]] for key in ("planned", "written", "skipped", "night_scenes", "by_split") if key in result]
    return f"<p>{link(out, result['shards'], 'shards')} (manifest.json inside)</p>" + table(["", ""], rows)


def autoencoder_section(out: Path, result: dict) -> str:
    rows = [[name, ", ".join(f"{k} {cell(v)}" for k, v in metrics.items())] for name, metrics in result["metrics"].items()]
    return (f"<p>{link(out, result['folder'], 'autoencoders')} (validation split; PSNR in dB, MAE in m for depth)</p>"
            + table(["autoencoder", "held-out metrics, steps trained, precision, training throughput"], rows))  # fmt: skip


def diffusion_section(out: Path, result: dict) -> str:
    rows = [[k, result[k]] for k in ("steps", "loss_before", "loss_after") if k in result]
    return f"<p>{link(out, result['folder'], 'model folder')}</p>" + table(["", ""], rows)


def regressor_section(out: Path, result: dict) -> str:
    rows = [[k, result[k]] for k in ("steps", "frames", "loss_before", "loss_after", "seconds") if k in result]
    return f"<p>{link(out, result['folder'], 'regressor folder')} (L1 loss in [-1, 1] units)</p>" + table(["", ""], rows)


def evaluation_section(out: Path, result: dict) -> str:
    folder = Path(result["folder"])
    parts = [f"<p>{link(out, folder / 'metrics.json')} · {link(out, folder / 'metrics.md')}. The constant row is the mean "
             "day frame of the training split: it ignores its input, so a method that does not beat it has not "
             "enhanced anything. GMSD is lower-better and a blur cannot win it.</p>"]  # fmt: skip
    for name, test_set in result["test_sets"].items():
        if not test_set["frames"]:
            parts.append(f"<h3>{html.escape(name)}: no frames</h3>")
            continue
        rows = [[method, m["psnr"], m["ssim"], m["gmsd"], m["lpips"]] for method, m in test_set["methods"].items()]
        parts.append(f"<h3>{html.escape(name)} ({test_set['frames']} frames, scenes {html.escape(', '.join(test_set['scenes']))})</h3>"
                     + table(["method", "PSNR (dB)", "SSIM", "GMSD ↓", "LPIPS"], rows))  # fmt: skip
        quartiles = test_set["by_darkness"]
        header = ["method"] + [f"Q{q['quartile']} luma {q['luminance'][0]:.0f}–{q['luminance'][1]:.0f}" for q in quartiles]
        dark = [[method] + [f"{q['methods'][method]['psnr']:.2f}" for q in quartiles] for method in test_set["methods"]]
        parts.append("<p>PSNR (dB) by darkness quartile of the night frame (Q1 darkest):</p>" + table(header, dark))
    return "".join(parts) + image(out, folder / "grid.png") + image(out, folder / "psnr_by_darkness.png")


def redundancy_section(out: Path, result: dict) -> str:
    rows = [[name, c["o_information"], c["s_information"], c["suspect"]] for name, c in result["conditions"].items()]
    return f"<p>{link(out, result['page'], 'full report with plots')}</p>" + table(["condition", "Ω (nats)", "S (nats)", "suspect"], rows)


def monitor_section(out: Path, result: dict) -> str:
    rows = [[fault, s["frames"], s["flagged"], s["rate"]] for fault, s in result["flag_rates"].items()]
    return (f"<p>{link(out, result['folder'], 'monitor')}: flag rates on the held-out ({result['split']}) day frames; "
            "the nominal row is the false-alarm rate.</p>" + table(["condition", "frames", "flagged", "rate"], rows))  # fmt: skip


def export_section(out: Path, result: dict) -> str:
    rows = [[name, diff] for name, diff in result["parity_max_abs_diff"].items()]
    return f"<p>{link(out, result['folder'], 'ONNX folder')} (manifest.json)</p>" + table(["graph", "max |onnx − torch|"], rows)


def vehicle_section(out: Path, result: dict) -> str:
    frames = sorted((out / "vehicle" / "frames").glob("*.png"))[:4]
    latency = result.get("latency_ms") or {}
    rows = [["frames", result.get("frames")], ["status", result.get("status")], ["flags", result.get("flags")]]
    rows += [[f"latency {k} (ms)", v] for k, v in latency.items() if isinstance(v, (int, float))]
    return table(["", ""], rows) + "".join(image(out, f) for f in frames)


SECTIONS = {
    "world": ("Synthetic world (nuScenes format)", world_section),
    "ingest": ("Ingestion: projection and night synthesis", ingest_section),
    "autoencoders": ("Modality autoencoders", autoencoder_section),
    "diffusion": ("Masked multi-time latent diffusion: training", diffusion_section),
    "regressor": ("Direct regressor (supervised baseline): training", regressor_section),
    "evaluation": ("Night → day on held-out frames (Table 3.5)", evaluation_section),
    "redundancy": ("Sensor-redundancy report", redundancy_section),
    "monitor": ("Online redundancy monitor", monitor_section),
    "export": ("ONNX export", export_section),
    "recording": ("Vehicle recording", lambda out, r: table(["", ""], [[k, v] for k, v in r.items()])),
    "vehicle": ("Vehicle runtime (onnxruntime, no torch) on the world's night frames", vehicle_section),
}


def write_summary_page(out: Path, ledger: dict) -> Path:
    """``OUT/index.html`` and ``OUT/summary.json`` (the stage results)."""
    parts = [section(SECTIONS[name][0], entry["seconds"], SECTIONS[name][1](out, entry["result"]))
             for name, entry in ledger.items()]  # fmt: skip
    total = sum(entry["seconds"] for entry in ledger.values())
    page = (f"<!doctype html><meta charset='utf-8'><title>nightfusion demo</title><style>{STYLE}</style>"
            f"<h1>nightfusion demo</h1><p>Every number below was measured by this run "
            f"({total / 60:.1f} min of stage time); {link(out, out / 'summary.json')} holds them all.</p>"
            "<p id='figure-status' class='muted'>figures not checked (scripts disabled)</p>" + "".join(parts)
            + f"<script>{FIGURE_CHECK_SCRIPT}</script>")  # fmt: skip
    atomic_write_json(out / "summary.json", ledger)
    atomic_write_text(out / "index.html", page)
    return out / "index.html"
