"""Hostile and broken inputs through the real ``nightfusion`` entry point (issue 20).

Every case ends in one ``error:`` line and its documented exit code — 2 for bad input, 3 for a run
that produced nothing — never in a traceback (``main`` lets any other exception through, which fails
the test), and nothing is written from an unchecked input. The runtime's per-frame flags are in
``test_deploy_degraded.py``, corrupt samples in ``test_ingest_corrupt.py``, killed workers in
``test_ingest_resume.py``, bad ``info`` data in ``test_information_cli.py``.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from deploy.cli import main
from deploy.runtime.manifest import MANIFEST_FILE
from tests.fixtures.deploy import write_frame

CONFIGS = Path(__file__).parents[1] / "configs"


def run(capsys, *argv) -> tuple[int, str]:
    """(exit code, stderr) of ``nightfusion ARGV`` run in-process."""
    with pytest.raises(SystemExit) as ended:
        main([str(arg) for arg in argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return ended.value.code, err


def error_line(err: str) -> str:
    """The one ``error:`` line of a run's stderr."""
    [line] = [line for line in err.splitlines() if line.startswith("error: ")]
    return line


@pytest.fixture()
def recording(tmp_path) -> Path:
    write_frame(tmp_path / "recording" / "000000")
    return tmp_path / "recording"


@pytest.fixture()
def models(deploy_models, tmp_path) -> Path:
    copy = tmp_path / "onnx"
    shutil.copytree(deploy_models.onnx, copy)
    return copy


def edit_manifest(folder: Path, edit) -> None:
    path = folder / MANIFEST_FILE
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))


def outside_copy(models: Path) -> Path:
    """A copy of the genuine denoiser outside the model folder (what an attacker's entry points at)."""
    evil = models.parent / "evil"
    evil.mkdir()
    shutil.copyfile(models / "denoiser.onnx", evil / "denoiser.onnx")
    return evil / "denoiser.onnx"


def link_out(models: Path) -> None:
    """The genuine file replaced by a link to an identical copy outside: confinement, not the hash, refuses it."""
    target = outside_copy(models)
    (models / "denoiser.onnx").unlink()
    (models / "denoiser.onnx").symlink_to(target)


@pytest.mark.parametrize(
    "attack,message",
    [
        (lambda m: edit_manifest(m, lambda d: d["graphs"]["denoiser"]["files"].update(fp32="../evil/denoiser.onnx")),
         "'../evil/denoiser.onnx' is not a plain file name"),
        (lambda m: edit_manifest(m, lambda d: d["graphs"]["denoiser"]["files"].update(fp32=str(outside_copy(m)))),
         "is not a plain file name"),
        (link_out, "denoiser.onnx is a link leading out of"),
        (lambda m: edit_manifest(m, lambda d: d.update(files=[])), "files must be an object, got []"),
        (lambda m: edit_manifest(m, lambda d: d["frame"].update(height="64")), "frame.height must be an integer ≥ 1, got '64'"),
        (lambda m: edit_manifest(m, lambda d: d["sampling"].update(guidance=float("inf"))), "sampling.guidance must be a finite number"),
        (lambda m: edit_manifest(m, lambda d: d.pop("latent")), "latent is missing"),
        (lambda m: (m / MANIFEST_FILE).write_text("[" * 100_000), "is not valid JSON"),
        (lambda m: (m / "camera_decoder.onnx").write_bytes((m / "camera_decoder.onnx").read_bytes()[:-1] + b"\0"),
         "camera_decoder.onnx: checksum mismatch"),
    ],
    ids=["parent-dir", "absolute-path", "link-out", "files-list", "height-string", "inf-guidance", "no-latent",
         "deep-json", "tampered-onnx"],
)  # fmt: skip
def test_a_malformed_or_escaping_model_folder_is_refused_before_anything_is_written(capsys, models, recording, attack, message):
    attack(models)
    code, err = run(capsys, "vehicle", "--models", models, "--input", recording, "--out", models.parent / "out")
    assert code == 2 and message in error_line(err)
    assert not (models.parent / "out").exists()


@pytest.mark.parametrize(
    "options,message",
    [
        (["--guidance", "inf"], "'inf' is not a finite number"),
        (["--guidance", "nan"], "'nan' is not a finite number"),
        (["--t-start", "nan"], "'nan' is not a finite number"),
        (["--config", "vehicle:\n  guidance: .inf\n"], "vehicle.guidance: Input should be a finite number"),
        (["--config", "vehicle:\n  steps: 4\n  steps: 8\n"], "duplicate key 'steps'"),
        (["--config", "vehicle: " + "[" * 1000 + "]" * 1000 + "\n"], "nested deeper than 64 levels"),
        (["--config", "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi")) + "vehicle: *i\n"],
         "vehicle: Input should be a dictionary"),  # a billion laughs: aliases share, nothing expands
    ],
    ids=["inf", "nan", "nan-t-start", "inf-in-config", "duplicate-key", "deep-nesting", "yaml-bomb"],
)  # fmt: skip
def test_nonfinite_settings_and_hostile_yaml_are_refused(capsys, deploy_models, recording, tmp_path, options, message):
    if options[0] == "--config":
        (tmp_path / "deploy.yaml").write_text(options[1])
        options = ["--config", tmp_path / "deploy.yaml"]
    code, err = run(capsys, "vehicle", "--models", deploy_models.onnx, "--input", recording, "--out", tmp_path / "out", *options)
    assert code == 2 and message in err  # flags: click's usage error; configs: the one error line
    assert not (tmp_path / "out").exists()


def test_every_float_setting_is_finite(capsys, deploy_models, tmp_path):
    mld = (CONFIGS / "mld_tiny.yaml").read_text().replace("guidance: 2.0", "guidance: .inf")
    (tmp_path / "mld.yaml").write_text(mld)
    code, err = run(capsys, "train", "--config", tmp_path / "mld.yaml", "--data", tmp_path, "--autoencoders", tmp_path,
                    "--out", tmp_path / "run")  # fmt: skip
    assert code == 2 and "sample.guidance: Input should be a finite number" in error_line(err)
    ingest = re.sub(r"^min_dist: .*$", "min_dist: .nan", (CONFIGS / "ingest.yaml").read_text(), flags=re.MULTILINE)
    (tmp_path / "ingest.yaml").write_text(ingest)
    code, err = run(capsys, "ingest", "--config", tmp_path / "ingest.yaml", "--dataroot", tmp_path, "--out", tmp_path / "o")
    assert code == 2 and "min_dist: Input should be a finite number" in error_line(err)
    for command in (["enhance", "--model", deploy_models.mld, "--out", tmp_path / "x.png", "--guidance", "inf"],
                    ["info", "--data", tmp_path / "x.npz", "--out", tmp_path / "x.json", "--test-fraction", "nan"]):
        code, err = run(capsys, *command)
        assert code == 2 and "is not a finite number" in err  # click's usage error
    assert not list(tmp_path.glob("*.png")) + list(tmp_path.glob("*.json"))


def test_a_truncated_safetensors_file_is_one_error_naming_it(capsys, deploy_models, tmp_path):
    mld = tmp_path / "mld"
    shutil.copytree(deploy_models.mld, mld)
    weights = mld / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    code, err = run(capsys, "enhance", "--model", mld, "--night", tmp_path / "night.png", "--out", tmp_path / "day.png")
    assert code == 2 and f"{weights}: not a readable safetensors file" in error_line(err)
    assert not (tmp_path / "day.png").exists()


def test_tables_without_records_are_one_error(capsys, world, tmp_path):
    root = tmp_path / "nuscenes"
    shutil.copytree(world.dataroot, root, copy_function=os.symlink)
    for table in (root / world.version).glob("*.json"):
        table.unlink()
        table.write_text("[]")
    code, err = run(capsys, "ingest", "--dataroot", root, "--out", tmp_path / "out")
    assert code == 2 and "hold no usable records: scene, sample, sample_data" in error_line(err)


def test_a_vehicle_run_that_enhances_nothing_exits_3(capsys, deploy_models, tmp_path):
    write_frame(tmp_path / "recording" / "000000", image=b"not an image")
    (write_frame(tmp_path / "recording" / "000001") / "calibration.json").write_text("{")
    out = tmp_path / "out"
    code, err = run(capsys, "vehicle", "--models", deploy_models.onnx, "--input", tmp_path / "recording", "--out", out)
    assert code == 3 and "no frame" in error_line(err) and "log.jsonl" in error_line(err)
    summary = json.loads((out / "summary.json").read_text())  # the run itself is recorded as usual
    assert summary["status"] == {"skipped": 2} and summary["flags"] == {"image_unreadable": 1, "calibration_invalid": 1}
    assert not list((out / "frames").iterdir())


def test_an_ingest_that_writes_nothing_exits_3(capsys, world, tmp_path):
    root = tmp_path / "nuscenes"
    shutil.copytree(world.dataroot, root, copy_function=os.symlink)
    for image in (root / "samples" / "CAM_FRONT").iterdir():
        image.unlink()
        image.write_bytes(b"\xff\xd8 not a JPEG \xff\xd9")
    out = tmp_path / "out"
    code, err = run(capsys, "ingest", "--dataroot", root, "--out", out, "--limit", "2", "--workers", "0", "--resolution", "64x112")
    assert code == 3 and "no sample written" in error_line(err)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["written"] == 0 and manifest["counts"]["skipped"] == 2
    assert all("corrupt JPEG" in skip["reason"] for skip in manifest["skipped"])


@pytest.fixture()
def read_only(monkeypatch):
    """``read_only(folder)``: creating anything inside ``folder`` fails as on a read-only folder (the tests
    run as root, whom ``chmod`` does not stop)."""
    folders = []
    denied = lambda path: any(Path(os.fsdecode(path)).absolute().is_relative_to(f) for f in folders)  # noqa: E731

    def guard(real):
        def call(path, *args, **kwargs):
            if denied(path):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))
            return real(path, *args, **kwargs)

        return call

    monkeypatch.setattr(os, "mkdir", guard(os.mkdir))
    monkeypatch.setattr(os, "open", guard(os.open))
    return folders.append


def test_a_read_only_output_is_one_error_naming_it(capsys, deploy_models, recording, world, read_only, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    read_only(locked)
    commands = [
        ["vehicle", "--models", deploy_models.onnx, "--input", recording, "--out", locked / "run"],
        ["ingest", "--dataroot", world.dataroot, "--out", locked / "shards", "--limit", "1", "--workers", "0"],
        ["record", "--dataroot", world.dataroot, "--out", locked / "recording", "--limit", "1"],
    ]
    for command in commands:
        code, err = run(capsys, *command)
        assert code == 2 and error_line(err).startswith(f"error: {locked}") and err.strip().endswith("Permission denied"), err
    assert not list(locked.iterdir())


def test_a_full_disk_is_one_error_naming_the_file(capsys, deploy_models, recording, tmp_path, monkeypatch):
    real_fsync = os.fsync

    def full_for_frames(fd):  # the disk fills up when the first enhanced frame is written
        if ".000000.png." in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_for_frames)
    out = tmp_path / "out"
    code, err = run(capsys, "vehicle", "--models", deploy_models.onnx, "--input", recording, "--out", out)
    assert code == 2 and error_line(err) == f"error: {out / 'frames' / '000000.png'}: No space left on device"
    assert not list((out / "frames").iterdir())  # no partial frame, no temporary file
