"""onnxruntime sessions of an export folder, checked against the manifest's input/output signatures.

``Graphs(manifest, precision)`` opens one CPU session per graph, from the checksum-verified bytes of
its file (``Manifest.read``); ``graphs.run(name, **inputs)`` returns the outputs as a dict,
``graphs.run_concurrently(calls)`` runs several at once. A graph whose inputs or outputs differ from
what the manifest declares (names, ranks, static sizes) belongs to another export and is refused.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnxruntime as ort

from deploy.runtime.manifest import Manifest, ModelIntegrityError


# Graphs run back to back many times per frame (the denoiser: two per DDIM step). Only their pools
# spin between runs; the others (run once per frame) give their cores back at once. Idle spinners of
# the encoders otherwise steal the cores the denoiser needs next: ~1.6× slower frames measured on 2 cores
# when every graph ran on both. (A one-thread session has no pool to spin: at 2 threads the encoders and
# the denoiser's passes run on one thread each below, so this matters from 4 threads up.)
SPINNING_GRAPHS = frozenset({"denoiser"})

# Graphs run in concurrent groups (the three condition encoders; guidance's conditional and
# unconditional denoiser passes), each run on its share of the threads: on tensors this small, runs
# side by side beat one run whose threads synchronise after every op (2 cores: encoders 6.5 vs
# 8.5–9.9 ms one after another; a guided step 3.5 vs 3.8 ms as one batch of two).
CONCURRENT_GROUP = {"camera_encoder": 3, "radar_encoder": 3, "lidar_encoder": 3, "denoiser": 2}


def session_options(threads: int, spinning: bool = True) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # warnings about unused initialisers etc. are noise on a vehicle log
    return options


def _signature(values) -> list[tuple[str, list]]:
    return [(value.name, [d if isinstance(d, int) else "batch" for d in value.shape]) for value in values]


def check_signature(name: str, session: ort.InferenceSession, declared: dict, source: str) -> None:
    """Refuse a session whose inputs/outputs differ from the manifest entry of graph ``name``."""
    for kind, actual in (("inputs", session.get_inputs()), ("outputs", session.get_outputs())):
        expected = [(item["name"], list(item["shape"])) for item in declared[kind]]
        if _signature(actual) != expected:
            raise ModelIntegrityError(
                f"{source}: graph {name} has {kind} {_signature(actual)}, the manifest declares {expected}"
            )


class Graphs:
    """The exported graphs of one precision variant, ready to run."""

    def __init__(self, manifest: Manifest, precision: str = "fp32", threads: int = 2):
        self.manifest, self.precision = manifest, precision
        self.sessions: dict[str, ort.InferenceSession] = {}
        for name, declared in manifest.data["graphs"].items():
            if name == "info_denoiser" and not manifest.has_redundancy:
                continue
            path = manifest.graph_file(name, precision)
            model = manifest.read(path.name)  # checked bytes: onnxruntime gets these, not the path
            options = session_options(max(1, threads // CONCURRENT_GROUP.get(name, 1)), spinning=name in SPINNING_GRAPHS)
            try:
                session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
            except Exception as error:  # onnxruntime raises its own exception types for unloadable models
                raise ModelIntegrityError(f"{path}: onnxruntime cannot load it ({error})") from None
            check_signature(name, session, declared, str(path))
            self.sessions[name] = session
        self._pool = ThreadPoolExecutor(max(CONCURRENT_GROUP.values()) - 1, thread_name_prefix="graphs")

    def __contains__(self, name: str) -> bool:
        return name in self.sessions

    def run(self, name: str, **inputs: np.ndarray) -> dict[str, np.ndarray]:
        session = self.sessions[name]
        outputs = session.run(None, inputs)
        return {value.name: array for value, array in zip(session.get_outputs(), outputs)}

    def run_one(self, name: str, **inputs: np.ndarray) -> np.ndarray:
        """The single output of a one-output graph."""
        return next(iter(self.run(name, **inputs).values()))

    def run_concurrently(self, calls: list[tuple[str, dict[str, np.ndarray]]]) -> list[np.ndarray]:
        """``run_one(name, **inputs)`` of every (name, inputs) call, side by side (onnxruntime releases the
        GIL while a session runs; one session may serve several runs at once)."""
        *others, (name, inputs) = calls
        pending = [self._pool.submit(lambda call: self.run_one(call[0], **call[1]), call) for call in others]
        last = self.run_one(name, **inputs)  # on this thread, while the pool runs the others
        return [future.result() for future in pending] + [last]
