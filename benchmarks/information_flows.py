"""What the per-variable flows alone achieve (issue 21): the Gaussian measures of their output.

For each held-out family member (``fusion/information/family.py``, split as ``nightfusion info`` splits:
20 % measured) the flows are fitted on the Gaussianised training samples, and TC, DTC and Ω of a Gaussian
with the covariance of g(X) on the measured samples are printed against the exact values, with the fit's
wall time. A flow that undoes every within-variable mixing makes these exact; what they miss, the
denoiser has to find on its own. One fit per value of ``--transforms``:

    .venv/bin/python benchmarks/information_flows.py --only spiral --transforms 3,6 --steps 2500
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from fusion.information.family import family, heldout_split
from fusion.information.flows import fit_flows
from fusion.information.ground_truth import gaussian_measures
from fusion.information.variables import MarginalGaussianizer

MEASURES = ("tc", "dtc", "o_information")


def flow_measures(system, transforms: int, steps: int, n: int) -> tuple[dict, float]:
    """Gaussian TC / DTC / Ω of the flows' output on the measured samples, and the fit's wall time."""
    train, test = (part.reshape(len(part), -1) for part in heldout_split(system, n))
    start = time.perf_counter()
    gaussianizer = MarginalGaussianizer.fit(train)
    flows, _ = fit_flows(gaussianizer(train), system.dims, steps=steps, transforms=transforms)
    seconds = time.perf_counter() - start
    output = flows.apply(gaussianizer(test)).astype(np.float64)
    return gaussian_measures(np.cov(output, rowvar=False), system.dims), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transforms", default="3,6", help="comma-separated spline transforms per flow")
    parser.add_argument("--steps", type=int, default=2500, help="most flow steps (early stopping may end sooner)")
    parser.add_argument("--only", default="", help="members whose name contains one of these comma-separated texts")
    parser.add_argument("--n", type=int, default=20000, help="samples in all, 20 %% measured")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    wanted = [text.strip() for text in args.only.split(",")]
    print(f"{'member':<22} | transforms | Gaussian measures of g(X): TC, DTC, Ω (error %) | wall")
    for name, system in family():
        if not any(text in name for text in wanted):
            continue
        truth = system.ground_truth()
        for transforms in (int(t) for t in args.transforms.split(",")):
            measured, seconds = flow_measures(system, transforms, args.steps, args.n)
            cells = [f"{measured[m]:.3f} ({100 * abs(measured[m] - truth[m]) / abs(truth[m]):.1f})" for m in MEASURES]
            print(f"{name:<22} | {transforms:>10} | {'  '.join(cells)} | {seconds:.0f} s", flush=True)


if __name__ == "__main__":
    main()
