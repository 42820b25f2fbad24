"""The vectorized passes of :func:`mrfm.solver.dense.dense_box` over the voxels of one box
(compacted into arrays by :func:`mrfm.solver.dense.compact`): the field and the leaf's tests
(:func:`field_pass`), the Curie moment from its Chebyshev table (:func:`moments`), the sum
over voxels wholly inside the slice (:func:`inside_sum`) and the voxels an edge may cut
(:func:`edge_sum`, the one pass that is not vectorized). See :mod:`mrfm.solver.dense` for
what each voxel's value is and why it is the per-voxel leaf's.
"""

from __future__ import annotations

from numba import njit

from mrfm.jit import scalar_kernel
from mrfm.physics._sphere import magnitude_terms
from mrfm.solver import box_bounds as BB
from mrfm.solver import box_fraction as BF
from mrfm.solver import curvature as CV
from mrfm.solver import inversion as LZ
from mrfm.solver import kernels as K
from mrfm.solver import slice as S

#: voxel classes of :func:`field_pass`
OUT = 0
IN = 1
EDGE = 2
FLAG = 3
CUT = 4


@njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def _fields(radius, jx, jy, jz, n, xs, ys, zs, bs, gxs, gys, gzs, vals, flagged, b0, pref, xpk,
            high, amp):
    """The field loop of :func:`field_pass` (``high``, ``amp``: constants of each copy):
    |B|, grad|B| and the prefactor times the curvature (the small-amplitude form where
    ``amp``, flagged where refused)."""
    for q in range(n):
        cx = xs[q]
        cy = ys[q]
        cz = zs[q]
        b, gx, gy, gz, d2 = magnitude_terms(radius, jx, jy, jz, cx, cy, cz, 2, b0, high)
        k2 = d2
        ok = True
        if amp:
            k2, ok = CV.small_amplitude_terms(radius, jx, jy, jz, cx, cy, cz, d2, xpk)
        bs[q] = b
        gxs[q] = gx
        gys[q] = gy
        gzs[q] = gz
        vals[q] = pref * k2
        flagged[q] = not ok


@scalar_kernel(error_model="numpy")
def field_pass(mparams, pol, n, nreal, xs, ys, zs, bs, gxs, gys, gzs, vals, cls, flagged, ax,
               ay, az, tlo, thi, pp, can_split, cbox, kbox):
    """Field, tests and per-unit-moment value of voxels 0..n-1 (centres xs, ys, zs relative
    to the magnet centre): |B| and its gradient into bs, gxs, gys, gzs, the prefactor times
    the curvature into vals, the class into cls and whether it is FLAG into flagged;
    returns the number flagged among the first ``nreal`` (the rest pad the box). Two loops:
    the field, then the tests (one loop with both spent a third more per voxel on this
    machine).

    Classes: OUT and IN by the leaf's first tests; FLAG; then the leaf's refinement
    decision (``can_split``, :func:`mrfm.solver.slice.leaf_splits`) where the box-wide
    bounds of :func:`mrfm.solver.box_bounds.box_refinement_bounds` settle it: Taylor's proof
    that no edge cuts the voxel with the box's ``cbox`` (at least the C of the voxel's own
    proof, so what it proves the leaf proves: IN or OUT as the leaf's fraction 1 or 0),
    and CUT (no split: the leaf's slab fraction) where ``kbox``, an upper bound of the
    measured curvature excess, is within the leaf's refinement limit; the rest EDGE (the
    leaf's decision, voxel by voxel, in :func:`edge_sum`)."""
    b0 = pp[K.P_B0]
    bres = pp[K.P_BRES]
    half = pp[K.P_HALF]
    xpk = pp[K.P_XPK]
    pref = pp[K.P_PREF]
    tol = pp[K.P_TOL]
    lz = pp[K.P_LZ] != 0.0 and LZ.factor_applies(K.CERMIT, pp)
    radius = mparams[0]
    jx = pol[0]
    jy = pol[1]
    jz = pol[2]
    # the field loop compiled once per case (a test of these flags inside it halved its
    # speed): at high field with the small-amplitude form, which at x_pk = 0 gives the
    # curvature itself (0 times g_4) and accepts it; with the exact |B| without it (the
    # only exact case that applies() serves)
    if pp[K.P_HIGH] != 0.0:
        _fields(radius, jx, jy, jz, n, xs, ys, zs, bs, gxs, gys, gzs, vals, flagged, b0, pref,
                xpk, True, True)
    else:
        _fields(radius, jx, jy, jz, n, xs, ys, zs, bs, gxs, gys, gzs, vals, flagged, b0, pref,
                xpk, False, False)
    nflag = 0
    r2 = 0.25 * (ax * ax + ay * ay + az * az)
    for q in range(n):
        b = bs[q]
        gx = gxs[q]
        s0 = b - bres
        span, outside, inside = S.span_tests(s0, gx, gys[q], gzs[q], ax, ay, az, half, True)
        flag = flagged[q] | (lz & LZ.sweep_reaches(K.CERMIT, s0, gx, half, xpk)) | (not (
            b >= tlo and b <= thi))
        # clear_of_slice_edges's test with the box's C
        clear = can_split & BB.edges_clear(s0, span, cbox, r2, b, half)
        smooth = (not can_split) | (kbox <= S.refinement_limit(span, half, True, tol))
        c = EDGE
        if outside:
            c = OUT
        elif flag:
            c = FLAG
        elif inside:
            c = IN
        elif clear:
            c = IN if (s0 > -half and s0 < half) else OUT
        elif smooth:
            c = CUT
        cls[q] = c
        flagged[q] = c == FLAG
        nflag += (c == FLAG) & (q < nreal)
    return nflag


@scalar_kernel(error_model="numpy")
def moments(coef, lo, hi, bs, n, out, work):
    """:func:`mrfm.solver.kernels.table_moments` as a loop of its own (vectorized)."""
    K.table_moments(coef, lo, hi, bs, n, out, work)


@scalar_kernel(error_model="numpy")
def inside_sum(n, cls, rho, moms, vals, pp):
    """Sum of rho times the value of the voxels of class IN (fraction 1)."""
    acc = 0.0
    for q in range(n):
        w = rho[q] * K.weight_of_moment(pp, moms[q], vals[q])
        acc += w if cls[q] == IN else 0.0
    return acc


@scalar_kernel(error_model="numpy")
def edge_sum(mparams, pol, n, xs, ys, zs, bs, gxs, gys, gzs, vals, moms, rho, cls, flagged, ax,
             ay, az, can_split, pp, out):
    """Sum of rho times the value of the voxels of class CUT (the leaf's slab fraction) and
    of those of class EDGE that the leaf would not split (its refinement decision, then the
    fraction); the others are flagged. Returns (sum, number flagged)."""
    bres = pp[K.P_BRES]
    half = pp[K.P_HALF]
    acc = 0.0
    nsplit = 0
    for q in range(n):
        kind = cls[q]
        if kind != EDGE and kind != CUT:
            continue
        cx = xs[q]
        cy = ys[q]
        cz = zs[q]
        b = bs[q]
        gx = gxs[q]
        gy = gys[q]
        gz = gzs[q]
        s0 = b - bres
        clear = False
        if can_split and kind == EDGE:
            span = abs(gx) * ax + abs(gy) * ay + abs(gz) * az
            split, clear = S.leaf_splits(0, mparams, pol, cx, cy, cz, ax, ay, az, b, s0, gx, gy,
                                         gz, span, half, True, pp, out)
            if split:
                flagged[q] = True
                nsplit += 1
                continue
        if clear:
            # no edge cuts the voxel: its linear fraction is exactly 1 or 0 (see
            # clear_of_slice_edges), and the centre's side of the edges tells which
            frac = 1.0 if (s0 > -half and s0 < half) else 0.0
        else:
            frac = BF.slab_fraction(s0, gx, gy, gz, ax, ay, az, -half, half)
        acc += rho[q] * frac * K.weight_of_moment(pp, moms[q], vals[q])
    return acc, nsplit
