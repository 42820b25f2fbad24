"""Numba kernel: field, gradient and second derivatives of a uniformly magnetized sphere.

Outside a uniformly magnetized sphere the field is exactly that of a point dipole
m = J V / mu0 at its centre; inside it is uniform, B = 2/3 J (Jackson, Classical
Electrodynamics, 3rd ed., Sec. 5.10). With k = R^3 / 3, so that mu0 m / (4 pi) = k J:

    B_i       = k [3 (J.r) x_i / r^5 - J_i / r^3]
    dB_i/dx_j = k [3 (J_i x_j + J_j x_i + (J.r) d_ij) / r^5 - 15 (J.r) x_i x_j / r^7]
    d2B_i/dx_j dx_l = k [3 (J_i d_jl + J_j d_il + J_l d_ij) / r^5
                         - 15 (J_i x_j x_l + J_j x_i x_l + J_l x_i x_j
                               + (J.r)(d_ij x_l + d_il x_j + d_jl x_i)) / r^7
                         + 105 (J.r) x_i x_j x_l / r^9]

(the last is fully symmetric because B = -mu0 grad(phi) outside). Inside, the gradient and
all second derivatives vanish. On the surface r = R the outside value is returned.

:func:`sphere_point` fills the magnet kernels' output buffer; :func:`sphere_magnitude` is
its fast special case for the solver's hot loops (|B| and grad|B| with the applied field,
in registers). Both take B and dB/dx from the same coefficients (:func:`_dipole_terms`).
"""

from __future__ import annotations

import math

from numba import njit

from mrfm.jit import scalar_kernel


@njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def _third(aa, cc, dd, jr, ji, jj, jm, xi, xj, xm, dij, dim, djm):
    """d2B_i / dx_j dx_m of the dipole; aa = 3k/r^5, cc = 15k/r^7, dd = 105k(J.r)/r^9."""
    return (aa * (ji * djm + jj * dim + jm * dij)
            - cc * (ji * xj * xm + jj * xi * xm + jm * xi * xj
                    + jr * (dij * xm + dim * xj + djm * xi))
            + dd * xi * xj * xm)


@njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def _store_off_diagonal(out, at, xy, xz, yz):
    """Off-diagonal entries of a symmetric 3 x 3 matrix stored row-major at ``out[at:at + 9]``."""
    out[at + 1] = xy
    out[at + 3] = xy
    out[at + 2] = xz
    out[at + 6] = xz
    out[at + 5] = yz
    out[at + 7] = yz


@njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def _dipole_terms(radius, jx, jy, jz, rx, ry, rz):
    """Coefficients of the outside field at r (relative to the centre), k = R^3 / 3:

    B_i = f x_i - g J_i,  f = 3 k (J.r) / r^5,  g = k / r^3;
    dB_i/dx_j = a (J_i x_j + J_j x_i) - c x_i x_j + d d_ij,
    a = 3 k / r^5,  c = 15 k (J.r) / r^7,  d = a (J.r).

    Returns ``(f, g, a, c, d, jr)``.
    """
    k = radius * radius * radius / 3.0
    ir2 = 1.0 / (rx * rx + ry * ry + rz * rz)
    ir = math.sqrt(ir2)
    ir3 = ir * ir2
    ir5 = ir3 * ir2
    jr = jx * rx + jy * ry + jz * rz
    f = 3.0 * k * jr * ir5
    g = k * ir3
    a = 3.0 * k * ir5
    c = 5.0 * f * ir2  # 15 k (J.r) / r^7
    return f, g, a, c, a * jr, jr


@njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def _gradient_diagonal(a, c, d, ji, xi):
    """dB_i/dx_i of the dipole from the coefficients of :func:`_dipole_terms`."""
    return a * 2.0 * ji * xi + d - c * xi * xi


@njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def _gradient_off_diagonal(a, c, ji, jj, xi, xj):
    """dB_i/dx_j (i != j) of the dipole from the coefficients of :func:`_dipole_terms`."""
    return a * (ji * xj + jj * xi) - c * xi * xj


@njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def dipole_strength(radius, jx, jy, jz):
    """k |J| = R^3 |J| / 3 (T m^3): the scale of the outside field's derivative bounds
    (``|d^n B_z/dx^n| <= (n + 2)! k |J| / r^(n+3)``, :func:`sphere_bz_xxxx`)."""
    return radius * radius * radius / 3.0 * math.sqrt(jx * jx + jy * jy + jz * jz)


@njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def _third_coefficients(a, c, ir2):
    """(aa, cc, dd) of :func:`_third` from :func:`_dipole_terms`' a and c, ir2 = 1 / r^2:
    (3 k / r^5, 15 k / r^7, 105 k (J.r) / r^9)."""
    return a, 5.0 * a * ir2, 7.0 * c * ir2


@njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def _bz_axis_seconds(aa, cc, dd, jr, jx, jy, jz, rx, ry, rz):
    """(d2B_z/dx2, d2B_z/dy2, d2B_z/dz2) of the dipole from the coefficients of
    :func:`_third`."""
    return (_third(aa, cc, dd, jr, jz, jx, jx, rz, rx, rx, 0.0, 0.0, 1.0),
            _third(aa, cc, dd, jr, jz, jy, jy, rz, ry, ry, 0.0, 0.0, 1.0),
            _third(aa, cc, dd, jr, jz, jz, jz, rz, rz, rz, 1.0, 1.0, 1.0))


@scalar_kernel(error_model="numpy")
def sphere_point(params, pol, rx, ry, rz, order, out):
    """Fill ``out`` (see :func:`mrfm.physics.magnet_kernels.magnet_point`) for a sphere.

    Parameters
    ----------
    params : float64 (3,)
        (R, 0, 0): radius in m.
    pol : float64 (3,)
        Polarization J, T.
    rx, ry, rz : float
        Observer position relative to the sphere's centre, m.
    order : int
        0, 1 or 2.
    out : float64 (24,)
        Output buffer.
    """
    radius = params[0]
    r2 = rx * rx + ry * ry + rz * rz
    if r2 < radius * radius:
        for i in range(3):
            out[i] = 2.0 / 3.0 * pol[i]
        if order >= 1:
            for i in range(3, 12):
                out[i] = 0.0
        if order >= 2:
            for i in range(12, 24):
                out[i] = 0.0
        return
    jx = pol[0]
    jy = pol[1]
    jz = pol[2]
    f, g, a, c, d, jr = _dipole_terms(radius, jx, jy, jz, rx, ry, rz)
    out[0] = f * rx - g * jx
    out[1] = f * ry - g * jy
    out[2] = f * rz - g * jz
    if order < 1:
        return
    out[3] = _gradient_diagonal(a, c, d, jx, rx)
    out[7] = _gradient_diagonal(a, c, d, jy, ry)
    out[11] = _gradient_diagonal(a, c, d, jz, rz)
    gxy = _gradient_off_diagonal(a, c, jx, jy, rx, ry)
    gxz = _gradient_off_diagonal(a, c, jx, jz, rx, rz)
    gyz = _gradient_off_diagonal(a, c, jy, jz, ry, rz)
    _store_off_diagonal(out, 3, gxy, gxz, gyz)
    if order < 2:
        return
    aa, cc, dd = _third_coefficients(a, c, 1.0 / r2)
    hxx, hyy, hzz = _bz_axis_seconds(aa, cc, dd, jr, jx, jy, jz, rx, ry, rz)
    hxy = _third(aa, cc, dd, jr, jz, jx, jy, rz, rx, ry, 0.0, 0.0, 0.0)
    hxz = _third(aa, cc, dd, jr, jz, jx, jz, rz, rx, rz, 0.0, 1.0, 0.0)
    hyz = _third(aa, cc, dd, jr, jz, jy, jz, rz, ry, rz, 0.0, 1.0, 0.0)
    out[12] = hxx
    out[16] = hyy
    out[20] = hzz
    _store_off_diagonal(out, 12, hxy, hxz, hyz)
    out[21] = _third(aa, cc, dd, jr, jx, jx, jx, rx, rx, rx, 1.0, 1.0, 1.0)
    out[22] = _third(aa, cc, dd, jr, jy, jx, jx, ry, rx, rx, 0.0, 0.0, 1.0)
    out[23] = hxx


@njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def sphere_magnitude(params, pol, rx, ry, rz, order, b0, high):
    """|B| and grad|B| of ``B0 z + B_sphere`` at one point, without a scratch buffer.

    The fast special case of :func:`sphere_point` for the solver's hot loops (everything
    stays in registers; tested against :func:`sphere_point`).

    Parameters
    ----------
    params, pol, rx, ry, rz
        As :func:`sphere_point`.
    order : int
        0: |B| only; 1: also grad|B|; 2: also d2|B|/dx2.
    b0 : float
        Applied field along +z, T.
    high : bool
        High-field approximation: |B| ~ B0 + B_z, grad|B| ~ grad B_z and
        d2|B|/dx2 ~ d2B_z/dx2.

    Returns
    -------
    (b, gx, gy, gz, d2) : tuple of float
        T, T/m and T/m^2; entries above ``order`` are 0 (all derivatives are 0 inside
        the sphere). ``d2 = (|dB/dx|^2 + B . d2B/dx2) / |B| - (d|B|/dx)^2 / |B|``.
    """
    return magnitude_terms(params[0], pol[0], pol[1], pol[2], rx, ry, rz, order, b0, high)


@njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def magnitude_terms(radius, jx, jy, jz, rx, ry, rz, order, b0, high):
    """:func:`sphere_magnitude` with the radius (m) and the polarization (T) as numbers: a
    vectorized loop over voxels keeps them in registers (read from arrays inside the loop,
    they are read again at every voxel, since the loop's stores might change them)."""
    r2 = rx * rx + ry * ry + rz * rz
    if r2 < radius * radius:
        bx = 2.0 / 3.0 * jx
        by = 2.0 / 3.0 * jy
        bz = 2.0 / 3.0 * jz + b0
        if high:
            return bz, 0.0, 0.0, 0.0, 0.0
        return math.sqrt(bx * bx + by * by + bz * bz), 0.0, 0.0, 0.0, 0.0
    f, g, a, c, d, jr = _dipole_terms(radius, jx, jy, jz, rx, ry, rz)
    bz = f * rz - g * jz + b0
    if high and order < 1:
        return bz, 0.0, 0.0, 0.0, 0.0
    gxz = _gradient_off_diagonal(a, c, jx, jz, rx, rz)
    gyz = _gradient_off_diagonal(a, c, jy, jz, ry, rz)
    gzz = _gradient_diagonal(a, c, d, jz, rz)
    d2 = 0.0
    if order >= 2:
        ir2 = 1.0 / r2
        cc = 5.0 * a * ir2  # 15 k / r^7
        dd = 7.0 * c * ir2  # 105 k (J.r) / r^9
        # d2B_z/dx2 (the Hessian entry hxx of sphere_point)
        d2z = _third(a, cc, dd, jr, jz, jx, jx, rz, rx, rx, 0.0, 0.0, 1.0)
    if high:
        # dBz/dx_j = G[2, j] = G[j, 2] (curl-free field: G symmetric)
        if order >= 2:
            d2 = d2z
        return bz, gxz, gyz, gzz, d2
    bx = f * rx - g * jx
    by = f * ry - g * jy
    b = math.sqrt(bx * bx + by * by + bz * bz)
    if order < 1:
        return b, 0.0, 0.0, 0.0, 0.0
    if b <= 0.0:
        return b, 0.0, 0.0, 0.0, 0.0
    gxx = _gradient_diagonal(a, c, d, jx, rx)
    gyy = _gradient_diagonal(a, c, d, jy, ry)
    gxy = _gradient_off_diagonal(a, c, jx, jy, rx, ry)
    dbx = (bx * gxx + by * gxy + bz * gxz) / b
    if order >= 2:
        # dB/dx = (G[0, 0], G[1, 0], G[2, 0]) = (gxx, gxy, gxz)
        d2x = _third(a, cc, dd, jr, jx, jx, jx, rx, rx, rx, 1.0, 1.0, 1.0)
        d2y = _third(a, cc, dd, jr, jy, jx, jx, ry, rx, rx, 0.0, 0.0, 1.0)
        dsq = gxx * gxx + gxy * gxy + gxz * gxz
        d2 = (dsq + bx * d2x + by * d2y + bz * d2z) / b - dbx * dbx / b
    return (b, dbx, (bx * gxy + by * gyy + bz * gyz) / b,
            (bx * gxz + by * gyz + bz * gzz) / b, d2)


@njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def sphere_bz_xxxx(params, pol, rx, ry, rz):
    """d4B_z/dx4 of the sphere's field at one point outside it, T/m^4.

    Along a line of constant (y, z), with w = x^2 + y^2 + z^2 and u = x^2 / w,
    ``B_z = k [3 z (J.r) w^(-5/2) - J_z w^(-3/2)]`` (k = R^3 / 3) differentiates to::

        d4B_z/dx4 = k w^(-7/2) [3 z w^(-1) (J_x x (525 - 3150 u + 3465 u^2)
                                             + (J_y y + J_z z)(105 - 1890 u + 3465 u^2))
                                 - J_z (45 - 630 u + 945 u^2)]

    (from ``d4/dx4 w^-p = 4 p (p+1) w^(-p-2) [3 - 12 (p+2) u + 4 (p+2)(p+3) u^2]`` and
    ``d4/dx4 (x w^-p) = x d4/dx4 w^-p + 4 d3/dx3 w^-p``). For its size, as for every
    derivative of the dipole field: ``B_z = k d/dz (J . grad)(1/r)``, and the n-th
    directional derivatives of 1/r are ``n! P_n(cos) / r^(n+1)`` (the Legendre generating
    function), so by Banach's theorem on symmetric multilinear forms
    ``|d^n B_z/dx^n| <= (n + 2)! k |J| / r^(n+3)``. Inside the sphere the value is 0.
    """
    return bz_xxxx_terms(params[0], pol[0], pol[1], pol[2], rx, ry, rz)


@njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def bz_xxxx_terms(radius, jx, jy, jz, rx, ry, rz):
    """:func:`sphere_bz_xxxx` with the radius and the polarization as numbers (see
    :func:`magnitude_terms`)."""
    w = rx * rx + ry * ry + rz * rz
    if w < radius * radius:
        return 0.0
    k = radius * radius * radius / 3.0
    ir2 = 1.0 / w
    ir = math.sqrt(ir2)
    ir7 = ir * ir2 * ir2 * ir2
    u = rx * rx * ir2
    odd = jx * rx * (525.0 - 3150.0 * u + 3465.0 * u * u)
    even = (jy * ry + jz * rz) * (105.0 - 1890.0 * u + 3465.0 * u * u)
    return k * ir7 * (3.0 * rz * ir2 * (odd + even) - jz * (45.0 - 630.0 * u + 945.0 * u * u))


@njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def sphere_bz_axis_seconds(params, pol, rx, ry, rz):
    """(d2B_z/dx2, d2B_z/dy2, d2B_z/dz2) of the sphere's field at one point, T/m^2 (the
    diagonal of the Hessian of B_z that :func:`sphere_point` stores; 0 inside the sphere),
    for bounds that need only the axis curvatures of B_z
    (:func:`mrfm.solver.box_bounds.curvature_bound`)."""
    radius = params[0]
    r2 = rx * rx + ry * ry + rz * rz
    if r2 < radius * radius:
        return 0.0, 0.0, 0.0
    jx = pol[0]
    jy = pol[1]
    jz = pol[2]
    f, g, a, c, d, jr = _dipole_terms(radius, jx, jy, jz, rx, ry, rz)
    aa, cc, dd = _third_coefficients(a, c, 1.0 / r2)
    return _bz_axis_seconds(aa, cc, dd, jr, jx, jy, jz, rx, ry, rz)
