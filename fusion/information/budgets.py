"""``--budget`` presets of ``nightfusion info``: training length, width and Monte-Carlo repeats traded
against wall time, on Gaussianised margins and per-variable flows (issue 21).

Every preset sets the same keys, so a preset applied over a config file replaces exactly these and
keeps the rest (backbone, learning rate, ...). Margins: ``flow`` (rank → normal per coordinate, which
on a Student-t ν = 3 factor model took the default fit's Ω error from 50 % to 3 %; then one normalizing
flow per variable fitted to make the joint Gaussian, which undoes within-variable mixing such as a
spiral rotation: flows.py), except when ``entropy`` is measured, which needs ``standardize``. On the
MLP backbone every preset fits the Gaussian skip (backbones/gaussian_skip.py: the exact Gaussian
denoiser of the inputs, gated and corrected by an MLP), which took the held-out Gaussian member's Ω
error from 5–8 % to 2 % and lets the default train 10 000 steps instead of 30 000 (README).
Accuracy and time of each preset: ``benchmarks/information.py`` on its held-out family (README).
"""

from __future__ import annotations

from collections.abc import Sequence

from fusion.information.config import EstimatorConfig
from preprocessing.config import validate

BUDGETS: dict[str, dict] = {
    "quick": {"steps": 4000, "width": 128, "depth": 2, "mc_repeats": 4, "flow_steps": 1000, "flow_transforms": 6},
    "default": {"steps": 10_000, "width": 128, "depth": 2, "mc_repeats": 10, "flow_steps": 2500, "flow_transforms": 6},
    "thorough": {"steps": 50_000, "width": 128, "depth": 3, "mc_repeats": 20, "flow_steps": 5000, "flow_transforms": 6},
}


def with_budget(config: EstimatorConfig, budget: str, measures: Sequence[str] = ()) -> EstimatorConfig:
    """``config`` with the keys of preset ``budget`` (one of ``BUDGETS``), the margins for ``measures`` and the
    Gaussian skip on an MLP backbone (a transformer from the config file keeps its plain form)."""
    if budget not in BUDGETS:
        raise ValueError(f"unknown budget {budget!r}; choose from {', '.join(BUDGETS)}")
    marginals = "standardize" if "entropy" in measures else "flow"
    method = {"marginals": marginals, "gaussian_skip": config.backbone == "mlp"}
    return validate(EstimatorConfig, config.model_dump() | BUDGETS[budget] | method)
