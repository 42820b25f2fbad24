"""Direct summation: every tip position against every voxel (and every point spin).

Serves arbitrary tip positions and the reference tests. The work is split
into (tip, slab) items run in parallel with numba ``prange``
(:func:`mrfm.solver.partition.work_items`: where the density is mirror-symmetric about a
tip on the voxel lattice, one of each pair of mirrored slabs, counted twice for an even
kernel and left out with its partner for an odd one; exact); each item
walks its slab of the density grid as a tree of index boxes, skipping boxes
that an exact bound proves to be far from resonance
(:func:`mrfm.solver.box_bounds.box_is_silent`) and empty voxels, so the cost per
tip grows with the number of voxels near the resonant slice rather than with
the grid, and memory stays at O(tips x slabs). Boxes of uniform density where the per-voxel
value is smooth (inside the slice, or the force gradient anywhere) are summed from a few
virtual voxels by the block cubature of :mod:`mrfm.solver.cubature` when its error
estimate passes; the rest voxel by voxel.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from mrfm.jit import SCALAR_OVERLOAD, scalar_kernel
from mrfm.solver import box_bounds as BB
from mrfm.solver import cubature as C
from mrfm.solver import dense as D
from mrfm.solver import kernels as K
from mrfm.solver import mirror as M
from mrfm.solver import partition as P
from mrfm.solver import sheet as SH
from mrfm.solver import slice as S

#: blocks of at most this many voxels are evaluated voxel by voxel: those too small for the
#: block cubature. Splitting them further to test their halves for silence cost more than
#: it saved (8 instead: CERMIT's and CAI's single tips 3-5 % slower, same numbers)
LEAF_VOXELS = C.MIN_VOXELS - 1
#: depth of the block stack (binary splits of an index box: <= 3 log2(n) + 1 entries)
BLOCK_STACK = 256


@scalar_kernel
def _block_sum(kid, shape_id, mparams, pol, tx, ty, tz, rho3, i0, i1, j0, j1, nz, origin,
               voxel, pp, pp_ideal, out, crossings, stack, blocks, tol, uniform, dense, coef,
               tlo, thi, fbuf, cls, flagged):
    """Sum of rho * voxel_value over voxels [i0, i1) x [j0, j1) x [0, nz) for one magnet centre.

    Index boxes are split in two along their longest side (in metres; depth-first); a box
    that :func:`mrfm.solver.box_bounds.box_is_silent` proves silent is skipped whole, so the work
    grows with the number of voxels near the resonant slice, not with the grid. With
    ``tol`` > 0, a box of uniform density with at least :data:`mrfm.solver.cubature.MIN_VOXELS`
    voxels where the per-voxel value is smooth (:func:`_cubature_ok`) is summed by
    :func:`mrfm.solver.cubature.block_sum` when its error estimate passes; ``uniform``: the
    whole grid holds one density (no per-box check); ``pp_ideal``: ``pp`` under ideal
    inversion (see :func:`_cubature`). With ``dense`` (:func:`mrfm.solver.dense.applies`),
    boxes of at most :data:`mrfm.solver.dense.DENSE_VOXELS` voxels are summed by
    :func:`mrfm.solver.dense.dense_box` (``coef``, ``tlo``, ``thi``: its moment table;
    ``fbuf``, ``cls``, ``flagged``: its scratch) and only the voxels it flags voxel by
    voxel; the block cubature is not tried.
    """
    leaf_max = D.DENSE_VOXELS if dense else LEAF_VOXELS
    n = 1
    blocks[0, 0] = i0
    blocks[0, 1] = i1
    blocks[0, 2] = j0
    blocks[0, 3] = j1
    blocks[0, 4] = 0
    blocks[0, 5] = nz
    acc = 0.0
    while n > 0:
        n -= 1
        a0 = blocks[n, 0]
        a1 = blocks[n, 1]
        b0 = blocks[n, 2]
        b1 = blocks[n, 3]
        c0 = blocks[n, 4]
        c1 = blocks[n, 5]
        la = a1 - a0
        lb = b1 - b0
        lc = c1 - c0
        # the box's middle relative to the magnet centre and the half extents of its
        # voxel centres (the tests below and the leaf's screen)
        hx = 0.5 * (la - 1) * voxel[0]
        hy = 0.5 * (lb - 1) * voxel[1]
        hz = 0.5 * (lc - 1) * voxel[2]
        mx = origin[0] + 0.5 * (a0 + a1 - 1) * voxel[0] - tx
        my = origin[1] + 0.5 * (b0 + b1 - 1) * voxel[1] - ty
        mz = origin[2] + 0.5 * (c0 + c1 - 1) * voxel[2] - tz
        if la * lb * lc > 1:
            if BB.box_is_silent(kid, shape_id, mparams, pol, mx, my, mz, hx, hy, hz, voxel[0],
                               voxel[1], voxel[2], pp, out):
                continue
            if tol > 0.0 and not dense and la * lb * lc >= C.MIN_VOXELS:
                r = _uniform_density(rho3, a0, a1, b0, b1, c0, c1, uniform)
                if r == 0.0:
                    continue
                if r > 0.0:
                    ok, qsum = _cubature(kid, shape_id, mparams, pol, mx, my, mz, hx, hy, hz,
                                         la, lb, lc, voxel, pp, pp_ideal, out, crossings, tol)
                    if ok:
                        acc += r * qsum
                        continue
        if la * lb * lc > leaf_max and n + 2 <= blocks.shape[0]:
            # split the longest side (in metres, of those longer than one voxel) in two:
            # entry n keeps the lower half (its end becomes m), entry n + 1 the upper (a copy
            # that starts at m)
            ea = la * voxel[0] if la > 1 else -1.0
            eb = lb * voxel[1] if lb > 1 else -1.0
            ec = lc * voxel[2] if lc > 1 else -1.0
            if ea >= eb and ea >= ec:
                col = 0
                m = a0 + la // 2
            elif eb >= ec:
                col = 2
                m = b0 + lb // 2
            else:
                col = 4
                m = c0 + lc // 2
            for q in range(6):
                blocks[n + 1, q] = blocks[n, q]
            blocks[n, col + 1] = m
            blocks[n + 1, col] = m
            n += 2
            continue
        # a leaf: voxel by voxel, skipping those the screen proves silent (value exactly 0);
        # a dense leaf: the voxels dense_box leaves (flags)
        screen = False
        s_m = gmx = gmy = gmz = c_m = 0.0
        # (a box larger than dense_box takes, left by a full block stack, goes voxel by voxel)
        dense_leaf = dense and la * lb * lc <= D.DENSE_VOXELS
        if dense_leaf:
            part, nflag = D.dense_leaf(kid, shape_id, mparams, pol, tx, ty, tz, rho3, a0, a1,
                                       b0, b1, c0, c1, origin, voxel, pp, coef, tlo, thi, fbuf,
                                       cls, flagged, out)
            acc += part
            if nflag == 0:
                continue
        elif la * lb * lc > 1:
            screen, s_m, gmx, gmy, gmz, c_m = BB.leaf_screen(kid, shape_id, mparams, pol, mx,
                                                             my, mz, hx, hy, hz, pp, out)
        q = -1
        for i in range(a0, a1):
            cx = origin[0] + i * voxel[0] - tx
            for j in range(b0, b1):
                cy = origin[1] + j * voxel[1] - ty
                for k in range(c0, c1):
                    q += 1
                    if dense_leaf and not flagged[q]:
                        continue
                    r = rho3[i, j, k]
                    if r == 0.0:
                        continue
                    cz = origin[2] + k * voxel[2] - tz
                    if screen and BB.voxel_is_silent(s_m, gmx, gmy, gmz, c_m, cx - mx, cy - my,
                                                     cz - mz, voxel[0], voxel[1], voxel[2],
                                                     pp):
                        continue
                    acc += r * S.inline_voxel_value(kid, shape_id, mparams, pol, cx, cy, cz,
                                                    voxel[0], voxel[1], voxel[2], pp, out,
                                                    crossings, stack)
    return acc


@scalar_kernel
def _uniform_density(rho3, a0, a1, b0, b1, c0, c1, uniform):
    """The density of an index box if it is one value there (0.0 when empty), else -1.0."""
    r = rho3[a0, b0, c0]
    if uniform:
        return r
    for i in range(a0, a1):
        for j in range(b0, b1):
            for k in range(c0, c1):
                if rho3[i, j, k] != r:
                    return -1.0
    return r


@scalar_kernel
def _cubature_ok(kid, shape_id, mparams, pol, mx, my, mz, hx, hy, hz, voxel, pp, out):
    """Whether the per-voxel value is smooth over the box (see :mod:`mrfm.solver.cubature`):
    force gradient always (the error estimate decides), CAI and CERMIT where
    :func:`mrfm.solver.cubature.block_inside_slice` proves the box inside the slice."""
    if kid == K.FORCE_GRADIENT:
        return True
    if kid == K.OSCAR:
        return False
    b, gx, gy, gz, d2 = K.box_field_magnitude(shape_id, mparams, pol, mx, my, mz, 1, pp, out)
    return C.block_inside_slice(kid, shape_id, mparams, pol, mx, my, mz, hx, hy, hz, voxel[0],
                                voxel[1], voxel[2], b, gx, gy, gz, pp)


def _cubature(kid, shape_id, mparams, pol, mx, my, mz, hx, hy, hz, la, lb, lc, voxel, pp,
              pp_ideal, out, crossings, tol):
    """(accepted, sum of v over the box's voxels) by :func:`mrfm.solver.cubature.block_sum`
    where :func:`_cubature_ok`, else (False, 0). CERMIT under Landau-Zener inversion: a box
    inside the slice that the sheet where the sweep fails crosses is summed under ideal
    inversion (``pp_ideal``) plus :func:`mrfm.solver.sheet.sheet_correction`
    (:func:`_sheet_cubature`). Resolved at compile time like
    :func:`mrfm.solver.quantity.point_quantity`: a literal ``kid`` of OSCAR compiles to (False, 0)
    (never served), of CAI or the force gradient to :func:`_plain_cubature`."""
    return _sheet_cubature(kid, shape_id, mparams, pol, mx, my, mz, hx, hy, hz, la, lb, lc,
                           voxel, pp, pp_ideal, out, crossings, tol)


@scalar_kernel
def _plain_cubature(kid, shape_id, mparams, pol, mx, my, mz, hx, hy, hz, la, lb, lc, voxel, pp,
                    pp_ideal, out, crossings, tol):
    if _cubature_ok(kid, shape_id, mparams, pol, mx, my, mz, hx, hy, hz, voxel, pp, out):
        return C.block_sum(kid, shape_id, mparams, pol, mx, my, mz, la, lb, lc, voxel[0],
                           voxel[1], voxel[2], pp, out, crossings, tol)
    return False, 0.0


@scalar_kernel
def _sheet_cubature(kid, shape_id, mparams, pol, mx, my, mz, hx, hy, hz, la, lb, lc, voxel, pp,
                    pp_ideal, out, crossings, tol):
    if not SH.sheet_applies(kid, shape_id, pp):
        return _plain_cubature(kid, shape_id, mparams, pol, mx, my, mz, hx, hy, hz, la, lb, lc,
                               voxel, pp, pp_ideal, out, crossings, tol)
    # the Landau-Zener test only adds a condition to the inside proof: a box that fails it
    # under ideal inversion (most failures: an edge crosses it) fails under pp too
    if not _cubature_ok(kid, shape_id, mparams, pol, mx, my, mz, hx, hy, hz, voxel, pp_ideal,
                        out):
        return False, 0.0
    if _cubature_ok(kid, shape_id, mparams, pol, mx, my, mz, hx, hy, hz, voxel, pp, out):
        return C.block_sum(kid, shape_id, mparams, pol, mx, my, mz, la, lb, lc, voxel[0],
                           voxel[1], voxel[2], pp, out, crossings, tol)
    ok, qsum = C.block_sum(kid, shape_id, mparams, pol, mx, my, mz, la, lb, lc, voxel[0],
                           voxel[1], voxel[2], pp_ideal, out, crossings, tol)
    if ok:
        ok, corr = SH.sheet_correction(kid, shape_id, mparams, pol, mx, my, mz, hx, hy, hz, la,
                                      lb, lc, voxel[0], voxel[1], voxel[2], pp, pp_ideal, out,
                                      crossings)
        if ok:
            return True, qsum + corr
    return False, 0.0


@overload(_cubature, prefer_literal=True, jit_options=SCALAR_OVERLOAD)
def _cubature_numba(kid, shape_id, mparams, pol, mx, my, mz, hx, hy, hz, la, lb, lc, voxel, pp,
                    pp_ideal, out, crossings, tol):
    if isinstance(kid, types.IntegerLiteral) and kid.literal_value == K.OSCAR:
        def never(kid, shape_id, mparams, pol, mx, my, mz, hx, hy, hz, la, lb, lc, voxel, pp,
                  pp_ideal, out, crossings, tol):
            return False, 0.0

        return never
    if isinstance(kid, types.IntegerLiteral) and kid.literal_value != K.CERMIT:
        return _plain_cubature.py_func
    return _sheet_cubature.py_func


@njit(cache=True, fastmath=False, parallel=True)
def _voxel_sums(kid, shape_id, mparams, pol, centres, rho3, origin, voxel, pp, items, weights,
                tol, uniform, dense, coef, tlo, thi):
    """``sum_w weights[w] * _block_sum(item w)`` per tip: ``items`` (n, 5) int64 rows (tip,
    i0, i1, j0, j1), from :func:`mrfm.solver.partition.work_items`; (nt,) float64 times the
    voxel volume."""
    nt = centres.shape[0]
    nz = rho3.shape[2]
    nw = items.shape[0]
    partial = np.zeros(nw)
    pp_ideal = pp.copy()
    pp_ideal[K.P_LZ] = 0.0
    for w in prange(nw):
        t = items[w, 0]
        out, crossings, stack = S.scratch()
        blocks = np.zeros((BLOCK_STACK, 6), dtype=np.int64)
        fbuf, cls, flagged = D.scratch(dense)
        partial[w] = weights[w] * _block_sum(
            kid, shape_id, mparams, pol, centres[t, 0], centres[t, 1], centres[t, 2], rho3,
            items[w, 1], items[w, 2], items[w, 3], items[w, 4], nz, origin, voxel, pp,
            pp_ideal, out, crossings, stack, blocks, tol, uniform, dense, coef, tlo, thi, fbuf,
            cls, flagged)
    vol = voxel[0] * voxel[1] * voxel[2]
    res = np.zeros(nt)
    for w in range(nw):
        res[items[w, 0]] += partial[w]
    for t in range(nt):
        res[t] *= vol
    return res


@njit(cache=True, fastmath=False, parallel=True)
def _point_sums(kid, shape_id, mparams, pol, centres, positions, pp, nchunks):
    nt = centres.shape[0]
    npts = positions.shape[0]
    chunk = (npts + nchunks - 1) // nchunks
    partial = np.zeros((nt, nchunks))
    for w in prange(nt * nchunks):
        t = w // nchunks
        c = w % nchunks
        out, crossings = S.point_scratch()
        acc = 0.0
        for p in range(c * chunk, min(npts, (c + 1) * chunk)):
            acc += S.point_value(kid, shape_id, mparams, pol, positions[p, 0] - centres[t, 0],
                                 positions[p, 1] - centres[t, 1],
                                 positions[p, 2] - centres[t, 2], pp, out, crossings)
        partial[t, c] = acc
    res = np.zeros(nt)
    for t in range(nt):
        res[t] = partial[t].sum()
    return res


@functools.cache
def specialized(kid: int, shape_id: int):
    """(voxel sums, point sums) compiled for one protocol family and one tip shape.

    As :func:`mrfm.solver.fft.specialized`: closure constants are literals to numba, so
    only that protocol's and shape's code is compiled. The functions take the arguments
    of :func:`_voxel_sums` and :func:`_point_sums` after ``shape_id``.
    """
    kid_c = int(kid)
    shape_c = int(shape_id)

    def voxel_sums(mparams, pol, centres, rho3, origin, voxel, pp, items, weights, tol,
                   uniform, dense, coef, tlo, thi):
        return _voxel_sums(kid_c, shape_c, mparams, pol, centres, rho3, origin, voxel, pp,
                           items, weights, tol, uniform, dense, coef, tlo, thi)

    def point_sums(mparams, pol, centres, positions, pp, nchunks):
        return _point_sums(kid_c, shape_c, mparams, pol, centres, positions, pp, nchunks)

    return S.compile_specialized(kid_c, shape_c, voxel_sums, point_sums)


def voxel_signal(kid: int, magnet, centres: np.ndarray, rho: np.ndarray, origin: np.ndarray,
                 voxel: np.ndarray, pp: np.ndarray, *, progress=None,
                 cubature_tol: float | None = None) -> np.ndarray:
    """Signal of a voxel density at each magnet centre by direct summation.

    Parameters
    ----------
    kid : int
        Kernel family (``mrfm.solver.kernels.CAI`` ...).
    magnet
        Object with ``shape_id``, ``params``, ``polarization``.
    centres : (nt, 3) float64
        Magnet-centre positions, m.
    rho : (nx, ny, nz) float64
        Spin density, m^-3.
    origin, voxel : (3,) float64
        Centre of voxel [0, 0, 0] and voxel edges, m.
    pp : (PP_LEN,) float64
        Protocol parameters.
    progress : callable, optional
        Called with the number of tips finished after each batch.
    cubature_tol : float, optional
        Acceptance tolerance of the block cubature (:mod:`mrfm.solver.cubature`); 0 sums
        every voxel one by one (the reference path); None: ``cubature.CUBATURE_TOL``.

    Returns
    -------
    (nt,) float64 signal in the protocol's unit.
    """
    centres = np.ascontiguousarray(centres, dtype=float)
    rho3 = np.ascontiguousarray(rho, dtype=float)
    nt = centres.shape[0]
    out = np.zeros(nt)
    batch = nt if progress is None else max(1, min(nt, 64))
    voxel_sums = specialized(kid, int(magnet.shape_id))[0]
    # whether the density is one value: read (the whole density) only where it is used, by
    # the block rules (not with dense leaves) and by a fold's density check
    uniform = functools.cache(lambda: bool(rho3.size) and P.is_uniform(rho3.reshape(-1)))
    tol = C.CUBATURE_TOL if cubature_tol is None else float(cubature_tol)
    pol = _f64(magnet.polarization)
    fold = M.mirror_parity(kid, int(magnet.shape_id), pol, pp[K.P_STAT] != 0.0)
    dense, coef, tlo, thi = D.setup(kid, int(magnet.shape_id), pp, tol)
    mirrored: dict[tuple[int, int, int], bool] = {}  # density checks, kept across batches
    for start in range(0, nt, batch):
        stop = min(nt, start + batch)
        items, weights = P.work_items(centres[start:stop], rho3, origin, voxel, fold, uniform,
                                      mirrored)
        out[start:stop] = voxel_sums(_f64(magnet.params), pol, centres[start:stop], rho3,
                                     _f64(origin), _f64(voxel), pp, items, weights, tol,
                                     (not dense) and uniform(), dense, coef, tlo, thi)
        if progress is not None:
            progress(stop - start)
    return out


def point_signal(kid: int, magnet, centres: np.ndarray, positions: np.ndarray,
                 pp: np.ndarray) -> np.ndarray:
    """Signal of individual point spins (exact positions, exact resonance indicator), (nt,)."""
    positions = np.ascontiguousarray(positions, dtype=float).reshape(-1, 3)
    centres = np.ascontiguousarray(centres, dtype=float)
    if positions.shape[0] == 0:
        return np.zeros(centres.shape[0])
    nchunks = P.chunks(centres.shape[0], positions.shape[0], min_items=64)
    point_sums = specialized(kid, int(magnet.shape_id))[1]
    return point_sums(_f64(magnet.params), _f64(magnet.polarization), centres, positions, pp,
                      nchunks)


def _f64(a) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=float).reshape(-1))
