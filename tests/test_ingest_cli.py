"""``nightfusion ingest`` / ``inspect`` through the preprocessing typer app, and the ingest config."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from preprocessing.cli import app
from preprocessing.config import load_config
from preprocessing.errors import UserError
from preprocessing.ingest_config import IngestConfig
from preprocessing.shards import read_manifest

CONFIG = Path(__file__).parents[1] / "configs" / "ingest.yaml"
runner = CliRunner()


def test_config_file_documents_the_code_defaults(tmp_path):
    required = {"dataroot": tmp_path, "out": tmp_path / "out"}
    assert load_config(CONFIG, IngestConfig, required) == IngestConfig(**required)
    assert IngestConfig(**required).resolution == (288, 512)  # the paper's 512×288


def test_ingest_then_inspect(world, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["ingest", "--config", str(CONFIG), "--dataroot", str(world.dataroot), "--out", str(out),
         "--resolution", "64x112", "--limit", "5", "--workers", "0", "--split", "train"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = read_manifest(out)
    assert manifest["counts"]["planned"] == 5 and set(manifest["counts"]["by_split"]) == {"train"}
    assert manifest["config"]["resolution"] == [64, 112] and manifest["config"]["shard_size"] == 32
    result = runner.invoke(app, ["inspect", str(out), "--count", "3"])
    assert result.exit_code == 0, result.output
    sheet = cv2.imread(str(out / "contact_sheet.png"))
    assert sheet.shape[1] == 4 * 112 and sheet.shape[0] == 3 * (64 + 18)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--resolution", "300x512"], "multiples of 8"),
        (["--resolution", "wide"], "HEIGHTxWIDTH"),
        (["--condition", "dusk"], "condition"),
        (["--split", "nope"], "split(s) ['nope'] not found"),
    ],
)
def test_bad_arguments_are_one_line_user_errors(world, tmp_path, flags, message):
    result = runner.invoke(app, ["ingest", "--dataroot", str(world.dataroot), "--out", str(tmp_path / "o"), *flags])
    assert isinstance(result.exception, UserError) and message in str(result.exception), result.output
    assert "\n" not in str(result.exception)


def test_inspect_of_a_directory_without_manifest_is_a_user_error(tmp_path):
    result = runner.invoke(app, ["inspect", str(tmp_path)])
    assert isinstance(result.exception, UserError) and "manifest.json" in str(result.exception)


def test_help_texts():
    for command in ("ingest", "inspect"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output
