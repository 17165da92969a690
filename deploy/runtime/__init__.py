"""The torch-free vehicle runtime: numpy + onnxruntime + opencv (+ Pillow for strict JPEG decoding) only (SPEC §8).

    runtime = VehicleRuntime("runs/onnx", RuntimeSettings(precision="fp32"))
    image, record = runtime.process("recording/000000")        # one frame folder
    run_recording(runtime, "recording", "runs/vehicle")         # a whole recording, resumable

Models come from ``nightfusion export`` (``deploy.export``); their checksums are verified on load.
The recording format is documented in ``deploy.runtime.recording``.
"""

from deploy.runtime.enhance import Enhancer
from deploy.runtime.manifest import Manifest, ModelIntegrityError, load_manifest
from deploy.runtime.redundancy import RedundancyScore
from deploy.runtime.sequence import run_recording
from deploy.runtime.vehicle import RuntimeSettings, VehicleRuntime

__all__ = [
    "Enhancer", "Manifest", "ModelIntegrityError", "RedundancyScore", "RuntimeSettings", "VehicleRuntime",
    "load_manifest", "run_recording",
]  # fmt: skip
