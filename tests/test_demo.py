"""The end-to-end demo on the smallest config: every stage runs, the page shows this run's numbers, and a
rerun resumes after the last finished stage."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deploy.cli import app
from deploy.demo import STAGES, STAGES_FILE
from tests.browser import render

TINY = Path(__file__).resolve().parents[1] / "configs" / "demo_tiny.yaml"
runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "run"
    result = runner.invoke(app, ["demo", "--out", str(out), "--config", str(TINY)])
    assert result.exit_code == 0, result.output
    return out


pytestmark = pytest.mark.slow


def test_every_stage_runs_and_the_page_shows_its_numbers(demo):
    ledger = json.loads((demo / STAGES_FILE).read_text())
    assert list(ledger) == list(STAGES)
    assert json.loads((demo / "summary.json").read_text()) == ledger
    page = (demo / "index.html").read_text()
    test_sets = ledger["evaluation"]["result"]["test_sets"]
    assert test_sets["synthetic night"]["frames"] > 0
    for test_set in test_sets.values():
        if test_set["frames"]:
            night = test_set["methods"]["night input"]["psnr"]
            assert f"{night['mean']:.2f} ± {night['std']:.2f}" in page
    assert ledger["diffusion"]["result"]["loss_after"] < ledger["diffusion"]["result"]["loss_before"]
    assert ledger["vehicle"]["result"]["status"] == {"ok": 2}
    rates = ledger["monitor"]["result"]["flag_rates"]  # 4 held-out frames of a monitor fitted on 12
    assert rates["camera_blackout"]["flagged"] > rates["nominal"]["flagged"]
    # every link and image on the page points at a file the run wrote
    for target in re.findall(r'(?:href|src)="([^"]+)"', page):
        assert (demo / target).exists(), target


@pytest.mark.browser
def test_summary_page_shows_its_figures_and_tables_in_headless_chromium(demo, tmp_path):
    page = render(demo / "index.html", tmp_path)
    images = re.findall(r"<img ", page.dom)
    assert len(images) >= 3  # evaluation grid, darkness plot, vehicle frames
    assert re.search(rf'id="figure-status"[^>]*>{len(images)} of {len(images)} figures rendered<', page.dom), page.dom[:500]
    tables = re.findall(r"<table>.*?</table>", page.dom, flags=re.S)
    evaluation = json.loads((demo / STAGES_FILE).read_text())["evaluation"]["result"]["test_sets"]
    for name, test_set in ((n, t) for n, t in evaluation.items() if t["frames"]):
        constant = test_set["methods"]["constant (train mean day)"]["psnr"]
        assert any(f"{constant['mean']:.2f} ± {constant['std']:.2f}" in table for table in tables), name
    assert len(page.coloured_rows()) > 0.03 * page.screenshot.shape[0]  # the frames and plots are drawn


def test_rerun_resumes_after_the_last_finished_stage(demo):
    ledger = json.loads((demo / STAGES_FILE).read_text())
    model_files = {p: p.stat().st_mtime_ns for p in (demo / "mld").rglob("*") if p.is_file()}
    interrupted = {name: entry for name, entry in ledger.items() if name not in ("recording", "vehicle")}
    (demo / STAGES_FILE).write_text(json.dumps(interrupted))
    shutil.rmtree(demo / "vehicle")
    result = runner.invoke(app, ["demo", "--out", str(demo), "--config", str(TINY)])
    assert result.exit_code == 0, result.output
    assert "diffusion finished earlier" in result.output
    resumed = json.loads((demo / STAGES_FILE).read_text())
    assert list(resumed) == list(STAGES)
    assert {k: resumed[k] for k in interrupted} == interrupted  # finished stages are not redone
    assert resumed["vehicle"]["result"]["frames"] == 2 and (demo / "vehicle" / "summary.json").is_file()
    assert {p: p.stat().st_mtime_ns for p in model_files} == model_files


def test_a_bad_demo_config_is_one_line(tmp_path):
    config = tmp_path / "demo.yaml"
    config.write_text("world:\n  scenes: 1\n")
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "out"), "--config", str(config)])
    assert result.exit_code != 0 and not (tmp_path / "out").exists()
    assert "scenes" in str(result.exception or result.output)
