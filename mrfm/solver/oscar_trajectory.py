"""The OSCAR cantilever-trajectory integral of Lee, Moore & Marohn, PRB 85, 165447 (2012),
Eq. 20: the adiabatically following spin's moment projected on the cantilever's motion,
integrated over one cycle, with the resonance crossings located and the integrand
integrated piecewise between them (Gauss-Legendre on each smooth piece).

Numba kernels over one point of the sample; the field magnitude and the ``P_*`` indices of
the protocol vector ``pp`` are :mod:`mrfm.solver.kernels`'.
"""

from __future__ import annotations

import math

from mrfm.jit import scalar_kernel
from mrfm.solver.box_fraction import GL8_W, GL8_X
from mrfm.solver.kernels import P_B1, P_BRES, P_NTHETA, P_XPK, field_magnitude


@scalar_kernel
def _oscar_integrand(shape_id, mparams, pol, rx, ry, rz, th, pp, out):
    """s(theta) * d|B|/dx * cos(theta) with s = dB / sqrt(dB^2 + B1^2) along the trajectory."""
    c = math.cos(th)
    b, gx, gy, gz, d2 = field_magnitude(shape_id, mparams, pol, rx - pp[P_XPK] * c, ry, rz, 1,
                                        pp, out)
    db = b - pp[P_BRES]
    b1 = pp[P_B1]
    if b1 > 0.0:
        s = db / math.sqrt(db * db + b1 * b1)
    elif db > 0.0:
        s = 1.0
    elif db < 0.0:
        s = -1.0
    else:
        s = 0.0
    return s * gx * c


@scalar_kernel
def _gl_interval(shape_id, mparams, pol, rx, ry, rz, lo, hi, pp, out):
    """8-point Gauss-Legendre integral of the OSCAR integrand over [lo, hi] (theta)."""
    half = 0.5 * (hi - lo)
    mid = 0.5 * (hi + lo)
    acc = 0.0
    for i in range(8):
        acc += GL8_W[i] * _oscar_integrand(shape_id, mparams, pol, rx, ry, rz,
                                           mid + half * GL8_X[i], pp, out)
    return acc * half


@scalar_kernel
def _graded(shape_id, mparams, pol, rx, ry, rz, start, end, w, pp, out):
    """Integral over [start, end] on a mesh graded geometrically (ratio 4) away from ``start``.

    ``w`` is the width (rad) of the locked moment's transition at the resonance
    crossing at ``start``; ``end`` may lie on either side of ``start``.
    """
    length = abs(end - start)
    if length <= 0.0:
        return 0.0
    direction = 1.0 if end > start else -1.0
    if w <= 0.0 or w >= length:
        v = _gl_interval(shape_id, mparams, pol, rx, ry, rz, min(start, end), max(start, end),
                         pp, out)
        return v
    acc = 0.0
    d0 = 0.0
    d1 = w
    while True:
        if d1 > length:
            d1 = length
        a0 = start + direction * d0
        a1 = start + direction * d1
        acc += _gl_interval(shape_id, mparams, pol, rx, ry, rz, min(a0, a1), max(a0, a1), pp, out)
        if d1 >= length:
            break
        d0 = d1
        d1 = 4.0 * d1
    return acc


@scalar_kernel
def _delta_b(shape_id, mparams, pol, rx, ry, rz, th, pp, out):
    b, gx, gy, gz, d2 = field_magnitude(shape_id, mparams, pol, rx - pp[P_XPK] * math.cos(th),
                                        ry, rz, 0, pp, out)
    return b - pp[P_BRES]


@scalar_kernel
def _find_crossing(shape_id, mparams, pol, rx, ry, rz, lo, flo, hi, fhi, pp, out):
    """Root of dB(theta) in [lo, hi] (sign change given) by the Illinois method, |err| < 1e-13."""
    side = 0
    for _ in range(100):
        if hi - lo < 1e-13:
            break
        if fhi != flo:
            mid = (lo * fhi - hi * flo) / (fhi - flo)
        else:
            mid = 0.5 * (lo + hi)
        if not (lo < mid < hi):
            mid = 0.5 * (lo + hi)
        fm = _delta_b(shape_id, mparams, pol, rx, ry, rz, mid, pp, out)
        if fm == 0.0:
            return mid
        if (fm > 0.0) == (fhi > 0.0):
            hi = mid
            fhi = fm
            if side == 1:
                flo *= 0.5
            side = 1
        else:
            lo = mid
            flo = fm
            if side == -1:
                fhi *= 0.5
            side = -1
    return 0.5 * (lo + hi)


@scalar_kernel
def oscar_trajectory_integral(shape_id, mparams, pol, rx, ry, rz, pp, out, crossings):
    """OSCAR per-unit-moment integral of Lee, Moore & Marohn, PRB 85, 165447 (2012), Eq. 20.

    Returns ``(J, swept, db_start, db_end)`` where::

        J = integral_{-pi}^{pi} s(theta) d|B|/dx(x - a cos theta) cos theta dtheta,
        s = dB / sqrt(dB^2 + B1^2),  dB = |B| - omega_rf/|gamma|

    and ``swept`` tells whether the trajectory crosses resonance (only such
    spins are locked; otherwise J = 0). ``db_start``/``db_end`` are dB at
    theta = 0 and pi (the trajectory's ends).

    Method: dB is sampled at ``pp[P_NTHETA] + 1`` points of [0, pi] (the
    integrand is even in theta); every sign change is located to 1e-13 rad;
    the pieces between crossings are integrated with 8-point Gauss-Legendre
    on meshes graded from each crossing with the width of the locked
    moment's transition, B1 / |d dB/dtheta|. For B1 -> 0 the pieces are
    smooth and the result converges exponentially.
    """
    n = int(pp[P_NTHETA])
    h = math.pi / n
    ncross = 0
    f_prev = _delta_b(shape_id, mparams, pol, rx, ry, rz, 0.0, pp, out)
    db_start = f_prev
    th_prev = 0.0
    for m in range(1, n + 1):
        th = m * h if m < n else math.pi
        f = _delta_b(shape_id, mparams, pol, rx, ry, rz, th, pp, out)
        if (f_prev < 0.0 < f) or (f < 0.0 < f_prev) or (f == 0.0 and f_prev != 0.0):
            if ncross < crossings.size:
                if f == 0.0:
                    crossings[ncross] = th
                else:
                    crossings[ncross] = _find_crossing(shape_id, mparams, pol, rx, ry, rz,
                                                       th_prev, f_prev, th, f, pp, out)
                ncross += 1
        f_prev = f
        th_prev = th
    db_end = f_prev
    if ncross == 0:
        return 0.0, False, db_start, db_end
    # transition widths at each crossing
    b1 = pp[P_B1]
    a = pp[P_XPK]
    total = 0.0
    left = 0.0
    w_left = 0.0
    is_cross_left = False
    for k in range(ncross + 1):
        if k < ncross:
            right = crossings[k]
            b, gx, gy, gz, d2 = field_magnitude(shape_id, mparams, pol,
                                                rx - a * math.cos(right), ry, rz, 1, pp, out)
            slope = abs(gx * a * math.sin(right))
            w_right = b1 / slope if slope > 0.0 else math.pi
            is_cross_right = True
        else:
            right = math.pi
            w_right = 0.0
            is_cross_right = False
        if right > left:
            if is_cross_left and is_cross_right:
                mid = 0.5 * (left + right)
                total += _graded(shape_id, mparams, pol, rx, ry, rz, left, mid, w_left, pp, out)
                total += _graded(shape_id, mparams, pol, rx, ry, rz, right, mid, w_right, pp, out)
            elif is_cross_left:
                total += _graded(shape_id, mparams, pol, rx, ry, rz, left, right, w_left, pp, out)
            elif is_cross_right:
                total += _graded(shape_id, mparams, pol, rx, ry, rz, right, left, w_right, pp,
                                 out)
            else:
                total += _gl_interval(shape_id, mparams, pol, rx, ry, rz, left, right, pp, out)
        left = right
        w_left = w_right
        is_cross_left = is_cross_right
    return 2.0 * total, True, db_start, db_end


__all__ = ["oscar_trajectory_integral"]
