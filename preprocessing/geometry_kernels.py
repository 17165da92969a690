"""Compiled (numba) kernels of the float32 point-cloud → camera path: culling and the devkit's replay.

``geometry`` uses them when numba is installed (the offline tools) and its numpy versions otherwise
(the torch-free vehicle runtime needs only numpy); both give the same points and values. A LiDAR
sweep has ~35 k points of which ~10 % face the camera: in numpy the cull is some 25 passes over the
cloud and the replay 16 calls on small arrays, most of it memory traffic and call overhead that one
loop per stage does without. The signatures are explicit, so importing this module compiles the
kernels (or loads them from numba's on-disk cache) and processes forked afterwards inherit them.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types

_POINTS = types.Array(types.float32, 2, "C")  # [3,N] float32, C-contiguous
_STEPS = types.Array(types.float64, 3, "C", readonly=True)  # [S,3,4] float64 (Chain.steps is read-only)

# ---------------------------------------------------------------------------
# Culling: which points may land in the image (conservative, float32)
# ---------------------------------------------------------------------------


@njit(types.Array(types.boolean, 1, "C")(_POINTS, _POINTS, types.float32, types.float32, types.float32, types.float32),
      cache=True, nogil=True)  # fmt: skip
def cull_mask(xyz, affine, min_depth, low, high_u, high_v):
    """[N] bool for C-contiguous float32 ``xyz`` [3,N] and a float32 ``affine`` [3,4] = K [R|t]:
    depth > ``min_depth`` and ``low`` < u, v < ``high_u`` / ``high_v``, on homogeneous pixel
    coordinates (u·z, v·z, z), i.e. without divisions (a loop the compiler vectorises)."""
    x, y, z = xyz[0], xyz[1], xyz[2]
    a00, a01, a02, a03 = affine[0, 0], affine[0, 1], affine[0, 2], affine[0, 3]
    a10, a11, a12, a13 = affine[1, 0], affine[1, 1], affine[1, 2], affine[1, 3]
    a20, a21, a22, a23 = affine[2, 0], affine[2, 1], affine[2, 2], affine[2, 3]
    keep = np.empty(x.shape[0], np.bool_)
    for k in range(x.shape[0]):
        uz = a00 * x[k] + a01 * y[k] + a02 * z[k] + a03
        vz = a10 * x[k] + a11 * y[k] + a12 * z[k] + a13
        depth = a20 * x[k] + a21 * y[k] + a22 * z[k] + a23
        # & rather than `and`: no branches, so the loop vectorises
        keep[k] = (depth > min_depth) & (uz > low * depth) & (vz > low * depth) & (uz < high_u * depth) & (vz < high_v * depth)
    return keep


# ---------------------------------------------------------------------------
# Replay: the devkit's step-by-step transform, rounded to float32 after every step
# ---------------------------------------------------------------------------


@njit(_POINTS(_POINTS, types.Array(types.int64, 1, "C"), _STEPS), cache=True, nogil=True)
def replay_steps(xyz, index, steps):
    """[3,M] float32: the points ``index`` of float32 ``xyz`` [3,N] taken through ``steps`` [S,3,4] float64
    affine maps in order, each computed in float64 and rounded to float32 like the devkit's
    ``rotate``/``translate`` on a float32 cloud (a rotation step has t = 0, a translation R = I:
    adding the exact zeros and ones changes no bit)."""
    out = np.empty((3, index.shape[0]), np.float32)
    x, y, z = out[0], out[1], out[2]
    for i in range(index.shape[0]):
        x[i], y[i], z[i] = xyz[0, index[i]], xyz[1, index[i]], xyz[2, index[i]]
    for s in range(steps.shape[0]):
        r00, r01, r02, r03 = steps[s, 0, 0], steps[s, 0, 1], steps[s, 0, 2], steps[s, 0, 3]
        r10, r11, r12, r13 = steps[s, 1, 0], steps[s, 1, 1], steps[s, 1, 2], steps[s, 1, 3]
        r20, r21, r22, r23 = steps[s, 2, 0], steps[s, 2, 1], steps[s, 2, 2], steps[s, 2, 3]
        for i in range(x.shape[0]):
            px, py, pz = np.float64(x[i]), np.float64(y[i]), np.float64(z[i])
            x[i] = np.float32(r00 * px + r01 * py + r02 * pz + r03)
            y[i] = np.float32(r10 * px + r11 * py + r12 * pz + r13)
            z[i] = np.float32(r20 * px + r21 * py + r22 * pz + r23)
    return out
