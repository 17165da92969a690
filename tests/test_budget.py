"""Training under a time limit (``train.max_minutes``): the pace of the first steps fixes the run's length."""

from __future__ import annotations

import json

import pytest

from perception.budget import PROBE, SKIP, STEP_PLAN, StepBudget
from perception.config import TrainConfig
from perception.train import learning_rate
from preprocessing.errors import UserError


def run_laps(budget: StepBudget, laps: list[float]) -> None:
    for step, seconds in enumerate(laps):
        budget.record(step, seconds)


def test_the_probe_fixes_the_steps_the_remaining_minutes_hold(tmp_path):
    budget = StepBudget(1000, 1.0, tmp_path / STEP_PLAN)  # 60 s
    run_laps(budget, [10.0] * SKIP + [0.5] * (PROBE - 1))
    assert (budget.total, budget.fixed) == (1000, False)  # not before the probe's last step
    budget.record(SKIP + PROBE - 1, 0.5)
    # 25 s spent in 12 steps, 35 s left at 0.5 s per step: 70 more
    assert (budget.total, budget.fixed) == (SKIP + PROBE + 70, True)
    plan = json.loads((tmp_path / STEP_PLAN).read_text())
    assert (plan["total"], plan["seconds_per_step"]) == (82, pytest.approx(0.5))


def test_one_slow_lap_in_the_probe_does_not_set_the_pace(tmp_path):
    budget = StepBudget(1000, 1.0, tmp_path / STEP_PLAN)
    run_laps(budget, [0.5] * (SKIP + PROBE - 1) + [20.0])
    assert budget.total == SKIP + PROBE + int((60 - 0.5 * (SKIP + PROBE - 1) - 20) / 0.5)  # the lap's time is spent all the same


def test_a_resumed_run_keeps_the_plan_unless_its_limits_changed(tmp_path):
    run_laps(StepBudget(1000, 1.0, tmp_path / STEP_PLAN), [0.5] * (SKIP + PROBE))
    resumed = StepBudget(1000, 1.0, tmp_path / STEP_PLAN)
    assert (resumed.total, resumed.fixed) == (120, True)
    resumed.record(200, 100.0)  # a fixed plan ignores later laps
    assert resumed.total == 120
    changed = StepBudget(1000, 2.0, tmp_path / STEP_PLAN)  # a new limit is planned again
    assert (changed.total, changed.fixed) == (1000, False)


def test_without_a_limit_or_with_time_to_spare_the_run_takes_its_steps(tmp_path):
    unlimited = StepBudget(40, None, tmp_path / "a" / STEP_PLAN)
    run_laps(unlimited, [100.0] * 40)
    assert unlimited.total == 40 and not (tmp_path / "a").exists()
    roomy = StepBudget(40, 60.0, tmp_path / "b" / STEP_PLAN)
    run_laps(roomy, [0.1] * (SKIP + PROBE))
    assert roomy.total == 40


def test_an_unreadable_plan_is_a_clear_error(tmp_path):
    (tmp_path / STEP_PLAN).write_text("{not json")
    with pytest.raises(UserError, match="step plan"):
        StepBudget(100, 1.0, tmp_path / STEP_PLAN)


def test_the_cosine_schedule_ends_at_the_planned_total():
    settings = TrainConfig(steps=1000, batch_size=2, learning_rate=1e-3, warmup_steps=10, lr_schedule="cosine")
    assert learning_rate(settings, 55, total=100) == pytest.approx(5e-4)  # half-way through 10…100
    assert learning_rate(settings, 100, total=100) == 0.0
    assert learning_rate(settings, 55) > 9e-4  # the configured 1000 steps: barely decayed
