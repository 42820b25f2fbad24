"""Per-voxel and per-point signal kernels with exact treatment of thin resonance slices.

A resonant slice (``| |B| - omega_rf/|gamma| | <= half-width``) can be much
thinner than a voxel; thresholding voxel centres would make the signal jump
as the slice moves through the grid. Instead, for each voxel:

1. ``|B|`` is linearized across the voxel (value and gradient at its centre)
   and the resonant **volume fraction** is integrated analytically: the
   fraction of a box lying between two parallel planes, a piecewise cubic in
   the plane offsets (:func:`mrfm.solver.kernels.slab_fraction`); with the
   optional cos^2 slice profile, the box average of the weight
   (:func:`mrfm.solver.kernels.cos2_fraction`).
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

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

from mrfm.jit import compile_closure
from mrfm.physics import spin_dynamics as SD
from mrfm.solver import box_fraction as BF
from mrfm.solver import curvature as CV
from mrfm.solver import fundamental as FW
from mrfm.solver import kernels as K
from mrfm.solver.protocols import cai, cermit, force_gradient, oscar

STACK_LEN = 128
MAX_CROSSINGS = 16


_QUANTITIES = {K.CAI: cai.quantity, K.CERMIT: cermit.quantity, K.OSCAR: oscar.quantity,
               K.FORCE_GRADIENT: force_gradient.quantity}


def _quantity(kid, shape_id, mparams, pol, rx, ry, rz, pp, out, crossings):
    """The per-point quantity of protocol family ``kid`` (see the protocol modules).

    Resolved when the numba caller is compiled (overload below): a compile-time literal
    ``kid`` compiles only that protocol into the caller; otherwise all four are.
    """
    return _QUANTITIES[kid](shape_id, mparams, pol, rx, ry, rz, pp, out, crossings)


@overload(_quantity, prefer_literal=True)
def _quantity_numba(kid, shape_id, mparams, pol, rx, ry, rz, pp, out, crossings):
    if isinstance(kid, types.IntegerLiteral):
        quantity = _QUANTITIES[kid.literal_value]

        def one_protocol(kid, shape_id, mparams, pol, rx, ry, rz, pp, out, crossings):
            return quantity(shape_id, mparams, pol, rx, ry, rz, pp, out, crossings)

        return one_protocol

    def any_protocol(kid, shape_id, mparams, pol, rx, ry, rz, pp, out, crossings):
        if kid == K.CAI:
            return cai.quantity(shape_id, mparams, pol, rx, ry, rz, pp, out, crossings)
        if kid == K.CERMIT:
            return cermit.quantity(shape_id, mparams, pol, rx, ry, rz, pp, out, crossings)
        if kid == K.OSCAR:
            return oscar.quantity(shape_id, mparams, pol, rx, ry, rz, pp, out, crossings)
        return force_gradient.quantity(shape_id, mparams, pol, rx, ry, rz, pp, out, crossings)

    return any_protocol


@njit(cache=True, fastmath=False)
def point_value(kid, shape_id, mparams, pol, rx, ry, rz, pp, out, crossings):
    """Signal of one spin at an exact point (exact resonance indicator, no voxel)."""
    b, gx, gy, gz, q, inside = _quantity(kid, shape_id, mparams, pol, rx, ry, rz, pp, out,
                                         crossings)
    if not inside:
        return 0.0
    w = 1.0
    if kid == K.CAI or kid == K.CERMIT:
        w = BF.profile_weight(b - pp[K.P_BRES], pp[K.P_HALF], pp[K.P_PROFILE])
        if pp[K.P_PROFILE] == BF.PROFILE_FUNDAMENTAL and pp[K.P_STAT] != 0.0:
            w *= w  # the variance of each spin's fundamental
    if pp[K.P_LZ] != 0.0:
        w *= inversion_factor(kid, shape_id, mparams, pol, rx, ry, rz, b, gx, pp, out)
    return w * K.moment_weight(pp, b, q)


@njit(cache=True, fastmath=False)
def _sweep_depth(kid, gx, pp):
    """Sweep amplitude in field units, T: fm_depth (CAI; CERMIT without an amplitude) or
    |d|B|/dx| x_pk (OSCAR, iOSCAR, CERMIT: the cantilever's motion sweeps the spin)."""
    if kid == K.CAI or pp[K.P_XPK] <= 0.0:
        return pp[K.P_HALF]
    return abs(gx) * pp[K.P_XPK]


@njit(cache=True, fastmath=False)
def inversion_factor(kid, shape_id, mparams, pol, rx, ry, rz, b, gx, pp, out):
    """Landau-Zener factor of one spin's signal (1 under ideal inversion; see the notes).

    With A = |gamma| B1_eff^2 / (2 pi f0 depth sqrt(1 - s^2)) at the spin
    (:func:`mrfm.physics.spin_dynamics.adiabaticity_at`, s = (|B| - B_res) / depth) and
    P_flip = 1 - exp(-pi A / 2): Curie CAI, OSCAR and iOSCAR get the lock retention
    2 P_flip - 1 (the expected moment still locked in phase after a passage); CERMIT's
    invert mode gets P_flip (Delta mu = -2 P_flip mu; squared for the statistical
    variance); statistical CAI/OSCAR get 1 (a failed passage reverses a spin's sign: the
    variance stays, its correlation time shortens, see
    :func:`mrfm.physics.spin_dynamics.locked_lifetime`); CERMIT saturate and force-gradient 1.
    ``out`` is overwritten (scratch).
    """
    stat = pp[K.P_STAT] != 0.0
    if kid == K.FORCE_GRADIENT or (kid == K.CERMIT and pp[K.P_INVERT] == 0.0):
        return 1.0
    if stat and kid != K.CERMIT:
        return 1.0
    depth = _sweep_depth(kid, gx, pp)
    if depth <= 0.0:
        return 1.0
    b1e = K.b1_effective(shape_id, mparams, pol, rx, ry, rz, pp, out)
    a = SD.adiabaticity_at(pp[K.P_GAMMA], b1e, depth, pp[K.P_FMOD],
                           (b - pp[K.P_BRES]) / depth)
    p = SD.flip_probability_at(a)
    if kid == K.CERMIT:
        return p * p if stat else p
    return 2.0 * p - 1.0


@njit(cache=True, fastmath=False)
def _curvature_excess(shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, b, pp, out, limit):
    """Sum over axes of |second difference of |B|| across the box (T).

    Stops as soon as the partial sum exceeds ``limit`` (the caller only asks whether the
    sum does), returning that partial sum.
    """
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
        if e > limit:
            return e
    return e


@njit(cache=True, fastmath=False)
def second_derivative_bound(mparams, pol, rmin, b, reach, pp):
    """Bound on |d2|B|/de2| along any unit direction e at points of a sphere tip's field at
    distance >= ``rmin`` from its centre and within ``reach`` of a point where |B| = b, T/m^2.

    The dipole outside the sphere: ``|d2B/de2| <= 24 k |J| / r^5`` (k = R^3/3; the
    maximum, on the axis of J, of the second derivative of the dipole field; a random
    search over J, r and e directions found no larger one) and ``|dB/de| <= 6 k |J| / r^4``.
    Then ``|d2|B|/de2| <= |dB/de|^2 / |B| + |d2B/de2|`` (exact |B|, with ``|B|`` at least
    ``max(B0 - 2 k |J| / r^3, b - 6 k |J| / r^4 * reach)``) or ``<= |d2B_z/de2|`` (high
    field). +inf where ``rmin`` is not outside the sphere or |B| may vanish.
    """
    radius = mparams[0]
    if rmin <= radius:
        return math.inf
    kj = radius * radius * radius / 3.0 * math.sqrt(pol[0] * pol[0] + pol[1] * pol[1]
                                                    + pol[2] * pol[2])
    ir = 1.0 / rmin
    ir4 = ir * ir * ir * ir
    g2 = 24.0 * kj * ir4 * ir
    if pp[K.P_HIGH] != 0.0:
        return g2
    g1 = 6.0 * kj * ir4
    bmin = max(abs(pp[K.P_B0]) - 2.0 * kj * ir4 * rmin, b - g1 * reach)
    if bmin <= 0.0:
        return math.inf
    return g1 * g1 / bmin + g2


@njit(cache=True, fastmath=False)
def _curvature_bound(shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, b, pp):
    """Upper bound of :func:`_curvature_excess` (T); +inf where no bound is known.

    Sphere tip: a second difference over +-s/2 along an axis is at most (s/2)^2 times the
    bound C of :func:`second_derivative_bound` over the points within max(s)/2 of the
    centre. A 5 % margin covers rounding.
    """
    if shape_id != 0:
        return math.inf
    reach = 0.5 * max(sx, max(sy, sz))
    rmin = math.sqrt(cx * cx + cy * cy + cz * cz) - reach
    c = second_derivative_bound(mparams, pol, rmin, b, reach, pp)
    return 1.05 * c * 0.25 * (sx * sx + sy * sy + sz * sz)


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
    profile = pp[K.P_PROFILE]
    hard = profile == BF.PROFILE_HARD
    # a box wholly inside a hard slice is exact (fraction 1). Under the cos^2 weight the
    # curvature matters everywhere; its slope is at most pi / (2 half), and a curvature
    # excess e moves the box-mean offset by about e / 6, so the weight by at most
    # ~pi e / (12 half): splitting when e > tol * 2 half bounds that by ~0.5 tol
    fully_inside = hard and (s0 - span > -half) and (s0 + span < half)
    if (not fully_inside) and can_split:
        scale = span if hard else max(span, 2.0 * half)
        limit = pp[K.P_TOL] * scale
        # the measured excess can only exceed ``limit`` if the analytic bound does
        if _curvature_bound(shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, b, pp) > limit:
            e = _curvature_excess(shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, b, pp, out,
                                  limit)
            if e > limit:
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
        frac *= inversion_factor(kid, shape_id, mparams, pol, cx, cy, cz, b, gx, pp, out)
    if kid == K.CAI:
        # the CAI kernel is pref * d|B|/dx at the box centre: already at hand
        return frac * K.moment_weight(pp, b, pp[K.P_PREF] * gx), False
    if kid == K.CERMIT:
        # cermit.quantity, q = pref * K2 at the box centre, without the dispatch of _quantity
        b, gx, gy, gz, k2 = CV.field_and_curvature(shape_id, mparams, pol, cx, cy, cz, pp, out)
        return frac * K.moment_weight(pp, b, pp[K.P_PREF] * k2), False
    b, gx, gy, gz, q, inside = _quantity(kid, shape_id, mparams, pol, cx, cy, cz, pp, out,
                                         crossings)
    return frac * K.moment_weight(pp, b, q), False


@njit(cache=True, fastmath=False, inline="always")
def slice_leaf_value(kid, shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, pp, out, crossings):
    """(value, False): the value of :func:`_slice_leaf` for a box that is not subdivided."""
    return _slice_leaf(kid, shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, False, pp, out,
                       crossings)


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
    value = K.moment_weight(pp, b, pp[K.P_PREF] * j)
    if pp[K.P_LZ] != 0.0:
        value *= inversion_factor(K.OSCAR, shape_id, mparams, pol, cx, cy, cz, b, gx, pp, out)
    return value, False


def _leaf(kid, shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, can_split, pp, out, crossings):
    """(value, split) of one (sub-)voxel: :func:`_oscar_leaf` for OSCAR, else
    :func:`_slice_leaf`; resolved at compile time like :func:`_quantity`."""
    if kid == K.OSCAR:
        return _oscar_leaf(shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, can_split, pp, out,
                           crossings)
    return _slice_leaf(kid, shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, can_split, pp, out,
                       crossings)


@overload(_leaf, prefer_literal=True)
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


@njit(cache=True, fastmath=False)
def box_is_silent(kid, shape_id, mparams, pol, cx, cy, cz, hx, hy, hz, ax, ay, az, pp, out):
    """Whether every voxel centred in the box ``c +- h`` has value exactly 0 (exact pre-test).

    For a sphere tip (a dipole outside the sphere) the spectral norm of the field
    gradient is bounded, at distance r from the centre, by ``2 R^3 |J| / r^4`` (for
    ``G = (3k|J|/r^4)[j n^T + n j^T + (j.n)(I - 5 n n^T)]`` with k = R^3/3 the
    eigenvalues are ``(j.n)`` and ``(-(j.n) +- sqrt(5 (j.n)^2 + 4)) / 2``, at most 2
    in modulus). Hence ``| |B(p)| - |B(c)| | <= Gmax |p - c|`` and ``|grad|B|| <= Gmax``
    over any segment staying at r >= r_min, in the exact and in the high-field form.
    CAI/CERMIT: a voxel of edges a with ``| |B| - B_res | > half + |grad|B|| |a|`` is
    rejected by :func:`voxel_value`'s first test, so the box is silent when
    ``|s(c)| > half + Gmax (|h| + |a|)``. OSCAR: a voxel is silent when no point of
    it, displaced by up to ``x_pk`` along x, reaches resonance. Other shapes and the
    force-gradient protocol (every spin counts) are never declared silent.

    Parameters
    ----------
    cx, cy, cz : float
        Box centre relative to the magnet centre, m.
    hx, hy, hz : float
        Half extents of the box of voxel centres, m.
    ax, ay, az : float
        Voxel edges, m.
    """
    if shape_id != 0 or kid == K.FORCE_GRADIENT:
        return False
    radius = mparams[0]
    jn = math.sqrt(pol[0] * pol[0] + pol[1] * pol[1] + pol[2] * pol[2])
    if kid == K.OSCAR:
        ex = hx + 0.5 * ax + pp[K.P_XPK]
        ey = hy + 0.5 * ay
        ez = hz + 0.5 * az
        reach = math.sqrt(ex * ex + ey * ey + ez * ez)
        extra = 0.0
        half = 0.0
    else:
        reach = math.sqrt(hx * hx + hy * hy + hz * hz)
        extra = math.sqrt(ax * ax + ay * ay + az * az)
        half = pp[K.P_HALF]
    # every point considered lies within ``reach`` of the centre (voxel corners within
    # reach + |a|/2 for the slice test, whose gradient is taken at voxel centres)
    rc = math.sqrt(cx * cx + cy * cy + cz * cz)
    rmin = rc - reach - 0.5 * extra
    if rmin <= radius:
        return False
    gmax = 2.0 * radius * radius * radius * jn / (rmin * rmin * rmin * rmin)
    b, gx, gy, gz, d2 = K.field_magnitude(shape_id, mparams, pol, cx, cy, cz, 0, pp, out)
    s0 = abs(b - pp[K.P_BRES])
    bound = half + gmax * (reach + extra)
    # margin for rounding in |B| (relative 1e-12 of the field magnitude)
    return s0 > bound * (1.0 + 1e-9) + 1e-12 * abs(b)


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
        # every spin counts: force_gradient.quantity, q = pref * K2, at the voxel centre,
        # called here without the protocol dispatch of _quantity (2-3x faster per voxel;
        # tested equal to point_value)
        b, gx, gy, gz, k2 = CV.field_and_curvature(shape_id, mparams, pol, cx, cy, cz, pp, out)
        return K.moment_weight(pp, b, pp[K.P_PREF] * k2)
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
        val, split = _leaf(kid, shape_id, mparams, pol, px, py, pz, sx, sy, sz, can_split, pp,
                           out, crossings)
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


__all__ = ["box_is_silent", "point_scratch", "point_value", "scratch", "second_derivative_bound",
           "slice_leaf_value", "voxel_value"]
