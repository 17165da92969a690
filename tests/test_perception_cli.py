"""``nightfusion train-ae``: help text and one-line errors for bad input (exit code 2), nothing written."""

from __future__ import annotations

import sys

import pytest
import yaml
from typer.testing import CliRunner

from deploy.cli import app, main
from tests.fixtures.autoencoders import TINY_CONFIG


def train_ae(monkeypatch, capsys, **options) -> tuple[int, str]:
    """Run ``nightfusion train-ae --KEY VALUE …`` through the real entry point (UserError → one line on
    stderr, exit 2); returns (exit code, stderr)."""
    arguments = [part for key, value in options.items() for part in (f"--{key}", str(value))]
    monkeypatch.setattr(sys, "argv", ["nightfusion", "train-ae", *arguments])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return exit_info.value.code, capsys.readouterr().err


def test_help_describes_every_option():
    result = CliRunner().invoke(app, ["train-ae", "--help"])
    assert result.exit_code == 0
    for option in ("--config", "--data", "--out", "--modality", "--resume", "--pretrained"):
        assert option in result.output


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["camera"]["train"].update(stepz=3), "camera.train.stepz"),
        (lambda c: c["lidar"]["architecture"].update(norm_num_groups=5), "not divisible by norm_num_groups"),
        (lambda c: c["radar"]["representation"]["channels"][0].update(low=0.0), "log channel needs low > 0"),
    ],
)
def test_bad_config_is_a_one_line_error_naming_file_and_field(monkeypatch, capsys, tmp_path, edit, message):
    config = yaml.safe_load(TINY_CONFIG.read_text())
    edit(config)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    code, err = train_ae(monkeypatch, capsys, config=path, data=tmp_path, out=tmp_path / "o")
    assert code == 2 and err.count("\n") == 1
    assert str(path) in err and message in err
    assert not (tmp_path / "o").exists()


def test_bad_arguments_are_one_line_errors(monkeypatch, capsys, tmp_path):
    common = {"config": TINY_CONFIG, "out": tmp_path / "o"}
    code, err = train_ae(monkeypatch, capsys, **common, data=tmp_path / "missing")
    assert code == 2 and str(tmp_path / "missing") in err
    code, err = train_ae(monkeypatch, capsys, **common, data=tmp_path, modality="thermal")
    assert code == 2 and "--modality thermal" in err
    code, err = train_ae(monkeypatch, capsys, **common, data=tmp_path, modality="lidar", pretrained=tmp_path)
    assert code == 2 and "--pretrained" in err
    code, err = train_ae(monkeypatch, capsys, config=tmp_path / "none.yaml", data=tmp_path, out=tmp_path / "o")
    assert code == 2 and "config file not found" in err
    assert not (tmp_path / "o").exists()


def test_existing_output_needs_resume(monkeypatch, capsys, tmp_path, shards):
    (tmp_path / "o" / "lidar").mkdir(parents=True)
    code, err = train_ae(monkeypatch, capsys, config=TINY_CONFIG, data=shards, out=tmp_path / "o", modality="lidar")
    assert code == 2 and "--resume" in err
