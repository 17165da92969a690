"""``--budget`` presets: training length, width and Monte-Carlo repeats traded against wall time (issue 21).

Each preset sets the same keys, so a preset applied over a config file replaces exactly these and
keeps the rest (backbone, margins, learning rate, ...). Accuracy and time of each preset are measured
by ``benchmarks/information.py`` on its held-out family (README, "nightfusion info").
"""

from __future__ import annotations

from fusion.information.config import EstimatorConfig
from preprocessing.config import validate

BUDGETS: dict[str, dict] = {
    "quick": {"steps": 2000, "width": 64, "depth": 2, "mc_repeats": 4},
    "default": {"steps": 10_000, "width": 128, "depth": 2, "mc_repeats": 10},
    "thorough": {"steps": 30_000, "width": 128, "depth": 3, "mc_repeats": 20},
}


def with_budget(config: EstimatorConfig, budget: str) -> EstimatorConfig:
    """``config`` with the preset ``budget``'s keys (one of ``BUDGETS``) replaced."""
    if budget not in BUDGETS:
        raise ValueError(f"unknown budget {budget!r}; choose from {', '.join(BUDGETS)}")
    return validate(EstimatorConfig, config.model_dump() | BUDGETS[budget])
