"""Box average of CAI's lock-in (fundamental) weight, for exact sub-voxel slices.

The weight G = w r of a spin at resonance offset s in CAI's slice: the lock-in fundamental
w = (4/pi) sqrt(1 - (s/Delta)^2) times the Landau-Zener lock retention r (Curie), or w^2
(statistical). Its box average over a voxel with a linear offset
(:func:`fundamental_fraction`) follows from the sum-of-uniforms distribution of
:mod:`mrfm.solver.box_fraction` by integration by parts; the moments of G over the slice
(:func:`fundamental_moments`, tabulated with Landau-Zener in
:func:`fundamental_moments_tabulated`) give it in closed form for slices thinner than the
box's spread. Used by :mod:`mrfm.solver.slice`.
"""

from __future__ import annotations

import math

import numpy as np

from mrfm.jit import scalar_kernel
from mrfm.solver.box_fraction import (
    GL8_W,
    GL8_X,
    _cdf_uniform_sum,
    _corner_offsets,
    _sort3_descending,
)

#: longest piece (rad) of the angle integral of :func:`fundamental_fraction` done by one GL8
FUNDAMENTAL_PIECE = math.pi / 8.0
#: pieces shorter than this (rad) use 4-point Gauss-Legendre (degree 7 exact; the integrand
#: is a cubic in sin(theta) times a smooth factor)
FUNDAMENTAL_SHORT = 0.05
#: with Landau-Zener, a piece is at most this fraction of its distance to the slice edge
FUNDAMENTAL_GRADING = 0.3
GL4_X, GL4_W = np.polynomial.legendre.leggauss(4)


@scalar_kernel
def _fundamental_g(c, stat, k):
    """Weight G at cos(theta) = c (>= 0): (4/pi) c (1 - 2 e) or (16/pi^2) c^2, e = exp(-k/c)."""
    if stat:
        return 16.0 / (math.pi * math.pi) * c * c
    e = 0.0
    if k < math.inf:
        e = math.exp(-k / c) if c > 0.0 else 0.0
    return 4.0 / math.pi * c * (1.0 - 2.0 * e)


@scalar_kernel
def _fundamental_dg(sn, c, stat, k):
    """dG/dtheta at sin(theta) = sn, cos(theta) = c (see :func:`fundamental_fraction`)."""
    if stat:
        return -32.0 / (math.pi * math.pi) * c * sn
    e = 0.0
    ke = 0.0
    if k < math.inf and c > 0.0:
        e = math.exp(-k / c)
        ke = k * e / c
    return 4.0 / math.pi * sn * (2.0 * e + 2.0 * ke - 1.0)


@scalar_kernel
def fundamental_moments(stat, k):
    """(m0, m2) = int_{-1}^{1} G(x) x^j dx, j = 0, 2, of the weight G of
    :func:`fundamental_fraction` (x = s / half, G = w r or w^2).

    Closed forms without Landau-Zener: Curie (2, 1/2), statistical (64/(3 pi^2),
    64/(15 pi^2)). With Landau-Zener (0 < k <= 40), x = sin(theta) on [0, pi/2] (even
    integrands) on the graded mesh of :func:`fundamental_fraction`.
    """
    if stat:
        return 64.0 / (3.0 * math.pi * math.pi), 64.0 / (15.0 * math.pi * math.pi)
    if k > 40.0:
        return 2.0, 0.5
    m0 = 0.0
    m2 = 0.0
    a = 0.0
    hi = 0.5 * math.pi
    while hi > a:
        step = min(hi - a, FUNDAMENTAL_PIECE)
        d = hi - a
        if k > 0.0 and d >= k / 30.0:
            step = min(step, max(FUNDAMENTAL_GRADING * d / (1.0 + FUNDAMENTAL_GRADING),
                                 0.01 * k, 1e-9))
        mid = a + 0.5 * step
        hw = 0.5 * step
        for i in range(8):
            th = mid + hw * GL8_X[i]
            sn = math.sin(th)
            c = math.cos(th)
            f = GL8_W[i] * hw * _fundamental_g(c, False, k) * c
            m0 += f
            m2 += f * sn * sn
        a = a + step
    return 2.0 * m0, 2.0 * m2


def _lz_moment_table(n: int, umax: float) -> np.ndarray:
    """(n + 1, 6) table of the Landau-Zener moments at k = u^2, u = umax i / n (numpy, import).

    Columns: m0, m2 of :func:`fundamental_moments` (Curie, 0 <= k), their first and their
    second derivatives in u. With E_j(k) = int_0^{pi/2} cos^2 sin^j exp(-k / cos) dtheta
    (j = 0, 2): m0 = 2 - (16/pi) E_0 and m2 = 1/2 - (16/pi) E_2 (the ideal moments less the
    failed passages); dE_j/dk = -int cos sin^j exp(-k / cos), d2E_j/dk2 = int sin^j
    exp(-k / cos); d/du = 2u d/dk, d2/du2 = 2 d/dk + 4 u^2 d2/dk2. The theta integrals use
    8-point Gauss-Legendre on pieces graded geometrically towards pi/2 (distances
    (pi/2) 2^-i, i < 48; the integrand is <= cos^2 there), error < 1e-13 (tested at the
    nodes against the graded mesh of :func:`fundamental_moments`).
    """
    d_edges = np.concatenate([0.5 * np.pi * 0.5 ** np.arange(48), [0.0]])
    lo = d_edges[1:]
    hi = d_edges[:-1]
    mid = 0.5 * (lo + hi)
    hw = 0.5 * (hi - lo)
    d = (mid[:, None] + hw[:, None] * GL8_X[None, :]).ravel()  # distance to pi/2
    w = (hw[:, None] * GL8_W[None, :]).ravel()
    c = np.sin(d)  # cos(theta) at theta = pi/2 - d
    sn2 = np.cos(d) ** 2
    u = np.linspace(0.0, umax, n + 1)
    k = u * u
    e = np.exp(-k[:, None] / c[None, :])
    f = 16.0 / np.pi
    cols = []
    for sj in (np.ones_like(c), sn2):
        e_k = (e * (w * c * c * sj)[None, :]).sum(axis=1)
        d1 = -(e * (w * c * sj)[None, :]).sum(axis=1)
        d2 = (e * (w * sj)[None, :]).sum(axis=1)
        cols.append((-f * e_k, -f * 2.0 * u * d1, -f * (2.0 * d1 + 4.0 * k * d2)))
    (v0, g0, c0), (v2, g2, c2) = cols
    return np.column_stack([2.0 + v0, 0.5 + v2, g0, g2, c0, c2])


#: u = sqrt(k) range and intervals of the tabulated Landau-Zener moments
#: (:func:`fundamental_moments_tabulated`; k > 40 counts as ideal inversion)
LZ_TABLE_UMAX = math.sqrt(40.0)
LZ_TABLE_N = 256
LZ_TABLE = _lz_moment_table(LZ_TABLE_N, LZ_TABLE_UMAX)


@scalar_kernel
def fundamental_moments_tabulated(stat, k):
    """:func:`fundamental_moments` from a table: the same (m0, m2), O(1) per call.

    The Landau-Zener moments are smooth in u = sqrt(k) (their expansion in k has a
    k^3 log k term, u^6 log u in u); quintic Hermite interpolation (values and two
    derivatives from :func:`_lz_moment_table`) on 256 intervals of u in [0, sqrt(40)];
    tested against :func:`fundamental_moments` (< 5e-11 absolute over k in [0, 40]).
    Statistical and k > 40 (ideal): the closed forms.
    """
    if stat or k > 40.0:
        return fundamental_moments(stat, k)
    u = math.sqrt(max(k, 0.0))
    x = u * (LZ_TABLE_N / LZ_TABLE_UMAX)
    i = min(int(x), LZ_TABLE_N - 1)
    t = x - i
    h = LZ_TABLE_UMAX / LZ_TABLE_N
    t2 = t * t
    t3 = t2 * t
    t4 = t3 * t
    t5 = t4 * t
    b0 = 1.0 - 10.0 * t3 + 15.0 * t4 - 6.0 * t5
    b1 = (t - 6.0 * t3 + 8.0 * t4 - 3.0 * t5) * h
    b2 = 0.5 * (t2 - 3.0 * t3 + 3.0 * t4 - t5) * h * h
    b3 = 10.0 * t3 - 15.0 * t4 + 6.0 * t5
    b4 = (-4.0 * t3 + 7.0 * t4 - 3.0 * t5) * h
    b5 = 0.5 * (t3 - 2.0 * t4 + t5) * h * h
    m0 = (b0 * LZ_TABLE[i, 0] + b1 * LZ_TABLE[i, 2] + b2 * LZ_TABLE[i, 4]
          + b3 * LZ_TABLE[i + 1, 0] + b4 * LZ_TABLE[i + 1, 2] + b5 * LZ_TABLE[i + 1, 4])
    m2 = (b0 * LZ_TABLE[i, 1] + b1 * LZ_TABLE[i, 3] + b2 * LZ_TABLE[i, 5]
          + b3 * LZ_TABLE[i + 1, 1] + b4 * LZ_TABLE[i + 1, 3] + b5 * LZ_TABLE[i + 1, 5])
    return m0, m2


@scalar_kernel
def fundamental_fraction(s0, gx, gy, gz, ax, ay, az, half, stat, k):
    """Box average of CAI's lock-in weight for a linear offset s(r) = s0 + g . (r - c).

    Curie (``stat`` False): the average of G = w(s) r(s), with the fundamental weight
    w = (4/pi) sqrt(1 - (s/half)^2) (:func:`mrfm.physics.spin_dynamics.cai_fundamental_weight`)
    and the Landau-Zener lock retention r = 1 - 2 exp(-pi A(s) / 2) of a spin whose sweep
    crosses it at the rate 2 pi f_mod half sqrt(1 - (s/half)^2), A(s) = A_c / sqrt(1 -
    (s/half)^2); ``k`` = pi A_c / 2 (``inf``: ideal inversion, r = 1). Statistical (``stat``
    True): the average of G = w(s)^2 (the variance of each spin's fundamental; failed
    passages only shorten the correlation time, see :mod:`mrfm.solver.slice`).

    Method: with U the offset's spread over the box (sum of three uniform variables, CDF F,
    :func:`_cdf_uniform_sum`) and the substitution t = half sin(theta) (G vanishes at
    theta = +-pi/2), integration by parts gives
    ``E[G(s0 + U)] = -int_{-pi/2}^{pi/2} F(half sin(theta) - s0) G'(theta) dtheta``, where
    ``G(theta) = (4/pi) cos(theta) (1 - 2 exp(-k / cos(theta)))`` or
    ``(16/pi^2) cos(theta)^2`` is smooth in theta (the sqrt singularity of w' at the slice
    edges is gone). Above the support of U (F = 1) the integral is G at its upper end in
    closed form; on the support the integrand is analytic between the arcsines of F's 8
    breakpoints, and each such piece, cut into pieces of at most pi/8 rad (with Landau-Zener
    also at most 0.3 times their distance to the slice edge, no shorter than k/100, not cut
    within k/30 of the edge, where exp(-k / cos(theta)) < 1e-13; k > 40 counts as ideal,
    error < 5e-18), is done by 8-point
    Gauss-Legendre (4-point below 0.05 rad). When no break point of F lies inside the slice
    (a slice thinner than the box's spread), F is one cubic there and
    E = p1 M0 + 3 p3 M2 with the moments of :func:`fundamental_moments`. Tested against
    adaptive quadrature over the box: < 1e-8 relative for the weight and its square, < 1e-7
    with Landau-Zener.
    """
    w1 = abs(gx) * ax
    w2 = abs(gy) * ay
    w3 = abs(gz) * az
    w1, w2, w3 = _sort3_descending(w1, w2, w3)
    hspan = 0.5 * (w1 + w2 + w3)
    base = s0 - hspan
    # F(t - s0) = 1 for t >= s0 + hspan: that part of the integral is G(theta_top)
    top = min(1.0, max(-1.0, (s0 + hspan) / half))
    acc = _fundamental_g(math.sqrt(max(0.0, 1.0 - top * top)), stat, k)
    if w1 <= 0.0:
        return max(0.0, acc) if stat else acc
    pts = _corner_offsets(base, w1, w2, w3)
    if k > 40.0:
        k = math.inf  # exp(-k / cos(theta)) < 5e-18: ideal inversion
    graded = 0.0 < k < math.inf
    inner = 0
    for m in range(8):
        if -half < pts[m] < half:
            inner += 1
    if inner == 0:
        # F is one cubic p0 + p1 t + p2 t^2 + p3 t^3 on [-half, half] (thin slice): integrating
        # by parts back, E = p1 M0 + 3 p3 M2 with M_j = int G t^j dt (M1 = 0 by symmetry);
        # p1, p3 from the odd part of F at t = half, half / 2
        o1 = 0.5 * (_cdf_uniform_sum(half - s0, w1, w2, w3)
                    - _cdf_uniform_sum(-half - s0, w1, w2, w3))
        o2 = 0.5 * (_cdf_uniform_sum(0.5 * half - s0, w1, w2, w3)
                    - _cdf_uniform_sum(-0.5 * half - s0, w1, w2, w3))
        p3h3 = (4.0 / 3.0) * (o1 - 2.0 * o2)
        p1h = o1 - p3h3
        m0, m2 = fundamental_moments_tabulated(stat, k)
        return p1h * m0 + 3.0 * p3h3 * m2
    lo = math.asin(min(1.0, max(-1.0, pts[0] / half)))
    quad = 0.0
    for m in range(1, 8):
        hi = math.asin(min(1.0, max(-1.0, pts[m] / half)))
        a = lo
        while hi > a:
            step = min(hi - a, FUNDAMENTAL_PIECE)
            if graded:
                # exp(-k / cos(theta)) is singular at the slice edge (cos = 0): pieces at
                # most FUNDAMENTAL_GRADING times their distance delta to it (at their end
                # nearer the edge), no shorter than k / 100; none where delta < k / 30,
                # where exp(-k / cos) < 1e-13
                d = 0.5 * math.pi - abs(a)
                if a < 0.0:  # moving away from the edge at -pi/2
                    lim = k / 30.0 - d if d < k / 30.0 else FUNDAMENTAL_GRADING * d
                elif d >= k / 30.0:  # moving towards the edge at +pi/2
                    lim = FUNDAMENTAL_GRADING * d / (1.0 + FUNDAMENTAL_GRADING)
                else:
                    lim = step
                step = min(step, max(lim, 0.01 * k, 1e-9))
            mid = a + 0.5 * step
            hw = 0.5 * step
            part = 0.0
            if step < FUNDAMENTAL_SHORT:
                for i in range(4):
                    th = mid + hw * GL4_X[i]
                    sn = math.sin(th)
                    part += (GL4_W[i] * _fundamental_dg(sn, math.cos(th), stat, k)
                             * _cdf_uniform_sum(half * sn - s0, w1, w2, w3))
            else:
                for i in range(8):
                    th = mid + hw * GL8_X[i]
                    sn = math.sin(th)
                    part += (GL8_W[i] * _fundamental_dg(sn, math.cos(th), stat, k)
                             * _cdf_uniform_sum(half * sn - s0, w1, w2, w3))
            quad += part * hw
            a = a + step
        lo = max(lo, hi)
    return acc - quad
