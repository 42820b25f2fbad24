"""CERMIT's Landau-Zener sheet inside a block that the block cubature sums.

Under Landau-Zener inversion CERMIT's per-voxel value carries the inversion factor of
:func:`mrfm.solver.inversion.inversion_factor`, evaluated at the voxel's centre, which
differs from 1 only in a thin sheet about resonance (the spins the cantilever's sweep
carries through it). A block inside the slice that the sheet crosses is summed by the
block rules of :mod:`mrfm.solver.cubature` under ideal inversion plus
:func:`sheet_correction`, which visits only the voxels that may lie in the sheet.
"""

from __future__ import annotations

import math

from numba import njit

from mrfm.jit import scalar_kernel
from mrfm.solver import box_bounds as BB
from mrfm.solver import cubature as C
from mrfm.solver import inversion as LZ
from mrfm.solver import kernels as K

#: the Landau-Zener sheet of a block is corrected voxel by voxel only where each column
#: crosses it within this many voxels (else the block is split as before)
SHEET_WINDOW = 4.0


@njit(cache=True, fastmath=False, inline="always")
def sheet_applies(kid, shape_id, pp):
    """Whether :func:`sheet_correction` serves this case: CERMIT invert mode with
    Landau-Zener inversion and a cantilever amplitude, sphere tip."""
    return (kid == K.CERMIT and shape_id == 0 and pp[K.P_LZ] != 0.0
            and pp[K.P_INVERT] != 0.0 and pp[K.P_XPK] > 0.0)


@njit(cache=True, fastmath=False, inline="always")
def _column_offsets(axis, p, q, k, la, lb, lc, ax, ay, az):
    """Offsets from a block's middle (m) of the voxel centre with index k along ``axis``
    and (p, q) along the other two axes in order."""
    if axis == 0:
        i, j, n = k, p, q
    elif axis == 1:
        i, j, n = p, k, q
    else:
        i, j, n = p, q, k
    return ((i - 0.5 * (la - 1)) * ax, (j - 0.5 * (lb - 1)) * ay, (n - 0.5 * (lc - 1)) * az)


@scalar_kernel
def sheet_correction(kid, shape_id, mparams, pol, cx, cy, cz, hx, hy, hz, la, lb, lc, ax, ay,
                     az, pp, pp_ideal, out, crossings):
    """(ok, sum over the block's voxels of v - v_ideal): what CERMIT's Landau-Zener inversion
    changes in a block that lies inside the slice.

    The Landau-Zener factor of a voxel is evaluated at its centre
    (:func:`mrfm.solver.inversion.inversion_factor`) and is exactly 1 unless the centre lies
    within the sweep depth ``D = |d|B|/dx| x_pk`` of resonance (a sheet thinner than 0.4 %
    of a voxel's field span in the benchmark's geometry). So a block inside the slice is
    summed by :func:`mrfm.solver.cubature.block_sum` under ideal inversion (``pp_ideal``)
    plus this correction, which visits only the voxels whose centres may lie in the sheet:
    with the value s0 and gradient g of |B| - B_res at the block's middle and the bound C of
    :func:`mrfm.solver.box_bounds.second_derivative_bound` over the centres (within |h| of
    the middle), ``|s - s0 - g . r| <= C |h|^2 / 2`` and ``D <= (|g_x| + C |h|) x_pk``.
    Along each column of voxels in the direction of the largest ``|g_a| a_a`` the candidates
    form one window of indices; the factor of each is evaluated (|B| and d|B|/dx at its
    centre, as the voxel value does) and, where it is not 1, the voxel's value is taken with
    and without it. Not ok where no bound is known or a window would span more than
    :data:`SHEET_WINDOW` voxels.
    """
    b, gx, gy, gz, d2 = K.box_field_magnitude(shape_id, mparams, pol, cx, cy, cz, 1, pp, out)
    hn = math.sqrt(hx * hx + hy * hy + hz * hz)
    rmin = math.sqrt(cx * cx + cy * cy + cz * cz) - hn
    c = BB.second_derivative_bound(mparams, pol, rmin, b, hn, pp)
    if not c < math.inf:
        return False, 0.0
    s0 = b - pp[K.P_BRES]
    w = ((abs(gx) + c * hn) * pp[K.P_XPK] + 0.5 * c * hn * hn) * (1.0 + 1e-9) + 1e-12 * abs(b)
    wa = abs(gx) * ax
    wb = abs(gy) * ay
    wc = abs(gz) * az
    if wa >= wb and wa >= wc:
        axis, g, step, n, np_, nq = 0, gx, ax, la, lb, lc
    elif wb >= wc:
        axis, g, step, n, np_, nq = 1, gy, ay, lb, la, lc
    else:
        axis, g, step, n, np_, nq = 2, gz, az, lc, la, lb
    gs = abs(g) * step
    if not gs > 0.0 or 2.0 * w > SHEET_WINDOW * gs:
        return False, 0.0
    corr = 0.0
    for p in range(np_):
        for q in range(nq):
            ox, oy, oz = _column_offsets(axis, p, q, 0, la, lb, lc, ax, ay, az)
            s_first = s0 + gx * ox + gy * oy + gz * oz  # linear offset at index 0
            k1 = (-w - s_first) / (g * step)
            k2 = (w - s_first) / (g * step)
            lo = max(0, int(math.ceil(min(k1, k2))))
            hi = min(n - 1, int(math.floor(max(k1, k2))))
            for k in range(lo, hi + 1):
                ox, oy, oz = _column_offsets(axis, p, q, k, la, lb, lc, ax, ay, az)
                px = cx + ox
                py = cy + oy
                pz = cz + oz
                bk, gxk, gyk, gzk, d2k = K.field_magnitude(shape_id, mparams, pol, px, py, pz,
                                                           1, pp, out)
                if LZ.inversion_factor(kid, shape_id, mparams, pol, px, py, pz, bk, gxk, pp,
                                       out) == 1.0:
                    continue  # outside the sheet (or saturated): v equals v_ideal exactly
                corr += (C.virtual_value(kid, shape_id, mparams, pol, px, py, pz, ax, ay, az,
                                         pp, out, crossings)
                         - C.virtual_value(kid, shape_id, mparams, pol, px, py, pz, ax, ay,
                                           az, pp_ideal, out, crossings))
    return True, corr


__all__ = ["SHEET_WINDOW", "sheet_applies", "sheet_correction"]
