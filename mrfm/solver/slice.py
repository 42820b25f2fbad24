"""Per-voxel and per-point signal kernels with exact treatment of thin resonance slices.

A resonant slice (``| |B| - omega_rf/|gamma| | <= half-width``) can be much
thinner than a voxel; thresholding voxel centres would make the signal jump
as the slice moves through the grid. Instead, for each voxel:

1. ``|B|`` is linearized across the voxel (value and gradient at its centre)
   and the resonant **volume fraction** is integrated analytically: the
   fraction of a box lying between two parallel planes, a piecewise cubic in
   the plane offsets (:func:`mrfm.solver.kernels.slab_fraction`).
2. Where a slice edge cuts the voxel and |B| is curved inside it (the second
   differences of |B| across the voxel exceed ``curvature_tol`` times its
   linear |B| span), the voxel is split into 8 and each part treated the same
   way, down to ``max_depth`` levels (adaptive, only near slice edges).

The per-spin value (moment times d|B|/dx, or the frequency-shift kernel) is
taken at the centre of each (sub-)voxel. OSCAR has no thin slice but a sharp
sweep boundary (spins the cantilever does not sweep through resonance are not
locked); voxels cut by it are subdivided in the same way. The force-gradient
protocol (every spin) uses the voxel centre.

The returned value is the **signal per unit spin density per unit voxel
volume**: multiply by rho_v V_v and sum over voxels.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from mrfm.solver import kernels as K
from mrfm.solver.protocols import cai, cermit, force_gradient, oscar

STACK_LEN = 128
MAX_CROSSINGS = 16


@njit(cache=True, fastmath=False)
def _quantity(kid, shape_id, mparams, pol, rx, ry, rz, pp, out, crossings):
    if kid == K.CAI:
        return cai.quantity(shape_id, mparams, pol, rx, ry, rz, pp, out, crossings)
    if kid == K.CERMIT:
        return cermit.quantity(shape_id, mparams, pol, rx, ry, rz, pp, out, crossings)
    if kid == K.OSCAR:
        return oscar.quantity(shape_id, mparams, pol, rx, ry, rz, pp, out, crossings)
    return force_gradient.quantity(shape_id, mparams, pol, rx, ry, rz, pp, out, crossings)


@njit(cache=True, fastmath=False)
def point_value(kid, shape_id, mparams, pol, rx, ry, rz, pp, out, crossings):
    """Signal of one spin at an exact point (exact resonance indicator, no voxel)."""
    b, gx, gy, gz, q, inside = _quantity(kid, shape_id, mparams, pol, rx, ry, rz, pp, out,
                                         crossings)
    if not inside:
        return 0.0
    return K.moment_weight(pp, b, q)


@njit(cache=True, fastmath=False)
def _curvature_excess(shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, b, pp, out):
    """Sum over axes of |second difference of |B|| across the box (T)."""
    e = 0.0
    for axis in range(3):
        dx = 0.5 * sx if axis == 0 else 0.0
        dy = 0.5 * sy if axis == 1 else 0.0
        dz = 0.5 * sz if axis == 2 else 0.0
        bp, g1, g2, g3, d2 = K.field_magnitude(shape_id, mparams, pol, cx + dx, cy + dy, cz + dz,
                                               0, pp, out)
        bm, g1, g2, g3, d2 = K.field_magnitude(shape_id, mparams, pol, cx - dx, cy - dy, cz - dz,
                                               0, pp, out)
        e += abs(bp + bm - 2.0 * b)
    return e


@njit(cache=True, fastmath=False)
def _slice_leaf(kid, shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, can_split, pp, out,
                crossings):
    """(value, split) for a CAI/CERMIT box; value already includes the resonant fraction."""
    b, gx, gy, gz, d2 = K.field_magnitude(shape_id, mparams, pol, cx, cy, cz, 1, pp, out)
    s0 = b - pp[K.P_BRES]
    half = pp[K.P_HALF]
    span = abs(gx) * sx + abs(gy) * sy + abs(gz) * sz  # linear |B| span across the box
    # generous margin (twice the linear half-span) for the curvature we have not measured
    if s0 - span > half or s0 + span < -half:
        return 0.0, False
    fully_inside = (s0 - span > -half) and (s0 + span < half)
    if (not fully_inside) and can_split:
        e = _curvature_excess(shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, b, pp, out)
        if e > pp[K.P_TOL] * span:
            return 0.0, True
    frac = K.slab_fraction(s0, gx, gy, gz, sx, sy, sz, -half, half)
    if frac <= 0.0:
        return 0.0, False
    b, gx, gy, gz, q, inside = _quantity(kid, shape_id, mparams, pol, cx, cy, cz, pp, out,
                                         crossings)
    return frac * K.moment_weight(pp, b, q), False


@njit(cache=True, fastmath=False)
def _oscar_leaf(shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, can_split, pp, out, crossings):
    """(value, split) for an OSCAR box: midpoint value, split where the sweep boundary cuts."""
    b, gx, gy, gz, d2 = K.field_magnitude(shape_id, mparams, pol, cx, cy, cz, 2, pp, out)
    a = pp[K.P_XPK]
    s0 = b - pp[K.P_BRES]
    span = abs(gx) * sx + abs(gy) * sy + abs(gz) * sz
    reach = abs(gx) * a + 0.5 * abs(d2) * a * a  # |B| excursion along the trajectory (Taylor)
    if abs(s0) > 2.0 * reach + span:
        return 0.0, False
    j, swept, db0, db1 = K.oscar_trajectory_integral(shape_id, mparams, pol, cx, cy, cz, pp, out,
                                                     crossings)
    if can_split and (abs(db0) < 0.75 * span or abs(db1) < 0.75 * span):
        return 0.0, True
    if not swept:
        return 0.0, False
    return K.moment_weight(pp, b, pp[K.P_PREF] * j), False


@njit(cache=True, fastmath=False)
def voxel_value(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az, pp, out, crossings, stack):
    """Signal per unit density per unit volume of the voxel centred at (cx, cy, cz).

    Parameters
    ----------
    kid : int
        Kernel family (``kernels.CAI``, ``OSCAR``, ``CERMIT``, ``FORCE_GRADIENT``).
    cx, cy, cz : float
        Voxel centre relative to the magnet centre, m.
    ax, ay, az : float
        Voxel edges, m.
    pp : (PP_LEN,) float64
        Protocol parameters.
    out, crossings, stack : float64 scratch arrays (OUT_LEN,), (MAX_CROSSINGS,), (STACK_LEN, 4)

    Returns
    -------
    float
        The voxel-averaged per-spin signal (N, N^2, Hz or Hz^2 per spin).
    """
    if kid == K.FORCE_GRADIENT:
        b, gx, gy, gz, q, inside = _quantity(kid, shape_id, mparams, pol, cx, cy, cz, pp, out,
                                             crossings)
        return K.moment_weight(pp, b, q)
    max_depth = int(pp[K.P_DEPTH])
    total = 0.0
    n = 1
    stack[0, 0] = cx
    stack[0, 1] = cy
    stack[0, 2] = cz
    stack[0, 3] = 0.0
    while n > 0:
        n -= 1
        px = stack[n, 0]
        py = stack[n, 1]
        pz = stack[n, 2]
        depth = int(stack[n, 3])
        scale = 0.5 ** depth
        sx = ax * scale
        sy = ay * scale
        sz = az * scale
        can_split = depth < max_depth and n + 8 <= stack.shape[0]
        if kid == K.OSCAR:
            val, split = _oscar_leaf(shape_id, mparams, pol, px, py, pz, sx, sy, sz, can_split,
                                     pp, out, crossings)
        else:
            val, split = _slice_leaf(kid, shape_id, mparams, pol, px, py, pz, sx, sy, sz,
                                     can_split, pp, out, crossings)
        if split:
            qx = 0.25 * sx
            qy = 0.25 * sy
            qz = 0.25 * sz
            for i in range(8):
                stack[n, 0] = px + (qx if (i & 1) else -qx)
                stack[n, 1] = py + (qy if (i & 2) else -qy)
                stack[n, 2] = pz + (qz if (i & 4) else -qz)
                stack[n, 3] = depth + 1.0
                n += 1
        else:
            total += val * scale * scale * scale
    return total


def scratch() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fresh scratch buffers (out, crossings, stack) for one thread."""
    return K.scratch(), np.zeros(MAX_CROSSINGS), np.zeros((STACK_LEN, 4))


__all__ = ["point_value", "voxel_value", "scratch"]
