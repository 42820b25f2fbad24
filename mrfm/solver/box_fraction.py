"""Box averages of the resonant slice's weighting, for exact sub-voxel slices.

A voxel cut by the resonant slice is a box over which the resonance offset
s = |B| - omega_rf/|gamma| is (to first order) linear, s(r) = s0 + g . (r - c). The
fraction of the box inside the hard slice |s| <= Delta is the distribution function of a
sum of three uniform variables (a piecewise cubic box spline, :func:`slab_fraction`); the
box average of the cos^2 weighting follows from it by integration by parts
(:func:`cos2_fraction`), and so does the box average of CAI's lock-in weight
(4/pi) sqrt(1 - (s/Delta)^2), of its square and of its product with the Landau-Zener lock
retention (:func:`mrfm.solver.fundamental.fundamental_fraction`). Used by
:mod:`mrfm.solver.slice`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from mrfm.physics.spin_dynamics import cai_fundamental_weight_at

#: resonant-slice weightings w(dB), dB = |B| - omega_rf/|gamma|, half-width Delta
PROFILE_HARD = 0.0  # w = 1 for |dB| <= Delta, else 0
PROFILE_COS2 = 1.0  # w = cos^2(pi dB / (2 Delta)) for |dB| < Delta, else 0
#: w = (4/pi) sqrt(1 - (dB/Delta)^2) for |dB| < Delta (CAI lock-in fundamental), else 0
PROFILE_FUNDAMENTAL = 2.0

# Gauss-Legendre nodes and weights on [-1, 1], 8 points
GL8_X, GL8_W = np.polynomial.legendre.leggauss(8)


@njit(cache=True, fastmath=False)
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


@njit(cache=True, fastmath=False)
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


@njit(cache=True, fastmath=False)
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


@njit(cache=True, fastmath=False)
def _sort8(v):
    for i in range(1, 8):
        x = v[i]
        j = i - 1
        while j >= 0 and v[j] > x:
            v[j + 1] = v[j]
            j -= 1
        v[j + 1] = x


@njit(cache=True, fastmath=False)
def _corner_offsets(base, w1, w2, w3):
    """The 8 offsets base + {0, w1} + {0, w2} + {0, w3} of a box's corners, sorted: the
    breakpoints of the piecewise polynomial distribution of a linear field over the box."""
    pts = np.empty(8)
    pts[0] = base
    pts[1] = base + w3
    pts[2] = base + w2
    pts[3] = base + w2 + w3
    pts[4] = base + w1
    pts[5] = base + w1 + w3
    pts[6] = base + w1 + w2
    pts[7] = base + w1 + w2 + w3
    _sort8(pts)
    return pts


@njit(cache=True, fastmath=False)
def cos2_fraction(s0, gx, gy, gz, ax, ay, az, half):
    """Box average of the cos^2 slice weight for a linear offset s(r) = s0 + g . (r - c).

    With U the offset's spread over the box (a sum of three uniform variables, CDF F)
    and w(t) = cos^2(pi t / (2 half)) on |t| < half (w(+-half) = 0), integration by
    parts gives ``E[w(s0 + U)] = int_{-half}^{half} (pi / (2 half)) sin(pi t / half)
    F(t - s0) dt``. F is a piecewise cubic; the integral is split at its 8 breakpoints
    and each piece done by 8-point Gauss-Legendre (error ~1e-12 relative). A box wholly
    inside the profile has the closed form ``1/2 + 1/2 cos(pi s0 / half) prod_i
    sinc(pi w_i / (2 half))`` (w_i = |g_i| a_i).
    """
    w1 = abs(gx) * ax
    w2 = abs(gy) * ay
    w3 = abs(gz) * az
    k = 0.5 * math.pi / half
    hspan = 0.5 * (w1 + w2 + w3)
    if s0 - hspan >= -half and s0 + hspan <= half:
        # the whole box lies inside the profile, w = (1 + cos(2 k s)) / 2: closed form from
        # the characteristic function of a uniform variable, E[cos(2k(s0 + U))] =
        # cos(2 k s0) prod_i sinc(k w_i)
        prod = math.cos(2.0 * k * s0)
        for wi in (w1, w2, w3):
            x = k * wi
            if x > 1e-4:
                prod *= math.sin(x) / x
            else:
                prod *= 1.0 - x * x / 6.0
        return min(1.0, max(0.0, 0.5 + 0.5 * prod))
    w1, w2, w3 = _sort3_descending(w1, w2, w3)
    base = s0 - hspan
    pts = _corner_offsets(base, w1, w2, w3)
    acc = 0.0
    lo = -half
    for m in range(9):
        hi = pts[m] if m < 8 else half
        hi = min(half, max(-half, hi))
        if hi > lo:
            mid = 0.5 * (hi + lo)
            hw = 0.5 * (hi - lo)
            part = 0.0
            for i in range(8):
                t = mid + hw * GL8_X[i]
                part += GL8_W[i] * math.sin(2.0 * k * t) * _cdf_uniform_sum(t - s0, w1, w2, w3)
            acc += part * hw
            lo = hi
    return min(1.0, max(0.0, k * acc))
