"""The torch modules behind each exported graph, and their ONNX export (SPEC §8, §9).

Every graph takes a dynamic batch as its first axis. ``GraphSpec`` names a module, its example
inputs (batch 2, so the batch axis is not specialised to 1) and the input/output names the runtime
uses; ``export_graph`` writes it with ``torch.onnx.export(dynamo=True, opset_version=20,
external_data=False)`` and returns the largest |onnxruntime − torch| over fresh inputs at another
batch size.

Graphs:
    camera_encoder   x [B, 3, H, W]                → z [B, C, h, w]     (normalised posterior mode)
    camera_decoder   z [B, C, h, w]                → x [B, 3, H, W]
    lidar_encoder    x [B, 3, H, W]                → z [B, C, h, w]
    radar_encoder    x [B, 4, H, W]                → z [B, C, h, w]
    denoiser         latents [B, M, C, h, w], tau [B, M] float, presence [B, M] bool,
                     noise [B, M, C, h, w]         → eps [B, M, C, h, w]
    info_denoiser    x [B, D], tau [B, N]          → eps [B, D]
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

# 20: the DiT's tanh-GELU exports as one Gelu node (onnxruntime runs it as FastGelu) instead of
# eight elementwise ops; that alone makes a denoising step ~5-10 % faster.
OPSET = 20


class DenoiserGraph(nn.Module):
    """``MultimodalDiT.forward`` with every input explicit (the absent-slot noise included)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, latents, tau, presence, noise):
        return self.model(latents, tau, presence, noise)


class InfoDenoiserGraph(nn.Module):
    """An information-estimator backbone on flat inputs: x [B, D], τ [B, N] → ε̂ [B, D]."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x, tau):
        return self.net(x, tau)


@dataclass
class GraphSpec:
    """One graph to export: ``make_inputs(batch, generator)`` builds example inputs in ``inputs`` order."""

    name: str
    module: nn.Module
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    make_inputs: Callable[[int, torch.Generator], tuple[torch.Tensor, ...]]


def _dtype_name(tensor: torch.Tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def signature(spec: GraphSpec, example: tuple[torch.Tensor, ...], result: torch.Tensor) -> dict:
    """Manifest entry: names, shapes (batch axis as "batch") and dtypes of inputs and outputs."""

    def describe(name, tensor):
        return {"name": name, "shape": ["batch", *tensor.shape[1:]], "dtype": _dtype_name(tensor)}

    return {
        "inputs": [describe(n, t) for n, t in zip(spec.inputs, example)],
        "outputs": [describe(spec.outputs[0], result)],
    }


def parity(spec: GraphSpec, path: Path, batch: int, generator: torch.Generator) -> float:
    """max |onnxruntime − torch| of the exported file on fresh inputs of ``batch`` samples."""
    inputs = spec.make_inputs(batch, generator)
    with torch.no_grad():
        expected = spec.module(*inputs).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    actual = session.run(None, {name: t.numpy() for name, t in zip(spec.inputs, inputs)})[0]
    return float(np.max(np.abs(actual.astype(np.float64) - expected)))


def export_graph(spec: GraphSpec, path: Path, generator: torch.Generator) -> tuple[dict, float]:
    """Write ``spec`` to ``path``; returns (manifest signature, parity max abs diff at batch 3)."""
    spec.module.eval()
    example = spec.make_inputs(2, generator)
    batch = torch.export.Dim("batch", min=1, max=1024)
    dynamic = {name: {0: batch} for name in spec.inputs}
    # The exporter prints progress and warns about its internals; a CLI run shows its own progress bar.
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            spec.module, example, str(path), dynamo=True, opset_version=OPSET, external_data=False,
            input_names=list(spec.inputs), output_names=list(spec.outputs), dynamic_shapes=dynamic, verbose=False,
        )  # fmt: skip
    with torch.no_grad():
        result = spec.module(*example)
    return signature(spec, example, result), parity(spec, path, 3, generator)
