"""``nightfusion info``: fit the score-based estimator on an NPZ file and write the measures as JSON."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import click
import numpy as np
import typer

from fusion.information.budgets import BUDGETS, with_budget
from fusion.information.config import EstimatorConfig
from fusion.information.measures import DEFAULT_MEASURES, MEASURES
from preprocessing.atomic import atomic_write_bytes, atomic_write_json
from preprocessing.cli_types import FiniteFloat
from preprocessing.config import load_config, validate
from preprocessing.errors import UserError

app = typer.Typer()

BUDGET_HELP = ("Preset that trades time for accuracy: quick | default | thorough (default without --config; "
               "sets steps, width, depth, MC repeats, flow steps, marginals: flow and, on the mlp backbone, "
               "gaussian_skip over --config). "
               "Accuracy and time: README, measured by benchmarks/information.py.")


def load_npz(path: Path) -> tuple[list[str], list[np.ndarray]]:
    """Variables of an NPZ file in stored order: several arrays [n, d_i] / [n], or one [n, N, d] / [n, N]."""
    if not path.is_file():
        raise UserError(f"data file not found: {path}")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise UserError(f"{path} is a single .npy array; save the variables with numpy.savez (one array per "
                            "variable, or one [n, N] / [n, N, d] array)")
        with loaded as npz:
            names, arrays = list(npz.files), [npz[name] for name in npz.files]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise UserError(f"{path} is not a readable .npz file of numeric arrays: {error}") from None
    if not arrays:
        raise UserError(f"{path} holds no arrays")
    if len(arrays) == 1:
        (array,) = arrays
        if array.ndim not in (2, 3):
            raise UserError(f"{path}: a single array must be [n, N] or [n, N, d], got shape {array.shape}")
        names, arrays = [f"{names[0]}[{i}]" for i in range(array.shape[1])], [array[:, i] for i in range(array.shape[1])]
    from fusion.information.variables import as_variables  # torch: only once a command runs

    as_variables(arrays, str(path))  # validate before splitting: shapes, dtype, finiteness
    return names, arrays


def split(arrays: list[np.ndarray], test_fraction: float, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Random train/test split of the samples (the same rows for every variable)."""
    n = arrays[0].shape[0]
    if test_fraction == 0:
        return arrays, arrays
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    if n_test < 2 or n - n_test < 2:
        raise UserError(f"--test-fraction {test_fraction} leaves too few samples on one side of the split (n = {n})")
    test, train = order[:n_test], order[n_test:]
    return [a[train] for a in arrays], [a[test] for a in arrays]


@app.command("info")
def info(
    data: Path = typer.Option(..., "--data", help="NPZ file: one array [n, d_i] (or [n]) per variable in stored order, or a single array [n, N, d] / [n, N]."),
    out: Path = typer.Option(..., "--out", help="Result JSON to write (values, Monte-Carlo std/stderr, unit)."),
    measures: str = typer.Option(",".join(DEFAULT_MEASURES), "--measures", help=f"Comma-separated measures, or 'all': {', '.join(MEASURES)}."),
    config: Path | None = typer.Option(None, "--config", help="Estimator settings YAML (e.g. configs/information.yaml); defaults if omitted."),
    model: Path | None = typer.Option(None, "--model", help="Fitted-estimator folder: used as is if it exists, otherwise written after fitting."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted fit from its checkpoint (<out or model>.checkpoint)."),
    test_fraction: float = typer.Option(0.2, "--test-fraction", click_type=FiniteFloat(min=0.0, max=0.9), help="Share of samples held out for measuring; 0 fits and measures on all."),
    budget: str | None = typer.Option(None, "--budget", click_type=click.Choice(list(BUDGETS)), help=BUDGET_HELP),
    steps: int | None = typer.Option(None, "--steps", min=1, help="Override the number of training steps (also the budget's)."),
    flow_steps: int | None = typer.Option(None, "--flow-steps", min=1, help="Override the training steps of the per-variable flows (marginals: flow)."),
    mc_repeats: int | None = typer.Option(None, "--mc-repeats", min=1, help="Override the Monte-Carlo repeats."),
    bits: bool = typer.Option(False, "--bits", help="Report bits instead of nats."),
    pointwise: bool = typer.Option(False, "--pointwise", help="Also write per-sample contributions to <out>.pointwise.npz."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split and of the Monte-Carlo draws."),
) -> None:
    """Estimate MI, TC, DTC, S- and O-information and ∂_iΩ with one amortised score-based denoiser."""
    from fusion.information.comparison import compare_with_copula
    from fusion.information.estimator import InformationEstimator, check_measures

    names = check_measures(list(MEASURES) if measures.strip() == "all" else [m.strip() for m in measures.split(",") if m.strip()])
    settings = load_config(config, EstimatorConfig) if config else EstimatorConfig()
    if budget is None and config is None:
        budget = "default"
    if budget is not None:
        settings = with_budget(settings, budget, names)
    overrides = {key: value for key, value in (("steps", steps), ("flow_steps", flow_steps)) if value is not None}
    if overrides:
        settings = validate(EstimatorConfig, settings.model_dump() | overrides)
    variables, arrays = load_npz(data)
    train, test = split(arrays, test_fraction, seed)
    checkpoint = Path(f"{model or out.with_suffix('')}.checkpoint")

    if model is not None and model.exists():
        estimator = InformationEstimator.load(model)
        typer.echo(f"loaded fitted estimator from {model}")
    else:
        estimator = InformationEstimator(settings).fit(train, measures=names, progress=True, checkpoint_dir=checkpoint, resume=resume)
        if model is not None:
            estimator.save(model)
        shutil.rmtree(checkpoint, ignore_errors=True)
    result = estimator.measure(test, measures=names, mc_repeats=mc_repeats, bits=bits, seed=seed, progress=True)

    comparisons = compare_with_copula(result, test)
    report = result.to_json() | {
        "data": str(data), "variables": variables, "dims": list(estimator.dims),
        "n_train": int(train[0].shape[0]), "fit": {"measures": list(estimator.measures), "budget": budget, "settings": estimator.config.model_dump()},
        "gaussian_copula": {"note": COPULA_NOTE, "measures": {name: c.to_json() for name, c in comparisons.items()}},
    }
    atomic_write_json(out, report)
    if pointwise:
        atomic_write_bytes(out.with_suffix(".pointwise.npz"), _npz_bytes(result.pointwise()))
    typer.echo(table(result, comparisons))
    typer.echo(f"wrote {out}")


COPULA_NOTE = ("interval: the score-based value ± 1.645 standard errors over the measured samples (90 %; no estimator bias in it); "
               "disagrees: the Gaussian copula's value lies outside it — the data's dependence is not a Gaussian copula, or the "
               "estimator is off (benchmarks/information.py measures which to trust on systems with a known answer)")


def table(result, comparisons: dict) -> str:
    """Printed result: per measure the score-based value, its 90 % interval, the Gaussian copula and a note."""
    def text(value) -> str:
        return np.array2string(np.asarray(value, dtype=float), precision=4, separator=", ", max_line_width=10**6).replace("\n", "")

    lines = [f"{'measure':>15}  score-based ({result.unit}) [90 % interval]  |  Gaussian copula"]
    for name, estimate in result.estimates.items():
        comparison = comparisons.get(name)
        if comparison is None:
            lines.append(f"{name:>15}  {text(estimate.value)}  |  (no copula value)")
            continue
        flagged = np.asarray(comparison.disagrees)
        note = "" if not flagged.any() else "  <- disagree" + (f" ({int(flagged.sum())} of {flagged.size})" if flagged.ndim else "")
        if np.ndim(estimate.value) == 0:
            lines.append(f"{name:>15}  {estimate.value:.4f} [{comparison.low:.4f}, {comparison.high:.4f}]  |  {comparison.copula:.4f}{note}")
        else:
            lines.append(f"{name:>15}  {text(estimate.value)}  |  {text(comparison.copula)}{note}")
    if any(np.any(c.disagrees) for c in comparisons.values()):
        lines.append("<- disagree: the copula lies outside the score-based 90 % interval (see gaussian_copula.note in the JSON)")
    return "\n".join(lines)


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()
