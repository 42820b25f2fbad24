"""Box averages of the resonant slice's weighting, for exact sub-voxel slices.

A voxel cut by the resonant slice is a box over which the resonance offset
s = |B| - omega_rf/|gamma| is (to first order) linear, s(r) = s0 + g . (r - c). The
fraction of the box inside the hard slice |s| <= Delta is the distribution function of a
sum of three uniform variables (a piecewise cubic box spline, :func:`slab_fraction`); the
box average of the cos^2 weighting is in closed form (:func:`cos2_fraction`: the
characteristic function of the box's spread, less the weight continued past each edge);
the box average of CAI's lock-in weight (4/pi) sqrt(1 - (s/Delta)^2), of its square and of
its product with the Landau-Zener lock retention follows from the distribution function by
integration by parts (:func:`mrfm.solver.fundamental.fundamental_fraction`). Used by
:mod:`mrfm.solver.slice`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from mrfm.jit import scalar_kernel
from mrfm.physics.spin_dynamics import cai_fundamental_weight_at

#: resonant-slice weightings w(dB), dB = |B| - omega_rf/|gamma|, half-width Delta
PROFILE_HARD = 0.0  # w = 1 for |dB| <= Delta, else 0
PROFILE_COS2 = 1.0  # w = cos^2(pi dB / (2 Delta)) for |dB| < Delta, else 0
#: w = (4/pi) sqrt(1 - (dB/Delta)^2) for |dB| < Delta (CAI lock-in fundamental), else 0
PROFILE_FUNDAMENTAL = 2.0

# Gauss-Legendre nodes and weights on [-1, 1], 8 points
GL8_X, GL8_W = np.polynomial.legendre.leggauss(8)


@scalar_kernel
def _cdf_uniform_sum(t, w1, w2, w3):
    """P(U1 + U2 + U3 <= t) for independent U_i uniform on [-w_i/2, w_i/2], w1 >= w2 >= w3 >= 0.

    The distribution of a linear function over a box: piecewise polynomial
    (box spline). Widths below 1e-4 of the largest are treated as zero (error
    O((w_small/w1)^2) < 1e-8), which also keeps the inclusion-exclusion sums
    well conditioned.
    """
    if w1 <= 0.0:
        if t > 0.0:
            return 1.0
        if t < 0.0:
            return 0.0
        return 0.5
    small = 1e-4 * w1
    if w2 <= small:
        v = (t + 0.5 * w1) / w1
        return min(1.0, max(0.0, v))
    if w3 <= small:
        s = t + 0.5 * (w1 + w2)
        if s <= 0.0:
            return 0.0
        if s >= w1 + w2:
            return 1.0
        acc = s * s
        d = s - w1
        if d > 0.0:
            acc -= d * d
        d = s - w2
        if d > 0.0:
            acc -= d * d
        v = acc / (2.0 * w1 * w2)
        return min(1.0, max(0.0, v))
    s = t + 0.5 * (w1 + w2 + w3)
    tot = w1 + w2 + w3
    if s <= 0.0:
        return 0.0
    if s >= tot:
        return 1.0
    # use the symmetry F(t) = 1 - F(-t) to evaluate on the lower half (less cancellation)
    flip = s > 0.5 * tot
    if flip:
        s = tot - s
    acc = s * s * s
    for d in (s - w1, s - w2, s - w3):
        if d > 0.0:
            acc -= d * d * d
    for d in (s - w1 - w2, s - w1 - w3, s - w2 - w3):
        if d > 0.0:
            acc += d * d * d
    v = acc / (6.0 * w1 * w2 * w3)
    v = min(1.0, max(0.0, v))
    if flip:
        return 1.0 - v
    return v


@njit(cache=True, fastmath=False, inline="always")
def _sort3_descending(w1, w2, w3):
    """(w1, w2, w3) reordered so that w1 >= w2 >= w3 (the order :func:`_cdf_uniform_sum` wants)."""
    if w1 < w2:
        w1, w2 = w2, w1
    if w2 < w3:
        w2, w3 = w3, w2
    if w1 < w2:
        w1, w2 = w2, w1
    return w1, w2, w3


@scalar_kernel
def slab_fraction(s0, gx, gy, gz, ax, ay, az, lo, hi):
    """Volume fraction of a box where a linear function lies in [lo, hi].

    The function is ``s(r) = s0 + g . (r - c)`` over the box of edges
    (ax, ay, az) centred at c; the fraction is exact for linear ``s`` (a
    piecewise cubic in the plane offsets).
    """
    w1 = abs(gx) * ax
    w2 = abs(gy) * ay
    w3 = abs(gz) * az
    w1, w2, w3 = _sort3_descending(w1, w2, w3)
    return _cdf_uniform_sum(hi - s0, w1, w2, w3) - _cdf_uniform_sum(lo - s0, w1, w2, w3)


@scalar_kernel
def profile_weight(s, half, profile):
    """Slice weighting w(s) of one spin at resonance offset s (T), half-width ``half`` (T).

    Hard slice: 1 for |s| <= half. cos^2 slice: cos^2(pi s / (2 half)) for |s| < half, the
    adiabatic-inversion efficiency of a frequency sweep of peak-to-peak depth
    2 gamma half / (2 pi) used by mrfmsim's IBM-cyclic model (Marohn group,
    ``mrfmsim.formula.rel_dpol_ibm_cyclic``; Degen et al., PNAS 106, 1313 (2009)).
    Fundamental (CAI): the lock-in weight (4/pi) sqrt(1 - (s/half)^2)
    (:func:`mrfm.physics.spin_dynamics.cai_fundamental_weight`).
    """
    if profile == PROFILE_FUNDAMENTAL:
        return cai_fundamental_weight_at(s / half)
    if profile == PROFILE_COS2:
        if abs(s) >= half:
            return 0.0
        c = math.cos(0.5 * math.pi * s / half)
        return c * c
    return 1.0 if abs(s) <= half else 0.0


@njit(cache=True, fastmath=False, inline="always")
def _corner_offsets(base, w1, w2, w3):
    """The 8 offsets base + {0, w1} + {0, w2} + {0, w3} of a box's corners in ascending
    order (a tuple; w1 >= w2 >= w3 >= 0): the breakpoints of the piecewise polynomial
    distribution of a linear field over the box.

    With the widths ordered only w2 + w3 against w1 is open: 0 <= w3 <= w2 <= w2 + w3,
    w1 <= w1 + w3 <= w1 + w2 <= w1 + w2 + w3 and w2 + w3 <= w1 + w3.
    """
    a23 = base + w2 + w3
    a1 = base + w1
    lo, hi = (a23, a1) if a23 <= a1 else (a1, a23)
    return (base, base + w3, base + w2, lo, hi, base + w1 + w3, base + w1 + w2,
            base + w1 + w2 + w3)


@scalar_kernel
def cos2_fraction(s0, gx, gy, gz, ax, ay, az, half):
    """Box average of the cos^2 slice weight for a linear offset s(r) = s0 + g . (r - c).

    U, the offset's spread over the box, is a sum of three centred uniform variables of
    widths w_i = |g_i| a_i; w(t) = cos^2(om t / 2) on |t| < half (om = pi / half; w and w'
    vanish at +-half) and 0 outside. A box wholly inside the profile has the closed form
    ``1/2 + 1/2 cos(om s0) prod_i sinc(om w_i / 2)`` (the characteristic function of a
    uniform variable); a box wholly outside gives 0; a box that reaches an edge subtracts
    from that closed form the mean of the continued weight beyond each edge
    (:func:`_beyond_edge`): w(t) = w_ext(t) - w_ext(t) [t > half] - w_ext(t) [t < -half]
    with w_ext = (1 + cos(om t)) / 2, which is sin^2(om u / 2) at a distance u beyond
    either edge. Tested against Gauss-Legendre quadrature of the distribution function
    (agreement to 3e-9 absolute, 1e-10 for widths within a factor 100 of each other) and
    against 2-D adaptive quadrature of the box.
    """
    w1 = abs(gx) * ax
    w2 = abs(gy) * ay
    w3 = abs(gz) * az
    om = math.pi / half
    hspan = 0.5 * (w1 + w2 + w3)
    if s0 - hspan >= half or s0 + hspan <= -half:
        return 0.0
    inside = s0 - hspan >= -half and s0 + hspan <= half
    n = 3
    if not inside:
        # as in _cdf_uniform_sum: widths below 1e-4 of the largest count as zero
        w1, w2, w3 = _sort3_descending(w1, w2, w3)
        if w1 <= 0.0:
            c = math.cos(0.5 * om * s0)
            return c * c
        if w2 <= 1e-4 * w1:
            n = 1
            w2 = 0.0
            w3 = 0.0
        elif w3 <= 1e-4 * w1:
            n = 2
            w3 = 0.0
    prod = (math.cos(om * s0) * _sinc(0.5 * om * w1) * _sinc(0.5 * om * w2)
            * _sinc(0.5 * om * w3))
    e = 0.5 + 0.5 * prod
    if not inside:
        e -= (_beyond_edge(s0 - half, w1, w2, w3, n, om)
              + _beyond_edge(-s0 - half, w1, w2, w3, n, om))
    return min(1.0, max(0.0, e))


@njit(cache=True, fastmath=False, inline="always")
def _sinc(x):
    """sin(x) / x for x >= 0; below 0.25 by its Taylor series to x^10 (truncation
    < 1e-17 relative; multiplications by reciprocal constants, no division)."""
    if x >= 0.25:
        return math.sin(x) / x
    x2 = x * x
    return 1.0 - x2 * (1.0 / 6.0) * (1.0 - x2 * (1.0 / 20.0) * (1.0 - x2 * (1.0 / 42.0) * (
        1.0 - x2 * (1.0 / 72.0) * (1.0 - x2 * (1.0 / 110.0)))))


@scalar_kernel
def _beyond_edge(x, w1, w2, w3, n, om):
    """E[sin^2(om v / 2) [v > 0]] for v = x + U, U the sum of the first n (1-3) centred
    uniform variables of widths w1, w2, w3.

    For one uniform variable E[g(x + U)] = (G(x + w/2) - G(x - w/2)) / w with G' = g; for
    n of them, the n-th mixed difference of the n-th antiderivative over the 2^n corners,
    divided by the product of the widths. The n-th antiderivative of sin^2(om v / 2) [v > 0]
    is psi_n(om v) / (2 om^n) (:func:`_psi`).
    """
    if x + 0.5 * (w1 + w2 + w3) <= 0.0:
        return 0.0  # no corner beyond the edge
    acc = 0.0
    for m in range(1 << n):
        v = x - 0.5 * (w1 + w2 + w3)
        sigma = 1.0 if n % 2 == 0 else -1.0  # (-1)^n at the all-lower corner
        if m & 1:
            v += w1
            sigma = -sigma
        if m & 2:
            v += w2
            sigma = -sigma
        if m & 4:
            v += w3
            sigma = -sigma
        if v > 0.0:
            acc += sigma * _psi(n, om * v)
    scaled = om * w1
    if n >= 2:
        scaled *= om * w2
    if n == 3:
        scaled *= om * w3
    return acc / (2.0 * scaled)


@njit(cache=True, fastmath=False, inline="always")
def _nested(y, c1, c2, c3, c4, c5, c6, c7, c8, c9):
    """1 - y c1 (1 - y c2 (1 - ... (1 - y c9))): an alternating series in y = x^2 whose term
    ratios are y c_k (Horner form; the c_k are reciprocals, so that no division is done)."""
    t = 1.0 - y * c9
    t = 1.0 - y * c8 * t
    t = 1.0 - y * c7 * t
    t = 1.0 - y * c6 * t
    t = 1.0 - y * c5 * t
    t = 1.0 - y * c4 * t
    t = 1.0 - y * c3 * t
    t = 1.0 - y * c2 * t
    return 1.0 - y * c1 * t


@scalar_kernel
def _psi(n, x):
    """The n-th antiderivative (n = 1, 2, 3) of 1 - cos(x) vanishing with its derivatives at
    0: x - sin x, x^2/2 - 1 + cos x, x^3/6 - x + sin x. For x <= 1 by their series
    ``sum_j (-1)^j x^(n + 2 + 2j) / (n + 2 + 2j)!`` to j = 9 (no cancellation; truncation
    < 1e-19 relative), else in closed form (cancellation < 3e-14 relative at x = 1)."""
    if x > 1.0:
        if n == 1:
            return x - math.sin(x)
        if n == 2:
            return 0.5 * x * x - 1.0 + math.cos(x)
        return x * x * x / 6.0 - x + math.sin(x)
    y = x * x
    if n == 1:
        return x * y * (1.0 / 6.0) * _nested(
            y, 1.0 / 20.0, 1.0 / 42.0, 1.0 / 72.0, 1.0 / 110.0, 1.0 / 156.0, 1.0 / 210.0,
            1.0 / 272.0, 1.0 / 342.0, 1.0 / 420.0)
    if n == 2:
        return y * y * (1.0 / 24.0) * _nested(
            y, 1.0 / 30.0, 1.0 / 56.0, 1.0 / 90.0, 1.0 / 132.0, 1.0 / 182.0, 1.0 / 240.0,
            1.0 / 306.0, 1.0 / 380.0, 1.0 / 462.0)
    return x * y * y * (1.0 / 120.0) * _nested(
        y, 1.0 / 42.0, 1.0 / 72.0, 1.0 / 110.0, 1.0 / 156.0, 1.0 / 210.0, 1.0 / 272.0,
        1.0 / 342.0, 1.0 / 420.0, 1.0 / 506.0)
