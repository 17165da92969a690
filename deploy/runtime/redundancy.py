"""Per-frame sensor-redundancy score: pointwise O-information (or TC) from the information denoiser.

The numpy mirror of ``fusion.redundancy`` (descriptors) and ``fusion.information`` (integrands):

- descriptor of sensor s ∈ {camera (the night frame), radar, lidar}: its normalised latent minus
  the latent of a null input (black image, empty map), averaged over window cells → [P, C]. A
  sensor that delivered nothing has the zero descriptor, exactly as a dead sensor in the monitor.
- the P cells are P samples of the N sensor variables: standardised, diffused at R fixed draws
  (t with α_t, σ_t, ε and the filler of absent variables, stored in ``redundancy.npz`` by the
  exporter, identical to the monitor's seeded draws) and denoised in every configuration K the
  measures read, as one batch of K·R·P rows. Roles: 0 clean (τ = 0), 1 diffused (τ = t), 2 absent (τ = T).
- KL integrand = w · Σ_i ‖ε̂_left(i)[i] − ε̂_right(i)[i]‖² (w = Z/2 of the VP schedule); self-information
  of sensor i = −log N(x0_i) + Σ log std_i + w · (‖ε_i − ε̂_marginal[i]‖² − ‖ε_i − σ x_t,i‖²); a measure
  is Σ coef · integrand (Ω = TC − DTC, S = TC + DTC); the frame's value is its mean over the R × P
  (draw, cell) pairs.
- with a monitor's nominal band: the squared Mahalanobis distance of the frame's statistics (those
  the monitor names: Ω, S and each sensor's share I(X_i; X∖i), ``mi_rest:<sensor>``) from the nominal
  mean, the sensors whose descriptor no longer varies over the frame's cells (spread below the
  monitor's flat floor, ``fusion.redundancy.descriptors.cell_spread``: a dead or frozen
  sensor, which at night the distance alone misses), and ``in_band``: within the threshold, none flat.
"""

from __future__ import annotations

import io

import numpy as np

from deploy.runtime.graphs import Graphs
from fusion.redundancy.descriptors import cell_spread

CLEAN, DIFFUSED, ABSENT = 0, 1, 2
LATENT_OF_SENSOR = {"camera": "night", "radar": "radar", "lidar": "lidar"}


def pool(z: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """[C, h, w] → [P, C]: means over non-overlapping windows, cells in row-major order."""
    c, h, w = z.shape
    cells = z.reshape(c, h // window[0], window[0], w // window[1], window[1]).mean(axis=(2, 4), dtype=np.float64)
    return cells.reshape(c, -1).T.astype(np.float32)


class RedundancyScore:
    """Scores frames with the ``info_denoiser`` graph and the manifest's ``redundancy`` section."""

    def __init__(self, graphs: Graphs):
        manifest = graphs.manifest
        spec = manifest.data["redundancy"]
        self.graphs = graphs
        self.sensors = tuple(spec["sensors"])
        self.window = tuple(spec["window"])
        self.dims = tuple(spec["dims"])
        self.mean = np.asarray(spec["standardizer"]["mean"], np.float32)
        self.std = np.asarray(spec["standardizer"]["std"], np.float32)
        self.weight = float(spec["integral_weight"])
        self.horizon = np.float32(spec["horizon"])
        self.configurations = np.asarray(spec["configurations"], np.int64)  # [K, N]
        self.divergences = spec["divergences"]  # {name: [[i, left index, right index], ...]}
        self.self_information = spec.get("self_information", {})  # {name: [i, marginal configuration index]}
        self.measures = spec["measures"]  # {name: [[coef, divergence name], ...]}
        self.score_name = spec["score"]
        self.nominal = spec["nominal"]
        with np.load(io.BytesIO(manifest.read(spec["draws_file"])), allow_pickle=False) as stored:
            draws = {name: stored[name] for name in stored.files}
        self.t, self.alpha, self.sigma = (draws[k][..., None] for k in ("t", "alpha", "sigma"))  # [R, P, 1]
        self.noise, self.filler = draws["noise"], draws["filler"]  # [R, P, D]
        self.null = {sensor: draws[f"null_{sensor}"] for sensor in self.sensors}  # [C, h, w]
        ends = np.cumsum(self.dims)
        self.slices = [slice(int(end - d), int(end)) for d, end in zip(self.dims, ends)]
        self.log_scale = [float(np.log(self.std[part].astype(np.float64)).sum()) for part in self.slices]

    def descriptors(self, latents: dict[str, np.ndarray]) -> np.ndarray:
        """One frame's latents ([1, C, h, w] by modality; missing sensors absent) → [P, D]."""
        parts = []
        for sensor in self.sensors:
            z = latents.get(LATENT_OF_SENSOR[sensor])
            offset = np.zeros_like(self.null[sensor]) if z is None else z[0] - self.null[sensor]
            parts.append(pool(offset, self.window))
        return np.concatenate(parts, axis=1)

    def inputs(self, x0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Standardised descriptors x0 [P, D] → denoiser inputs x [K·R·P, D], τ [K·R·P, N]."""
        roles = np.repeat(self.configurations, np.asarray(self.dims), axis=1)[:, None, None, :]  # [K, 1, 1, D]
        x_t = self.alpha * x0 + self.sigma * self.noise  # [R, P, D]
        x = np.where(roles == CLEAN, x0, np.where(roles == DIFFUSED, x_t, self.filler))  # [K, R, P, D]
        kinds = self.configurations[:, None, None, :]  # [K, 1, 1, N]
        tau = np.where(kinds == CLEAN, np.float32(0), np.where(kinds == DIFFUSED, self.t[None], self.horizon))
        rows = x.shape[0] * x.shape[1] * x.shape[2]
        return x.reshape(rows, -1).astype(np.float32), tau.reshape(rows, -1).astype(np.float32)

    def integrands(self, descriptors: np.ndarray) -> dict[str, np.ndarray]:
        """Descriptors [P, D] → every measure's integrand per (draw, cell) [R, P]."""
        x0 = ((descriptors - self.mean) / self.std).astype(np.float32)
        x, tau = self.inputs(x0)
        eps = self.graphs.run_one("info_denoiser", x=x, tau=tau).reshape(len(self.configurations), *self.noise.shape)
        values = {}
        for name, terms in self.divergences.items():
            squared = sum(
                ((eps[left][..., self.slices[i]] - eps[right][..., self.slices[i]]) ** 2).sum(axis=-1)
                for i, left, right in terms
            )
            values[name] = (self.weight * squared).astype(np.float64)
        for name, (i, marginal) in self.self_information.items():
            part = self.slices[i]
            x0_i, noise = x0[:, part].astype(np.float64), self.noise[..., part].astype(np.float64)
            x_t = self.alpha * x0_i + self.sigma * noise  # [R, P, d]
            reference = 0.5 * (x0_i**2).sum(axis=-1) + 0.5 * x0_i.shape[-1] * np.log(2 * np.pi) + self.log_scale[i]
            losses = ((noise - eps[marginal][..., part]) ** 2).sum(axis=-1) - ((noise - self.sigma * x_t) ** 2).sum(axis=-1)
            values[name] = reference + self.weight * losses
        return {name: sum(coef * values[item] for coef, item in combination) for name, combination in self.measures.items()}

    def flat(self, descriptors: np.ndarray) -> list[str]:
        """Sensors whose descriptor (of [P, D]) lies below the monitor's flat floor of its spread over the cells."""
        floors = self.nominal.get("flat_floor", {})
        spreads = {s: float(cell_spread(descriptors[None, :, part])[0]) for s, part in zip(self.sensors, self.slices)}
        return [sensor for sensor in self.sensors if sensor in floors and spreads[sensor] < floors[sensor]]

    def band(self, values: dict[str, float], descriptors: np.ndarray) -> dict:
        """Distance of the frame's statistics from the monitor's nominal, its flat sensors and whether it is in
        band, or nulls without a monitor."""
        if self.nominal is None:
            return {"distance": None, "flat": None, "in_band": None}
        delta = np.array([values[name] for name in self.nominal["statistics"]]) - np.asarray(self.nominal["mean"])
        distance = float(delta @ np.linalg.solve(np.asarray(self.nominal["cov"]), delta))
        flat = self.flat(descriptors)
        return {"distance": distance, "flat": flat, "in_band": distance <= self.nominal["threshold"] and not flat}

    def score(self, latents: dict[str, np.ndarray]) -> dict:
        """Per-frame values of every measure (nats), the score, and where it lies against the nominal band."""
        descriptors = self.descriptors(latents)
        values = {name: float(v.mean()) for name, v in self.integrands(descriptors).items()}
        return {**values, "measure": self.score_name, "score": values[self.score_name], **self.band(values, descriptors)}
