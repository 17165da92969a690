"""The redundancy report on the generated world: what it measures, how it reacts to faults, resume, HTML."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from fusion.redundancy.collect import load_records, select_records
from fusion.redundancy.intervals import bootstrap_interval
from fusion.redundancy.scenes import describe
from preprocessing.errors import UserError
from tests.browser import render
from tests.fixtures.redundancy import tiny_config

SCALARS = ("o_information", "tc", "dtc", "s_information")


def measure(report: dict, condition: str, name: str):
    return report["conditions"][condition]["measures"][name]


def test_report_holds_every_measure_per_condition(redundancy_report):
    report = redundancy_report.report
    assert report["sensors"] == ["camera", "radar", "lidar"] and report["silent_sensors"] == []
    assert list(report["conditions"]) == ["day", "camera_blackout", "lidar_dropout", "control_radar_noise"]
    assert json.loads((redundancy_report.out / "report.json").read_text()) == report
    for name, block in report["conditions"].items():
        m = block["measures"]
        tc, dtc = m["tc"]["value"], m["dtc"]["value"]
        # Ω = TC − DTC and S = TC + DTC per seed (the combination of the estimator's divergences)
        assert m["o_information"]["value"] == pytest.approx(tc - dtc, abs=1e-5)
        assert m["s_information"]["value"] == pytest.approx(tc + dtc, abs=1e-5)
        for key in SCALARS:
            low, high = m[key]["interval"]
            assert low < m[key]["value"] < high, (name, key)
        assert len(m["o_gradient"]["value"]) == 3 and len(m["mi_rest"]["interval"][1]) == 3
        mi = np.array([[np.nan if v is None else v for v in row] for row in m["mi_j"]["value"]])
        assert mi.shape == (3, 3) and np.isnan(np.diag(mi)).all()
        assert np.allclose(mi, mi.T, equal_nan=True) and (mi[~np.isnan(mi)] > 0).all()


def test_the_gaussian_copula_stands_beside_every_measure(redundancy_report):
    """Its Ω is its TC − DTC, its flag says whether it lies outside the estimate's interval, and for the
    radar replaced by independent noise its MI with the other sensors is ≈ 0 (closed form: 0)."""
    report = redundancy_report.report
    for name, block in report["conditions"].items():
        m = block["measures"]
        copula = {key: m[key]["gaussian_copula"]["value"] for key in SCALARS}
        assert copula["o_information"] == pytest.approx(copula["tc"] - copula["dtc"], abs=1e-5), name
        for key in SCALARS:
            low, high = m[key]["interval"]
            assert m[key]["gaussian_copula"]["outside_interval"] == (not low <= copula[key] <= high), (name, key)
    noise = report["conditions"]["control_radar_noise"]["measures"]["mi_j"]["gaussian_copula"]["value"]
    radar = report["sensors"].index("radar")
    assert all(noise[radar][other] < 0.02 for other in range(3) if other != radar), noise


def test_fitted_and_measured_frames_are_whole_scenes_apart(redundancy_report, redundancy_shards):
    """report.json names both frame sets; they are the two day scenes of the world, one each, and the per-frame
    values are of the measured scene only."""
    day = select_records(load_records(redundancy_shards), "day")
    scenes = sorted({r["scene_name"] for r in day})
    assert len(scenes) == 2
    for block in redundancy_report.report["conditions"].values():
        fit, measured = block["frames"]["fit"], block["frames"]["measured"]
        assert (fit["scenes"], measured["scenes"]) == ([scenes[0]], [scenes[1]])
        assert fit == describe([r for r in day if r["scene_name"] == scenes[0]])
        assert measured == describe([r for r in day if r["scene_name"] == scenes[1]])
        assert fit["sha256"] != measured["sha256"] and fit["frames"] + measured["frames"] == len(day) == 50
        assert {f["scene"] for f in block["per_frame"]} == {scenes[1]} and len(block["per_frame"]) == measured["frames"]



def test_select_records_strides_each_scene_from_its_own_first_frame():
    """Scenes of 5 and 4 frames, given out of order: stride 2 keeps times 0, 2, 4 of the first and 0, 2 of the second
    (a stride over the concatenated list would start the second scene at its time 1)."""
    records = [{"scene_name": scene, "timestamp": t, "night_scene": False, "split": "train"} for scene, n in (("a", 5), ("b", 4)) for t in range(n)]
    shuffled = [records[i] for i in np.random.default_rng(0).permutation(len(records))]
    chosen = select_records(shuffled, "day", stride=2)
    assert [(r["scene_name"], r["timestamp"]) for r in chosen] == [("a", 0), ("a", 2), ("a", 4), ("b", 0), ("b", 2)]


def test_frame_stride_analyses_every_kth_frame_of_each_scene_in_time_order(redundancy_shards, autoencoders, tmp_path):
    """``frame_stride: 3`` on the two 25-frame day scenes: per scene the frames at times 0, 3, …, 24 (9 each); report.json's
    frame sets (count, scenes, SHA-256 of the keys) and per-frame values are exactly those, for a nominal and a faulted
    condition (whose unfaulted sensors come from the nominal frames). A short fit: only the frame sets are checked."""
    from fusion.redundancy.report import run_report

    stride = 3
    estimator = tiny_config().estimator.model_copy(update={"steps": 20}).model_dump()
    conditions = [{"name": "day", "scenes": "day"}, {"name": "lidar_dropout", "scenes": "day", "faults": [{"kind": "lidar_dropout"}]}]
    report = run_report(redundancy_shards, autoencoders, tmp_path / "report",
                        tiny_config(frame_stride=stride, conditions=conditions, estimator=estimator))  # fmt: skip
    day = [r for r in load_records(redundancy_shards) if not r["night_scene"]]
    scenes = sorted({r["scene_name"] for r in day})
    kept = {s: sorted((r for r in day if r["scene_name"] == s), key=lambda r: r["timestamp"])[::stride] for s in scenes}
    assert [len(kept[s]) for s in scenes] == [9, 9]
    for block in report["conditions"].values():
        assert block["frames"]["fit"] == describe(kept[scenes[0]])
        assert block["frames"]["measured"] == describe(kept[scenes[1]])
        assert [(f["key"], f["timestamp"]) for f in block["per_frame"]] == [(r["key"], r["timestamp"]) for r in kept[scenes[1]]]

def test_intervals_are_a_bootstrap_over_measured_frames(redundancy_report):
    """With one seed and ``unit: frame`` the interval is the bootstrap of the per-frame values the report holds."""
    config = tiny_config()
    for block in redundancy_report.report["conditions"].values():
        per_frame = np.array([[f["o_information"] for f in block["per_frame"]]])
        keys = np.array([f["key"] for f in block["per_frame"]])
        low, high = bootstrap_interval(per_frame, keys, config.interval)
        assert block["measures"]["o_information"]["interval"] == pytest.approx([float(low), float(high)], abs=1e-5)
        # frames differ far more than the Monte-Carlo error of the integral over their cells says
        assert high - low > 2 * block["measures"]["o_information"]["mc_stderr"]


def test_per_frame_redundancy_averages_to_the_condition_value(redundancy_report):
    """Per-frame Ω are means of the pointwise contributions, so with equal cells per frame they average to Ω."""
    for block in redundancy_report.report["conditions"].values():
        frames = block["per_frame"]
        assert len(frames) == block["frames"]["measured"]["frames"] and len({f["key"] for f in frames}) == len(frames)
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
        assert faulted["interval"][1] < day["interval"][0] and faulted["value"] < 0.8 * day["value"], fault
        assert report["conditions"][fault]["attribution"]["omega_change"] < 0


def test_the_share_drop_names_the_faulted_sensor(redundancy_report):
    report = redundancy_report.report
    for condition, sensor in (("camera_blackout", "camera"), ("lidar_dropout", "lidar"), ("control_radar_noise", "radar")):
        block = report["conditions"][condition]
        assert block["targets"] == [sensor]
        attribution = block["attribution"]
        assert attribution["suspect"] == sensor and attribution["separated"], attribution
        shares = dict(zip(report["sensors"], block["measures"]["mi_rest"]["value"]))
        assert shares[sensor] < 0.4 * min(v for name, v in shares.items() if name != sensor)


def test_radar_replaced_by_noise_reads_as_the_closed_form_says(redundancy_report):
    """Independent noise shares nothing (MI 0) while camera and LiDAR still share what they did; Ω of the
    three is then Ω of a pair, 0. The tiny estimator (1500 steps, one scene) still reads 0.3–0.4 nats of MI
    for the noise — its floor, which is what the control is there to show (the closed-form world of
    tests/test_redundancy_controls.py, trained longer, reads < 0.05)."""
    report = redundancy_report.report
    noise, day = report["conditions"]["control_radar_noise"]["measures"], report["conditions"]["day"]["measures"]
    camera, radar, lidar = (report["sensors"].index(name) for name in ("camera", "radar", "lidar"))
    high = noise["mi_j"]["interval"][1]
    for other in (camera, lidar):
        assert high[radar][other] < 0.6 * noise["mi_j"]["value"][camera][lidar]
        assert high[radar][other] < 0.6 * day["mi_j"]["value"][radar][other]
    assert noise["mi_j"]["value"][camera][lidar] > 0.5 * day["mi_j"]["value"][camera][lidar] > 0.1
    assert abs(noise["o_information"]["value"]) < 0.4 * day["o_information"]["value"]  # 1.5 of 4.6 nats: the floor again


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
    assert len(re.findall(r'<img alt="[^"]*" src="data:image/png;base64,', html)) == 5
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing to fetch
    for condition in redundancy_report.report["conditions"]:
        assert condition in html


@pytest.mark.browser
def test_report_page_shows_its_figures_and_tables_in_headless_chromium(redundancy_report, tmp_path):
    page = render(redundancy_report.out / "report.html", tmp_path)
    # the page's own script counts the <img> the browser decoded (naturalWidth > 0)
    assert re.search(r'id="figure-status"[^>]*>5 of 5 figures rendered<', page.dom), page.dom[:500]
    tables = re.findall(r"<table>.*?</table>", page.dom, flags=re.S)
    assert len(tables) == 3  # measures per condition, shares, ∂ᵢΩ
    for name, block in redundancy_report.report["conditions"].items():
        omega = block["measures"]["o_information"]
        assert f"{omega['value']:.3f} [{omega['interval'][0]:.3f}, {omega['interval'][1]:.3f}]" in tables[0], name
        assert f"copula {omega['gaussian_copula']['value']:.3f}" in tables[0], name
    assert 'id="what-the-bars-are"' in page.dom and "bootstrap" in page.dom
    rows = page.coloured_rows()
    assert len(rows) > 0.05 * page.screenshot.shape[0] and rows.max() - rows.min() > 1000  # figures spread down the page
