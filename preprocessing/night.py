"""Physically based night synthesis from a day frame (SPEC §4), numpy only.

Pipeline (Brooks et al. 2019 "unprocessing", as used by MAET and LightDiff), on RGB (never BGR)
float images in [0, 1] shaped [H, W, 3]:

    sRGB ──inverse tone curve──inverse gamma──rgb→cam CCM──inverse WB + brightness──▶ linear raw
    linear raw ──× darkness k──+ N(0, x·shot + read)──quantise to 2^bits levels──▶ dark raw
    dark raw ──WB + brightness──cam→rgb CCM──gamma──tone curve──▶ 8-bit sRGB night frame

Optionally (``headlight_gain`` > 0) the exposure k is raised by a headlight beam whose falloff uses
the scene depth (``preprocessing.headlights``), so the road ahead and near objects stay visible.

Unlike the public implementation, the re-processing re-applies the tone curve and the brightness
gain, so with k = 1 and no noise the pipeline is the identity. Every random number comes from
the per-sample ``seed``: the parameters from ``default_rng(seed)``, the noise field from an
independent stream ``default_rng([seed, 1])``; ``NightParams.to_json`` is what the shards store.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# sRGB (D65) → XYZ, and the XYZ → camera matrices of four cameras used by Brooks et al.
RGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
XYZ_TO_CAMS = np.array(
    [
        [[1.0234, -0.2969, -0.2266], [-0.5625, 1.6328, -0.0469], [-0.0703, 0.2188, 0.6406]],
        [[0.4913, -0.0541, -0.0202], [-0.613, 1.3513, 0.2906], [-0.1564, 0.2151, 0.7183]],
        [[0.838, -0.263, -0.0639], [-0.2887, 1.0725, 0.2496], [-0.0627, 0.1427, 0.5438]],
        [[0.6596, -0.2079, -0.0562], [-0.4782, 1.3016, 0.1933], [-0.097, 0.1581, 0.5181]],
    ]
)
_EPS = 1e-8


@dataclass(frozen=True)
class NightRanges:
    """Distributions of the synthesis parameters (defaults: the low-light literature, SPEC §4)."""

    gamma: tuple[float, float] = (2.0, 3.5)  # uniform
    red_gain: tuple[float, float] = (1.9, 2.4)  # uniform
    blue_gain: tuple[float, float] = (1.5, 1.9)  # uniform
    brightness: tuple[float, float] = (0.8, 0.1)  # normal (mean, std), kept ≥ 0.1
    darkness: tuple[float, float] = (0.1, 0.08)  # normal (mean, std), truncated to darkness_bounds
    darkness_bounds: tuple[float, float] = (0.01, 1.0)
    shot_noise: tuple[float, float] = (1e-4, 0.012)  # log-uniform
    read_noise_line: tuple[float, float, float] = (2.18, 1.20, 0.26)  # log(read) = a·log(shot) + b + N(0, c)
    bit_depths: tuple[int, ...] = (12, 14, 16)
    headlight_gain: tuple[float, float] = (0.0, 0.0)  # uniform; light at 10 m on the beam axis (0: no headlights)
    headlight_spread_deg: tuple[float, float] = (12.0, 20.0)  # uniform; angular width of the beam


@dataclass(frozen=True)
class NightParams:
    """One draw of the synthesis parameters; ``rgb_to_cam`` is the row-normalised sRGB → camera CCM."""

    seed: int
    gamma: float
    ccm_weights: tuple[float, float, float, float]
    red_gain: float
    blue_gain: float
    brightness: float
    darkness: float
    shot_noise: float
    read_noise: float
    bits: int
    headlight_gain: float
    headlight_spread_deg: float

    @property
    def rgb_to_cam(self) -> np.ndarray:
        weights = np.asarray(self.ccm_weights)
        xyz_to_cam = np.tensordot(weights, XYZ_TO_CAMS, axes=1) / weights.sum()
        rgb_to_cam = xyz_to_cam @ RGB_TO_XYZ
        return rgb_to_cam / rgb_to_cam.sum(axis=1, keepdims=True)

    @property
    def gains(self) -> np.ndarray:
        """[3] white-balance gains times the brightness correction: what re-processing multiplies by."""
        return np.array([self.red_gain, 1.0, self.blue_gain]) / self.brightness

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "NightParams":
        return cls(**{**data, "ccm_weights": tuple(data["ccm_weights"])})


def _truncated_normal(rng: np.random.Generator, mean: float, std: float, low: float, high: float) -> float:
    while True:  # rejection sampling: deterministic for a given generator state
        value = rng.normal(mean, std)
        if low <= value <= high:
            return float(value)


def sample_night_params(seed: int, ranges: NightRanges = NightRanges()) -> NightParams:
    """Draw every synthesis parameter from ``seed`` (same seed, same parameters)."""
    rng = np.random.default_rng(seed)
    log_shot = rng.uniform(*np.log(ranges.shot_noise))
    slope, intercept, spread = ranges.read_noise_line
    return NightParams(
        seed=int(seed),
        gamma=float(rng.uniform(*ranges.gamma)),
        ccm_weights=tuple(float(w) for w in rng.uniform(1e-8, 1e8, size=len(XYZ_TO_CAMS))),
        red_gain=float(rng.uniform(*ranges.red_gain)),
        blue_gain=float(rng.uniform(*ranges.blue_gain)),
        brightness=float(max(rng.normal(*ranges.brightness), 0.1)),
        darkness=_truncated_normal(rng, *ranges.darkness, *ranges.darkness_bounds),
        shot_noise=float(np.exp(log_shot)),
        read_noise=float(np.exp(slope * log_shot + intercept + rng.normal(0.0, spread))),
        bits=int(rng.choice(ranges.bit_depths)),
        headlight_gain=float(rng.uniform(*ranges.headlight_gain)),
        headlight_spread_deg=float(rng.uniform(*ranges.headlight_spread_deg)),
    )


def _apply_ccm(image: np.ndarray, ccm: np.ndarray) -> np.ndarray:
    return image @ ccm.T.astype(image.dtype)


def srgb_to_linear(srgb: np.ndarray, gamma: float) -> np.ndarray:
    """Inverse smoothstep tone curve, then inverse gamma."""
    linear = 0.5 - np.sin(np.arcsin(1.0 - 2.0 * np.clip(srgb, 0.0, 1.0)) / 3.0)
    return np.maximum(linear, _EPS) ** gamma


def linear_to_srgb(linear: np.ndarray, gamma: float) -> np.ndarray:
    """Gamma, then the smoothstep tone curve."""
    srgb = np.power(np.maximum(linear, _EPS), 1.0 / gamma)
    return np.clip(srgb * srgb * (3.0 - 2.0 * srgb), 0.0, 1.0)


def linear_to_raw(linear: np.ndarray, params: NightParams) -> np.ndarray:
    """Linear sRGB → camera raw: rgb→cam CCM, then inverse white balance and brightness."""
    raw = _apply_ccm(linear, params.rgb_to_cam)
    # Brooks' safe gain inversion: saturated highlights stay saturated instead of turning grey.
    gray = raw.mean(axis=-1, keepdims=True)
    mask = np.square(np.maximum(gray - 0.9, 0.0) / 0.1)
    inverse = (1.0 / params.gains).astype(raw.dtype)
    return np.clip(raw * np.maximum(mask + (1.0 - mask) * inverse, inverse), 0.0, 1.0)


def unprocess(srgb: np.ndarray, params: NightParams) -> np.ndarray:
    """[H,W,3] sRGB in [0,1] → linear camera raw in [0,1] (before darkening)."""
    return linear_to_raw(srgb_to_linear(srgb, params.gamma), params)


def add_sensor_noise(raw: np.ndarray, params: NightParams, rng: np.random.Generator) -> np.ndarray:
    """Heteroscedastic Gaussian noise (variance x·shot + read), then quantisation to ``params.bits``."""
    variance = np.maximum(raw * params.shot_noise + params.read_noise, 0.0)
    noisy = raw + rng.standard_normal(raw.shape, dtype=raw.dtype) * np.sqrt(variance)
    levels = 2**params.bits - 1
    return np.round(np.clip(noisy, 0.0, 1.0) * levels) / levels


def reprocess(raw: np.ndarray, params: NightParams) -> np.ndarray:
    """Linear camera raw → sRGB in [0,1]: white balance + brightness, CCM, gamma, tone curve."""
    balanced = np.clip(raw * params.gains.astype(raw.dtype), 0.0, 1.0)
    linear = np.clip(_apply_ccm(balanced, np.linalg.inv(params.rgb_to_cam)), 0.0, 1.0)
    return linear_to_srgb(linear, params.gamma)


def to_uint8(image: np.ndarray) -> np.ndarray:
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def synthesize_night(rgb: np.ndarray, params: NightParams, light: np.ndarray | None = None) -> np.ndarray:
    """[H,W,3] uint8 RGB day frame → [H,W,3] uint8 RGB night frame, fully determined by ``params``
    (and ``light`` [H,W], extra illumination relative to daylight such as ``headlights.headlight_light``).

    Computed in float32; the 8-bit input makes the tone/gamma inversion a 256-entry lookup table.
    """
    lut = srgb_to_linear(np.arange(256) / 255.0, params.gamma).astype(np.float32)
    exposure = np.float32(params.darkness) if light is None else (params.darkness + light)[..., None].astype(np.float32)
    raw = np.minimum(linear_to_raw(lut[rgb], params) * exposure, 1.0)
    noisy = add_sensor_noise(raw, params, np.random.default_rng([params.seed, 1]))
    return to_uint8(reprocess(noisy, params))
