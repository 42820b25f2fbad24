"""Numba kernel: field, gradient and second derivatives of an axially magnetized cylinder.

The cylinder (radius a, half-height b, axis z, centred on the origin) with uniform polarization
J along z carries the magnetic surface charge +-J/mu0 on its two end disks. With the
Newtonian potential of a unit disk of radius a,

    U(rho, zeta) = 1/(4 pi) * integral over the disk of dA' / |r - r'|,

the field is B = J grad V (+ J z^ inside), V(rho, z) = U(rho, z + b) - U(rho, z - b), and
every derivative of B is a derivative of V. V is axisymmetric and harmonic away from the end
disks, so all Cartesian derivatives follow from a few smooth functions of (rho, z):

    P = V_rho / rho,  V_z,  V_zz,  Q = V_rho z / rho,  V_zzz,  R3 = V_zz rho / rho,
    Sr = (2 P + V_zz) / rho^2    (Laplace: V_rho rho = -P - V_zz).

Per end disk these are computed

* away from the axis in closed form: U_rho and U_z from Derby & Olbert, Am. J. Phys. 78, 229
  (2010), Eqs. (8)-(9), with Bulirsch's generalized complete elliptic integral cel
  (Bulirsch, Numer. Math. 13, 305 (1969)); U_zz and U_rho z are the field of a circular current
  loop (e.g. Simpson et al., NASA/TM-2013-217919; the solid angle of the disk is the loop's
  scalar potential), written with K = cel(kc, 1, 1, 1) and E = cel(kc, 1, 1, kc^2); U_zzz and
  U_zz rho are their analytic derivatives (dK/dm = (E - (1 - m) K) / (2 m (1 - m)),
  dE/dm = (E - K) / (2 m)), derived by hand and checked against finite differences in the tests;
* near the axis (rho < 0.2 sqrt(a^2 + zeta^2), inside the radius of convergence
  sqrt(a^2 + zeta^2) set by the rim) from the exact axial expansion of an axisymmetric harmonic
  function, U = sum_n (-1)^n (rho/2)^(2n) / (n!)^2 u^(2n)(zeta), with the on-axis potential
  u = (sqrt(a^2 + zeta^2) - |zeta|) / 2 whose derivatives are Gegenbauer polynomials:
  u^(n) = a^2/2 (-1)^n (n-2)! C_(n-2)^(3/2)(t) w^-(n+1), w = sqrt(a^2 + zeta^2), t = zeta / w.
  Sixteen terms reach machine precision there.

Derby & Olbert's B_z contribution of one disk equals U_z + sign(zeta)/2 for rho < a; that
constant is removed per disk (and J added inside the body) so that the small far-field U_z is
never the difference of two numbers of order one.

Where the result is infinite: on the two rim circles (rho = a, z = +-b) B diverges
logarithmically, the gradient as 1/distance and the second derivatives as 1/distance^2.
Everywhere else (axis, centre, end faces, side wall) the values are finite; exactly on the side
wall (rho = a, |z| < b) B_z is the mean of its inside and outside limits.

Accuracy: ~1e-14 relative near the magnet (checked against magpylib and, near the axis, the
series against the closed forms); in the far field the two end disks cancel, so the relative
error grows with distance, roughly as 1e-16 (r/size)^2.
"""

from __future__ import annotations

import math

from numba import njit

from mrfm.jit import scalar_kernel

_N_SERIES = 17
_AXIS_RATIO = 0.2
_INV_PI = 1.0 / math.pi
_INV_2PI = 0.5 / math.pi


@scalar_kernel(error_model="numpy")
def cel(kc, p, c, s):
    """Bulirsch's generalized complete elliptic integral.

    cel(kc, p, c, s) = int_0^{pi/2} (c cos^2 f + s sin^2 f)
                       / ((cos^2 f + p sin^2 f) sqrt(cos^2 f + kc^2 sin^2 f)) df

    Bulirsch, Numer. Math. 13, 305 (1969); algorithm as printed in Derby & Olbert,
    Am. J. Phys. 78, 229 (2010), appendix, iterated to machine precision. Returns inf for
    kc = 0.
    """
    if kc == 0.0:
        return math.inf
    k = abs(kc)
    em = 1.0
    if p > 0.0:
        pp = math.sqrt(p)
        cc = c
        ss = s / pp
    else:
        f = kc * kc
        q = 1.0 - f
        g = 1.0 - p
        f = f - p
        q = q * (s - c * p)
        pp = math.sqrt(f / g)
        cc = (c - s) / g
        ss = -q / (g * g * pp) + cc * pp
    kk = k
    g = k
    for it in range(61):
        if it > 0:
            if abs(g - k) <= g * 1e-9:
                break
            k = 2.0 * math.sqrt(kk)
            kk = k * em
            g = kk
        f = cc
        cc = cc + ss / pp
        g = g / pp
        ss = 2.0 * (ss + f * g)
        pp = g + pp
        g = em
        em = k + em
    return 0.5 * math.pi * (ss + cc * em) / (em * (em + pp))


@scalar_kernel(error_model="numpy")
def _cel_p1(kc):
    """(K, E, cel(kc, 1, 1, -1)) in one Bulirsch iteration (p = 1 shares the AGM sequence)."""
    if kc == 0.0:
        return math.inf, 1.0, -math.inf
    k = abs(kc)
    em = 1.0
    pp = 1.0
    c1 = 1.0
    s1 = 1.0
    c2 = 1.0
    s2 = kc * kc
    c3 = 1.0
    s3 = -1.0
    for it in range(61):
        if it == 0:
            kk = k
            g = k
        else:
            if abs(g - k) <= g * 1e-9:
                break
            k = 2.0 * math.sqrt(kk)
            kk = k * em
            g = kk
        g = g / pp
        f = c1
        c1 = c1 + s1 / pp
        s1 = 2.0 * (s1 + f * g)
        f = c2
        c2 = c2 + s2 / pp
        s2 = 2.0 * (s2 + f * g)
        f = c3
        c3 = c3 + s3 / pp
        s3 = 2.0 * (s3 + f * g)
        pp = g + pp
        g = em
        em = k + em
    scale = 0.5 * math.pi / (em * (em + pp))
    return (s1 + c1 * em) * scale, (s2 + c2 * em) * scale, (s3 + c3 * em) * scale


@njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def _gegenbauer_step(t, m, c_prev, c_cur, fact, sgn):
    """One step (m >= 1) of the C^(3/2) recurrence: (C_(m-2), C_(m-1), (m-1)!, sign) at t
    -> (C_(m-1), C_m, m!, -sign), with C_(-1) = 0, C_0 = 1, C_1 = 3 t."""
    c_new = (2.0 * t * (m + 0.5) * c_cur - (m + 1.0) * c_prev) / m if m > 1 else 3.0 * t
    return c_cur, c_new, fact * m, -sgn


@scalar_kernel(error_model="numpy")
def _disk_series(a, rho, zeta, order, side):
    """Axial expansion of one disk's functions (see module docstring); rho < 0.2 w.

    Dimensionless sums in rho/w, with u^(n) = a^2/2 * hn / w^(n+1),
    hn = (-1)^n (n-2)! C_(n-2)^(3/2)(t), are scaled by the right power of w at the end.
    """
    w = math.sqrt(a * a + zeta * zeta)
    t = zeta / w
    x2 = (rho / w) ** 2
    # Gegenbauer state: c_cur = C_m(t), c_prev = C_(m-1)(t); fact = m!; sgn = (-1)^(m+2)
    c_prev = 0.0
    c_cur = 1.0
    fact = 1.0
    sgn = 1.0
    m = 0
    uz = pd = uzz = qd = uzzz = r3 = sr = 0.0
    t_prev = 1.0  # c_(k-1) x^(k-1)
    e_prev = 0.0  # c_(k-1) x^(k-2)
    for k in range(1, _N_SERIES + 2):
        f = -x2 / (4.0 * k * k)
        t_k = t_prev * f
        e_k = -0.25 if k == 1 else e_prev * f
        # h_(2k)
        if m >= 1:
            c_prev, c_cur, fact, sgn = _gegenbauer_step(t, m, c_prev, c_cur, fact, sgn)
        h = sgn * fact * c_cur
        m += 1
        pd += 2.0 * k * e_k * h
        uzz += t_prev * h
        if k >= 2:
            r3 += 2.0 * (k - 1) * e_prev * h
            sr += e_prev * (k - 1.0) / k * h
        # h_(2k+1)
        c_prev, c_cur, fact, sgn = _gegenbauer_step(t, m, c_prev, c_cur, fact, sgn)
        h = sgn * fact * c_cur
        m += 1
        uz += t_k * h
        qd += 2.0 * k * e_k * h
        uzzz += t_prev * h
        t_prev = t_k
        e_prev = e_k
    half_a2 = 0.5 * a * a
    iw = 1.0 / w
    iw2 = iw * iw
    iw3 = iw2 * iw
    # n = 0 term of U_z: (t - sign(zeta)) / 2 without cancellation
    uz0 = -side * a * a / (2.0 * w * (w + abs(zeta)))
    return (uz0 + half_a2 * iw2 * uz, half_a2 * iw3 * pd, half_a2 * iw3 * uzz,
            half_a2 * iw2 * iw2 * qd, half_a2 * iw2 * iw2 * uzzz, half_a2 * iw3 * iw2 * r3,
            half_a2 * iw3 * iw2 * sr)


@scalar_kernel(error_model="numpy")
def _disk_closed(a, rho, zeta, order, side):
    """Closed forms of one disk's functions away from the axis (rho > 0)."""
    ap = a + rho
    am = a - rho
    z2 = zeta * zeta
    beta2 = ap * ap + z2
    alpha2 = am * am + z2
    beta = math.sqrt(beta2)
    kc = math.sqrt(alpha2 / beta2)
    gam = am / ap
    kk, ee, c11m1 = _cel_p1(kc)
    ur = _INV_PI * (a / beta) * c11m1
    uz = _INV_PI * (a / ap) * (zeta / beta) * cel(kc, gam * gam, 1.0, gam)
    if rho < a:  # Derby & Olbert's disk term is U_z + sign(zeta)/2 over the disk
        uz -= 0.5 * side
    pd = ur / rho
    if order < 1:
        return uz, pd, 0.0, 0.0, 0.0, 0.0, 0.0
    a2 = a * a
    rho2 = rho * rho
    r2 = rho2 + z2
    uzz = _INV_2PI * ((a2 - r2) * ee + alpha2 * kk) / (alpha2 * beta)
    qd = _INV_2PI * zeta * ((a2 + r2) * ee - alpha2 * kk) / (alpha2 * beta * rho2)
    if order < 2:
        return uz, pd, uzz, qd, 0.0, 0.0, 0.0
    b3 = beta * beta2
    a4 = a2 * a2
    uzzz = _INV_2PI * zeta / (alpha2 * b3) * (
        (a2 - r2) * kk - (7.0 * a4 - 6.0 * a2 * rho2 + 6.0 * a2 * z2 - r2 * r2) * ee / alpha2
    )
    ne = (a4 * a2 - a4 * rho2 + 2.0 * a4 * z2 - a2 * rho2 * rho2 - 12.0 * a2 * rho2 * z2
          + a2 * z2 * z2 + rho2 * r2 * r2)
    nk = (a2 - rho2) * (a2 - rho2) + z2 * (a2 + rho2)
    r3 = _INV_2PI / (rho2 * alpha2 * b3) * (-nk * kk + ne * ee / alpha2)
    sr = (2.0 * pd + uzz) / rho2
    return uz, pd, uzz, qd, uzzz, r3, sr


@scalar_kernel(error_model="numpy")
def _disk(a, rho, zeta, order, zero_sign):
    """One disk's functions; ``zero_sign`` is the side (+-1) taken on the disk's plane."""
    if zeta > 0.0:
        side = 1.0
    elif zeta < 0.0:
        side = -1.0
    else:
        side = zero_sign
    if rho * rho < _AXIS_RATIO * _AXIS_RATIO * (a * a + zeta * zeta):
        return _disk_series(a, rho, zeta, order, side)
    return _disk_closed(a, rho, zeta, order, side)


@njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def _axisymmetric_block(out, k, jz, p, pzz, q, rx, ry, nx, ny):
    """Write ``out[k:k+9]``, row-major: jz dF_i / dx_j of an axisymmetric gradient field
    F = grad W (W harmonic) from ``p = W_rho / rho``, ``pzz = W_zz`` and ``q = W_rho z / rho``
    (Laplace gives W_rho rho = -p - pzz); ``nx, ny = x / rho, y / rho``.

    W = V gives the gradient of B (k = 3); W = V_z the Hessian of B_z (k = 12).
    """
    g = 2.0 * p + pzz
    out[k] = jz * (p - g * nx * nx)
    out[k + 1] = -jz * g * nx * ny
    out[k + 2] = jz * q * rx
    out[k + 3] = out[k + 1]
    out[k + 4] = jz * (p - g * ny * ny)
    out[k + 5] = jz * q * ry
    out[k + 6] = out[k + 2]
    out[k + 7] = out[k + 5]
    out[k + 8] = jz * pzz


@scalar_kernel(error_model="numpy")
def cylinder_point(params, pol, rx, ry, rz, order, out):
    """Fill ``out`` (see :func:`mrfm.physics.magnet_kernels.magnet_point`) for a cylinder.

    Parameters
    ----------
    params : float64 (3,)
        (diameter, height, 0), m; the axis is z.
    pol : float64 (3,)
        Polarization J, T; only pol[2] (axial) is used.
    rx, ry, rz : float
        Observer position relative to the cylinder's centre, m.
    order : int
        0, 1 or 2.
    out : float64 (24,)
        Output buffer.
    """
    a = 0.5 * params[0]
    b = 0.5 * params[1]
    jz = pol[2]
    rho = math.sqrt(rx * rx + ry * ry)
    # on an end face take the outside side of that disk, consistent with ``inside`` below
    lo = _disk(a, rho, rz + b, order, -1.0)
    hi = _disk(a, rho, rz - b, order, 1.0)
    vz = lo[0] - hi[0]
    pv = lo[1] - hi[1]
    inside = rho < a and abs(rz) < b
    out[0] = jz * pv * rx
    out[1] = jz * pv * ry
    out[2] = jz * (vz + 1.0) if inside else jz * vz
    if order < 1:
        return
    vzz = lo[2] - hi[2]
    qv = lo[3] - hi[3]
    if rho > 0.0:
        nx = rx / rho
        ny = ry / rho
    else:
        nx = 0.0
        ny = 0.0
    _axisymmetric_block(out, 3, jz, pv, vzz, qv, rx, ry, nx, ny)
    if order < 2:
        return
    vzzz = lo[4] - hi[4]
    r3 = lo[5] - hi[5]
    sr = lo[6] - hi[6]
    _axisymmetric_block(out, 12, jz, qv, vzzz, r3, rx, ry, nx, ny)
    out[21] = jz * (-3.0 * sr * rx + (4.0 * sr - r3) * rx * nx * nx)
    out[22] = jz * (-sr * ry + (4.0 * sr - r3) * ry * nx * nx)
    out[23] = out[12]
