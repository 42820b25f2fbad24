"""Vectorized leaves of the direct path: CERMIT's hard slice under a sphere tip.

The direct path (:mod:`mrfm.solver.direct`) walks each work item's voxels as a tree of
index boxes. For CERMIT with a hard slice, a sphere tip and a per-spin curvature in closed
form (the high-field small-amplitude form :func:`mrfm.solver.curvature.sphere_small_amplitude`,
or no cantilever amplitude), a box of at most :data:`DENSE_VOXELS` voxels that the tree
cannot prove silent is evaluated here, voxel by voxel, in loops over arrays that LLVM
vectorizes (no calls, no early exits: the sphere's field, the leaf's tests and the
curvature are all inlined), instead of one voxel at a time through the branchy per-voxel
leaf (:func:`mrfm.solver.slice.voxel_value`). Every voxel gets the value that leaf gives
it, from the same functions:

- the leaf's first tests (:func:`mrfm.solver.slice.span_tests`) reject a voxel (value 0) or
  prove it wholly inside the slice (fraction exactly 1, no refinement);
- a voxel an edge may cut takes the leaf's refinement decision: Taylor's proof that no
  edge cuts it (:func:`mrfm.solver.box_bounds.clear_of_slice_edges`: fraction exactly 0
  or 1), the analytic bound of the curvature excess and, where that bound does not settle
  it, the measured excess (:func:`mrfm.solver.box_bounds.curvature_excess`); a voxel
  that needs no split takes the linear slab fraction
  (:func:`mrfm.solver.box_fraction.slab_fraction`);
- the per-spin value is the curvature times the thermal moment (Chebyshev table of
  :func:`mrfm.solver.kernels.mean_moment`, :func:`mrfm.solver.kernels.moment_table`, within
  1e-12 of the largest moment, ~2e-15 for spin 1/2; numba cannot vectorize ``tanh``) or,
  under statistical polarization, the variance times the curvature squared, as
  :func:`mrfm.solver.kernels.moment_weight`.

Voxels where a cheaper form does not hold go back to the caller's per-voxel path, flagged:
those whose split the leaf would ask for, those the Landau-Zener sheet may reach
(:func:`mrfm.solver.inversion.sweep_reaches`), those whose curvature's closed form is not
accepted, and those whose |B| lies outside the moment table. So the sum equals the
voxel-by-voxel sum up to rounding and the table's error (tested against the reference
path, ``cubature_tol = 0``, which never comes here).
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

from mrfm.jit import scalar_kernel
from mrfm.physics._sphere import sphere_magnitude
from mrfm.solver import box_fraction as BF
from mrfm.solver import curvature as CV
from mrfm.solver import inversion as LZ
from mrfm.solver import kernels as K
from mrfm.solver import slice as S

#: boxes of at most this many voxels are evaluated by :func:`dense_box`
DENSE_VOXELS = 256
#: the vectorized loops run over a multiple of this many voxels (the box padded with copies
#: of its first voxel at density 0): a loop's scalar remainder costs as much per voxel as
#: the per-voxel path (8 lanes of AVX-512 times LLVM's interleave of 4)
PAD = 32
#: rows of the float scratch of :func:`dense_box` (see :func:`scratch`)
_NF = 11
#: voxel classes of :func:`_field_pass`
_OUT = 0
_IN = 1
_EDGE = 2
_FLAG = 3


def applies(kid: int, shape_id: int, pp: np.ndarray) -> bool:
    """Whether :func:`dense_box` serves protocol family ``kid`` under tip shape ``shape_id``
    with parameters ``pp``: CERMIT, a sphere, the hard slice, and the trajectory curvature
    in closed form at every voxel it keeps (high field, or no amplitude)."""
    return (kid == K.CERMIT and shape_id == 0 and pp[K.P_PROFILE] == BF.PROFILE_HARD
            and (pp[K.P_HIGH] != 0.0 or pp[K.P_XPK] <= 0.0))


def table_interval(pp: np.ndarray) -> tuple[float, float]:
    """The |B| interval of the moment table, T: the slice widened by a half-width on each
    side (a voxel that an edge cuts has its centre within its span of the slice; voxels
    beyond go to the per-voxel path)."""
    half = float(pp[K.P_HALF])
    return float(pp[K.P_BRES]) - 2.0 * half, float(pp[K.P_BRES]) + 2.0 * half


@njit(cache=True, fastmath=False, inline="always")
def scratch(used):
    """Fresh scratch of :func:`dense_box` for one thread: ((_NF, m) float64, (m,) int64
    classes, (m,) bool flags), m = DENSE_VOXELS rounded up to PAD where ``used``, else 1 (a
    caller that does not take dense leaves)."""
    size = (DENSE_VOXELS + PAD - 1) // PAD * PAD if used else 1
    return (np.zeros((_NF, size)), np.zeros(size, dtype=np.int64),
            np.zeros(size, dtype=np.bool_))


@scalar_kernel(error_model="numpy")
def _field_pass(mparams, pol, n, nreal, xs, ys, zs, bs, gxs, gys, gzs, vals, cls, flagged, ax,
                ay, az, tlo, thi, pp):
    """Field, tests and per-unit-moment value of voxels 0..n-1 (centres xs, ys, zs relative
    to the magnet centre): |B| and its gradient into bs, gxs, gys, gzs, the prefactor times
    the curvature into vals, the class (_OUT, _IN, _EDGE, _FLAG) into cls and whether it is
    _FLAG into flagged; returns the number flagged among the first ``nreal`` (the rest pad
    the box). Two loops: the field, then the tests (one loop with both spent a third more per
    voxel on this machine)."""
    b0 = pp[K.P_B0]
    high = pp[K.P_HIGH] != 0.0
    bres = pp[K.P_BRES]
    half = pp[K.P_HALF]
    xpk = pp[K.P_XPK]
    pref = pp[K.P_PREF]
    lz = pp[K.P_LZ] != 0.0 and LZ.factor_applies(K.CERMIT, pp)
    nflag = 0
    for q in range(n):
        cx = xs[q]
        cy = ys[q]
        cz = zs[q]
        b, gx, gy, gz, d2 = sphere_magnitude(mparams, pol, cx, cy, cz, 2, b0, high)
        k2 = d2
        ok = True
        if xpk > 0.0:
            k2, ok = CV.sphere_small_amplitude(mparams, pol, cx, cy, cz, d2, xpk)
        bs[q] = b
        gxs[q] = gx
        gys[q] = gy
        gzs[q] = gz
        vals[q] = pref * k2
        flagged[q] = not ok
    for q in range(n):
        b = bs[q]
        gx = gxs[q]
        span, outside, inside = S.span_tests(b - bres, gx, gys[q], gzs[q], ax, ay, az, half,
                                             True)
        flag = flagged[q] or (lz and LZ.sweep_reaches(K.CERMIT, b, gx, pp)) or not (
            b >= tlo and b <= thi)
        c = _EDGE
        if outside:
            c = _OUT
        elif flag:
            c = _FLAG
        elif inside:
            c = _IN
        cls[q] = c
        flagged[q] = c == _FLAG
        nflag += c == _FLAG and q < nreal
    return nflag


@scalar_kernel(error_model="numpy")
def _moments(coef, lo, hi, bs, n, out, work):
    """:func:`mrfm.solver.kernels.table_moments` as a loop of its own (vectorized)."""
    K.table_moments(coef, lo, hi, bs, n, out, work)


@scalar_kernel(error_model="numpy")
def _inside_sum(n, cls, rho, moms, vals, pp):
    """Sum of rho times the value of the voxels of class _IN (fraction 1)."""
    acc = 0.0
    for q in range(n):
        w = rho[q] * K.weight_of_moment(pp, moms[q], vals[q])
        acc += w if cls[q] == _IN else 0.0
    return acc


@scalar_kernel(error_model="numpy")
def _edge_sum(mparams, pol, n, xs, ys, zs, bs, gxs, gys, gzs, vals, moms, rho, cls, flagged, ax,
              ay, az, can_split, pp, out):
    """Sum of rho times the value of the voxels of class _EDGE that the leaf would not split
    (the leaf's refinement decision and slab fraction); the others are flagged. Returns
    (sum, number flagged)."""
    bres = pp[K.P_BRES]
    half = pp[K.P_HALF]
    acc = 0.0
    nsplit = 0
    for q in range(n):
        if cls[q] != _EDGE:
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
        if can_split:
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


@scalar_kernel
def dense_box(mparams, pol, tx, ty, tz, rho3, a0, a1, b0, b1, c0, c1, origin, voxel, pp, coef,
              tlo, thi, fbuf, cls, flagged, out):
    """Sum of rho * voxel_value over the voxels [a0, a1) x [b0, b1) x [c0, c1) (at most
    :data:`DENSE_VOXELS`) for the magnet centre (tx, ty, tz), except the voxels it flags.

    Parameters
    ----------
    rho3 : (nx, ny, nz) float64
        Spin density, m^-3.
    origin, voxel : (3,) float64
        Centre of voxel [0, 0, 0] and voxel edges, m.
    pp : (PP_LEN,) float64
        Protocol parameters (:func:`applies` holds).
    coef : (m,) float64
        :func:`mrfm.solver.kernels.moment_table` on [tlo, thi] (Curie; unused under
        statistical polarization, where tlo = -inf and thi = inf).
    fbuf, cls, flagged
        :func:`scratch`.
    out : (OUT_LEN,) float64
        The field kernels' scratch (:func:`mrfm.solver.slice.scratch`).

    Returns
    -------
    (sum, nflagged) : (float, int)
        ``flagged[q]`` (q = ((i - a0) * (b1 - b0) + j - b0) * (c1 - c0) + k - c0) marks the
        voxels left to the caller's per-voxel path.
    """
    lb = b1 - b0
    lc = c1 - c0
    n = (a1 - a0) * lb * lc
    xs = fbuf[0]
    ys = fbuf[1]
    zs = fbuf[2]
    rho = fbuf[3]
    bs = fbuf[4]
    gxs = fbuf[5]
    gys = fbuf[6]
    gzs = fbuf[7]
    vals = fbuf[8]
    moms = fbuf[9]
    work = fbuf[10]
    npad = (n + PAD - 1) // PAD * PAD
    if npad > fbuf.shape[1] or npad > cls.size or npad > flagged.size:
        raise ValueError("dense_box: the box has more voxels than its scratch holds")
    q = 0
    for i in range(a0, a1):
        cx = origin[0] + i * voxel[0] - tx
        for j in range(b0, b1):
            cy = origin[1] + j * voxel[1] - ty
            for k in range(c0, c1):
                xs[q] = cx
                ys[q] = cy
                zs[q] = origin[2] + k * voxel[2] - tz
                rho[q] = rho3[i, j, k]
                q += 1
    for q in range(n, npad):
        xs[q] = xs[0]
        ys[q] = ys[0]
        zs[q] = zs[0]
        rho[q] = 0.0
    ax = voxel[0]
    ay = voxel[1]
    az = voxel[2]
    nflag = _field_pass(mparams, pol, npad, n, xs, ys, zs, bs, gxs, gys, gzs, vals, cls, flagged,
                        ax, ay, az, tlo, thi, pp)
    if pp[K.P_STAT] == 0.0:
        # the moment at every voxel (cheaper than skipping; the rejected ones are unused)
        _moments(coef, tlo, thi, bs, npad, moms, work)
    acc = _inside_sum(npad, cls, rho, moms, vals, pp)
    part, nsplit = _edge_sum(mparams, pol, n, xs, ys, zs, bs, gxs, gys, gzs, vals, moms, rho,
                             cls, flagged, ax, ay, az, int(pp[K.P_DEPTH]) > 0, pp, out)
    return acc + part, nflag + nsplit


def dense_leaf(kid, shape_id, mparams, pol, tx, ty, tz, rho3, a0, a1, b0, b1, c0, c1, origin,
               voxel, pp, coef, tlo, thi, fbuf, cls, flagged, out):
    """:func:`dense_box` for the direct path's tree (:func:`mrfm.solver.direct._block_sum`),
    resolved at compile time like :func:`mrfm.solver.quantity.point_quantity`: compiled only
    for a literal CERMIT ``kid`` and sphere ``shape_id`` (the only ones :func:`applies`
    serves); else every voxel flagged (never reached: :func:`setup` does not ask for them)."""
    return dense_box(mparams, pol, tx, ty, tz, rho3, a0, a1, b0, b1, c0, c1, origin, voxel, pp,
                     coef, tlo, thi, fbuf, cls, flagged, out)


@overload(dense_leaf, prefer_literal=True, inline="always")
def _dense_leaf_numba(kid, shape_id, mparams, pol, tx, ty, tz, rho3, a0, a1, b0, b1, c0, c1,
                      origin, voxel, pp, coef, tlo, thi, fbuf, cls, flagged, out):
    served = (isinstance(kid, types.IntegerLiteral) and kid.literal_value == K.CERMIT
              and isinstance(shape_id, types.IntegerLiteral) and shape_id.literal_value == 0)
    if served:
        return dense_leaf

    def never(kid, shape_id, mparams, pol, tx, ty, tz, rho3, a0, a1, b0, b1, c0, c1, origin,
              voxel, pp, coef, tlo, thi, fbuf, cls, flagged, out):
        # setup() never asks for dense leaves here; a caller that did gets every voxel
        # flagged, so the per-voxel path sums the box
        n = (a1 - a0) * (b1 - b0) * (c1 - c0)
        for q in range(n):
            flagged[q] = True
        return 0.0, n

    return never


def setup(kid: int, shape_id: int, pp: np.ndarray,
          tol: float) -> tuple[bool, np.ndarray, float, float]:
    """(dense, moment table, its interval) for :func:`mrfm.solver.direct._voxel_sums`: the
    vectorized leaves serve its fast path (``tol`` > 0) where :func:`applies`; Curie
    polarization needs the moment table (:func:`mrfm.solver.kernels.moment_table`; without
    one, no dense leaves)."""
    none = np.zeros(1)
    if not (tol > 0.0 and applies(kid, shape_id, pp)):
        return False, none, 0.0, 0.0
    if pp[K.P_STAT] != 0.0:
        return True, none, -np.inf, np.inf
    lo, hi = table_interval(pp)
    coef = K.moment_table(pp, lo, hi)
    if coef.size == 0:
        return False, none, 0.0, 0.0
    return True, coef, lo, hi
