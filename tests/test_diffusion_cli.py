"""The train / enhance / evaluate commands: help texts and one-line errors for bad input."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from deploy.cli import app
from preprocessing.errors import UserError

runner = CliRunner()


@pytest.mark.parametrize(
    "command, option",
    [("train", "--autoencoders"), ("enhance", "--t-start"), ("evaluate", "--lpips-weights")],
)
def test_commands_document_their_options(command, option):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert option in result.output


def test_bad_config_is_a_user_error(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("model:\n  hidden_size: 64\n  num_heads: 5\n")
    result = runner.invoke(
        app, ["train", "--config", str(config), "--data", str(tmp_path), "--autoencoders", str(tmp_path), "--out", str(tmp_path / "o")]
    )
    assert isinstance(result.exception, UserError)
    assert "bad.yaml" in str(result.exception) and "num_heads" in str(result.exception)
    assert not (tmp_path / "o").exists()


def test_missing_model_folder_is_a_user_error(tmp_path):
    result = runner.invoke(app, ["enhance", "--model", str(tmp_path), "--night", "x.png", "--out", str(tmp_path / "o.png")])
    assert isinstance(result.exception, UserError)
    assert "config.json" in str(result.exception)


def test_enhancement_inputs_are_validated(tmp_path):
    from fusion.diffusion.frames import enhancement_frames

    with pytest.raises(UserError, match="go together"):
        enhancement_frames((64, 112), sample="abc")
    with pytest.raises(UserError, match="--night IMG or --sample"):
        enhancement_frames((64, 112), lidar=tmp_path / "lidar.npy")
