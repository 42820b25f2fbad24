"""Per-voxel and per-point signal kernels with exact treatment of thin resonance slices.

A resonant slice (``| |B| - omega_rf/|gamma| | <= half-width``) can be much
thinner than a voxel; thresholding voxel centres would make the signal jump
as the slice moves through the grid. Instead, for each voxel:

1. ``|B|`` is linearized across the voxel (value and gradient at its centre)
   and the resonant **volume fraction** is integrated analytically: the
   fraction of a box lying between two parallel planes, a piecewise cubic in
   the plane offsets (:func:`mrfm.solver.box_fraction.slab_fraction`); with the
   optional cos^2 slice profile, the box average of the weight
   (:func:`mrfm.solver.box_fraction.cos2_fraction`).
2. Where a slice edge cuts the voxel and |B| is curved inside it (the second
   differences of |B| across the voxel exceed ``curvature_tol`` times its
   linear |B| span), the voxel is split into 8 and each part treated the same
   way, down to ``max_depth`` levels (adaptive, only near slice edges). A hard
   slice's voxel that Taylor's bound proves wholly inside or outside the slice
   (:func:`mrfm.solver.box_bounds.clear_of_slice_edges`) is not split: its
   fraction is exactly 1 or 0.

The per-spin value (moment times d|B|/dx, or the frequency-shift kernel) is
taken at the centre of each (sub-)voxel. OSCAR has no thin slice but a sharp
sweep boundary (spins the cantilever does not sweep through resonance are not
locked); voxels cut by it are subdivided in the same way. The force-gradient
protocol (every spin) uses the voxel centre.

The returned value is the **signal per unit spin density per unit voxel
volume**: multiply by rho_v V_v and sum over voxels.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

from mrfm.jit import compile_closure, scalar_kernel
from mrfm.physics import spin_dynamics as SD
from mrfm.solver import box_bounds as BB
from mrfm.solver import box_fraction as BF
from mrfm.solver import curvature as CV
from mrfm.solver import fundamental as FW
from mrfm.solver import inversion as LZ
from mrfm.solver import kernels as K
from mrfm.solver import oscar_trajectory as OT
from mrfm.solver import quantity as Q

STACK_LEN = 128
MAX_CROSSINGS = 16


@scalar_kernel
def point_value(kid, shape_id, mparams, pol, rx, ry, rz, pp, out, crossings):
    """Signal of one spin at an exact point (exact resonance indicator, no voxel)."""
    b, gx, gy, gz, q, inside = Q.point_quantity(kid, shape_id, mparams, pol, rx, ry, rz, pp,
                                                out, crossings)
    if not inside:
        return 0.0
    w = 1.0
    if kid == K.CAI or kid == K.CERMIT:
        w = BF.profile_weight(b - pp[K.P_BRES], pp[K.P_HALF], pp[K.P_PROFILE])
        if pp[K.P_PROFILE] == BF.PROFILE_FUNDAMENTAL and pp[K.P_STAT] != 0.0:
            w *= w  # the variance of each spin's fundamental
    if pp[K.P_LZ] != 0.0:
        w *= LZ.inversion_factor(kid, shape_id, mparams, pol, rx, ry, rz, b, gx, pp, out)
    return w * K.moment_weight(pp, b, q)


@njit(cache=True, fastmath=False, inline="always")
def span_tests(s0, gx, gy, gz, sx, sy, sz, half, hard):
    """The slice leaf's first tests of a box of edges s whose centre has offset ``s0`` =
    |B| - B_res and gradient g: ``(span, outside, fully_inside)``.

    ``span = |g_x| s_x + |g_y| s_y + |g_z| s_z`` is twice the linear half-span of |B| over
    the box, a generous margin for the curvature not yet measured: ``outside`` (value 0)
    where ``|s0| - span`` clears the half-width, ``fully_inside`` (a hard slice's fraction
    exactly 1, no refinement) where ``|s0| + span`` stays below it. Shared by
    :func:`_slice_leaf` and the vectorized leaves of :mod:`mrfm.solver.dense`.
    """
    span = abs(gx) * sx + abs(gy) * sy + abs(gz) * sz
    outside = s0 - span > half or s0 + span < -half
    fully_inside = hard and (s0 - span > -half) and (s0 + span < half)
    return span, outside, fully_inside


@njit(cache=True, fastmath=False, inline="always")
def refinement_limit(span, half, hard, tol):
    """The curvature excess (T) above which a box that an edge may cut is split in eight.

    Hard slice: ``tol`` (``P_TOL``) times the box's span. Under the cos^2 weight the curvature
    matters everywhere; its slope is at most pi / (2 half), and a curvature excess e moves
    the box-mean offset by about e / 6, so the weight by at most ~pi e / (12 half):
    splitting when e > tol * 2 half bounds that by ~0.5 tol.
    """
    scale = span if hard else max(span, 2.0 * half)
    return tol * scale


@njit(cache=True, fastmath=False, inline="always")
def leaf_splits(shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, b, s0, gx, gy, gz, span, half,
                hard, pp, out):
    """The leaf's refinement decision for a box it may split that is not proven wholly
    inside: ``(split, clear)``.

    ``clear``: a hard slice's box that Taylor's bound proves no edge cuts
    (:func:`mrfm.solver.box_bounds.clear_of_slice_edges`): its fraction is exactly 0 or 1,
    not refined. Otherwise ``split`` where the curvature excess across the box
    (:func:`mrfm.solver.box_bounds.curvature_excess`) exceeds :func:`refinement_limit`,
    measured only where the analytic bound does. Shared by :func:`_slice_leaf` and the
    vectorized leaves of :mod:`mrfm.solver.dense`.
    """
    if hard and BB.clear_of_slice_edges(shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, b, s0,
                                        gx, gy, gz, half, pp):
        return False, True
    limit = refinement_limit(span, half, hard, pp[K.P_TOL])
    # the measured excess can only exceed ``limit`` if the analytic bound does
    if (BB.curvature_bound(shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, b, pp) > limit
            and BB.curvature_excess(shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, b, pp, out,
                                    limit) > limit):
        return True, False
    return False, False


@scalar_kernel
def _slice_leaf(kid, shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, can_split, pp, out,
                crossings):
    """(value, split) for a CAI/CERMIT box; value already includes the resonant fraction.
    CERMIT takes d2|B|/dx2 with the field (its per-spin value needs it; one evaluation)."""
    order = 2 if kid == K.CERMIT else 1
    b, gx, gy, gz, d2 = K.field_magnitude(shape_id, mparams, pol, cx, cy, cz, order, pp, out)
    s0 = b - pp[K.P_BRES]
    half = pp[K.P_HALF]
    profile = pp[K.P_PROFILE]
    hard = profile == BF.PROFILE_HARD
    span, outside, fully_inside = span_tests(s0, gx, gy, gz, sx, sy, sz, half, hard)
    if outside:
        return 0.0, False
    if (not fully_inside) and can_split:
        split, clear = leaf_splits(shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, b, s0, gx, gy,
                                   gz, span, half, hard, pp, out)
        if split:
            return 0.0, True
    lz = pp[K.P_LZ] != 0.0
    if hard:
        frac = BF.slab_fraction(s0, gx, gy, gz, sx, sy, sz, -half, half)
    elif profile == BF.PROFILE_FUNDAMENTAL:
        stat = pp[K.P_STAT] != 0.0
        k = math.inf
        if lz and not stat and kid == K.CAI:
            # Landau-Zener retention inside the box average: A(s) = A_c / sqrt(1 - s^2)
            b1e = K.b1_effective(shape_id, mparams, pol, cx, cy, cz, pp, out)
            k = 0.5 * math.pi * SD.adiabaticity_at(pp[K.P_GAMMA], b1e, half, pp[K.P_FMOD], 0.0)
        lz = lz and kid != K.CAI  # CAI's retention is inside the average
        frac = FW.fundamental_fraction(s0, gx, gy, gz, sx, sy, sz, half, stat, k)
    else:
        frac = BF.cos2_fraction(s0, gx, gy, gz, sx, sy, sz, half)
    if frac == 0.0:
        return 0.0, False
    if lz:
        # the inversion efficiency at the box centre (hard and cos^2 slices, CERMIT)
        frac *= LZ.inversion_factor(kid, shape_id, mparams, pol, cx, cy, cz, b, gx, pp, out)
    return frac * Q.centre_value(kid, shape_id, mparams, pol, cx, cy, cz, b, gx, d2, pp, out,
                                 crossings), False


@njit(cache=True, fastmath=False, inline="always")
def slice_leaf_value(kid, shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, pp, out, crossings):
    """(value, False): the value of :func:`_slice_leaf` for a box that is not subdivided."""
    # ``can_split`` is False here, computed rather than written as a constant: numba would
    # compile a second _slice_leaf per protocol for a Literal[bool] argument
    no_split = sx < 0.0
    return _slice_leaf(kid, shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, no_split, pp, out,
                       crossings)


@scalar_kernel
def inside_leaf_value(kid, shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, pp, out, crossings):
    """:func:`slice_leaf_value` of a box that lies wholly inside a hard slice, which the
    caller has proven (:func:`mrfm.solver.cubature.block_inside_slice`): its fraction is
    exactly 1, so the value is the per-spin value at its centre times the Landau-Zener
    factor, without the span tests and the fraction. The same number (tested)."""
    order = 1
    if kid == K.CERMIT:
        order = 2
    b, gx, gy, gz, d2 = K.field_magnitude(shape_id, mparams, pol, cx, cy, cz, order, pp, out)
    v = Q.centre_value(kid, shape_id, mparams, pol, cx, cy, cz, b, gx, d2, pp, out, crossings)
    if pp[K.P_LZ] != 0.0:
        v = LZ.inversion_factor(kid, shape_id, mparams, pol, cx, cy, cz, b, gx, pp, out) * v
    return v


@scalar_kernel
def _oscar_leaf(shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, can_split, pp, out, crossings):
    """(value, split) for an OSCAR box: midpoint value, split where the sweep boundary cuts."""
    b, gx, gy, gz, d2 = K.field_magnitude(shape_id, mparams, pol, cx, cy, cz, 2, pp, out)
    a = pp[K.P_XPK]
    s0 = b - pp[K.P_BRES]
    span = abs(gx) * sx + abs(gy) * sy + abs(gz) * sz
    reach = abs(gx) * a + 0.5 * abs(d2) * a * a  # |B| excursion along the trajectory (Taylor)
    if abs(s0) > 2.0 * reach + span:
        return 0.0, False
    j, swept, db0, db1 = OT.oscar_trajectory_integral(shape_id, mparams, pol, cx, cy, cz, pp, out,
                                                     crossings)
    if can_split and (abs(db0) < 0.75 * span or abs(db1) < 0.75 * span):
        return 0.0, True
    if not swept:
        return 0.0, False
    value = K.moment_weight(pp, b, pp[K.P_PREF] * j)
    if pp[K.P_LZ] != 0.0:
        value *= LZ.inversion_factor(K.OSCAR, shape_id, mparams, pol, cx, cy, cz, b, gx, pp, out)
    return value, False


def _leaf(kid, shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, can_split, pp, out, crossings):
    """(value, split) of one (sub-)voxel: :func:`_oscar_leaf` for OSCAR, else
    :func:`_slice_leaf`; resolved at compile time like
    :func:`mrfm.solver.quantity.point_quantity`."""
    if kid == K.OSCAR:
        return _oscar_leaf(shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, can_split, pp, out,
                           crossings)
    return _slice_leaf(kid, shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, can_split, pp, out,
                       crossings)


@overload(_leaf, prefer_literal=True, inline="always")
def _leaf_numba(kid, shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, can_split, pp, out,
                crossings):
    oscar_only = isinstance(kid, types.IntegerLiteral) and kid.literal_value == K.OSCAR
    slice_only = isinstance(kid, types.IntegerLiteral) and kid.literal_value != K.OSCAR
    if oscar_only:
        def oscar_leaf(kid, shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, can_split, pp, out,
                       crossings):
            return _oscar_leaf(shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, can_split, pp,
                               out, crossings)

        return oscar_leaf
    if slice_only:
        def slice_leaf(kid, shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, can_split, pp, out,
                       crossings):
            return _slice_leaf(kid, shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, can_split,
                               pp, out, crossings)

        return slice_leaf
    return _leaf


@scalar_kernel
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
    return _voxel(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az, pp, out, crossings,
                  stack)


@njit(cache=True, fastmath=False, inline="always")
def inline_voxel_value(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az, pp, out, crossings,
                       stack):
    """:func:`voxel_value` compiled into its caller (the voxel loops of the direct and FFT
    paths, one call site each): numba passes each array argument of a call that is not
    inlined as its whole descriptor (7 words), and the call cost 10-20 ns of a voxel's
    60-130 ns (CERMIT's test geometry). Same source, same numbers."""
    return _voxel(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az, pp, out, crossings,
                  stack)


@njit(cache=True, fastmath=False, inline="always")
def _centre_voxel(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az, pp, out, crossings,
                  stack):
    """The force gradient's voxel value: every spin counts, force_gradient.quantity
    (q = pref * K2) at the voxel centre, without the protocol dispatch of point_quantity (2-3x
    faster per voxel; tested equal to point_value)."""
    b, gx, gy, gz, k2 = CV.field_and_curvature(shape_id, mparams, pol, cx, cy, cz, pp, out)
    return K.moment_weight(pp, b, pp[K.P_PREF] * k2)


@njit(cache=True, fastmath=False, inline="always")
def _push_octants(stack, n, px, py, pz, sx, sy, sz, depth):
    """Push the centres of the eight octants of the box of edges s centred at p onto
    ``stack`` from entry n on, each with ``depth``; returns the new entry count n + 8."""
    qx = 0.25 * sx
    qy = 0.25 * sy
    qz = 0.25 * sz
    for i in range(8):
        stack[n, 0] = px + (qx if (i & 1) else -qx)
        stack[n, 1] = py + (qy if (i & 2) else -qy)
        stack[n, 2] = pz + (qz if (i & 4) else -qz)
        stack[n, 3] = depth
        n += 1
    return n


@njit(cache=True, fastmath=False, inline="always")
def _subdivided_voxel(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az, pp, out, crossings,
                      stack):
    """The voxel value of the slice protocols and OSCAR: :func:`_leaf` values of the voxel,
    subdivided where the leaf asks (depth-first on ``stack``). The voxel itself is asked
    outside the stack loop: most voxels are not subdivided, and the CERMIT benchmark's
    single tip ran 9 % faster so (paired runs, 4 December 2026; the same numbers)."""
    max_depth = int(pp[K.P_DEPTH])
    val, split = _leaf(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az,
                       0 < max_depth and 8 <= stack.shape[0], pp, out, crossings)
    if not split:
        return val
    total = 0.0
    n = _push_octants(stack, 0, cx, cy, cz, ax, ay, az, 1.0)
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
        val, split = _leaf(kid, shape_id, mparams, pol, px, py, pz, sx, sy, sz, can_split, pp,
                           out, crossings)
        if split:
            n = _push_octants(stack, n, px, py, pz, sx, sy, sz, depth + 1.0)
        else:
            total += val * scale * scale * scale
    return total




def _voxel(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az, pp, out, crossings, stack):
    """:func:`_centre_voxel` for the force gradient, else :func:`_subdivided_voxel`; resolved
    at compile time like :func:`mrfm.solver.quantity.point_quantity` (a literal ``kid``
    compiles only its own)."""
    if kid == K.FORCE_GRADIENT:
        return _centre_voxel(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az, pp, out,
                             crossings, stack)
    return _subdivided_voxel(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az, pp, out,
                             crossings, stack)


@overload(_voxel, prefer_literal=True, inline="always")
def _voxel_numba(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az, pp, out, crossings, stack):
    if not isinstance(kid, types.IntegerLiteral):
        return _voxel
    value = _centre_voxel if kid.literal_value == K.FORCE_GRADIENT else _subdivided_voxel

    def one_protocol(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az, pp, out, crossings,
                     stack):
        return value(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az, pp, out, crossings,
                     stack)

    return one_protocol


def compile_specialized(kid: int, shape_id: int, *fns):
    """Compiled versions of closures made for one protocol family and tip shape (used by
    :func:`mrfm.solver.direct.specialized` and :func:`mrfm.solver.fft.specialized`), each
    under a name of its own (``..._kid1_shape0``, see :func:`mrfm.jit.compile_closure`)."""
    return tuple(compile_closure(fn, f"kid{kid}_shape{shape_id}") for fn in fns)


@njit(cache=True, fastmath=False, inline="always")
def point_scratch():
    """Fresh scratch buffers (out, crossings) of :func:`point_value` for one thread.

    Callable from Python and from numba kernels (inlined: a ``prange`` body that calls
    it allocates exactly as if it had called ``np.zeros`` itself).
    """
    return np.zeros(K.OUT_LEN), np.zeros(MAX_CROSSINGS)


@njit(cache=True, fastmath=False, inline="always")
def scratch():
    """Fresh scratch buffers (out, crossings, stack) of :func:`voxel_value` for one thread.

    As :func:`point_scratch`, plus the (STACK_LEN, 4) sub-voxel stack.
    """
    out, crossings = point_scratch()
    return out, crossings, np.zeros((STACK_LEN, 4))


__all__ = ["inline_voxel_value", "inside_leaf_value", "leaf_splits", "point_scratch",
           "point_value", "refinement_limit", "scratch", "slice_leaf_value", "span_tests",
           "voxel_value"]
