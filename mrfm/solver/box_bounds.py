"""Bounds of |B|'s variation over a box, for the per-voxel kernels of :mod:`mrfm.solver.slice`.

- The curvature test of sub-voxel refinement: the measured second differences of |B|
  across a box (:func:`curvature_excess`) and, for a sphere tip, an analytic upper bound
  of them (:func:`curvature_bound`, from :func:`second_derivative_bound`) that spares the
  measurement where it cannot exceed the tolerance.
- Whether a box is wholly inside or wholly outside the resonant slice
  (:func:`clear_of_slice_edges`): the refinement is only asked for boxes an edge may cut.
- The exact silent-box pretest (:func:`box_is_silent`): a box of voxel centres whose every
  voxel has value exactly 0 is skipped whole by :mod:`mrfm.solver.direct` and
  :mod:`mrfm.solver.fft`.
- The exact silent-voxel screen of a leaf box (:func:`leaf_screen`,
  :func:`voxel_is_silent`): from one field evaluation at the box's middle, the voxels
  that the per-voxel kernel would reject at its first test are skipped without
  evaluating them.
"""

from __future__ import annotations

import math

from numba import njit

from mrfm.jit import scalar_kernel
from mrfm.physics._sphere import dipole_strength, sphere_bz_axis_seconds
from mrfm.solver import kernels as K


@scalar_kernel
def curvature_excess(shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, b, pp, out, limit):
    """Sum over axes of |second difference of |B|| across the box (T).

    Stops as soon as the partial sum exceeds ``limit`` (the caller only asks whether the
    sum does), returning that partial sum.
    """
    e = 0.0
    for axis in range(3):
        dx = 0.5 * sx if axis == 0 else 0.0
        dy = 0.5 * sy if axis == 1 else 0.0
        dz = 0.5 * sz if axis == 2 else 0.0
        bp, g1, g2, g3, d2 = K.box_field_magnitude(shape_id, mparams, pol, cx + dx, cy + dy,
                                                   cz + dz, 0, pp, out)
        bm, g1, g2, g3, d2 = K.box_field_magnitude(shape_id, mparams, pol, cx - dx, cy - dy,
                                                   cz - dz, 0, pp, out)
        e += abs(bp + bm - 2.0 * b)
        if e > limit:
            return e
    return e


@scalar_kernel
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
    kj = dipole_strength(radius, pol[0], pol[1], pol[2])
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


@scalar_kernel
def curvature_bound(shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, b, pp):
    """Upper bound of :func:`curvature_excess` (T); +inf where no bound is known.

    Sphere tip: a second difference over +-s/2 along an axis is at most (s/2)^2 times the
    bound C of :func:`second_derivative_bound` over the points within max(s)/2 of the
    centre. A 5 % margin covers rounding.

    At high field (|B| = B0 + B_z) a tighter bound replaces it where smaller: along an
    axis, the second difference of B_z over +-h is h^2 g_2(xi) at a point xi of the
    segment (mean value form; g_n the n-th derivative along the axis), and over the segment
    ``|g_2| <= |g_2(c)| + h max|g_3|`` with g_2(c) in closed form
    (:func:`mrfm.physics._sphere.sphere_bz_axis_seconds`) and ``|g_3| <= 5! k |J| / r^6``
    (the bound in :func:`mrfm.physics._sphere.sphere_bz_xxxx`'s docstring, n = 3). Margins:
    1e-9 of the loose bound for the closed form's rounding, 1e-11 |B| for the rounding of
    the measured differences (:func:`_axis_excess_bound`). On the benchmark's CERMIT
    geometry it is about a fifth of the loose bound, below the refinement limit, so the
    measurement is spared.
    """
    if shape_id != 0:
        return math.inf
    reach = 0.5 * max(sx, max(sy, sz))
    rmin = math.sqrt(cx * cx + cy * cy + cz * cz) - reach
    c = second_derivative_bound(mparams, pol, rmin, b, reach, pp)
    loose = 1.05 * c * 0.25 * (sx * sx + sy * sy + sz * sz)
    if pp[K.P_HIGH] == 0.0 or not loose < math.inf:
        return loose
    # high field, |B| = B0 + B_z (the tight bound of the docstring)
    tight = _axis_excess_bound(mparams, pol, cx, cy, cz, 0.5 * sx, 0.5 * sy, 0.5 * sz, reach,
                               rmin, abs(b))
    return min(loose, tight)


@njit(cache=True, fastmath=False, inline="always")
def _axis_excess_bound(mparams, pol, cx, cy, cz, hx, hy, hz, reach, rmin, bmax):
    """High field: a bound (T) of the sum over axes of |second difference of B_z over +-h|
    at every point within ``reach`` of c, all at distance >= ``rmin`` (> R) from the
    sphere's centre: ``sum_i h_i^2 (|d2B_z/dx_i2 (c)| + reach 5! k |J| / rmin^6)`` (the mean
    value form of a second difference, and Banach's bound on the third derivatives), with
    margins for the closed form's rounding (1e-9 of 24 k |J| |h|^2 / rmin^5) and for that
    of measured differences of fields up to ``bmax`` (1e-11 of it)."""
    hxx, hyy, hzz = sphere_bz_axis_seconds(mparams, pol, cx, cy, cz)
    kj = dipole_strength(mparams[0], pol[0], pol[1], pol[2])
    ir = 1.0 / rmin
    ir3 = ir * ir * ir
    shift = reach * 120.0 * kj * ir3 * ir3
    k = (hx * hx * (abs(hxx) + shift) + hy * hy * (abs(hyy) + shift)
         + hz * hz * (abs(hzz) + shift))
    return (k * (1.0 + 1e-9) + 1e-9 * 24.0 * kj * ir3 * ir * ir * (hx * hx + hy * hy + hz * hz)
            + 1e-11 * bmax)


@scalar_kernel
def box_refinement_bounds(mparams, pol, mx, my, mz, rmax, ax, ay, az, pp):
    """Box-wide bounds for the leaf's refinement decision over voxels of edges a whose
    centres lie within ``rmax`` of m (relative to a sphere tip's centre): ``(C, K)``.

    C: :func:`second_derivative_bound` over the points within |a|/2 of any such centre, at
    |B| unknown, so at least the C that :func:`clear_of_slice_edges` takes at each voxel
    (the bound grows as its distance falls, and with b = -inf only the field's lower bound
    there limits |B|); what a proof with it shows, the voxel's own proof shows.

    K: at high field, an upper bound of :func:`curvature_excess` at every such voxel (the
    tight bound of :func:`curvature_bound`, with each axis curvature of B_z taken at m and
    moved by at most ``(rmax + max(a)/2) 5! k |J| / r^6``, Banach's bound on the third
    derivatives, over the points involved); where K is within a voxel's refinement limit,
    the leaf does not split it. +inf where unknown (exact |B|, or a box reaching the sphere).
    """
    radius = mparams[0]
    rm = math.sqrt(mx * mx + my * my + mz * mz)
    reach = math.sqrt(0.25 * (ax * ax + ay * ay + az * az))
    # (a relative 1e-12 below the nearest point, for the rounding of both distances)
    c = second_derivative_bound(mparams, pol, (rm - rmax - reach) * (1.0 - 1e-12), -math.inf,
                                reach, pp)
    h = 0.5 * max(ax, max(ay, az))
    rmin = (rm - rmax - h) * (1.0 - 1e-12)
    if pp[K.P_HIGH] == 0.0 or rmin <= radius:
        return c, math.inf
    # every field the excess measures is at most |B0| + 2 k |J| / rmin^3
    kj = dipole_strength(radius, pol[0], pol[1], pol[2])
    bmax = abs(pp[K.P_B0]) + 2.0 * kj / (rmin * rmin * rmin)
    return c, _axis_excess_bound(mparams, pol, mx, my, mz, 0.5 * ax, 0.5 * ay, 0.5 * az,
                                 rmax + h, rmin, bmax)


@scalar_kernel
def clear_of_slice_edges(shape_id, mparams, pol, cx, cy, cz, sx, sy, sz, b, s0, gx, gy, gz,
                         half, pp):
    """Whether a box of edges s centred at c lies wholly inside or wholly outside the
    resonant slice ``|s| <= half`` (s = |B| - B_res, ``s0`` at c), so no slice edge cuts it
    (sphere tip; else False).

    Taylor's theorem about c: over the box, ``|s(r) - s0 - g . (r - c)| <= C |r - c|^2 / 2
    <= C |s|^2 / 8`` with g = grad|B|(c) and C the bound of :func:`second_derivative_bound`
    over the points within |s|/2 of c. So s stays within ``s0 +- (g_x s_x + g_y s_y +
    g_z s_z) / 2 + C |s|^2 / 8`` (absolute values of g; a 1e-9 relative margin and 1e-12
    of |B| cover rounding). Then the box's linear fraction
    (:func:`mrfm.solver.box_fraction.slab_fraction`) is exactly 1 or 0, and it is exact.
    """
    if shape_id != 0:
        return False
    r2 = 0.25 * (sx * sx + sy * sy + sz * sz)
    reach = math.sqrt(r2)
    rmin = math.sqrt(cx * cx + cy * cy + cz * cz) - reach
    c = second_derivative_bound(mparams, pol, rmin, b, reach, pp)
    if not c < math.inf:
        return False
    return edges_clear(s0, abs(gx) * sx + abs(gy) * sy + abs(gz) * sz, c, r2, b, half)


@njit(cache=True, fastmath=False, inline="always")
def edges_clear(s0, span, c, r2, b, half):
    """The test of :func:`clear_of_slice_edges` given the box's ``span`` (sum of |g_i| s_i),
    the bound ``c`` and ``r2`` = |s|^2 / 4: s stays within ``s0 +- (span / 2 + c r2 / 2)``
    (with the rounding margins) wholly inside or wholly outside ``|s| <= half``. Without
    short-circuits, for the vectorized leaves (:func:`mrfm.solver.dense_passes.field_pass`,
    with the box-wide bound)."""
    dev = 0.5 * span + 0.5 * c * r2
    dev += 1e-9 * dev + 1e-12 * abs(b)
    lo = s0 - dev
    hi = s0 + dev
    return (hi < -half) | (lo > half) | ((lo > -half) & (hi < half))


@scalar_kernel
def box_is_silent(kid, shape_id, mparams, pol, cx, cy, cz, hx, hy, hz, ax, ay, az, pp, out):
    """Whether every voxel centred in the box ``c +- h`` has value exactly 0 (exact pre-test).

    For a sphere tip (a dipole outside the sphere) the spectral norm of the field
    gradient is bounded, at distance r from the centre, by ``2 R^3 |J| / r^4`` (for
    ``G = (3k|J|/r^4)[j n^T + n j^T + (j.n)(I - 5 n n^T)]`` with k = R^3/3 the
    eigenvalues are ``(j.n)`` and ``(-(j.n) +- sqrt(5 (j.n)^2 + 4)) / 2``, at most 2
    in modulus). Hence ``| |B(p)| - |B(c)| | <= Gmax |p - c|`` and ``|grad|B|| <= Gmax``
    over any segment staying at r >= r_min, in the exact and in the high-field form.
    CAI/CERMIT: a voxel of edges a with ``| |B| - B_res | > half + |grad|B|| |a|`` is
    rejected by :func:`mrfm.solver.slice.voxel_value`'s first test, so the box is silent when
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
    b, gx, gy, gz, d2 = K.box_field_magnitude(shape_id, mparams, pol, cx, cy, cz, 0, pp, out)
    s0 = abs(b - pp[K.P_BRES])
    bound = half + gmax * (reach + extra)
    # margin for rounding in |B| (relative 1e-12 of the field magnitude)
    return s0 > bound * (1.0 + 1e-9) + 1e-12 * abs(b)


@scalar_kernel
def leaf_screen(kid, shape_id, mparams, pol, cx, cy, cz, hx, hy, hz, pp, out):
    """(ok, s, gx, gy, gz, c) for :func:`voxel_is_silent` over a box of voxel centres
    ``c +- h`` (relative to the magnet centre): ``s = |B| - B_res`` and grad|B| at the
    middle, and the bound C of :func:`second_derivative_bound` over the points within |h|
    of it. Not ok (nothing is screened) for the force gradient and OSCAR (no slice test)
    and for tip shapes without a bound."""
    if shape_id != 0 or kid == K.FORCE_GRADIENT or kid == K.OSCAR:
        return False, 0.0, 0.0, 0.0, 0.0, 0.0
    b, gx, gy, gz, d2 = K.box_field_magnitude(shape_id, mparams, pol, cx, cy, cz, 1, pp, out)
    reach = math.sqrt(hx * hx + hy * hy + hz * hz)
    rmin = math.sqrt(cx * cx + cy * cy + cz * cz) - reach
    c = second_derivative_bound(mparams, pol, rmin, b, reach, pp)
    if not c < math.inf:
        return False, 0.0, 0.0, 0.0, 0.0, 0.0
    return True, b - pp[K.P_BRES], gx, gy, gz, c


@njit(cache=True, fastmath=False, inline="always")
def voxel_is_silent(s, gx, gy, gz, c, rx, ry, rz, ax, ay, az, pp):
    """Whether the voxel of edges a centred at offset r from the middle of a box screened
    by :func:`leaf_screen` (``s``, ``g``, ``c``) is rejected by the first test of the
    slice protocols' leaf (:func:`mrfm.solver.slice.voxel_value`: ``|s_v| - span_v >
    half`` with ``span_v = sum_i |g_v,i| a_i`` at its centre), so its value is exactly 0.

    Taylor's theorem about the middle: ``|s_v - s - g . r| <= C |r|^2 / 2`` and each
    gradient component moves by at most ``C |r|`` (the Hessian's norm is at most C), so
    ``span_v <= sum_i (|g_i| + C |r|) a_i``. A 1e-9 relative margin and 1e-12 of |B|
    cover rounding, as in :func:`clear_of_slice_edges`.
    """
    r2 = rx * rx + ry * ry + rz * rz
    lin = s + gx * rx + gy * ry + gz * rz
    reach = screen_reach(s, gx, gy, gz, c, math.sqrt(r2), r2, ax, ay, az, pp)
    half = pp[K.P_HALF]
    return lin - reach > half or lin + reach < -half


@njit(cache=True, fastmath=False, inline="always")
def screen_reach(s, gx, gy, gz, c, r, r2, ax, ay, az, pp):
    """The margin of :func:`voxel_is_silent` for a voxel at distance ``r`` (``r2`` = r^2)
    from the screened box's middle: ``C r^2 / 2 + sum_i (|g_i| + C r) a_i`` with the
    rounding margins; it grows with r, so at the box's largest distance it serves every
    voxel of the box (:func:`mrfm.solver.dense.compact`)."""
    cr = c * r
    reach = (0.5 * c * r2 + (abs(gx) + cr) * ax + (abs(gy) + cr) * ay + (abs(gz) + cr) * az)
    return reach + (1e-9 * reach + 1e-12 * abs(s + pp[K.P_BRES]))
