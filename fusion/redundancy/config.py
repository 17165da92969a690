"""Settings of the redundancy report and the online monitor (``configs/redundancy*.yaml``), validated.

A *condition* is a set of scenes (day / night / all) and either a list of faults injected into every
frame of them before projection and encoding, or a known-answer ``control`` applied to their
descriptors (``fusion.redundancy.controls``). ``--faults`` on the command line uses the compact form
``KIND[:name=value,...]`` (e.g. ``lidar_dropout:fraction=0.5``, ``extrinsic_drift:sensor=camera,yaw=2``;
a vector as ``shift=0.1/0/0``) and makes one day-scene condition per fault.
"""

from __future__ import annotations

import inspect
from typing import Literal

from pydantic import Field, field_validator, model_validator

from fusion.information.config import EstimatorConfig
from fusion.redundancy.faults import FAULTS
from fusion.redundancy.intervals import IntervalConfig
from fusion.redundancy.scenes import SceneFolds
from preprocessing.config import StrictModel, parse_options, validate
from preprocessing.errors import UserError

Scenes = Literal["day", "night", "all"]


class FaultConfig(StrictModel):
    """One fault: its kind and keyword parameters of the matching ``fusion.redundancy.faults`` function."""

    kind: Literal[tuple(FAULTS)]  # type: ignore[valid-type]
    params: dict[str, int | float | str | tuple[float, ...]] = {}

    @model_validator(mode="after")
    def _known_params(self) -> "FaultConfig":
        accepted = list(inspect.signature(FAULTS[self.kind]).parameters)[2:]  # after (frame, rng)
        unknown = sorted(set(self.params) - set(accepted))
        if unknown:
            raise ValueError(f"{self.kind} has no parameter(s) {', '.join(unknown)}; it takes {', '.join(accepted) or 'none'}")
        return self

    @property
    def spec(self) -> tuple[str, dict]:
        return self.kind, dict(self.params)

    @property
    def label(self) -> str:
        """``KIND[:name=value,...]``, the ``--faults`` form."""
        params = ",".join(f"{k}={_text(v)}" for k, v in sorted(self.params.items()))
        return f"{self.kind}:{params}" if params else self.kind


class ControlConfig(StrictModel):
    """A known-answer control: ``sensor``'s descriptors replaced by independent noise, or by a copy of ``source``'s."""

    kind: Literal["noise", "copy"]
    sensor: str
    source: str | None = None

    @model_validator(mode="after")
    def _source_for_copy(self) -> "ControlConfig":
        if (self.kind == "copy") != (self.source is not None) or self.source == self.sensor:
            raise ValueError("a copy control needs a source other than its sensor; a noise control takes none")
        return self

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.sensor}" + (f"={self.source}" if self.source else "")


class ConditionConfig(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.=:,/-]+$")
    scenes: Scenes = "day"
    faults: tuple[FaultConfig, ...] = ()
    control: ControlConfig | None = None

    @model_validator(mode="after")
    def _fault_or_control(self) -> "ConditionConfig":
        if self.faults and self.control:
            raise ValueError("a condition has faults or a control, not both")
        return self

    @property
    def nominal(self) -> bool:
        return not self.faults and self.control is None


class MonitorConfig(StrictModel):
    """Online monitor (``fusion.redundancy.monitor``): fitting and calibration frames, false-alarm rate.

    The estimator is fitted on the scenes of ``fit_split`` and the thresholds are calibrated on
    other scenes: those of ``calibration_split``, or, when it is null, the ``holdout`` fold of
    ``fit_split``'s scenes (statistics of the frames the denoiser was fitted on are closer to
    nominal than those of any new frame, so thresholds set on them flag too many new frames).
    ``dither`` is 0 by default: a noise floor would blur a dark night camera (small descriptors)
    into a dead one (zero descriptors), the very difference the monitor must see. A sensor whose
    spread over a frame's cells is ``flat_factor`` times below the flattest calibration frame of its
    lighting group is flat, and its frame flagged.
    """

    false_alarm: float = Field(0.05, gt=0, lt=1)
    fit_split: str | None = "train"
    calibration_split: str | None = None  # None: the holdout fold of fit_split's scenes
    holdout: SceneFolds = SceneFolds()
    dither: float = Field(0.0, ge=0)
    flat_factor: float = Field(10.0, gt=1)
    mc_repeats: int = Field(8, ge=1)
    seed: int = 0


def _default_conditions() -> tuple[ConditionConfig, ...]:
    faults = [
        ("camera_blackout", {}), ("camera_overexposure", {}), ("lidar_dropout", {}), ("radar_ghosts", {}),
        ("extrinsic_drift", {"sensor": "lidar", "yaw": 3.0}),
    ]  # fmt: skip
    return (
        ConditionConfig(name="day", scenes="day"),
        ConditionConfig(name="night", scenes="night"),
        *(ConditionConfig(name=kind, scenes="day", faults=(FaultConfig(kind=kind, params=params),)) for kind, params in faults),
    )


class RedundancyConfig(StrictModel):
    """Everything that defines a report (and, with ``monitor``, a calibrated monitor).

    Per condition the report fits its estimators on the scenes outside the ``holdout`` fold and
    measures on the fold's scenes; ``interval`` says how the uncertainty over measured frames is drawn.
    """

    sensors: tuple[str, ...] = ("modalities",)
    cell: int = Field(1, ge=1)
    split: str | None = None  # frames the report analyses (None: every split)
    frame_stride: int = Field(1, ge=1, description="analyse every k-th frame (scene by scene, in time order): 12 Hz neighbours nearly repeat")
    holdout: SceneFolds = SceneFolds()
    interval: IntervalConfig = IntervalConfig()
    conditions: tuple[ConditionConfig, ...] = Field(default_factory=_default_conditions)
    reference: str = "day"
    seeds: tuple[int, ...] = (0, 1, 2)
    mc_repeats: int = Field(10, ge=2)
    dither: float = Field(0.01, ge=0)
    fault_seed: int = 0
    batch_frames: int = Field(16, ge=1)
    estimator: EstimatorConfig = EstimatorConfig(steps=4000, width=128, batch_size=256)
    monitor: MonitorConfig = MonitorConfig()

    @field_validator("seeds")
    @classmethod
    def _some_seeds(cls, seeds: tuple[int, ...]) -> tuple[int, ...]:
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError("seeds must be a non-empty list of distinct integers")
        return seeds

    @model_validator(mode="after")
    def _conditions(self) -> "RedundancyConfig":
        names = [c.name for c in self.conditions]
        if len(set(names)) != len(names):
            raise ValueError(f"condition names must be unique, got {names}")
        if self.reference not in names:
            raise ValueError(f"reference condition {self.reference!r} is not one of the conditions {names}")
        return self


def _text(value) -> str:
    if isinstance(value, (tuple, list)):
        return "/".join(f"{v:g}" for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def parse_fault(text: str) -> FaultConfig:
    """``KIND[:name=value,...]`` → FaultConfig (UserError naming the bad option)."""
    kind, _, rest = text.partition(":")
    return validate(FaultConfig, {"kind": kind.strip(), "params": parse_options(rest, f"--faults {kind}:")}, f"--faults {text}")


def with_faults(config: RedundancyConfig, faults: list[str]) -> RedundancyConfig:
    """Replace the faulted conditions by one day-scene condition per ``--faults`` entry."""
    nominal = [c for c in config.conditions if not c.faults]
    parsed = [parse_fault(text) for text in faults]
    added = [ConditionConfig(name=f.label, scenes="day", faults=(f,)) for f in parsed]
    return validate(RedundancyConfig, {**config.model_dump(), "conditions": [c.model_dump() for c in nominal + added]}, "--faults")
