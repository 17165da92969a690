"""Known-answer controls: one sensor's descriptors replaced so that the right report is known in closed form.

Faults (``faults``) act on raw data and their effect on the information is an empirical question;
a control acts on the descriptors of the nominal frames, where information theory gives the answer:

    noise  sensor i := independent Gaussian noise with i's per-channel mean and std.
           I(X_i; X_j) = 0 for every j and I(X_i; X∖i) = 0; Ω(X) = Ω(X∖i), so ∂_iΩ = 0 (with three
           sensors Ω(X) = Ω of a pair = 0: every ∂_jΩ is then 0 as well).
    copy   sensor i := sensor ``source``'s descriptors (plus the report's dither, so a near-copy):
           I(X_i; X_source) is as large as the dither allows, I(X_i; X_j) = I(X_source; X_j) for
           every other j, whose share I(X_j; X∖j) cannot rise (it loses i's own view of the scene).

A report whose measures do not move this way on the user's own data cannot be trusted on faults
either (``tests/test_redundancy_controls.py`` checks both on the test world).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from fusion.redundancy.collect import FrameDescriptors
from fusion.redundancy.config import ControlConfig


def apply_control(descriptors: FrameDescriptors, control: ControlConfig, seed: int) -> FrameDescriptors:
    """The descriptors with ``control.sensor``'s values replaced (see the module docstring); the rest is shared."""
    values = dict(descriptors.values)
    original = values[control.sensor]  # [n, P, C]
    if control.kind == "noise":
        rng = np.random.default_rng(seed)
        mean, std = original.mean(axis=(0, 1)), original.std(axis=(0, 1))
        values[control.sensor] = (mean + std * rng.standard_normal(original.shape)).astype(np.float32)
    else:
        values[control.sensor] = values[control.source].copy()
    return replace(descriptors, values=values)
