"""The demo's stage ledger: finished stages are skipped while their settings stay the same; from the first
stage whose settings changed on, every stage runs again on a clean folder (stand-in stages, no training)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

import deploy.demo as demo
import deploy.demo_page as demo_page
from deploy.demo import OUTPUTS, STAGES, STAGES_FILE, run_demo

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


class Interrupted(Exception):
    pass


@pytest.fixture
def stand_ins(monkeypatch):
    """Every stage replaced by one that records its call, keeps what its folders already hold, adds a file to
    each and stops when its name is in ``stop``; returns (calls, stop)."""
    calls, stop = [], set()

    def stand_in(name):
        def stage(out: Path, config, console) -> dict:
            calls.append(name)
            for part in OUTPUTS[name]:
                path = out / part
                if path.suffix:
                    path.write_text(name)
                else:
                    path.mkdir(exist_ok=True)
                    (path / f"run{len(list(path.iterdir()))}").write_text(name)
            if name in stop:
                raise Interrupted(name)
            return {"stage": name}

        return stage

    monkeypatch.setattr(demo, "STAGES", {name: stand_in(name) for name in STAGES})
    monkeypatch.setattr(demo_page, "write_summary_page", lambda out, ledger: out / "index.html")
    return calls, stop


def demo_config(folder: Path, redundancy: str = "", frames: int = 2) -> Path:
    """A demo config whose redundancy section names its own copy of the tiny redundancy config, with ``redundancy``
    appended to that copy, and whose vehicle records ``frames`` frames."""
    copy = folder / "redundancy.yaml"
    copy.write_text((CONFIGS / "redundancy_tiny.yaml").read_text() + redundancy)
    config = folder / "demo.yaml"
    config.write_text(f"training:\n  autoencoders: {CONFIGS / 'autoencoder_tiny.yaml'}\n  diffusion: {CONFIGS / 'mld_tiny.yaml'}\n"
                      f"  regressor: {CONFIGS / 'regressor_tiny.yaml'}\nredundancy:\n  config: {copy}\nvehicle:\n  frames: {frames}\n")  # fmt: skip
    return config


def test_finished_stages_are_skipped_until_their_settings_change(stand_ins, tmp_path):
    calls, _ = stand_ins
    out, quiet = tmp_path / "run", Console(quiet=True)
    config = demo_config(tmp_path, "")
    run_demo(out, config, quiet)
    assert calls == list(STAGES)
    ledger = json.loads((out / STAGES_FILE).read_text())
    assert all(entry["result"] == {"stage": name} and len(entry["settings"]) == 64 for name, entry in ledger.items())

    calls.clear()
    demo_config(tmp_path, "# a comment changes no setting\n")
    run_demo(out, config, quiet)
    assert calls == [] and json.loads((out / STAGES_FILE).read_text()) == ledger

    demo_config(tmp_path, "frame_stride: 2\n")  # read by the report and the monitor: those two and what follows
    run_demo(out, config, quiet)
    redo = ["redundancy", "monitor", "export", "recording", "vehicle"]
    assert calls == redo
    for name in STAGES:  # a stage run again starts from an empty folder; the others keep theirs
        folders = [out / part for part in OUTPUTS[name] if not Path(part).suffix]
        assert all(sorted(p.name for p in folder.iterdir()) == ["run0"] for folder in folders), name
    after = json.loads((out / STAGES_FILE).read_text())
    assert {n: after[n] for n in STAGES if n not in redo} == {n: ledger[n] for n in STAGES if n not in redo}
    assert all(after[n]["settings"] != ledger[n]["settings"] for n in ("redundancy", "monitor"))


def test_an_interrupted_stage_resumes_only_with_the_same_settings(stand_ins, tmp_path):
    calls, stop = stand_ins
    out, quiet = tmp_path / "run", Console(quiet=True)
    stop.add("recording")
    with pytest.raises(Interrupted):
        run_demo(out, demo_config(tmp_path), quiet)
    ledger = json.loads((out / STAGES_FILE).read_text())
    assert "result" not in ledger["recording"] and "settings" in ledger["recording"]

    calls.clear()
    with pytest.raises(Interrupted):
        run_demo(out, demo_config(tmp_path), quiet)  # same settings: it continues in the folder it started
    assert calls == ["recording"] and sorted(p.name for p in (out / "recording").iterdir()) == ["run0", "run1"]

    stop.clear()
    calls.clear()
    run_demo(out, demo_config(tmp_path, frames=3), quiet)  # changed while interrupted: an empty folder
    assert calls == ["recording", "vehicle"] and sorted(p.name for p in (out / "recording").iterdir()) == ["run0"]
