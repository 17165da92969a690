"""``nightfusion info``: NPZ in, JSON out, fitted-model reuse, resume, and one-line errors."""

import io
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.fixtures.information import single_torch_thread  # noqa: F401  (autouse)
from deploy.cli import app
from fusion.information.systems import redundant
from preprocessing.errors import UserError

RUNNER = CliRunner()
FAST = ["--steps", "150", "--flow-steps", "30", "--mc-repeats", "2"]


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    x = redundant(3, 1, rho=0.8).sample(600, seed=0)
    path = tmp_path_factory.mktemp("info") / "system.npz"
    np.savez(path, camera=x[:, 0], lidar=x[:, 1], radar=x[:, 2])
    return path


def invoke(*args):
    return RUNNER.invoke(app, ["info", *map(str, args)])


def test_info_writes_measures_pointwise_and_a_reusable_model(data_file, tmp_path):
    out, model = tmp_path / "result.json", tmp_path / "model"
    result = invoke("--data", data_file, "--out", out, "--model", model, "--measures", "tc,o_information", "--pointwise", *FAST)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["variables"] == ["camera", "lidar", "radar"] and report["dims"] == [1, 1, 1]
    assert report["fit"]["budget"] == "default" and report["fit"]["settings"]["marginals"] == "flow"  # no --config
    assert report["n_samples"] == 120 and report["n_train"] == 480 and report["unit"] == "nats"
    assert set(report["measures"]) == {"tc", "o_information"} and report["measures"]["tc"]["value"] > 0
    pointwise = np.load(tmp_path / "result.pointwise.npz")
    assert pointwise["o_information"].shape == (120,)
    assert (model / "weights.safetensors").is_file() and not (tmp_path / "model.checkpoint").exists()
    # the Gaussian copula beside every estimate, with the estimate's interval and the disagreement flag
    copula = report["gaussian_copula"]["measures"]
    assert set(copula) == {"tc", "o_information"} and "interval" in report["gaussian_copula"]["note"]
    low, high = copula["tc"]["interval"]
    assert low < report["measures"]["tc"]["value"] < high and copula["tc"]["disagrees"] == (not low <= copula["tc"]["copula"] <= high)
    assert copula["tc"]["copula"] == pytest.approx(-0.5 * np.log(np.linalg.det(redundant(3, 1, rho=0.8).correlation)), rel=0.25)  # 120 samples
    assert "Gaussian copula" in result.output

    # the saved model is reused: no training, same numbers with the same seed
    again = invoke("--data", data_file, "--out", tmp_path / "again.json", "--model", model, "--measures", "tc", *FAST)
    assert again.exit_code == 0 and "loaded fitted estimator" in again.output
    assert json.loads((tmp_path / "again.json").read_text())["measures"]["tc"]["value"] == pytest.approx(report["measures"]["tc"]["value"])
    # measures the saved model was not trained for are refused
    refused = invoke("--data", data_file, "--out", tmp_path / "x.json", "--model", model, "--measures", "mi_j", *FAST)
    assert isinstance(refused.exception, UserError) and "not trained" in str(refused.exception)


def test_single_array_npz_bits_and_resume_guard(tmp_path):
    path = tmp_path / "stacked.npz"
    np.savez(path, X=redundant(3, 2, rho=0.5).sample(300, seed=1))
    out = tmp_path / "r.json"
    (tmp_path / "r.checkpoint").mkdir()
    (tmp_path / "r.checkpoint" / "checkpoint.json").write_text("{}")  # an interrupted run is waiting
    blocked = invoke("--data", path, "--out", out, "--bits", *FAST)
    assert isinstance(blocked.exception, UserError) and "--resume" in str(blocked.exception)
    (tmp_path / "r.checkpoint" / "checkpoint.json").unlink()
    result = invoke("--data", path, "--out", out, "--bits", "--test-fraction", "0", "--measures", "all", *FAST)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["unit"] == "bits" and report["variables"] == ["X[0]", "X[1]", "X[2]"] and report["dims"] == [2, 2, 2]
    assert report["n_samples"] == 300 and not out.with_suffix(".pointwise.npz").exists()
    assert report["measures"]["mi_j"]["value"][0][0] is None  # MI of a variable with itself: undefined


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text("not a zip"), "not a readable .npz"),
    (lambda p: np.savez(p, x=np.zeros((10, 3, 2, 2))), "must be \\[n, N\\] or \\[n, N, d\\]"),
    (lambda p: np.savez(p, a=np.arange(10.0), b=np.arange(11.0)), "different numbers of samples"),
    (lambda p: np.savez(p, a=np.array(["x"] * 10), b=np.arange(10.0)), "variable 0 is not real numeric"),
    (lambda p: np.savez(p, a=np.arange(10.0), b=np.arange(10.0) * 1j), "variable 1 is not real numeric .*complex128"),
    (lambda p: p.write_bytes(npy_bytes(np.zeros((10, 3)))), "single .npy array"),
    (lambda p: np.savez(p, a=np.arange(10.0), b=np.array([object()] * 10)), "not a readable .npz"),  # a pickle
    (lambda p: np.savez(p, a=np.arange(10.0), b=np.full(10, np.inf)), "variable 1 has a non-finite value"),
])
def test_bad_data_files_are_user_errors(tmp_path, make, message):
    path = tmp_path / "bad.npz"
    make(path)
    result = invoke("--data", path, "--out", tmp_path / "r.json", *FAST)
    assert isinstance(result.exception, UserError)
    assert re.search(message, str(result.exception))
    assert not (tmp_path / "r.json").exists()


def test_cli_prints_one_line_error_and_exit_code_two(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "info", "--data", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "r.json"),
         "--measures", "tc,negentropy"], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines() == ["error: unknown measure(s) negentropy; choose from tc, dtc, s_information, "
                                                     "o_information, o_gradient, mi_c, mi_j, mi_rest, entropy"]


def test_budget_presets_replace_their_keys_over_the_config_and_bad_names_are_usage_errors(data_file, tmp_path):
    from fusion.information.budgets import BUDGETS, with_budget
    from fusion.information.config import EstimatorConfig

    base = EstimatorConfig(lr=1e-3, backbone="transformer", width=64)
    quick, default, thorough = (with_budget(base, name) for name in ("quick", "default", "thorough"))
    assert quick.steps < default.steps < thorough.steps and quick.mc_repeats < thorough.mc_repeats
    assert quick.flow_steps < default.flow_steps < thorough.flow_steps
    assert default.steps == EstimatorConfig().steps and default.width == EstimatorConfig().width
    assert all(c.lr == 1e-3 and c.backbone == "transformer" and c.marginals == "flow" for c in (quick, default, thorough))
    assert with_budget(base, "quick", ("tc", "entropy")).marginals == "standardize"  # entropies need the margins
    assert not default.gaussian_skip and with_budget(EstimatorConfig(), "default").gaussian_skip  # it wraps the MLP only
    assert set(BUDGETS) == {"quick", "default", "thorough"}

    out = tmp_path / "r.json"
    result = invoke("--data", data_file, "--out", out, "--budget", "quick", "--steps", "100", "--flow-steps", "30", "--measures", "tc")
    assert result.exit_code == 0, result.output
    fit = json.loads(out.read_text())["fit"]
    assert fit["budget"] == "quick" and fit["settings"]["steps"] == 100 and fit["settings"]["width"] == quick.width
    bad = invoke("--data", data_file, "--out", out, "--budget", "huge")
    assert bad.exit_code == 2 and "huge" in bad.output
    assert "thorough" in RUNNER.invoke(app, ["info", "--help"]).output
