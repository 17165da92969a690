"""Per-sensor descriptors: normalised autoencoder latents pooled over image cells (numpy only).

This is the exact definition the vehicle runtime mirrors (deploy/): given a sensor's *normalised*
latent z [B, C, h, w] (``perception`` ``aes.encode``, C = 4, h = H/8, w = W/8) and an integer
``cell`` that divides h and w, the descriptor is the mean of z over non-overlapping cell × cell
windows, cells in row-major order:

    d[b, p, c] = mean_{i, j < cell} z[b, c, r·cell + i, q·cell + j],   p = r·(w/cell) + q
    → [B, P, C] with P = (h/cell)·(w/cell), float32

All sensors of a frame are encoded on the same latent grid (shared camera image plane), so cell p
of every sensor looks at the same part of the scene: the information estimators take each
(frame, cell) as one joint sample of the sensor variables, and a frame's redundancy score is the
mean of its cells' pointwise contributions. ``cell`` = h = w would give one global descriptor per
frame; small cells give the estimators enough samples from a few hundred frames.

A sensor's *spread* in a frame is the log of how much its descriptor varies over the frame's cells,

    spread[b] = ½ · log( mean_c var_p d[b, p, c] + FLOOR² )          → [B], float64

(the entropy, per dimension and up to a constant, of a Gaussian with the frame's cell variances):
a working sensor varies from cell to cell (structure, lit spots, sensor noise), a dead or frozen one
delivers the same descriptor everywhere and sits at log FLOOR, far below any real frame. FLOOR is
float32 round-off of unit-scale latents, so two encodings of the same input differ by less.
"""

from __future__ import annotations

import numpy as np


def cell_descriptors(z: np.ndarray, cell: int) -> np.ndarray:
    """z [B, C, h, w] → descriptors [B, P, C] (see the module docstring); ValueError if ``cell`` does not divide h, w."""
    z = np.asarray(z, dtype=np.float32)
    if z.ndim != 4:
        raise ValueError(f"latents must be [B, C, h, w], got shape {z.shape}")
    b, c, h, w = z.shape
    if cell < 1 or h % cell or w % cell:
        raise ValueError(f"descriptor cell {cell} must divide the latent grid {h}×{w}")
    windows = z.reshape(b, c, h // cell, cell, w // cell, cell).mean(axis=(3, 5), dtype=np.float64)
    return windows.reshape(b, c, -1).transpose(0, 2, 1).astype(np.float32)


def cell_count(grid: tuple[int, int], cell: int) -> int:
    """P for a latent grid (h, w)."""
    return (grid[0] // cell) * (grid[1] // cell)


FLOOR = 1e-6  # descriptor units: below it, cells differ by round-off only


def cell_spread(d: np.ndarray) -> np.ndarray:
    """descriptors [B, P, C] → spread [B] (see the module docstring)."""
    d = np.asarray(d, dtype=np.float64)
    return 0.5 * np.log(d.var(axis=1).mean(axis=1) + FLOOR**2)
