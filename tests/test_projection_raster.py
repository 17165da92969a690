"""Z-buffer rasterisation and the output-resolution pixel convention."""

from __future__ import annotations

import numpy as np

from preprocessing.geometry import view_points
from preprocessing.raster import pixel_indices, radial_velocity, rasterize, scale_intrinsic

SOURCE, OUT = (1600, 900), (112, 64)


def brute_force(uv, depth, values, source, out):
    """One point at a time: keep the nearest per pixel (the reference the vectorised version must equal)."""
    w, h = out
    best = np.full((h, w), np.inf)
    result = np.zeros((values.shape[1] + 2, h, w), np.float32)
    for (u, v), d, vals in zip(uv, depth, values):
        col = min(max(int(np.floor((u + 0.5) * w / source[0])), 0), w - 1)
        row = min(max(int(np.floor((v + 0.5) * h / source[1])), 0), h - 1)
        if d < best[row, col]:
            best[row, col] = d
            result[:, row, col] = [d, *vals, 1.0]
    return result


def test_rasterize_keeps_nearest_return_per_pixel():
    rng = np.random.default_rng(0)
    n = 5000  # many collisions: ~7k output pixels
    uv = rng.uniform(1, [SOURCE[0] - 1, SOURCE[1] - 1], (n, 2))
    depth = rng.uniform(1, 80, n).astype(np.float32)
    values = rng.normal(size=(n, 2)).astype(np.float32)
    out = rasterize(uv, depth, values, SOURCE, OUT)
    assert out.shape == (4, OUT[1], OUT[0]) and out.dtype == np.float32
    np.testing.assert_array_equal(out, brute_force(uv, depth, values, SOURCE, OUT))
    assert 0 < out[-1].sum() < n  # collisions happened and were resolved


def test_rasterize_empty_cloud_is_all_zero():
    out = rasterize(np.zeros((0, 2)), np.zeros(0, np.float32), np.zeros((0, 1)), SOURCE, OUT)
    assert out.shape == (3, OUT[1], OUT[0]) and not out.any()


def test_scaled_intrinsic_projects_into_the_same_output_pixels():
    rng = np.random.default_rng(1)
    intrinsic = np.array([[1266.4, 0.0, 816.3], [0.0, 1266.4, 491.5], [0.0, 0.0, 1.0]])
    points = np.vstack([rng.uniform(-20, 20, (2, 2000)), rng.uniform(2, 60, (1, 2000))])
    native = view_points(points, intrinsic)[:2].T
    scaled = view_points(points, scale_intrinsic(intrinsic, SOURCE, OUT))[:2].T
    # The output pixel of a point is floor(u_out + 0.5) with the scaled intrinsic: the same cell as from native u.
    continuous = (native + 0.5) * (np.array(OUT) / np.array(SOURCE))
    np.testing.assert_allclose(scaled + 0.5, continuous, atol=1e-9)
    inside = (native > 0).all(axis=1) & (native < np.array(SOURCE) - 1).all(axis=1)
    flat = pixel_indices(native[inside], SOURCE, OUT)
    cells = np.floor(scaled[inside] + 0.5).astype(int)
    np.testing.assert_array_equal(flat, cells[:, 1] * OUT[0] + cells[:, 0])


def test_radial_velocity_sign_and_magnitude():
    positions = np.array([[0.0, 0.0, 10.0], [3.0, 0.0, 4.0], [0.0, 0.0, 10.0]])
    velocities = np.array([[0.0, 0.0, 2.0], [3.0, 0.0, 4.0], [5.0, 0.0, 0.0]])
    np.testing.assert_allclose(radial_velocity(positions, velocities), [2.0, 5.0, 0.0])
    np.testing.assert_allclose(radial_velocity(positions, -velocities), [-2.0, -5.0, 0.0])
