"""Vectorized leaves of the direct path: CERMIT's hard slice under a sphere tip.

The direct path (:mod:`mrfm.solver.direct`) walks each work item's voxels as a tree of
index boxes. For CERMIT with a hard slice, a sphere tip and a per-spin curvature in closed
form (the high-field small-amplitude form :func:`mrfm.solver.curvature.small_amplitude_terms`,
or no cantilever amplitude), a box of at most :data:`DENSE_VOXELS` voxels that the tree
cannot prove silent is evaluated here, voxel by voxel, in loops over arrays that LLVM
vectorizes (no calls, no early exits: the sphere's field, the leaf's tests and the
curvature are all inlined), instead of one voxel at a time through the branchy per-voxel
leaf (:func:`mrfm.solver.slice.voxel_value`). Every voxel gets the value that leaf gives
it, from the same functions:

- voxels that the per-voxel path's screen proves silent
  (:func:`mrfm.solver.box_bounds.voxel_is_silent`, from one field evaluation at the box's
  middle) and voxels of density 0 are left out first (:func:`compact`);
- the leaf's first tests (:func:`mrfm.solver.slice.span_tests`) reject a voxel (value 0) or
  prove it wholly inside the slice (fraction exactly 1, no refinement);
- a voxel an edge may cut takes the leaf's refinement decision: Taylor's proof that no
  edge cuts it (:func:`mrfm.solver.box_bounds.clear_of_slice_edges`: fraction exactly 0
  or 1), the analytic bound of the curvature excess and, where that bound does not settle
  it, the measured excess (:func:`mrfm.solver.box_bounds.curvature_excess`); a voxel
  that needs no split takes the linear slab fraction
  (:func:`mrfm.solver.box_fraction.slab_fraction`). The first two are decided in the
  vectorized loop where box-wide bounds settle them
  (:func:`mrfm.solver.box_bounds.box_refinement_bounds`: conservative, so a voxel they
  prove clear or smooth the leaf proves so too), the rest voxel by voxel;
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

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

from mrfm.jit import scalar_kernel
from mrfm.solver import box_bounds as BB
from mrfm.solver import box_fraction as BF
from mrfm.solver import dense_passes as DP
from mrfm.solver import kernels as K

#: boxes of at most this many voxels are evaluated by :func:`dense_box`
DENSE_VOXELS = 256
#: the vectorized loops run over a multiple of this many voxels (the box padded with copies
#: of its first voxel at density 0): a loop's scalar remainder costs as much per voxel as
#: the per-voxel path (8 lanes of AVX-512 times LLVM's interleave of 4)
PAD = 32
#: rows of the float scratch of :func:`dense_box` (see :func:`scratch`)
_NF = 11


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
    """Fresh scratch of :func:`dense_box` for one thread: ((_NF, m) float64, (2, m) int64
    (classes, box indices), (2 m,) bool (the box's flags, the kept voxels' flags)),
    m = DENSE_VOXELS rounded up to PAD where ``used``, else 1 (a caller that does not take
    dense leaves)."""
    size = (DENSE_VOXELS + PAD - 1) // PAD * PAD if used else 1
    return (np.zeros((_NF, size)), np.zeros((2, size), dtype=np.int64),
            np.zeros(2 * size, dtype=np.bool_))


@scalar_kernel
def compact(mparams, pol, tx, ty, tz, rho3, a0, a1, b0, b1, c0, c1, origin, voxel, pp, fbuf,
            cls, flagged, out):
    """The voxels of the box [a0, a1) x [b0, b1) x [c0, c1) that :func:`dense_box` evaluates,
    into its scratch: centres relative to the magnet centre (tx, ty, tz) into ``fbuf[0:3]``,
    densities into ``fbuf[3]``, box indices q (as in :func:`dense_box`) into ``cls[1]``; the
    box's flags ``flagged[:n]`` cleared. Left out: voxels of density 0 and those that the
    screen of :func:`mrfm.solver.box_bounds.leaf_screen` proves silent (the per-voxel
    path's :func:`mrfm.solver.box_bounds.voxel_is_silent`, with every voxel's distance from
    the box's middle taken as the largest: a linear test per voxel, no square root), so
    their value is exactly 0.

    Returns
    -------
    (m, mx, my, mz, rmax) : (int, float, float, float, float)
        Voxels kept; the box's middle relative to the magnet centre and the largest
        distance of a voxel centre from it, m.
    """
    la = a1 - a0
    lb = b1 - b0
    lc = c1 - c0
    xs = fbuf[0]
    ys = fbuf[1]
    zs = fbuf[2]
    rho = fbuf[3]
    where = cls[1]
    ax = voxel[0]
    ay = voxel[1]
    az = voxel[2]
    hx = 0.5 * (la - 1) * ax
    hy = 0.5 * (lb - 1) * ay
    hz = 0.5 * (lc - 1) * az
    mx = origin[0] + 0.5 * (a0 + a1 - 1) * ax - tx
    my = origin[1] + 0.5 * (b0 + b1 - 1) * ay - ty
    mz = origin[2] + 0.5 * (c0 + c1 - 1) * az - tz
    rmax = math.sqrt(hx * hx + hy * hy + hz * hz)
    ok, s_m, gmx, gmy, gmz, c_m = BB.leaf_screen(K.CERMIT, 0, mparams, pol, mx, my, mz, hx, hy,
                                                 hz, pp, out)
    half = pp[K.P_HALF]
    reach = math.inf
    if ok:
        # voxel_is_silent's margin at the largest distance (it grows with the distance)
        reach = BB.screen_reach(s_m, gmx, gmy, gmz, c_m, rmax, rmax * rmax, ax, ay, az, pp)
        # the whole box screened: |s_m + g . r| over its centres stays beyond half + reach
        far = abs(gmx) * hx + abs(gmy) * hy + abs(gmz) * hz
        if s_m - far - reach > half or s_m + far + reach < -half:
            return 0, mx, my, mz, rmax
    # the density's rows of the box (one or two cache lines each) read first, in a loop of
    # independent loads: where other processes crowd the shared cache, each row's first read
    # in the loop below waited for the memory, one row after another (off-lattice benchmark
    # tip on one thread, 5 December 2026: 7.5 against 9.7 ms; no change on a quiet machine);
    # their sum goes to a scratch entry nothing reads (the moment table's work row), so the
    # reads are kept
    touch = 0.0
    for i in range(a0, a1):
        for j in range(b0, b1):
            touch += rho3[i, j, c0] + rho3[i, j, c1 - 1]
    fbuf[_NF - 1, 0] = touch
    # unsigned counters: numba adds a negative-index correction to every store indexed by a
    # signed counter, which here doubled the loop's time (3.5 against 1.75 ns per voxel)
    one = np.uint64(1)
    m = np.uint64(0)
    q = np.uint64(0)
    for i in range(a0, a1):
        cx = origin[0] + i * ax - tx
        lx = s_m + gmx * (cx - mx)
        for j in range(b0, b1):
            cy = origin[1] + j * ay - ty
            lxy = lx + gmy * (cy - my)
            for k in range(c0, c1):
                cz = origin[2] + k * az - tz
                lin = lxy + gmz * (cz - mz)
                r = rho3[i, j, k]
                flagged[q] = False
                # (a branch: writing every voxel and advancing m by the test was slower)
                if r != 0.0 and not (lin - reach > half or lin + reach < -half):
                    xs[m] = cx
                    ys[m] = cy
                    zs[m] = cz
                    rho[m] = r
                    where[m] = q
                    m += one
                q += one
    return np.int64(m), mx, my, mz, rmax


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
        :func:`scratch`; after the call ``cls[0, p]`` is the class of the p-th voxel that
        :func:`compact` kept and ``cls[1, p]`` its box index.
    out : (OUT_LEN,) float64
        The field kernels' scratch (:func:`mrfm.solver.slice.scratch`).

    Returns
    -------
    (sum, nflagged) : (float, int)
        ``flagged[q]`` (q = ((i - a0) * (b1 - b0) + j - b0) * (c1 - c0) + k - c0) marks the
        voxels left to the caller's per-voxel path.
    """
    n = (a1 - a0) * (b1 - b0) * (c1 - c0)
    size = fbuf.shape[1]
    if n > size or 2 * size > flagged.size or size > cls.shape[1]:
        raise ValueError("dense_box: the box has more voxels than its scratch holds")
    m, mx, my, mz, rmax = compact(mparams, pol, tx, ty, tz, rho3, a0, a1, b0, b1, c0, c1,
                                  origin, voxel, pp, fbuf, cls, flagged, out)
    if m == 0:
        return 0.0, 0
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
    kinds = cls[0]
    where = cls[1]
    cflag = flagged[size:]  # the flags of the kept voxels, in their order
    npad = (m + PAD - 1) // PAD * PAD
    for p in range(m, npad):
        xs[p] = xs[0]
        ys[p] = ys[0]
        zs[p] = zs[0]
        rho[p] = 0.0
    ax = voxel[0]
    ay = voxel[1]
    az = voxel[2]
    can_split = int(pp[K.P_DEPTH]) > 0
    cbox, kbox = BB.box_refinement_bounds(mparams, pol, mx, my, mz, rmax, ax, ay, az, pp)
    nflag = DP.field_pass(mparams, pol, npad, m, xs, ys, zs, bs, gxs, gys, gzs, vals, kinds,
                          cflag, ax, ay, az, tlo, thi, pp, can_split, cbox, kbox)
    if pp[K.P_STAT] == 0.0:
        # the moment at every voxel (cheaper than skipping; the rejected ones are unused)
        DP.moments(coef, tlo, thi, bs, npad, moms, work)
    acc = DP.inside_sum(npad, kinds, rho, moms, vals, pp)
    part, nsplit = DP.edge_sum(mparams, pol, m, xs, ys, zs, bs, gxs, gys, gzs, vals, moms, rho,
                               kinds, cflag, ax, ay, az, can_split, pp, out)
    if nflag + nsplit > 0:
        for p in range(m):
            if cflag[p]:
                flagged[where[p]] = True
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
