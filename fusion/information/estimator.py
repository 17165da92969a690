"""``InformationEstimator``: fit one amortised denoiser on multivariate data, then measure MI, TC,
DTC, S-information, O-information and ∂_iΩ from it (thesis ch. 4–5; SPEC §6).

    est = InformationEstimator(EstimatorConfig(steps=5000))
    est.fit(X_train, measures=("o_information", "o_gradient"))
    result = est.measure(X_test)             # nats; bits=True for bits
    result["o_information"].value, result["o_information"].pointwise   # scalar, [n]
    est.save("runs/info_model"); InformationEstimator.load("runs/info_model")

X is a list of arrays [n, d_i] or an array [n, N, d] / [n, N] (see ``variables``). The measures
fitted decide which configurations the denoiser learns; ``measure`` may ask for any measure whose
configurations were learned. A saved estimator is a folder: ``config.json`` (settings, variable
dimensions, learned configurations, schedule), ``weights.safetensors`` (EMA weights) and
``normalisation.json`` (per-coordinate mean/std of the training data; the Gaussianiser's quantiles) and,
with ``marginals: flow``, ``flows.safetensors`` (the per-variable flows). Nothing is unpickled.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fusion.information.backbones import GaussianSkip, build_backbone
from fusion.information.config import EstimatorConfig
from fusion.information.evaluation import pointwise_integrands
from fusion.information.flows import VariableFlows, fit_flows
from fusion.information.measures import DEFAULT_MEASURES, MEASURES, Integrand, SelfInformation, plan, required_configurations
from fusion.information.results import NATS_PER_BIT, Estimate, InformationResult
from fusion.information.schedule import VPSchedule
from fusion.information.training import Trainer
from fusion.information.variables import MarginalGaussianizer, Standardizer, as_variables
from perception.tensor_files import load_tensors, write_safetensors
from preprocessing.atomic import atomic_directory, atomic_write_json
from preprocessing.errors import UserError

FORMAT = "nightfusion.information/1"
FLOWS = "flows.safetensors"


def check_measures(names: Sequence[str]) -> tuple[str, ...]:
    unknown = [name for name in names if name not in MEASURES]
    if unknown:
        raise UserError(f"unknown measure(s) {', '.join(unknown)}; choose from {', '.join(MEASURES)}")
    if not names:
        raise UserError("no measure requested")
    return tuple(dict.fromkeys(names))


class InformationEstimator:
    """Score-based estimator of information measures; see the module docstring."""

    def __init__(self, config: EstimatorConfig | None = None, schedule: VPSchedule | None = None):
        self.config = config or EstimatorConfig()
        self.schedule = schedule or VPSchedule()
        self.net: nn.Module | None = None
        self.dims: tuple[int, ...] = ()
        self.measures: tuple[str, ...] = ()
        self.standardizer: Standardizer | None = None
        self.gaussianizer: MarginalGaussianizer | None = None  # config.marginals "gaussianize" or "flow"
        self.flows: VariableFlows | None = None  # config.marginals == "flow"
        self.losses: list[float] = []

    # ------------------------------------------------------------------ fitting
    def fit(self, data, measures: Sequence[str] = DEFAULT_MEASURES, *, progress: bool = False,
            checkpoint_dir: str | Path | None = None, resume: bool = False) -> "InformationEstimator":
        """Train the denoiser on ``data`` for every configuration the ``measures`` need."""
        x, dims = as_variables(data, "training data")
        if x.shape[0] < 2:
            raise UserError(f"training data: need at least 2 samples, got {x.shape[0]}")
        measures = check_measures(measures)
        if "o_gradient" in measures and len(dims) < 3:
            raise UserError("o_gradient needs at least 3 variables")
        self._refuse_entropy(measures)
        self.dims, self.measures = dims, measures
        with torch.random.fork_rng():  # seeded initialisation without touching the caller's RNG
            torch.manual_seed(self.config.seed)
            net = build_backbone(self.config, dims, self.schedule)
        trainer = Trainer(net, dims, required_configurations(measures, len(dims)), self.schedule, self.config)
        checkpoint = Path(checkpoint_dir) if checkpoint_dir is not None else None
        if checkpoint is not None:  # before the flows: a wrong --resume fails at once, not after their fit
            if resume:
                trainer.load_checkpoint(checkpoint)
            elif (checkpoint / "checkpoint.json").exists():
                raise UserError(f"{checkpoint} holds an unfinished run: resume it (--resume) or delete it")
            checkpoint.mkdir(parents=True, exist_ok=True)
        self.gaussianizer = MarginalGaussianizer.fit(x) if self.config.marginals in ("gaussianize", "flow") else None
        self.flows = self._fit_flows(x, checkpoint, resume, progress) if self.config.marginals == "flow" else None
        margins = self._margins(x)
        self.standardizer = Standardizer.fit(margins, dims)
        inputs = torch.from_numpy(self.standardizer(margins))
        if isinstance(net, GaussianSkip):
            net.fit_covariance(inputs)
        self.net = trainer.run(inputs, checkpoint, progress)
        self.losses = trainer.losses
        return self

    def _fit_flows(self, x: np.ndarray, checkpoint: Path | None, resume: bool, progress: bool) -> VariableFlows:
        """The per-variable flows on the Gaussianised data: fitted, or the checkpoint's when resuming."""
        saved = checkpoint / FLOWS if checkpoint is not None else None
        if resume and saved is not None and saved.is_file():
            return self._build_flows(load_tensors(saved))
        c = self.config
        flows, _ = fit_flows(self.gaussianizer(x), self.dims, steps=c.flow_steps, transforms=c.flow_transforms,
                             hidden=c.flow_width, seed=c.seed, progress=progress)
        if saved is not None:
            write_safetensors(saved, flows.state_dict())
        return flows

    def _build_flows(self, weights: dict) -> VariableFlows:
        flows = VariableFlows(self.dims, self.config.flow_transforms, self.config.flow_width)
        flows.load_state_dict(weights)
        return flows.eval()

    def _margins(self, x: np.ndarray) -> np.ndarray:
        margins = self.gaussianizer(x) if self.gaussianizer else x
        return self.flows.apply(margins) if self.flows is not None else margins

    def network_inputs(self, x: np.ndarray) -> np.ndarray:
        """Flat data [n, D] → the denoiser's variables: (Gaussianised margins, per-variable flows, then)
        standardised coordinates."""
        return self.standardizer(self._margins(x))

    def _refuse_entropy(self, names) -> None:
        if "entropy" in names and self.config.marginals != "standardize":
            raise UserError(f"entropy depends on the margins: it needs marginals: standardize, not {self.config.marginals}")

    @property
    def configurations(self) -> list[tuple[int, ...]]:
        return required_configurations(self.measures, len(self.dims))

    # ---------------------------------------------------------------- measuring
    def measure(self, data, measures: Sequence[str] | None = None, *, mc_repeats: int | None = None,
                bits: bool = False, seed: int = 0, progress: bool = False) -> InformationResult:
        """Estimate ``measures`` (default: those fitted) on ``data`` with per-sample contributions."""
        if self.net is None:
            raise UserError("the estimator is not fitted: call fit() or load() first")
        x, dims = as_variables(data, "measured data")
        if dims != self.dims:
            raise UserError(f"measured data has variable dimensions {list(dims)}, the estimator was fitted on {list(self.dims)}")
        names = check_measures(measures if measures is not None else self.measures)
        self._refuse_entropy(names)
        trained = set(self.configurations)
        missing = [name for name in names if not set(required_configurations((name,), len(dims))) <= trained]
        if missing:
            raise UserError(f"measure(s) {', '.join(missing)} need configurations the denoiser was not trained on; fit with them")
        plans = {name: plan(name, len(dims)) for name in names}
        items: list[Integrand] = sorted({d for p in plans.values() for combination in p.values() for _, d in combination}, key=repr)
        column = {d: k for k, d in enumerate(items)}
        repeats = mc_repeats or self.config.mc_repeats
        integrands = pointwise_integrands(
            self.net, torch.from_numpy(self.network_inputs(x)), dims, items, self.schedule, repeats,
            self.config.eval_batch_size, torch.Generator().manual_seed(seed), progress)  # [R, n, K]
        log_scale = self.standardizer.log_scale(dims)  # density of the standardised variable → of the data: + Σ log std
        for k, item in enumerate(items):
            if isinstance(item, SelfInformation):
                integrands[:, :, k] += log_scale[item.variable]
        estimates = {name: _combine(plans[name], integrands, column, len(dims)) for name in names}
        if bits:
            estimates = {name: e.scaled(1.0 / NATS_PER_BIT) for name, e in estimates.items()}
        return InformationResult(estimates, "bits" if bits else "nats", x.shape[0])

    # ------------------------------------------------------------ persistence
    def save(self, directory: str | Path, overwrite: bool = False) -> Path:
        """Write the fitted estimator as a folder (atomically)."""
        if self.net is None:
            raise UserError("nothing to save: the estimator is not fitted")
        directory = Path(directory)
        if directory.exists() and not overwrite:
            raise UserError(f"{directory} already exists")
        with atomic_directory(directory, overwrite=overwrite) as tmp:
            write_safetensors(tmp / "weights.safetensors", self.net.state_dict())
            if self.flows is not None:
                write_safetensors(tmp / FLOWS, self.flows.state_dict())
            atomic_write_json(tmp / "normalisation.json", {
                "mean": self.standardizer.mean.tolist(), "std": self.standardizer.std.tolist(),
                "gaussianizer": self.gaussianizer.to_json() if self.gaussianizer else None,
            })
            atomic_write_json(tmp / "config.json", {
                "format": FORMAT, "dims": list(self.dims), "measures": list(self.measures),
                "estimator": self.config.model_dump(), "schedule": self.schedule.to_dict(),
                "final_loss": float(np.mean(self.losses[-100:])) if self.losses else None,
            })
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "InformationEstimator":
        """Rebuild a saved estimator (weights through safetensors only)."""
        directory = Path(directory)
        config_path = directory / "config.json"
        if not config_path.is_file():
            raise UserError(f"{directory} is not a saved information estimator (no config.json)")
        meta = json.loads(config_path.read_text())
        if meta.get("format") != FORMAT:
            raise UserError(f"{config_path}: unsupported format {meta.get('format')!r}, expected {FORMAT!r}")
        estimator = cls(EstimatorConfig(**meta["estimator"]), VPSchedule(**meta["schedule"]))
        estimator.dims, estimator.measures = tuple(meta["dims"]), tuple(meta["measures"])
        stats = json.loads((directory / "normalisation.json").read_text())
        estimator.standardizer = Standardizer(np.asarray(stats["mean"], np.float32), np.asarray(stats["std"], np.float32))
        if stats.get("gaussianizer") is not None:
            estimator.gaussianizer = MarginalGaussianizer.from_json(stats["gaussianizer"])
        if estimator.config.marginals == "flow":
            if not (directory / FLOWS).is_file():
                raise UserError(f"{directory} was fitted with marginals: flow but holds no {FLOWS}")
            estimator.flows = estimator._build_flows(load_tensors(directory / FLOWS))
        estimator.net = build_backbone(estimator.config, estimator.dims, estimator.schedule)
        estimator.net.load_state_dict(load_tensors(directory / "weights.safetensors"))
        estimator.net.eval()
        return estimator


def _combine(measure_plan: dict, integrands: np.ndarray, column: dict[Integrand, int], n_vars: int) -> Estimate:
    """Signed sums of integrands [R, n, K] → one Estimate (scalar, [N] or [N, N])."""
    index_shape = len(next(iter(measure_plan)))
    shape = (n_vars,) * index_shape
    repeats, n = integrands.shape[:2]
    per_sample = np.full((repeats, n) + shape, np.nan)
    for index, combination in measure_plan.items():
        per_sample[(slice(None), slice(None)) + index] = sum(coef * integrands[:, :, column[d]] for coef, d in combination)
        if index_shape == 2 and (index[1], index[0]) not in measure_plan:  # symmetric measure (MINDE-j)
            per_sample[(slice(None), slice(None)) + index[::-1]] = per_sample[(slice(None), slice(None)) + index]
    per_repeat = per_sample.mean(axis=1)
    return Estimate(per_repeat.mean(axis=0), per_repeat.std(axis=0, ddof=1) if repeats > 1 else np.zeros(shape),
                    per_sample.mean(axis=0), repeats)
