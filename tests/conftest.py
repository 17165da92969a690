"""Shared fixtures live in tests/fixtures/<area>.py, one module per stage, registered here."""

import os

# Two cores: keep torch from oversubscribing when tests run beside other work.
os.environ.setdefault("OMP_NUM_THREADS", "2")

pytest_plugins = [
    "tests.fixtures.world",
    "tests.fixtures.shards",
    "tests.fixtures.autoencoders",
    "tests.fixtures.deploy",
    "tests.fixtures.redundancy",
]


def pytest_terminal_summary(terminalreporter):
    """Name every page test with its outcome: a run's output shows that the pages were looked at in Chromium."""
    reports = [report for outcome in ("passed", "failed", "error") for report in terminalreporter.stats.get(outcome, [])
               if report.when == "call" and "browser" in report.keywords]  # fmt: skip
    if reports:
        terminalreporter.section("pages rendered in headless Chromium")
        for report in reports:
            terminalreporter.line(f"{report.outcome.upper()} {report.nodeid}")
