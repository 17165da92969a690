"""Every shipped config of the training and demo stages validates, and the demo's references resolve."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.demo import DemoConfig
from fusion.diffusion.config import MLDConfig
from fusion.redundancy.config import RedundancyConfig
from fusion.regression.config import RegressorConfig
from perception.config import AutoencodersConfig
from preprocessing.config import load_config
from preprocessing.errors import UserError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
MODELS = {"autoencoder_": AutoencodersConfig, "mld_": MLDConfig, "regressor_": RegressorConfig,
          "redundancy": RedundancyConfig, "demo": DemoConfig}  # fmt: skip


@pytest.mark.parametrize("path", sorted(p for p in CONFIGS.glob("*.yaml") if any(p.name.startswith(k) for k in MODELS)), ids=str)
def test_config_validates(path):
    model = next(m for prefix, m in MODELS.items() if path.name.startswith(prefix))
    load_config(path, model)


@pytest.mark.parametrize("name", ["demo.yaml", "demo_tiny.yaml"])
def test_demo_references_configs_that_validate(name, monkeypatch):
    monkeypatch.chdir(CONFIGS.parent)
    demo = load_config(CONFIGS / name, DemoConfig)
    training = demo.training
    for path, model in ((training.autoencoders, AutoencodersConfig), (training.diffusion, MLDConfig),
                        (training.regressor, RegressorConfig), (demo.redundancy.config, RedundancyConfig)):  # fmt: skip
        load_config(path, model)


@pytest.mark.parametrize("name", ["demo.yaml", "demo_tiny.yaml"])
def test_demo_regressor_learns_from_the_frames_the_mld_learns_from(name, monkeypatch):
    """The regressor row is a fair peer only if it sees the same pairs (with or without rendered night)."""
    monkeypatch.chdir(CONFIGS.parent)
    training = load_config(CONFIGS / name, DemoConfig).training
    mld, regressor = load_config(training.diffusion, MLDConfig), load_config(training.regressor, RegressorConfig)
    assert mld.train.rendered_night_pairs == regressor.train.rendered_night_pairs
    assert mld.train.hflip == regressor.train.hflip
    assert mld.train.rendered_night_weight == regressor.train.rendered_night_weight


@pytest.mark.parametrize(("keep", "message"), [({"day": 0.9}, "not conditions"), ({"night": 0.0}, r"\(0, 1\]")])
def test_condition_keep_names_conditions_with_a_probability(keep, message, tmp_path):
    path = tmp_path / "mld.yaml"
    path.write_text(f"train:\n  condition_keep: {keep}\n")
    with pytest.raises(UserError, match=message):
        load_config(path, MLDConfig)
