"""The redundancy report on the generated world: what it measures, how it reacts to faults, resume, HTML."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from preprocessing.errors import UserError
from tests.fixtures.redundancy import tiny_config

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def measure(report: dict, condition: str, name: str):
    return report["conditions"][condition]["measures"][name]


def test_report_holds_every_measure_per_condition(redundancy_report):
    report = redundancy_report.report
    assert report["sensors"] == ["camera", "radar", "lidar"] and report["silent_sensors"] == []
    assert list(report["conditions"]) == ["day", "camera_blackout", "lidar_dropout"]
    assert json.loads((redundancy_report.out / "report.json").read_text()) == report
    for name, block in report["conditions"].items():
        m = block["measures"]
        tc, dtc = m["tc"]["value"], m["dtc"]["value"]
        # Ω = TC − DTC and S = TC + DTC per seed (the combination of the estimator's divergences)
        assert m["o_information"]["value"] == pytest.approx(tc - dtc, abs=1e-5)
        assert m["s_information"]["value"] == pytest.approx(tc + dtc, abs=1e-5)
        assert all(m[k]["error"] > 0 for k in ("o_information", "tc", "dtc", "s_information"))
        assert len(m["o_gradient"]["value"]) == 3 and len(m["o_gradient"]["error"]) == 3
        mi = np.array([[np.nan if v is None else v for v in row] for row in m["mi_j"]["value"]])
        assert mi.shape == (3, 3) and np.isnan(np.diag(mi)).all()
        assert np.allclose(mi, mi.T, equal_nan=True) and (mi[~np.isnan(mi)] > 0).all()
        assert block["frames"] == 50 and block["samples"] == 50 * report["descriptor"]["cells_per_frame"]


def test_per_frame_redundancy_averages_to_the_condition_value(redundancy_report):
    """Per-frame Ω are means of the pointwise contributions, so with equal cells per frame they average to Ω."""
    for block in redundancy_report.report["conditions"].values():
        frames = block["per_frame"]
        assert len(frames) == block["frames"] and len({f["key"] for f in frames}) == len(frames)
        for name in ("o_information", "tc", "dtc"):
            assert np.mean([f[name] for f in frames]) == pytest.approx(block["measures"][name]["value"], abs=1e-4)
        scenes = {f["scene"] for f in frames}
        for scene in scenes:
            times = [f["timestamp"] for f in frames if f["scene"] == scene]
            assert times == sorted(times)


def test_redundancy_falls_when_a_sensor_is_blacked_out_or_dropped(redundancy_report):
    report = redundancy_report.report
    day = measure(report, "day", "o_information")
    assert day["value"] > 0.3  # camera, LiDAR and radar describe the same street: redundancy dominates
    for fault in ("camera_blackout", "lidar_dropout"):
        faulted = measure(report, fault, "o_information")
        margin = 3 * max(day["error"], faulted["error"])
        assert faulted["value"] < day["value"] - max(margin, 0.2 * day["value"]), fault
        assert report["conditions"][fault]["attribution"]["omega_change"] < 0


def test_gradient_singles_out_the_faulted_sensor(redundancy_report):
    report = redundancy_report.report
    for fault, sensor in (("camera_blackout", "camera"), ("lidar_dropout", "lidar")):
        block = report["conditions"][fault]
        assert block["targets"] == [sensor]
        assert block["attribution"]["suspect"] == sensor
        change = block["attribution"]["gradient_change"]
        others = [change[name] for name in report["sensors"] if name != sensor]
        assert change[sensor] < min(others), change
    # a blacked-out camera no longer contributes to the redundancy at all
    gradient = dict(zip(report["sensors"], measure(report, "camera_blackout", "o_gradient")["value"]))
    assert gradient["camera"] < 0.25 * max(gradient["radar"], gradient["lidar"])


def test_resume_reuses_finished_conditions_and_refuses_other_settings(redundancy_report, redundancy_shards, autoencoders, monkeypatch):
    from fusion.redundancy import report as report_module

    def fail(*args, **kwargs):
        raise AssertionError("a finished condition was estimated again")

    monkeypatch.setattr(report_module, "estimate_condition", fail)
    out = redundancy_report.out
    again = report_module.run_report(redundancy_shards, autoencoders, out, tiny_config(), resume=True)
    assert again == redundancy_report.report
    with pytest.raises(UserError, match="not empty"):
        report_module.run_report(redundancy_shards, autoencoders, out, tiny_config())
    with pytest.raises(UserError, match="other data, autoencoders or settings"):
        report_module.run_report(redundancy_shards, autoencoders, out, tiny_config(dither=0.1), resume=True)


def test_html_is_self_contained(redundancy_report):
    html = (redundancy_report.out / "report.html").read_text()
    assert len(re.findall(r'<img alt="[^"]*" src="data:image/png;base64,', html)) == 4
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing to fetch
    for condition in redundancy_report.report["conditions"]:
        assert condition in html


def _chromium(*args: str, tmp_path) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"]  # fmt: skip
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=180)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/setup.sh: apt-get install -y chromium)")
def test_report_page_shows_its_figures_in_headless_chromium(redundancy_report, tmp_path):
    import cv2

    page = (redundancy_report.out / "report.html").resolve().as_uri()
    dom = _chromium("--dump-dom", page, tmp_path=tmp_path).stdout
    # the page's own script counts the <img> the browser decoded (naturalWidth > 0)
    assert re.search(r'id="figure-status"[^>]*>4 of 4 figures rendered<', dom), dom[:500]
    shot = tmp_path / "page.png"
    _chromium(f"--screenshot={shot}", "--window-size=1200,3600", "--hide-scrollbars", page, tmp_path=tmp_path)
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[:2] == (3600, 1200)
    colourful = (image.max(axis=2).astype(int) - image.min(axis=2)) > 60  # plot colours, not text or white
    rows = np.flatnonzero(colourful.any(axis=1))
    assert colourful.mean() > 0.01 and rows.max() - rows.min() > 1000  # coloured figures spread down the page
