"""Export tasks of the ``benchmark-mi`` suite (samples + true MI) for ``benchmarks/information.py``.

benchmark-mi 0.1.3 pins numpy<2, pydantic<2 and jax<0.5, which clash with the project's
environment, so it runs in its own virtualenv and only hands over .npz files:

    .venv/bin/python -m venv runs/benchmarks/information/bmi-venv
    runs/benchmarks/information/bmi-venv/bin/pip install benchmark-mi==0.1.3 jax==0.4.33 jaxlib==0.4.33
    runs/benchmarks/information/bmi-venv/bin/python benchmarks/information_bmi_export.py

Each task becomes ``<out>/<task id>.npz`` with arrays ``x`` [n, d_x], ``y`` [n, d_y] and scalar ``mi`` (nats).
"""

import argparse
from pathlib import Path

import numpy as np

TASKS = (
    "1v1-normal-0.75",
    "half_cube-1v1-normal-0.75",
    "student-identity-2-2-1",
    "normal_cdf-multinormal-sparse-3-3-2-2.0",
    "spiral-multinormal-sparse-3-3-2-2.0",
    "multinormal-dense-5-5-0.5",
)


def main() -> None:
    import bmi  # only inside the benchmark-mi virtualenv

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/benchmarks/information/bmi_tasks"))
    parser.add_argument("--n", type=int, default=25000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for task_id in args.tasks:
        task = bmi.benchmark.BENCHMARK_TASKS[task_id]
        x, y = task.sample(args.n, seed=args.seed)
        np.savez(args.out / f"{task_id}.npz", x=np.asarray(x, np.float32), y=np.asarray(y, np.float32), mi=np.float64(task.mutual_information))
        print(f"{task_id}: x {np.shape(x)}, y {np.shape(y)}, MI {task.mutual_information:.4f} nats")


if __name__ == "__main__":
    main()
