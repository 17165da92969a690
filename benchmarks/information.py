"""Benchmark of the score-based information estimators against ground truth (issues 9 and 21; thesis §5.4, App. C.5).

Default: the **held-out family** (issue 21, ``fusion/information/family.py``): random factor models with
unequal loadings seen as Gaussian, Student-t (ν = 3, 5) and per-variable spiral / shear bijections,
drawn from a seed the tests never use. Each member is fitted as ``nightfusion info`` does it (20 000
samples, 20 % held out for measuring, ``EstimatorConfig`` defaults with each ``--budgets`` preset) and
its TC, DTC and Ω are printed against the exact values beside the Gaussian copula (thoi, the value
``nightfusion info`` prints beside its own) and KSG kNN, with wall time.

    .venv/bin/python benchmarks/information.py                              # small family (N ≤ 6, d ≤ 3), quick budget
    .venv/bin/python benchmarks/information.py --budgets quick,default,thorough --full   # every preset, N up to 10
    .venv/bin/python benchmarks/information.py --set marginals=standardize   # a setting against the defaults
    .venv/bin/python benchmarks/information.py --budgets default --gradient  # also ∂_iΩ: does it rank the variables as the exact values?
    .venv/bin/python benchmarks/information.py --budgets default --only spiral --curve steps=2500,10000,20000   # accuracy–time curve
    .venv/bin/python benchmarks/information.py --budgets default --gaussian-systems --only redundant,synergistic --curve seed=0,1,2   # the issue's systems, 3 seeds

``--thesis-grid`` runs the earlier sweep instead (issue 9): the thesis' redundant / synergistic /
mixed Gaussian systems (N up to 10, d up to 20), their half-cube and normal-CDF transforms, Student-t
and spiral systems, ∂_iΩ on a mixed system and, when exported, ``benchmark-mi`` tasks (see
``benchmarks/information_bmi_export.py``), with the estimator sized per system by ``settings``:

    .venv/bin/python benchmarks/information.py --thesis-grid --quick      # one case per sweep
    .venv/bin/python benchmarks/information.py --thesis-grid              # the full grid, tens of minutes

Results go to ``runs/benchmarks/information/`` (``heldout.json``; ``results.json`` and a plot for the grid).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import yaml

from fusion.information import EstimatorConfig, InformationEstimator
from fusion.information.baselines import gaussian_copula_measures, ksg_measures
from fusion.information.budgets import BUDGETS, with_budget
from fusion.information.family import HELD_OUT_SEED, family, heldout_split
from fusion.information.ranking import rank_agreement
from fusion.information.systems import StudentTSystem, TransformedSystem, mixed, redundant, synergistic
from preprocessing.atomic import atomic_write_json
from preprocessing.config import validate

OUT = Path("runs/benchmarks/information")


@dataclass
class Case:
    group: str  # cases of one group share a plot (x axis: ``strength``)
    name: str
    system: object
    strength: float
    family: str = "gaussian"  # gaussian | half_cube | normal_cdf | student_t | spiral
    results: dict = field(default_factory=dict)


def settings(dims, steps_scale: float, backbone: str = "mlp", marginals: str = "standardize") -> EstimatorConfig:
    """Capacity and training length grow with the total dimension, as in thesis Table C.1.

    Small systems are cheap to train but their non-Gaussian dependence (Student-t tails, spiral
    curvature) needs a deeper net and long training: at width 64, depth 2 and 4000 steps the
    Student-t Ω came out 38 % off and the spiral's 72 % (1.7 % and 39 % with these settings)."""
    total = sum(dims)
    width = 128 if total <= 60 else 192
    depth = 3 if total <= 6 else 2
    steps = int(steps_scale * (20000 if total <= 6 else 16000 if total <= 60 else 12000))
    if backbone == "transformer":
        return EstimatorConfig(backbone="transformer", width=max(32, width // 2), depth=2, heads=2, steps=steps, lr=3e-3,
                               mc_repeats=10, marginals=marginals)
    return EstimatorConfig(width=width, depth=depth, steps=steps, lr=3e-3, mc_repeats=10, marginals=marginals)


def red_syn_mix(kind: str, parts: list[int], dim: int, rho: float, syn_rho: float = 0.7):
    """Thesis benchmark layouts: subsystems of sizes ``parts`` (mixed: redundant parts, then one synergistic)."""
    if kind == "redundant":
        return mixed(*(redundant(n, dim, rho=rho) for n in parts))
    if kind == "synergistic":
        return mixed(*(synergistic(n, dim, rho=rho) for n in parts))
    return mixed(*(redundant(n, dim, rho=rho) for n in parts), synergistic(3, dim, rho=syn_rho))


def cases(quick: bool) -> list[Case]:
    out: list[Case] = []
    layouts = {"redundant": [3, 3, 4], "synergistic": [3, 3, 4], "mixed": [3, 4]}
    strengths = {"redundant": [0.3, 0.6, 0.8], "synergistic": [0.5, 0.7, 0.9], "mixed": [0.3, 0.6, 0.8]}
    if quick:
        strengths = {"redundant": [0.6], "synergistic": [0.8], "mixed": [0.6]}
    for kind, parts in layouts.items():
        for rho in strengths[kind]:
            base = red_syn_mix(kind, parts, 5, rho)
            out.append(Case(f"{kind} N=10 d=5", f"{kind} N=10 d=5 rho={rho}", base, rho))
            if rho == strengths[kind][len(strengths[kind]) // 2] and (kind == "mixed" or not quick):
                for transform in ("half_cube", "normal_cdf"):
                    out.append(Case(f"{kind} N=10 d=5 ({transform})", f"{transform} {kind} N=10 d=5 rho={rho}",
                                    TransformedSystem(base, transform), rho, transform))
    for dim in ([20] if quick else [1, 20]):
        out.append(Case("dimension sweep N=6", f"redundant N=6 d={dim} rho=0.6", red_syn_mix("redundant", [3, 3], dim, 0.6), dim))
    if not quick:
        out.append(Case("dimension sweep N=6 (synergistic)", "synergistic N=6 d=20 rho=0.8", red_syn_mix("synergistic", [3, 3], 20, 0.8), 20))
    for rho in ([0.6] if quick else [0.3, 0.6]):
        out.append(Case("student-t nu=3", f"student-t redundant N=3 d=2 rho={rho}", StudentTSystem(redundant(3, 2, rho=rho), 3.0), rho, "student_t"))
        out.append(Case("spiral", f"spiral redundant N=3 d=2 rho={rho}", TransformedSystem(redundant(3, 2, rho=rho), "spiral", {"speed": 0.5}), rho, "spiral"))
    out.append(Case("student-t nu=3", "student-t synergistic N=3 d=2 rho=0.8", StudentTSystem(synergistic(3, 2, rho=0.8), 3.0), 0.8, "student_t"))
    out.append(Case("spiral", "spiral synergistic N=3 d=2 rho=0.8", TransformedSystem(synergistic(3, 2, rho=0.8), "spiral", {"speed": 0.5}), 0.8, "spiral"))
    return out


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def relative_error(estimate: float, truth: float) -> float:
    return abs(estimate - truth) / max(abs(truth), 1e-9)


def run_case(case: Case, n_train: int, n_test: int, n_knn: int, steps_scale: float, seed: int, marginals: str) -> None:
    system = case.system
    dims = system.dims
    train = system.sample(n_train, seed).astype(np.float32)
    test = system.sample(n_test, seed + 1).astype(np.float32)
    truth = system.ground_truth()
    config = settings(dims, steps_scale, marginals=marginals)

    def soi():
        estimator = InformationEstimator(config).fit(train, measures=("tc", "dtc", "o_information"))
        result = estimator.measure(test)
        return {k: float(result[k].value) for k in ("tc", "dtc", "o_information")} | {"o_information_stderr": float(result["o_information"].stderr)}

    flat = train.reshape(n_train, -1)
    copula, copula_s = timed(lambda: gaussian_copula_measures(flat, dims))
    knn, knn_s = timed(lambda: ksg_measures(flat[:n_knn], dims))
    score, score_s = timed(soi)
    case.results = {
        "truth": {k: float(truth[k]) for k in ("tc", "dtc", "o_information")},
        "soi": score, "copula": {k: float(copula[k]) for k in ("tc", "dtc", "o_information")}, "ksg": knn,
        "seconds": {"soi": score_s, "copula": copula_s, "ksg": knn_s}, "settings": config.model_dump(),
    }


def print_row(case: Case) -> None:
    r = case.results
    omega = r["truth"]["o_information"]
    cells = [f"{case.name:<44}", f"{omega:+8.3f}"]
    for method in ("soi", "copula", "ksg"):
        value = r[method]["o_information"]
        cells.append(f"{value:+8.3f} ({100 * relative_error(value, omega):5.1f}%) {r['seconds'][method]:6.1f}s")
    print(" | ".join(cells), flush=True)


def gradient_study(steps_scale: float, seed: int, marginals: str) -> dict:
    """∂_iΩ on a mixed N=6, d=5 system (redundant 0–2, synergistic 3–5) for both backbones."""
    system = mixed(redundant(3, 5, rho=0.6), synergistic(3, 5, rho=0.8))
    truth = system.ground_truth()["o_gradient"]
    train, test = system.sample(20000, seed), system.sample(5000, seed + 1)
    out = {"truth": truth.tolist()}
    for backbone in ("mlp", "transformer"):
        config = settings(system.dims, steps_scale, backbone, marginals)
        (gradient, seconds) = timed(lambda: InformationEstimator(config).fit(train, measures=("o_information", "o_gradient"))
                                    .measure(test, measures=["o_gradient"])["o_gradient"].value)
        out[backbone] = {"gradient": gradient.tolist(), "seconds": seconds, "max_abs_error": float(np.abs(gradient - truth).max()),
                         "ranking_ok": bool(gradient[:3].min() > gradient[3:].max())}
        print(f"  ∂_iΩ {backbone:<12} {np.array2string(gradient, precision=3)}  max|err| {out[backbone]['max_abs_error']:.3f}  "
              f"ranking {'ok' if out[backbone]['ranking_ok'] else 'WRONG'}  {seconds:.0f}s", flush=True)
    print(f"  ∂_iΩ truth        {np.array2string(truth, precision=3)}")
    return out


def bmi_study(task_dir: Path, steps_scale: float, marginals: str) -> list[dict]:
    """MINDE-c / MINDE-j on exported benchmark-mi tasks (X, Y samples + true MI)."""
    rows = []
    for path in sorted(task_dir.glob("*.npz")):
        with np.load(path, allow_pickle=False) as task:
            x, y, truth = task["x"], task["y"], float(task["mi"])
        n_test = min(5000, len(x) // 5)
        data, held_out = [x[n_test:], y[n_test:]], [x[:n_test], y[:n_test]]
        config = settings((x.shape[1], y.shape[1]), steps_scale, marginals=marginals)
        (result, seconds) = timed(lambda: InformationEstimator(config).fit(data, measures=("mi_c", "mi_j")).measure(held_out))
        row = {"task": path.stem, "truth": truth, "minde_c": float(result["mi_c"].value[0, 1]),
               "minde_j": float(result["mi_j"].value[0, 1]), "seconds": seconds}
        rows.append(row)
        print(f"  {row['task']:<40} MI {truth:6.3f} | MINDE-c {row['minde_c']:6.3f} | MINDE-j {row['minde_j']:6.3f} | {seconds:.0f}s", flush=True)
    return rows


def summarise(all_cases: list[Case]) -> dict:
    def err(case, method="soi"):
        return relative_error(case.results[method]["o_information"], case.results["truth"]["o_information"])

    gaussian = [c for c in all_cases if c.family == "gaussian"]
    invariance = []
    for c in all_cases:
        base = next((b for b in gaussian if b.system is getattr(c.system, "base", None)), None)
        if c.family in ("half_cube", "normal_cdf") and base is not None:  # (--only may leave the base out)
            invariance.append(abs(c.results["soi"]["o_information"] - base.results["soi"]["o_information"]) / abs(base.results["truth"]["o_information"]))
    broken = [c for c in all_cases if c.family in ("student_t", "spiral")]
    summary = {
        "gaussian_median_rel_error": float(np.median([err(c) for c in gaussian])) if gaussian else None,
        "gaussian_within_10pct": f"{sum(err(c) <= 0.10 for c in gaussian)}/{len(gaussian)}",
        "invariance_max_rel_change": float(max(invariance)) if invariance else None,
        "non_copula_soi_beats_copula": f"{sum(err(c) < err(c, 'copula') for c in broken)}/{len(broken)}",
    }
    print("\nsummary:", json.dumps(summary, indent=1))
    return summary


def plot(all_cases: list[Case], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = sorted({c.group for c in all_cases})
    cols = 3
    rows = -(-len(groups) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False)
    for ax, group in zip(axes.flat, groups):
        members = sorted((c for c in all_cases if c.group == group), key=lambda c: (c.strength, c.name))
        xs = np.arange(len(members))
        ax.plot(xs, [c.results["truth"]["o_information"] for c in members], "kD", label="truth", markersize=7)
        for method, style in (("soi", "o-"), ("copula", "s--"), ("ksg", "^:")):
            ax.plot(xs, [c.results[method]["o_information"] for c in members], style, label=method)
        ax.set_xticks(xs, [c.name.split()[-1] if "rho" in c.name else c.name.split()[-2] for c in members], fontsize=7, rotation=20)
        ax.set_title(group, fontsize=9)
        ax.set_ylabel("Ω (nats)")
        ax.axhline(0, color="grey", lw=0.5)
    for ax in axes.flat[len(groups):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "o_information.png", dpi=110)
    plt.close(fig)


HELD_OUT_MEASURES = ("tc", "dtc", "o_information")
# issue 21's own Gaussian systems (its first table), run beside the family with --gaussian-systems
ISSUE_GAUSSIAN_SYSTEMS = (("redundant N=6 d=2", redundant(6, 2, rho=0.5)), ("synergistic N=5 d=2", synergistic(5, 2, rho=0.8)))


def heldout_case(name: str, system, fits: dict[str, EstimatorConfig], n: int, n_knn: int, gradient: bool) -> dict:
    """One member: exact measures, the copula and KSG on the measured samples, one fit per entry of ``fits``."""
    train, test = heldout_split(system, n)
    truth = system.ground_truth()
    flat = test.reshape(len(test), -1)
    copula, copula_s = timed(lambda: gaussian_copula_measures(flat, system.dims))
    knn, knn_s = timed(lambda: ksg_measures(flat[:n_knn], system.dims))
    row = {"system": name, "truth": {m: float(truth[m]) for m in HELD_OUT_MEASURES} | {"o_gradient": truth["o_gradient"].tolist()},
           "copula": {m: float(copula[m]) for m in HELD_OUT_MEASURES}, "ksg": {m: float(knn[m]) for m in HELD_OUT_MEASURES},
           "seconds": {"copula": copula_s, "ksg": knn_s}, "fits": {}}
    if gradient:
        row["copula"] |= {"o_gradient": copula["o_gradient"].tolist(), "ranking": rank_agreement(copula["o_gradient"], truth["o_gradient"])}
    measures = HELD_OUT_MEASURES + (("o_gradient",) if gradient else ())
    for label, config in fits.items():
        cpu = time.process_time()  # one torch thread: CPU time is the fit's cost whatever else shares the machine
        (result, seconds) = timed(lambda: InformationEstimator(config).fit(train, measures=measures).measure(test))
        row["fits"][label] = {m: float(result[m].value) for m in HELD_OUT_MEASURES} | {
            "seconds": seconds, "cpu_seconds": time.process_time() - cpu}
        if gradient:
            estimate = result["o_gradient"].value
            row["fits"][label] |= {"o_gradient": estimate.tolist(), "ranking": rank_agreement(estimate, truth["o_gradient"])}
    return row


def print_heldout_row(row: dict) -> None:
    truth = row["truth"]

    def errors(values: dict) -> str:
        return " ".join(f"{100 * relative_error(values[m], truth[m]):5.1f}" for m in ("o_information", "tc"))

    cells = [f"{row['system']:<22}", f"{truth['o_information']:+7.3f} {truth['tc']:6.3f}"]
    cells += [f"{errors(r)} {r['seconds']:4.0f}s cpu {r['cpu_seconds']:4.0f}s" + (ranking_cell(r["ranking"]) if "ranking" in r else "")
              for r in row["fits"].values()]
    cells += [errors(row["copula"]) + (ranking_cell(row["copula"]["ranking"]) if "ranking" in row["copula"] else ""), errors(row["ksg"])]
    print(" | ".join(cells), flush=True)


def ranking_cell(ranking: dict) -> str:
    """∂_iΩ ranking: Spearman ρ, same argmax / argmin (+/−), share of resolved pairs in order."""
    flags = "".join("+" if ranking[k] else "−" for k in ("same_argmax", "same_argmin"))
    return f" ∂Ω ρ{ranking['spearman']:+.2f} {flags} {ranking['pairs_in_order']:.0%} of {ranking['resolved_pairs']}"


def ranking_summary(rankings: list[dict]) -> dict:
    """∂_iΩ over the members: same argmax and argmin, median Spearman ρ, resolved pairs in order (pooled)."""
    pairs = sum(r["resolved_pairs"] for r in rankings)
    return {"gradient_same_argmax_and_argmin": f"{sum(r['same_argmax'] and r['same_argmin'] for r in rankings)}/{len(rankings)}",
            "gradient_median_spearman": float(np.median([r["spearman"] for r in rankings])),
            "gradient_pairs_in_order": f"{round(sum(r['pairs_in_order'] * r['resolved_pairs'] for r in rankings if r['resolved_pairs']))}/{pairs}"}


def heldout_summary(rows: list[dict]) -> dict:
    """Per estimator: median / max relative error of Ω and TC, how often it beats the copula, mean wall / CPU seconds."""
    def err(row, values, m):
        return relative_error(values[m], row["truth"][m])

    estimators = {label: [(row, row["fits"][label]) for row in rows] for label in rows[0]["fits"]}
    estimators |= {"gaussian copula": [(row, row["copula"]) for row in rows], "ksg": [(row, row["ksg"]) for row in rows]}
    summary = {}
    for label, pairs in estimators.items():
        summary[label] = {f"{m}_{stat}": float(fn([err(row, v, m) for row, v in pairs])) for m in ("o_information", "tc")
                          for stat, fn in (("median_rel_error", np.median), ("max_rel_error", np.max))}
        summary[label]["beats_copula_omega_and_tc"] = f"{sum(all(err(r, v, m) < err(r, r['copula'], m) for m in ('o_information', 'tc')) for r, v in pairs)}/{len(pairs)}"
        if label in rows[0]["fits"]:
            summary[label] |= {key: float(np.mean([v[key] for _, v in pairs])) for key in ("seconds", "cpu_seconds")}
        if "ranking" in pairs[0][1]:
            summary[label] |= ranking_summary([v["ranking"] for _, v in pairs])
    for label, values in summary.items():
        print(f"{label:<18} " + "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items()))
    return summary


def heldout_fits(budgets: list[str], overrides: dict, curve: str) -> dict[str, EstimatorConfig]:
    """Label → settings: each budget with ``overrides``; with ``curve`` "KEY=v1,v2,…" each budget at each value
    (an accuracy–time curve, e.g. ``steps=2500,5000,10000``)."""
    points = [{}]
    if curve:
        key, values = curve.split("=", 1)
        points = [{key: yaml.safe_load(value)} for value in values.split(",")]
    return {" ".join([budget] + [f"{k}={v}" for k, v in point.items()]):
            validate(EstimatorConfig, with_budget(EstimatorConfig(), budget).model_dump() | overrides | point)
            for budget in budgets for point in points}


def heldout_main(args) -> None:
    budgets = [b.strip() for b in args.budgets.split(",") if b.strip()]
    unknown = [b for b in budgets if b not in BUDGETS]
    if unknown or not budgets:
        raise SystemExit(f"--budgets: unknown {unknown}; choose from {', '.join(BUDGETS)}")
    overrides = {key: yaml.safe_load(value) for key, value in (item.split("=", 1) for item in args.set)}
    fits = heldout_fits(budgets, overrides, args.curve)
    members = family(args.full) + (list(ISSUE_GAUSSIAN_SYSTEMS) if args.gaussian_systems else [])
    members = [(name, system) for name, system in members if not args.only or any(t in name for t in args.only.split(","))]
    print(f"held-out family (seed {HELD_OUT_SEED}), n = {args.n_train} (20 % measured), settings: defaults {overrides or ''}")
    print(f"{'system':<22} | exact Ω     TC | " + " | ".join(f"{label}: Ω% TC% wall, cpu time" for label in fits) + " | copula Ω% TC% | KSG Ω% TC%")
    rows = []
    for name, system in members:
        rows.append(heldout_case(name, system, fits, args.n_train, args.n_knn, args.gradient))
        print_heldout_row(rows[-1])
    print()
    summary = heldout_summary(rows)
    out = args.out / "heldout.json"
    atomic_write_json(out, {"seed": HELD_OUT_SEED, "n": args.n_train, "overrides": overrides, "rows": rows, "summary": summary})
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budgets", default="quick", help=f"held-out family: comma-separated presets ({', '.join(BUDGETS)})")
    parser.add_argument("--full", action="store_true", help="held-out family: every member (N up to 10, d up to 5)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="held-out family: estimator setting over the budget")
    parser.add_argument("--gradient", action="store_true", help="held-out family: also fit ∂_iΩ and score its ranking of the variables")
    parser.add_argument("--curve", default="", metavar="KEY=V1,V2,...", help="held-out family: one fit per value of a setting (accuracy–time curve)")
    parser.add_argument("--gaussian-systems", action="store_true",
                        help="held-out family: also issue 21's redundant 6 × 2 (ρ 0.5) and synergistic 5 × 2 (ρ 0.8) Gaussian systems")
    parser.add_argument("--thesis-grid", action="store_true", help="run the thesis grid of issue 9 instead of the held-out family")
    parser.add_argument("--quick", action="store_true", help="thesis grid: one strength per sweep (a few cases)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--steps-scale", type=float, default=1.0, help="thesis grid: multiply the training steps")
    parser.add_argument("--n-train", type=int, default=20000, help="training samples (held-out family: samples in all, 20 %% measured)")
    parser.add_argument("--n-test", type=int, default=5000, help="thesis grid: measured samples")
    parser.add_argument("--n-knn", type=int, default=2000, help="samples given to the KSG estimator")
    parser.add_argument("--seed", type=int, default=0, help="thesis grid: sample seed (the held-out family has its own)")
    parser.add_argument("--bmi-tasks", type=Path, default=OUT / "bmi_tasks", help="thesis grid: folder of exported benchmark-mi tasks")
    parser.add_argument("--skip-gradient", action="store_true", help="thesis grid: skip the ∂_iΩ study")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest for these small nets on a busy machine)")
    parser.add_argument("--marginals", choices=("standardize", "gaussianize"), default="gaussianize",
                        help="thesis grid: the estimator's margins (gaussianize: invariant to monotone per-coordinate transforms, "
                             "and heavy tails reach the network as normal margins)")
    parser.add_argument("--only", default="", help="run only the cases whose name contains one of these comma-separated texts")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.thesis_grid:
        return heldout_main(args)

    wanted = [text.strip() for text in args.only.split(",")]
    all_cases = [case for case in cases(args.quick) if any(text in case.name for text in wanted)]
    print(f"{'case':<44} | {'true Ω':>8} | {'SΩI (score-based)':<27} | {'Gaussian copula (thoi)':<27} | {'KSG kNN':<27}")
    for case in all_cases:
        run_case(case, args.n_train, args.n_test, args.n_knn, args.steps_scale, args.seed, args.marginals)
        print_row(case)
    summary = summarise(all_cases)
    plot(all_cases, args.out)
    report = {"cases": [{"name": c.name, "group": c.group, "family": c.family, **c.results} for c in all_cases], "summary": summary}
    if not args.skip_gradient:
        print("\ngradient of O-information, mixed N=6 d=5:")
        report["gradient"] = gradient_study(args.steps_scale, args.seed, args.marginals)
    if args.bmi_tasks.is_dir():
        print("\nbenchmark-mi tasks (MINDE):")
        report["bmi"] = bmi_study(args.bmi_tasks, args.steps_scale, args.marginals)
    else:
        print(f"\nbenchmark-mi tasks: none in {args.bmi_tasks} (export them with benchmarks/information_bmi_export.py)")
    atomic_write_json(args.out / "results.json", report)
    print(f"\nwrote {args.out / 'results.json'} and {args.out / 'o_information.png'}")


if __name__ == "__main__":
    main()
