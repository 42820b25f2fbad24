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
"""

from __future__ import annotations

import math

from numba import njit


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


@njit(cache=True, fastmath=False, error_model="numpy")
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
    k = radius * radius * radius / 3.0
    ir2 = 1.0 / r2
    ir = math.sqrt(ir2)
    ir3 = ir * ir2
    ir5 = ir3 * ir2
    jx = pol[0]
    jy = pol[1]
    jz = pol[2]
    jr = jx * rx + jy * ry + jz * rz
    f = 3.0 * k * jr * ir5
    g = k * ir3
    out[0] = f * rx - g * jx
    out[1] = f * ry - g * jy
    out[2] = f * rz - g * jz
    if order < 1:
        return
    a = 3.0 * k * ir5
    c = 5.0 * f * ir2  # 15 k (J.r) / r^7
    d = a * jr
    out[3] = a * 2.0 * jx * rx + d - c * rx * rx
    out[7] = a * 2.0 * jy * ry + d - c * ry * ry
    out[11] = a * 2.0 * jz * rz + d - c * rz * rz
    gxy = a * (jx * ry + jy * rx) - c * rx * ry
    gxz = a * (jx * rz + jz * rx) - c * rx * rz
    gyz = a * (jy * rz + jz * ry) - c * ry * rz
    _store_off_diagonal(out, 3, gxy, gxz, gyz)
    if order < 2:
        return
    aa = a
    cc = 15.0 * k * ir5 * ir2
    dd = 7.0 * c * ir2  # 105 k (J.r) / r^9
    hxx = _third(aa, cc, dd, jr, jz, jx, jx, rz, rx, rx, 0.0, 0.0, 1.0)
    hyy = _third(aa, cc, dd, jr, jz, jy, jy, rz, ry, ry, 0.0, 0.0, 1.0)
    hzz = _third(aa, cc, dd, jr, jz, jz, jz, rz, rz, rz, 1.0, 1.0, 1.0)
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
