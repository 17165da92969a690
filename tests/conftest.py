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
