"""A training run's length under a time limit: ``train.steps``, or fewer where ``train.max_minutes`` would not fit them.

The same configuration trains 2–3× faster on one CPU than on another (bfloat16 in hardware or not), so a
run that must end in time (the demo) gives minutes as well as steps. The seconds per step are measured
over a few early steps (``PROBE``, their median, after ``SKIP`` that warm up allocators and caches); the total is then
fixed at min(steps, the steps the remaining minutes hold) and written beside the run, so the learning
rate's schedule ends there and a resumed run keeps it. Time outside the steps (validation, checkpoints,
start-up) is not counted: leave a margin. A machine busy with other work during the probe plans few steps.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Annotated

from pydantic import Field

from preprocessing.atomic import atomic_write_json
from preprocessing.errors import UserError

MaxMinutes = Annotated[
    float | None,
    Field(gt=0, description="end before `steps` if they would take longer than this at the pace of the first steps; "
                            "the learning-rate schedule then ends at the step count that fits"),
]  # fmt: skip
SKIP, PROBE = 2, 10
STEP_PLAN = "step_plan.json"  # beside the run's checkpoints


class StepBudget:
    """``total``: the steps the run takes, ``steps`` until the probe fixes it. ``start()`` before the loop,
    ``lap(step)`` after each step (``step`` 0-based over the whole run)."""

    def __init__(self, steps: int, max_minutes: float | None, path: Path):
        self.steps, self.max_minutes, self.path = steps, max_minutes, Path(path)
        self.total, self.fixed = steps, max_minutes is None
        self.laps: list[float] = []
        self.tick = time.perf_counter()
        if self.path.is_file() and not self.fixed:
            try:
                plan = json.loads(self.path.read_text())
            except (OSError, ValueError) as error:
                raise UserError(f"{self.path}: unreadable step plan ({error}); delete it to measure the pace again") from error
            if plan.get("steps") == steps and plan.get("max_minutes") == max_minutes:  # else the limits changed: plan again
                self.total, self.fixed = int(plan["total"]), True

    def start(self) -> None:
        self.tick = time.perf_counter()

    def lap(self, step: int) -> None:
        now = time.perf_counter()
        self.record(step, now - self.tick)
        self.tick = now

    def record(self, step: int, seconds: float) -> None:
        """Step ``step`` took ``seconds``; at the probe's end the total is fixed and saved."""
        if self.fixed:
            return
        self.laps.append(seconds)
        if len(self.laps) < SKIP + PROBE:
            return
        pace = statistics.median(self.laps[SKIP:])  # one slow lap (a checkpoint, another process) does not set it
        remaining = max(0.0, self.max_minutes * 60.0 - sum(self.laps))
        self.total = max(step + 1, min(self.steps, step + 1 + int(remaining / pace)))
        self.fixed = True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.path, {"steps": self.steps, "max_minutes": self.max_minutes, "total": self.total,
                                      "seconds_per_step": pace, "fixed_at_step": step + 1})  # fmt: skip
