"""Night synthesis: reproducible from the stored seed, correct pipeline inversion, plausible statistics."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from preprocessing.night import (
    NightParams,
    NightRanges,
    add_sensor_noise,
    reprocess,
    sample_night_params,
    synthesize_night,
    unprocess,
)


def textured_day(seed: int = 0, size=(72, 128)) -> np.ndarray:
    """A smooth colourful [H,W,3] uint8 RGB frame (no saturated highlights)."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    base = np.stack([0.2 + 0.6 * xx, 0.3 + 0.5 * yy, 0.5 + 0.3 * np.sin(6 * xx)], axis=-1)
    return np.clip((base + rng.normal(0, 0.02, base.shape)) * 255, 0, 255).astype(np.uint8)


def linear(image: np.ndarray, params: NightParams) -> np.ndarray:
    """Invert the camera pipeline of an 8-bit output back to linear raw (the inverse of ``reprocess``)."""
    return unprocess(image.astype(np.float64) / 255.0, params)


def test_same_seed_same_night_frame_and_parameters_round_trip_through_json():
    day = textured_day()
    params = sample_night_params(1234)
    stored = json.loads(json.dumps(params.to_json()))  # what a shard keeps
    again = NightParams.from_json(stored)
    assert again == params == sample_night_params(stored["seed"])
    np.testing.assert_array_equal(synthesize_night(day, again), synthesize_night(day, params))
    other = synthesize_night(day, sample_night_params(1235))
    assert not np.array_equal(other, synthesize_night(day, params))


def test_parameters_follow_the_configured_distributions():
    ranges = NightRanges()
    draws = [sample_night_params(seed, ranges) for seed in range(1500)]
    gamma = np.array([d.gamma for d in draws])
    darkness = np.array([d.darkness for d in draws])
    shot, read = np.array([d.shot_noise for d in draws]), np.array([d.read_noise for d in draws])
    assert ranges.gamma[0] <= gamma.min() and gamma.max() <= ranges.gamma[1]
    assert ranges.darkness_bounds[0] <= darkness.min() and darkness.max() <= ranges.darkness_bounds[1]
    assert 0.09 < np.median(darkness) < 0.15  # N(0.1, 0.08) truncated at 0.01 skews slightly up
    assert ranges.shot_noise[0] <= shot.min() and shot.max() <= ranges.shot_noise[1]
    slope, intercept = np.polyfit(np.log(shot), np.log(read), 1)
    assert abs(slope - 2.18) < 0.05 and abs(intercept - 1.20) < 0.3
    assert {d.bits for d in draws} == set(ranges.bit_depths)
    red = np.array([d.red_gain for d in draws])
    assert ranges.red_gain[0] <= red.min() and red.max() <= ranges.red_gain[1]


def test_unprocess_then_reprocess_is_identity():
    """Tone curve, gamma, CCM, white balance *and* brightness are all re-applied (the public code forgets two)."""
    day = textured_day().astype(np.float64) / 255.0
    for seed in range(5):
        params = sample_night_params(seed)
        np.testing.assert_allclose(reprocess(unprocess(day, params), params), day, atol=1e-6)


def test_colour_channels_are_not_swapped():
    """A reddish frame stays reddish: gains and CCM act on R and B as RGB, not BGR."""
    day = np.zeros((32, 32, 3), np.uint8)
    day[..., 0], day[..., 1], day[..., 2] = 200, 60, 30
    params = replace(sample_night_params(5), darkness=0.5, shot_noise=1e-6, read_noise=1e-9, bits=16)
    night = synthesize_night(day, params).reshape(-1, 3).mean(axis=0)
    assert night[0] > 2 * night[1] > 2 * night[2] > 0


def luminance(rgb: np.ndarray) -> float:
    return float((rgb.astype(np.float64) @ [0.2126, 0.7152, 0.0722]).mean())


def test_mean_luminance_drops_by_the_darkness_factor():
    day = textured_day()
    drops = []
    for seed in range(8):
        params = sample_night_params(seed)
        drops.append(luminance(synthesize_night(day, params)) / luminance(day))
        # Without noise (which clips at black), the linear night frame is exactly k × the day frame on average.
        quiet = replace(params, shot_noise=0.0, read_noise=0.0, bits=16)
        ratio = linear(synthesize_night(day, quiet), quiet).mean() / linear(day, quiet).mean()
        assert ratio == pytest.approx(params.darkness, rel=0.05)
    assert max(drops) < 0.85 and np.median(drops) < 0.6, drops


def test_noise_variance_grows_with_signal_as_shot_plus_read():
    params = replace(sample_night_params(9), shot_noise=0.002, read_noise=1e-6, bits=16)  # ≥ 3σ above black
    rng = np.random.default_rng(0)
    levels = np.array([0.02, 0.05, 0.1, 0.2, 0.4])
    raw = np.tile(levels[:, None, None], (1, 20000, 3))
    noisy = add_sensor_noise(raw, params, rng)
    variance = (noisy - raw).var(axis=(1, 2))
    np.testing.assert_allclose(variance, levels * params.shot_noise + params.read_noise, rtol=0.05)


def test_end_to_end_noise_grows_with_brightness():
    """On the 8-bit output, pixels of brighter day patches carry more linear-domain noise."""
    params = replace(sample_night_params(3), darkness=0.3, shot_noise=0.01, bits=16)
    levels = [60, 120, 180, 240]
    day = np.concatenate([np.full((64, 64, 3), level, np.uint8) for level in levels], axis=1)
    noise = linear(synthesize_night(day, params), params) - params.darkness * linear(day, params)
    variance = [noise[:, 64 * i : 64 * (i + 1)].var() for i in range(len(levels))]
    assert all(a < b for a, b in zip(variance, variance[1:])), variance
    assert variance[-1] > 3 * variance[0]
