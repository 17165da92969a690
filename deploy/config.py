"""``configs/deploy.yaml``: settings of ``nightfusion export`` (``export``) and ``nightfusion vehicle`` (``vehicle``)."""

from __future__ import annotations

from pydantic import Field

from deploy.runtime.vehicle import RuntimeSettings
from preprocessing.config import StrictModel


class ExportSettings(StrictModel):
    """How the exporter checks graphs and fixes the redundancy score's Monte-Carlo draws."""

    redundancy_draws: int = Field(
        16, ge=1, description="Monte-Carlo repeats of the redundancy score with a bare estimator (a monitor brings its own)"
    )
    seed: int = Field(0, description="seed of those draws (a monitor brings its own) and of the parity-check inputs")
    parity_tolerance: float = Field(1e-3, gt=0, description="largest |onnxruntime − torch| accepted per fp32 graph")


class DeployConfig(StrictModel):
    export: ExportSettings = ExportSettings()
    vehicle: RuntimeSettings = RuntimeSettings()
