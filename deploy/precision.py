"""Reduced-precision variants of exported fp32 graphs: fp16 weights and activations, int8 dynamic quantisation.

fp16 uses onnxruntime's ``transformers.float16`` converter with fp32 graph inputs/outputs (the runtime
always feeds float32; ``onnxconverter_common`` 1.16 leaves ``Cast(to=float)`` nodes inconsistent with
the fp16 graph, which onnxruntime then refuses to load). int8 uses
``onnxruntime.quantization.quantize_dynamic`` (int8 weights of MatMul/Gemm, activations quantised on
the fly). Their accuracy and speed against fp32 are measured by
``benchmarks/deploy.py``; on CPU fp16 is usually slower (few fp16 kernels), it targets accelerators.
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

import onnx
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.transformers.float16 import convert_float_to_float16

VARIANT_SUFFIX = {"fp16": ".fp16.onnx", "int8": ".int8.onnx"}


def variant_path(fp32_path: Path, precision: str) -> Path:
    return fp32_path.with_name(fp32_path.name.removesuffix(".onnx") + VARIANT_SUFFIX[precision])


def to_fp16(source: Path, target: Path) -> None:
    """fp16 copy of ``source``; inputs and outputs stay float32 (Cast nodes at the boundary)."""
    model = convert_float_to_float16(onnx.load(str(source)), keep_io_types=True)
    onnx.save(model, str(target))


def to_int8(source: Path, target: Path) -> None:
    """Dynamically quantised copy of ``source`` (int8 weights of MatMul/Gemm)."""
    model = onnx.load(str(source))
    # The exporter's recorded intermediate shapes can disagree with onnx's re-inference (it fails on the
    # information denoiser); the quantiser infers them again, so start without them.
    del model.graph.value_info[:]
    logging.getLogger("root").setLevel(logging.ERROR)  # the quantiser logs a pre-processing hint per model
    with contextlib.redirect_stdout(io.StringIO()):
        quantize_dynamic(model, str(target), op_types_to_quantize=["MatMul", "Gemm"], weight_type=QuantType.QInt8)


CONVERTERS = {"fp16": to_fp16, "int8": to_int8}


def make_variant(fp32_path: Path, precision: str) -> Path:
    """Write the ``precision`` variant next to ``fp32_path`` and return its path."""
    target = variant_path(fp32_path, precision)
    CONVERTERS[precision](fp32_path, target)
    return target
