"""Vehicle inference speed, side by side: torch eager vs onnxruntime (fp32, fp16, int8) in one run.

For one enhanced frame (encode night + radar + LiDAR, guided DDIM from t̃, decode) and for one
denoising step (the guided ε: conditional + unconditional DiT pass; torch runs them as a batch of two,
the onnxruntime runtime side by side on half the threads each), prints the
best-of-N latency of each backend (timed in ``--rounds`` turns, so a drifting machine speed hits them
alike), its speed-up over torch eager and the PSNR of its frame against the torch frame made with
the same noise (fp32 onnxruntime should be ≥ 40 dB; fp16/int8 show their loss). Both backends get
the same number of threads. Models are random (speed does not depend on training) at a preset size,
or a trained model with ``--model``/``--info``.

    .venv/bin/python benchmarks/deploy.py                       # preset "tiny": 64×112 frames
    .venv/bin/python benchmarks/deploy.py --preset demo         # 128×224 frames, a larger DiT
    .venv/bin/python benchmarks/deploy.py --model runs/demo/mld --info runs/demo/monitor
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from timing import best_time  # noqa: I001  (from this folder, before it leaves sys.path below)

# Run as a script, this file's folder comes first on sys.path and its name would shadow the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import torch  # noqa: E402

from deploy.export import export_models  # noqa: E402
from deploy.export_fixtures import RandomModelSizes, random_models  # noqa: E402
from deploy.runtime.enhance import Enhancer as OnnxEnhancer  # noqa: E402
from deploy.runtime.graphs import Graphs  # noqa: E402
from deploy.runtime.manifest import load_manifest  # noqa: E402
from fusion.diffusion.config import denoising_steps  # noqa: E402
from fusion.diffusion.enhance import Enhancer as TorchEnhancer  # noqa: E402
from fusion.diffusion.multitime import multi_time  # noqa: E402
from fusion.diffusion.sampling import enhancement_inputs, guided_prediction  # noqa: E402

PRECISIONS = ("fp32", "fp16", "int8")
PRESETS = {
    "tiny": RandomModelSizes(frame=(64, 112), ae_channels=(16, 32, 32, 32), ae_groups=8, hidden_size=64, depth=2),
    "demo": RandomModelSizes(frame=(128, 224), ae_channels=(32, 64, 64, 64), ae_groups=8, hidden_size=256, depth=8),
}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """dB between frames in [-1, 1]."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(4.0 / mse)


def random_frames(height: int, width: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    frames = {"night": torch.rand(1, 3, height, width, generator=g) * 0.6 - 1}
    for name, channels in (("radar", 4), ("lidar", 3)):
        valid = (torch.rand(1, 1, height, width, generator=g) < 0.1).float()
        values = torch.cat([2 + 40 * torch.rand(1, 1, height, width, generator=g),
                            5 * torch.randn(1, channels - 2, height, width, generator=g)], dim=1)
        frames[name] = torch.cat([values * valid, valid], dim=1)
    return frames


def onnx_runs(folder: Path, precision: str, args, frames, start_noise, absent_noise, step_inputs):
    """(one enhanced frame, one guided step) on onnxruntime sessions opened for this call."""
    enhancer = OnnxEnhancer(Graphs(load_manifest(folder, precision), precision, args.threads))
    frame = partial(enhancer.enhance, frames, start_noise=start_noise, absent_noise=absent_noise,
                    steps=args.steps, guidance=args.guidance, t_start=args.t_start)  # fmt: skip
    return frame, partial(enhancer.guided_prediction, *step_inputs, args.guidance)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    parser.add_argument("--model", type=Path, help="trained MLD folder (instead of random models)")
    parser.add_argument("--info", type=Path, help="information estimator folder (with --model)")
    parser.add_argument("--steps", type=int, default=50, help="DDIM steps of the full schedule")
    parser.add_argument("--t-start", type=float, default=0.5)
    parser.add_argument("--guidance", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="timed frames per backend and round (steps: 5× as many)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        mld, info = (args.model, args.info) if args.model else random_models(tmp / "models", PRESETS[args.preset])
        start = time.perf_counter()
        export_models(mld, tmp / "onnx", info_dir=info, precisions=PRECISIONS[1:])
        export_seconds = time.perf_counter() - start

        torch_enhancer = TorchEnhancer(mld)
        height, width = torch_enhancer.frame_size
        frames = random_frames(height, width, seed=0)
        numpy_frames = {name: x.numpy() for name, x in frames.items()}
        knobs = {"steps": args.steps, "guidance": args.guidance, "t_start": args.t_start}
        reference = torch_enhancer.enhance(frames, seed=0, **knobs).numpy()

        # one guided step at the first timestep, same inputs for both backends
        latents = {name: torch_enhancer.autoencoders.encode(name, x) for name, x in frames.items()}
        slots, target, presence = enhancement_inputs(latents)
        noise = torch.randn(slots.shape, generator=torch.Generator().manual_seed(1))
        horizon = torch_enhancer.model.config.num_train_timesteps
        tau = multi_time(target, presence, torch.tensor([horizon // 2]), horizon)
        step_inputs = (slots.numpy(), tau.float().numpy(), target.numpy(), presence.numpy(), noise.numpy())
        generator = torch.Generator().manual_seed(0)  # the draws ``sample`` makes for seed 0
        start_noise, absent_noise = (torch.randn(slots.shape, generator=generator).numpy() for _ in range(2))

        def torch_step():
            with torch.no_grad():
                guided_prediction(torch_enhancer.model, slots, tau, target, presence, noise, args.guidance)

        backends = {"torch": lambda: (lambda: torch_enhancer.enhance(frames, seed=0, **knobs), torch_step)}
        for precision in PRECISIONS:
            backends[precision] = partial(onnx_runs, tmp / "onnx", precision, args, numpy_frames, start_noise,
                                          absent_noise, step_inputs)  # fmt: skip
        # Rounds: every backend is timed once per round, so a machine whose speed drifts hits all alike. Each
        # onnxruntime backend opens its sessions for its turn and closes them after (a vehicle runs one).
        frame_seconds, step_seconds, quality = {}, {}, {}
        for _ in range(args.rounds):
            for name, open_backend in backends.items():
                frame, step = open_backend()
                if name != "torch":
                    quality[name] = psnr(frame().image, reference)
                frame_seconds[name] = min(frame_seconds.get(name, float("inf")), best_time(frame, args.repeats))
                step_seconds[name] = min(step_seconds.get(name, float("inf")), best_time(step, args.repeats * 5))
                del frame, step

    torch_frame, torch_step = frame_seconds["torch"], step_seconds["torch"]
    rows = [("torch eager", "fp32", torch_frame, torch_step, float("inf"))]
    rows += [("onnxruntime", p, frame_seconds[p], step_seconds[p], quality[p]) for p in PRECISIONS]
    source = f"model {args.model}" if args.model else f"random models, preset {args.preset}"
    denoising = denoising_steps(args.steps, args.t_start)
    print(f"\nnightfusion vehicle inference — {source}, frame {height}×{width}, {denoising} guided DDIM steps "
          f"({args.steps}-step schedule from t̃={args.t_start}), guidance {args.guidance}, {args.threads} threads")
    print(f"export (5–6 graphs + fp16 + int8 variants): {export_seconds:.1f} s\n")
    header = f"{'backend':<13} {'precision':<9} {'ms/frame':>9} {'ms/step':>8} {'frame ×':>8} {'step ×':>7} {'PSNR vs torch':>14}"
    print(header + "\n" + "-" * len(header))
    for backend, precision, frame, step, quality in rows:
        print(f"{backend:<13} {precision:<9} {1e3 * frame:>9.1f} {1e3 * step:>8.2f} {torch_frame / frame:>7.2f}× "
              f"{torch_step / step:>6.2f}× {'—' if quality == float('inf') else f'{quality:.1f} dB':>14}")
    fp32 = rows[1]
    print(f"\ntarget onnxruntime ≥ 2× torch eager per frame: {'met' if torch_frame / fp32[2] >= 2 else 'NOT met'} "
          f"({torch_frame / fp32[2]:.2f}×); fp32 parity {fp32[4]:.1f} dB (target ≥ 40 dB)")


if __name__ == "__main__":
    main()
