"""The training-precision setting: ``auto`` takes bfloat16 only where the hardware computes it."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

from perception import precision
from perception.precision import forward_precision, native_bf16, resolve_precision


def cpu_flags() -> set[str]:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    return {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[1].split()}


@pytest.mark.skipif(not cpu_flags(), reason="needs /proc/cpuinfo (Linux) to know the CPU's instruction sets")
def test_native_bf16_on_the_cpu_agrees_with_its_instruction_sets():
    assert native_bf16("cpu") == bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


@pytest.mark.parametrize("native", [True, False])
def test_auto_takes_bf16_exactly_where_it_is_native(monkeypatch, native):
    monkeypatch.setattr(precision, "native_bf16", lambda device_type: native)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # auto and no never warn
        assert resolve_precision("auto") == ("bf16" if native else "no")
        assert resolve_precision("no") == "no"


def test_an_explicit_bf16_is_kept_and_warned_about_only_where_it_is_emulated(monkeypatch):
    monkeypatch.setattr(precision, "native_bf16", lambda device_type: False)
    with pytest.warns(UserWarning, match="emulated"):
        assert resolve_precision("bf16") == "bf16"
    monkeypatch.setattr(precision, "native_bf16", lambda device_type: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_precision("bf16") == "bf16"


def test_the_forward_pass_casts_only_at_a_resolved_bf16():
    layer = torch.nn.Linear(4, 4)
    for setting, dtype in (("no", torch.float32), ("bf16", torch.bfloat16)):
        with forward_precision(setting):
            assert layer(torch.ones(2, 4)).dtype == dtype
    with pytest.raises(ValueError, match="resolve_precision"):
        forward_precision("auto")
