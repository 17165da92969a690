"""The enhancement evaluation: two held-out test sets, floors that ignore the input, the direct regressor,
darkness quartiles, and the refusal to score a model on scenes it was trained on.

Uses ``evaluation_shards`` (train: one day scene; val: a night scene with day twins and a day scene, every
12 Hz camera frame) and the session ``autoencoders``; one tiny MLD and one tiny regressor per module.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Subset

from fusion.diffusion.config import MLDConfig, SampleConfig
from fusion.diffusion.images import to_uint8
from fusion.diffusion.run import train_run
from fusion.evaluation.held_out import RENDERED_NIGHT, SYNTHETIC_NIGHT, mean_day_image, spread, held_out_sets
from fusion.evaluation.methods import CONSTANT, NIGHT_INPUT, REGRESSOR
from fusion.evaluation.run import evaluate, load_regressor
from fusion.evaluation.scores import quartiles
from fusion.evaluation.settings import EvaluationSettings, Sampler, parse_sampler
from fusion.regression.config import RegressorConfig
from fusion.regression.model import DirectRegressor
from fusion.regression.train import draw, l1_loss, paired_frames, train_regressor
from perception.image_quality import psnr
from preprocessing.config import load_config
from preprocessing.dataset import ShardDataset
from preprocessing.errors import UserError

pytestmark = pytest.mark.slow


def tiny_regressor(**train) -> RegressorConfig:
    config = load_config("configs/regressor_tiny.yaml", RegressorConfig)
    return config.model_copy(update={"train": config.train.model_copy(update=train)})


@pytest.fixture(scope="module")
def models(evaluation_shards, autoencoders, tmp_path_factory):
    """(MLD folder, regressor folder, regressor training summary), both trained on the train split only."""
    root = tmp_path_factory.mktemp("evaluation_models")
    train_run(load_config("configs/mld_tiny.yaml", MLDConfig), evaluation_shards, autoencoders, root / "mld", show_progress=False)
    summary = train_regressor(tiny_regressor(), evaluation_shards, root / "regressor", show_progress=False)
    return root / "mld", root / "regressor", summary


def held_out_psnr(shards, indices, enhance) -> float:
    dataset = ShardDataset(shards, split="val")
    values = []
    for batch in DataLoader(Subset(dataset, indices), batch_size=16):
        values += [psnr(ref, image) for ref, image in zip(to_uint8(batch["day"]), enhance(batch))]
    return float(np.mean(values))


def test_test_sets_split_held_out_frames_by_kind(evaluation_shards):
    records = ShardDataset(evaluation_shards, split="val").records
    sets = held_out_sets(records)
    assert {records[i]["scene_name"] for i in sets[SYNTHETIC_NIGHT]} == {"scene-0002"}
    assert {records[i]["scene_name"] for i in sets[RENDERED_NIGHT]} == {"scene-0001"}
    assert len(sets[SYNTHETIC_NIGHT]) > 12 and len(sets[RENDERED_NIGHT]) > 12  # 12 Hz sweeps, not 4 keyframes
    assert all(records[i]["day_twin"] for i in sets[RENDERED_NIGHT])
    assert spread(list(range(10)), 3) == [0, 4, 9] and spread([5, 6], 4) == [5, 6]


def test_the_constant_floor_averages_train_split_day_frames_only(evaluation_shards):
    train = ShardDataset(evaluation_shards, split="train")
    expected = np.mean([to_uint8(train[i]["day"][None])[0].astype(float) for i in range(len(train))], axis=0)
    constant = mean_day_image(train)
    assert constant.dtype == np.uint8 and np.abs(constant - expected).max() <= 0.5 + 1e-9
    every_split = mean_day_image(ShardDataset(evaluation_shards))  # would mix in the held-out day scene
    assert np.abs(every_split.astype(int) - constant).max() > 5


def test_darkness_quartiles_go_from_darkest_to_brightest():
    values = np.array([5.0, 1.0, 7.0, 3.0, 2.0, 8.0, 6.0, 4.0])
    assert quartiles(values).tolist() == [2, 0, 3, 1, 0, 3, 2, 1]


def test_the_regressor_learns_and_beats_the_constant_image(models, evaluation_shards):
    _, folder, summary = models
    assert summary["loss_after"] < 0.6 * summary["loss_before"], summary
    regressor, record = DirectRegressor.load(folder)
    assert record["training_scenes"]["scene_names"] == ["scene-0000"]
    indices = held_out_sets(ShardDataset(evaluation_shards, split="val").records)[SYNTHETIC_NIGHT]
    constant = mean_day_image(ShardDataset(evaluation_shards, split="train"))
    regressed = held_out_psnr(evaluation_shards, indices, lambda batch: to_uint8(regressor.enhance(batch)))
    floor = held_out_psnr(evaluation_shards, indices, lambda batch: [constant] * len(batch["day"]))
    assert regressed > floor + 1.0, (regressed, floor)


def test_the_bf16_regressor_loss_runs_in_bfloat16_and_matches_float32(models, evaluation_shards):
    _, folder, _ = models
    regressor = DirectRegressor.load(folder)[0]
    frames, _ = paired_frames(evaluation_shards)
    batch = draw(frames, 8, False, torch.Generator().manual_seed(0))
    seen = []
    regressor.unet.conv_in.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    with torch.no_grad():
        exact, bf16 = l1_loss(regressor, batch), l1_loss(regressor, batch, "bf16")
    assert seen == [torch.float32, torch.bfloat16]
    assert bf16.dtype == torch.float32 and abs(bf16 - exact) < 0.02 * exact, (bf16, exact)


def test_a_time_limit_ends_regressor_training_at_the_steps_it_holds(evaluation_shards, tmp_path):
    from perception.budget import PROBE, SKIP, STEP_PLAN

    summary = train_regressor(tiny_regressor(max_minutes=1e-6), evaluation_shards, tmp_path / "r", show_progress=False)
    assert summary["steps"] == SKIP + PROBE < tiny_regressor().train.steps
    assert DirectRegressor.load(tmp_path / "r")[1]["step"] == SKIP + PROBE
    from typer.testing import CliRunner

    from deploy.cli import app

    command = ["train-regressor", "--config", "configs/regressor_tiny.yaml", "--data", str(evaluation_shards),
               "--out", str(tmp_path / "cli"), "--steps", "400", "--max-minutes", "0.01"]  # fmt: skip
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    planned = json.loads((tmp_path / "cli" / STEP_PLAN).read_text())["total"]
    assert SKIP + PROBE <= planned < 400 and DirectRegressor.load(tmp_path / "cli")[1]["step"] == planned


def test_a_resumed_regressor_run_ends_with_the_same_weights(evaluation_shards, tmp_path):
    whole = tmp_path / "whole"
    train_regressor(tiny_regressor(steps=12, checkpoint_every=6), evaluation_shards, whole, show_progress=False)
    split = tmp_path / "split"
    train_regressor(tiny_regressor(steps=6, checkpoint_every=6), evaluation_shards, split, show_progress=False)
    train_regressor(tiny_regressor(steps=12, checkpoint_every=6), evaluation_shards, split, resume=True, show_progress=False)
    a, b = DirectRegressor.load(whole)[0].state_dict(), DirectRegressor.load(split)[0].state_dict()
    assert all(torch.equal(a[key], b[key]) for key in a)
    with pytest.raises(UserError, match="--resume"):
        train_regressor(tiny_regressor(steps=12), evaluation_shards, whole, show_progress=False)


def test_evaluation_reports_both_test_sets_against_every_floor(models, evaluation_shards, tmp_path):
    mld, regressor, _ = models
    posterior_mean = Sampler(t_start=1.0, steps=1, guidance=1.0)
    settings = EvaluationSettings(samplers=(Sampler(steps=4), posterior_mean, Sampler(steps=4)), limit=6, batch_size=6,
                                  grid_frames=2, sweep_frames=2, sweep_t_start=(0.1, 0.3), sweep_guidance=(1.0,),
                                  sweep_steps=(2,))  # fmt: skip
    metrics = evaluate(mld, evaluation_shards, tmp_path / "eval", settings, regressor=regressor, show_progress=False)
    expected_rows = {CONSTANT, NIGHT_INPUT, "clahe", "gamma", REGRESSOR, "autoencoder(day) ceiling"}
    # the model's defaults (guidance 2, t̃ 0.5) fill the first sampler's unset knobs; a repeated sampler is one group
    mld_rows = [f"MLD {c} · {k}" for k in ("t̃=0.5, 4 steps, w=2", "t̃=1, 1 step, w=1")
                for c in ("night+lidar+radar", "night+lidar", "night+radar", "night")]  # fmt: skip
    assert [name for name in metrics["methods"] if name.startswith("MLD")] == mld_rows
    expected_rows |= set(mld_rows)
    assert set(metrics["methods"]) == expected_rows
    # the t̃ sweep of the first sampler (4 steps): t̃ = 0.1 leaves no denoising step and is recorded as such
    assert metrics["sweeps"]["t_start"]["psnr"][0] is None and metrics["sweeps"]["t_start"]["psnr"][1] > 0
    assert metrics["test_sets"][SYNTHETIC_NIGHT]["scenes"] == ["scene-0002"]
    assert metrics["test_sets"][RENDERED_NIGHT]["scenes"] == ["scene-0001"]

    val = ShardDataset(evaluation_shards, split="val")
    constant = mean_day_image(ShardDataset(evaluation_shards, split="train"))
    for name, indices in held_out_sets(val.records).items():
        result = metrics["test_sets"][name]
        assert result["frames"] == 6 and set(result["methods"]) == expected_rows
        for values in result["methods"].values():
            assert values["psnr"]["frames"] == 6 and 0 < values["ssim"]["mean"] <= 1 and values["gmsd"]["mean"] >= 0
            assert values["lpips"] is None  # no weights given: reported unavailable, never estimated
        # the constant row is the train-split mean image scored against this set's references
        chosen = spread(indices, 6)
        floor = held_out_psnr(evaluation_shards, chosen, lambda batch: [constant] * len(batch["day"]))
        assert result["methods"][CONSTANT]["psnr"]["mean"] == pytest.approx(floor)
        assert sum(q["frames"] for q in result["by_darkness"]) == 6
        bounds = [q["luminance"] for q in result["by_darkness"]]
        assert all(low[1] <= high[0] for low, high in zip(bounds, bounds[1:]))  # darkest quartile first
    # rendered night is scored against the twins: the night frames are far darker than their references
    rendered = metrics["test_sets"][RENDERED_NIGHT]["methods"]
    assert rendered[NIGHT_INPUT]["psnr"]["mean"] < rendered["gamma"]["psnr"]["mean"]

    files = {p.name for p in (tmp_path / "eval").iterdir()}
    assert {"metrics.json", "metrics.md", "grid.png", "psnr_by_darkness.png", "psnr_vs_steps.png"} <= files
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["test_sets"] == json.loads(json.dumps(metrics["test_sets"]))
    table = (tmp_path / "eval" / "metrics.md").read_text()
    assert f"### {SYNTHETIC_NIGHT}" in table and f"### {RENDERED_NIGHT}" in table and f"| {CONSTANT} |" in table


def test_evaluation_refuses_scenes_a_model_was_trained_on(models, evaluation_shards, tmp_path):
    mld, regressor, _ = models
    settings = EvaluationSettings(samplers=(Sampler(steps=2),), limit=2, sweep_frames=0)
    with pytest.raises(UserError, match="trained on held-out scene.*scene-0000"):
        evaluate(mld, evaluation_shards, tmp_path / "train", settings.model_copy(update={"split": "train"}), show_progress=False)
    assert not (tmp_path / "train").exists()
    train_records = ShardDataset(evaluation_shards, split="train").records
    with pytest.raises(UserError, match="regressor.*scene-0000"):
        load_regressor(regressor, train_records)
    assert load_regressor(regressor, ShardDataset(evaluation_shards, split="val").records) is not None


def test_lpips_is_computed_with_local_backbone_weights(models, evaluation_shards, tmp_path):
    import torchvision
    from safetensors.torch import save_file

    torch.manual_seed(0)
    weights = tmp_path / "alexnet.safetensors"
    save_file({k: v.contiguous() for k, v in torchvision.models.alexnet(weights=None).state_dict().items()}, weights)
    settings = EvaluationSettings(samplers=(Sampler(steps=2),), limit=1, sweep_frames=0)
    metrics = evaluate(models[0], evaluation_shards, tmp_path / "eval", settings, lpips_weights=weights, show_progress=False)
    for result in metrics["test_sets"].values():
        assert all(values["lpips"]["mean"] >= 0 for values in result["methods"].values())
    with pytest.raises(UserError, match="already exists"):
        evaluate(models[0], evaluation_shards, tmp_path / "eval", settings, show_progress=False)


def test_a_sampler_takes_the_model_defaults_it_does_not_set_and_refuses_one_without_a_step():
    defaults = SampleConfig(steps=20, guidance=1.5, t_start=0.5)
    assert parse_sampler("steps=1,t_start=1").resolve(defaults) == SampleConfig(steps=1, guidance=1.5, t_start=1.0)
    assert parse_sampler("").resolve(defaults) == defaults
    with pytest.raises(UserError, match="leaves no denoising step"):
        parse_sampler("steps=1").resolve(defaults)  # t̃ 0.5 of a 1-step schedule
    with pytest.raises(UserError, match="expected name=value"):
        parse_sampler("steps")
    with pytest.raises(UserError, match="--sampler temperature=2"):
        parse_sampler("temperature=2")
