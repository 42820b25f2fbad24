"""Block cubature of the direct path: a block of voxels summed from a few virtual voxels.

The direct path (:mod:`mrfm.solver.direct`) sums ``v(c_j)`` over the voxel centres c_j of
a block, with ``v`` the per-voxel value of :mod:`mrfm.solver.slice` (the leaf value without
subdivision: the box-averaged slice weight of the linearized offset times the kernel at
the voxel's centre; the centre value for the force gradient). Where ``v`` is a smooth
function of the centre over the whole block, that sum is a discrete integral and a
Gauss rule for the *discrete* uniform measure (the zeros of the Gram / discrete Chebyshev
polynomials: p nodes per axis, exact for polynomials of degree 2p - 1 in each coordinate,
so it reproduces the voxel sum itself, including its midpoint convention) gives it from
p^3 evaluations of ``v`` at virtual voxel centres. The block is summed with p = 2 and
p = 3 (8 + 27 evaluations); the p = 3 value is accepted when the two differ by at most
``tol`` times the p = 3 rule's sum of |v| (the difference estimates the p = 2 rule's
error, of order (block / length scale)^4, so the accepted p = 3 value is far better;
the total error is then at most ``tol`` times the sum of |contributions|, tested against
the voxel-by-voxel path). A block of at least :data:`MIN_VOXELS_P4` voxels that fails by
less than :data:`P4_HINT` times the limit next tries p = 4 (64 more evaluations; the
p = 3 / p = 4 difference, of order (block / length scale)^6, decides the same way): large
smooth blocks are then accepted whole instead of as 8 or more children of 35
evaluations each (the force gradient's single tip 1.7x faster, CAI's 1.5x, interleaved,
4 December 2026). Otherwise the caller splits the block and tries again, down to single
voxels, which keep the exact per-voxel treatment.

``v`` is smooth over a block when no slice edge comes near it: for the resonant-slice
protocols (CAI, CERMIT) and a sphere tip, :func:`block_inside_slice` proves from the
field's value and gradient at the block's centre and a bound on the second derivative of
|B| that every voxel of the block (and every virtual voxel) lies wholly inside the slice,
and for CERMIT's Landau-Zener inversion outside the thin sheet where its sweep fails.
The force gradient has no slice: only the error estimate decides. OSCAR (its sweep
boundary) and slice protocols under other tip shapes (no bound) are not served.
"""

from __future__ import annotations

import math

from numba import njit, types
from numba.extending import overload

from mrfm.jit import scalar_kernel
from mrfm.solver import box_bounds as BB
from mrfm.solver import box_fraction as BF
from mrfm.solver import curvature as CV
from mrfm.solver import kernels as K
from mrfm.solver import slice as S

#: default acceptance tolerance (fraction of the block's sum of |v|; see the module notes):
#: 1e-5 keeps the direct path within the 1e-6 of the FFT path's numbers that the API states
#: (at 1e-4 a force-gradient case differed by 3.7e-6)
CUBATURE_TOL = 1e-5
#: blocks of fewer voxels are summed voxel by voxel (35 evaluations of v would not pay)
MIN_VOXELS = 27
#: blocks of at least this many voxels whose p = 2 / p = 3 comparison fails try the p = 4
#: rule (64 more evaluations) before they are split
MIN_VOXELS_P4 = 125
#: ... when the p = 2 / p = 3 difference is within this factor of the acceptance limit
P4_HINT = 1e3


# The rules' nodes and weights are computed once per block, so they are called, not inlined:
# inlined at their 21 call sites they cost numba 10 s of the force gradient's 67 s first
# compilation (measured 4 December 2026) and saved no measurable run time.
@scalar_kernel
def discrete_gauss(n, p, i):
    """Node i (offset from the block's middle, in voxel pitches, ascending) and weight of
    the p-point Gauss rule for the sum over n unit-spaced points (p = 2, 3 or 4).

    The monic polynomials orthogonal on t_j = j - (n - 1)/2, j < n, obey
    ``P_{m+1} = t P_m - beta_m P_{m-1}`` with ``beta_m = m^2 (n^2 - m^2) / (4 (4 m^2 - 1))``
    (Gram / discrete Chebyshev polynomials; Szego, *Orthogonal Polynomials*, 2.8). The
    nodes are the zeros of P_p, the weights (Christoffel) ``n / sum_{m<p} P_m(t)^2 /
    (beta_1 ... beta_m)``: p = 2: +-sqrt(beta_1), n/2 each; p = 3: 0 and
    +-sqrt(beta_1 + beta_2), weights n beta_2 / (beta_1 + beta_2) and n beta_1 / (2 (beta_1 +
    beta_2)); p = 4: +-sqrt(x) for the two roots x of ``x^2 - (beta_1 + beta_2 + beta_3) x
    + beta_1 beta_3`` (P_4 is even). Exact for polynomials of degree 2p - 1; n = 1 gives
    the point itself; p = 4 on n <= 3 points is the p = 3 rule (exact there) and a fourth
    node of weight 0.
    """
    if n <= 1:
        return 0.0, 1.0 / p
    b1 = (n * n - 1.0) / 12.0
    if p == 2:
        t = math.sqrt(b1)
        return (-t if i == 0 else t), 0.5 * n
    b2 = (n * n - 4.0) / 15.0
    lam2 = b1 + b2
    if p == 3 or n <= 3:
        if i == 3:
            return 0.0, 0.0
        if i == 1:
            return 0.0, n * b2 / lam2
        t = math.sqrt(lam2)
        return (-t if i == 0 else t), 0.5 * n * b1 / lam2
    b3 = 9.0 * (n * n - 9.0) / 140.0
    s = lam2 + b3
    root = math.sqrt(s * s - 4.0 * b1 * b3)
    x = 0.5 * (s + root) if (i == 0 or i == 3) else 2.0 * b1 * b3 / (s + root)
    t = math.sqrt(x)
    p2 = x - b1
    p3 = t * (x - lam2)
    w = n / (1.0 + x / b1 + p2 * p2 / (b1 * b2) + p3 * p3 / (b1 * b2 * b3))
    return (-t if i <= 1 else t), w


@scalar_kernel
def block_inside_slice(kid, shape_id, mparams, pol, cx, cy, cz, hx, hy, hz, ax, ay, az, b, gx,
                       gy, gz, pp):
    """Whether every voxel centred in ``c +- h`` (edges a) lies wholly inside the resonant
    slice, and so does each virtual voxel of :func:`block_sum` (sphere tip; else False).

    Taylor's theorem about the centre c: for r in the box ``c +- e``, e = h + a/2,
    ``|s(r) - s(c) - g . (r - c)| <= C |e|^2 / 2`` with C a bound on the second derivative
    of |B| along any direction over r >= r_min = |c| - |e|
    (:func:`mrfm.solver.box_bounds.second_derivative_bound`); a virtual voxel's linear span uses
    its own gradient, within ``C |h|`` of g. So the offset of every point considered lies
    within ``|g_x| e_x + |g_y| e_y + |g_z| e_z + C (|e|^2 + |h| (a_x + a_y + a_z)) / 2`` of
    s(c). Inside means below the half-width (with a 1e-9 relative margin); for CERMIT's
    Landau-Zener inversion, also farther from resonance than the largest sweep depth
    (``(|g_x| + C |e|) x_pk``), where its flip probability is exactly 1.
    """
    if shape_id != 0:
        return False
    ex = hx + 0.5 * ax
    ey = hy + 0.5 * ay
    ez = hz + 0.5 * az
    e2 = ex * ex + ey * ey + ez * ez
    e = math.sqrt(e2)
    hn = math.sqrt(hx * hx + hy * hy + hz * hz)
    rmin = math.sqrt(cx * cx + cy * cy + cz * cz) - e
    c = BB.second_derivative_bound(mparams, pol, rmin, b, e, pp)
    if not c < math.inf:
        return False
    margin = (abs(gx) * ex + abs(gy) * ey + abs(gz) * ez
              + 0.5 * c * (e2 + hn * (ax + ay + az)))
    s0 = abs(b - pp[K.P_BRES])
    if s0 + margin >= pp[K.P_HALF] * (1.0 - 1e-9) - 1e-12 * abs(b):
        return False
    if kid == K.CERMIT and pp[K.P_LZ] != 0.0 and pp[K.P_INVERT] != 0.0:
        if pp[K.P_XPK] <= 0.0:
            return False  # the sweep depth is the half-width: the factor varies everywhere
        depth = (abs(gx) + c * e) * pp[K.P_XPK]
        if s0 - margin <= depth * (1.0 + 1e-9):
            return False
    return True


def virtual_value(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az, pp, out, crossings):
    """The per-voxel value ``v`` of a (virtual) voxel centred at c, without subdivision:
    :func:`_centre_value` for the force gradient, else :func:`_slice_value`; resolved at
    compile time (a literal ``kid`` compiles only its own, see
    :func:`mrfm.solver.quantity.point_quantity`)."""
    if kid == K.FORCE_GRADIENT:
        return _centre_value(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az, pp, out,
                             crossings)
    return _slice_value(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az, pp, out,
                        crossings)


@njit(cache=True, fastmath=False, inline="always")
def _centre_value(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az, pp, out, crossings):
    b, gx, gy, gz, k2 = CV.field_and_curvature(shape_id, mparams, pol, cx, cy, cz, pp, out)
    return K.moment_weight(pp, b, pp[K.P_PREF] * k2)


@njit(cache=True, fastmath=False, inline="always")
def _slice_value(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az, pp, out, crossings):
    # the callers evaluate virtual voxels of blocks proven inside the slice only
    # (block_inside_slice): under the hard slice their fraction is exactly 1
    if pp[K.P_PROFILE] == BF.PROFILE_HARD:
        val = S.inside_leaf_value(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az, pp,
                                  out, crossings)
    else:
        val, split = S.slice_leaf_value(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az,
                                        pp, out, crossings)
    return val


@overload(virtual_value, prefer_literal=True, inline="always")
def virtual_value_numba(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az, pp, out,
                         crossings):
    if not isinstance(kid, types.IntegerLiteral):
        return virtual_value
    value = _centre_value if kid.literal_value == K.FORCE_GRADIENT else _slice_value

    def one_protocol(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az, pp, out, crossings):
        return value(kid, shape_id, mparams, pol, cx, cy, cz, ax, ay, az, pp, out, crossings)

    return one_protocol


@scalar_kernel
def _axis_rule(n):
    """(t2, w2, t3, e3, c3) of :func:`discrete_gauss` for an axis of n voxels: the p = 2
    nodes +-t2 (weight w2 each) and the p = 3 nodes -t3, 0, +t3 (weights e3, c3, e3)."""
    t2, w2 = discrete_gauss(n, 2, 1)
    t3, e3 = discrete_gauss(n, 3, 2)
    zero, c3 = discrete_gauss(n, 3, 1)
    return t2, w2, t3, e3, c3


@scalar_kernel
def _axis_rule4(n):
    """The p = 4 nodes (t0..t3, ascending) and weights (w0..w3) of :func:`discrete_gauss`
    for an axis of n voxels, as one tuple (nodes first)."""
    t0, w0 = discrete_gauss(n, 4, 0)
    t1, w1 = discrete_gauss(n, 4, 1)
    t2, w2 = discrete_gauss(n, 4, 2)
    t3, w3 = discrete_gauss(n, 4, 3)
    return t0, t1, t2, t3, w0, w1, w2, w3


@njit(cache=True, fastmath=False, inline="always")
def _pick4(i, a0, a1, a2, a3):
    """Entry i (0..3) of four scalars."""
    if i == 0:
        return a0
    if i == 1:
        return a1
    if i == 2:
        return a2
    return a3


@scalar_kernel
def _staged_rules(kid, shape_id, mparams, pol, cx, cy, cz, la, lb, lc, ax, ay, az, pp, out,
                  crossings, tol, p4_hint):
    """(accepted, sum, q2, q3, q4, mass3, mass4): the discrete Gauss sums of ``v`` over the
    block's la x lb x lc voxels of edges (ax, ay, az) centred at c (relative to the magnet
    centre) for p = 2, 3 (8 + 27 evaluations) and, where asked, 4 (64 more), with the sums
    of |v| of the p = 3 and p = 4 rules.

    Accepted after the p = 3 rule where ``|q3 - q2| <= tol * mass3`` (the sum is q3); else,
    where ``p4_hint`` > 0 and ``|q3 - q2| <= p4_hint * tol * mass3`` (the p = 3 error is of
    higher order than the p = 2 one, so it may pass), the p = 4 rule is evaluated and the
    sum is q4 where ``|q4 - q3| <= tol * mass4``. ``tol`` < 0 never accepts and, with
    ``p4_hint`` > 0, evaluates every rule (the tests' view). One call site of ``v``: it
    is compiled inline once.
    """
    q2 = 0.0
    q3 = 0.0
    q4 = 0.0
    mass3 = 0.0
    mass4 = 0.0
    # each axis's nodes (offsets in pitches) and weights, once per block: p = 2 at +-t2 with
    # weight w2; p = 3 at -t3, 0, +t3 with weights e3, c3, e3
    ta2, wa2, ta3, ea3, ca3 = _axis_rule(la)
    tb2, wb2, tb3, eb3, cb3 = _axis_rule(lb)
    tc2, wc2, tc3, ec3, cc3 = _axis_rule(lc)
    # the p = 4 rule's, filled when its stage begins
    ra = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    rb = ra
    rc = ra
    end = 35
    m = 0
    while m < end:
        if m < 8:
            ia = m // 4
            ib = (m // 2) % 2
            ic = m % 2
            tx = ta2 if ia else -ta2
            ty = tb2 if ib else -tb2
            tz = tc2 if ic else -tc2
            w = wa2 * wb2 * wc2
        elif m < 35:
            node = m - 8
            ia = node // 9
            ib = (node // 3) % 3
            ic = node % 3
            tx = (ia - 1) * ta3
            ty = (ib - 1) * tb3
            tz = (ic - 1) * tc3
            w = (ca3 if ia == 1 else ea3) * (cb3 if ib == 1 else eb3) * (cc3 if ic == 1 else ec3)
        else:
            node = m - 35
            ia = node // 16
            ib = (node // 4) % 4
            ic = node % 4
            tx = _pick4(ia, ra[0], ra[1], ra[2], ra[3])
            ty = _pick4(ib, rb[0], rb[1], rb[2], rb[3])
            tz = _pick4(ic, rc[0], rc[1], rc[2], rc[3])
            w = (_pick4(ia, ra[4], ra[5], ra[6], ra[7]) * _pick4(ib, rb[4], rb[5], rb[6], rb[7])
                 * _pick4(ic, rc[4], rc[5], rc[6], rc[7]))
        if w != 0.0:  # p = 4 on an axis of <= 3 voxels: its fourth node has weight 0
            v = virtual_value(kid, shape_id, mparams, pol, cx + tx * ax, cy + ty * ay,
                              cz + tz * az, ax, ay, az, pp, out, crossings)
            if m < 8:
                q2 += w * v
            elif m < 35:
                q3 += w * v
                mass3 += w * abs(v)
            else:
                q4 += w * v
                mass4 += w * abs(v)
        m += 1
        if m == 35:
            d = abs(q3 - q2)
            if d <= tol * mass3:
                return True, q3, q2, q3, q4, mass3, mass4
            if p4_hint > 0.0 and (tol < 0.0 or d <= p4_hint * tol * mass3):
                end = 99
                ra = _axis_rule4(la)
                rb = _axis_rule4(lb)
                rc = _axis_rule4(lc)
    if end == 99 and abs(q4 - q3) <= tol * mass4:
        return True, q4, q2, q3, q4, mass3, mass4
    return False, 0.0, q2, q3, q4, mass3, mass4


@scalar_kernel
def block_rules(kid, shape_id, mparams, pol, cx, cy, cz, la, lb, lc, ax, ay, az, pp, out,
                crossings):
    """(q2, q3, q4, mass3, mass4): every rule of :func:`_staged_rules` over the block (p =
    2, 3 and 4 discrete Gauss sums of ``v`` and the p = 3 and p = 4 sums of |v|)."""
    ok, total, q2, q3, q4, mass3, mass4 = _staged_rules(kid, shape_id, mparams, pol, cx, cy,
                                                        cz, la, lb, lc, ax, ay, az, pp, out,
                                                        crossings, -1.0, 1.0)
    return q2, q3, q4, mass3, mass4


@scalar_kernel
def block_sum(kid, shape_id, mparams, pol, cx, cy, cz, la, lb, lc, ax, ay, az, pp, out,
              crossings, tol):
    """(accepted, sum over the block's voxels of v) from :func:`_staged_rules`: the p = 3
    sum where the p = 2 and p = 3 sums differ by at most ``tol`` times the p = 3 sum of
    |v|; else, for blocks of at least :data:`MIN_VOXELS_P4` voxels whose p = 2 / p = 3
    difference is within :data:`P4_HINT` times that, the p = 4 sum where it and the p = 3
    sum differ by at most ``tol`` times its sum of |v| (see the module notes); else 0."""
    hint = P4_HINT if la * lb * lc >= MIN_VOXELS_P4 else 0.0
    ok, total, q2, q3, q4, mass3, mass4 = _staged_rules(kid, shape_id, mparams, pol, cx, cy,
                                                        cz, la, lb, lc, ax, ay, az, pp, out,
                                                        crossings, tol, hint)
    return ok, total


__all__ = ["CUBATURE_TOL", "MIN_VOXELS", "MIN_VOXELS_P4", "P4_HINT", "block_inside_slice",
           "block_rules", "block_sum", "discrete_gauss", "virtual_value"]
