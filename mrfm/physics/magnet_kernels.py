"""Numba kernels of the analytic tip-magnet models (the layer the solver calls directly).

``magnet_point`` evaluates one magnet at one point and can be called from other numba code
(inside the solver's own ``prange`` loops); ``magnet_points`` is its parallel batch form. Both
are pure functions of float64 arrays and scalars.

Output layout (``OUT_LEN = 24``) for a point r relative to the magnet's centre:

==========  ===============================================  ========
out[0:3]    B = (B_x, B_y, B_z)                              T
out[3:12]   G row-major, G[i, j] = dB_i / dx_j               T/m
out[12:21]  Hessian of B_z row-major, d2B_z / dx_j dx_k      T/m^2
out[21:24]  (d2B_x/dx^2, d2B_y/dx^2, d2B_z/dx^2)             T/m^2
==========  ===============================================  ========

``order`` 0 fills out[0:3], 1 also out[3:12], 2 also out[12:24]; entries above the requested
order are left untouched.

Shapes (``shape_id``, ``params``): 0 sphere (R, 0, 0); 1 cuboid (a, b, c) edge lengths along
x, y, z; 2 cylinder (diameter, height, 0), axis z, axial polarization only (pol[2]).
The physics and literature of each shape are in :mod:`mrfm.physics._sphere`,
:mod:`mrfm.physics._cuboid` and :mod:`mrfm.physics._cylinder`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from mrfm.jit import scalar_kernel
from mrfm.physics._cuboid import cuboid_point
from mrfm.physics._cylinder import cylinder_point
from mrfm.physics._sphere import sphere_point

OUT_LEN = 24
SPHERE = 0
CUBOID = 1
CYLINDER = 2

__all__ = [
    "CUBOID", "CYLINDER", "OUT_LEN", "SPHERE", "magnet_point", "magnet_points", "shape_point",
]

_SHAPE_POINTS = (sphere_point, cuboid_point, cylinder_point)


def shape_point(shape_id, params, pol, rx, ry, rz, order, out):
    """The kernel of shape ``shape_id`` at one point (arguments as :func:`magnet_point`).

    From Python this indexes the three kernels. Inside numba code it is resolved when the
    caller is compiled (the overload below): where ``shape_id`` is a compile-time literal
    (the solver's entry points request one with ``numba.literally``) only that shape's
    kernel is compiled into the caller, which cuts the first-run compilation several-fold;
    otherwise all three are, behind a run-time branch.
    """
    _SHAPE_POINTS[shape_id](params, pol, rx, ry, rz, order, out)


@overload(shape_point, prefer_literal=True, inline="always")
def _shape_point_numba(shape_id, params, pol, rx, ry, rz, order, out):
    if isinstance(shape_id, types.IntegerLiteral):
        kernel = _SHAPE_POINTS[shape_id.literal_value]

        def one_shape(shape_id, params, pol, rx, ry, rz, order, out):
            kernel(params, pol, rx, ry, rz, order, out)

        return one_shape

    def any_shape(shape_id, params, pol, rx, ry, rz, order, out):
        if shape_id == 0:
            sphere_point(params, pol, rx, ry, rz, order, out)
        elif shape_id == 1:
            cuboid_point(params, pol, rx, ry, rz, order, out)
        else:
            cylinder_point(params, pol, rx, ry, rz, order, out)

    return any_shape


@scalar_kernel(error_model="numpy")
def magnet_point(shape_id, params, pol, rx, ry, rz, order, out):
    """Field quantities of one magnet at one point.

    Parameters
    ----------
    shape_id : int
        0 sphere, 1 cuboid, 2 cylinder.
    params : float64 (3,)
        Shape parameters in m (see module docstring).
    pol : float64 (3,)
        Polarization J = mu0 M, T.
    rx, ry, rz : float
        Observer position RELATIVE TO THE MAGNET'S CENTRE, m.
    order : int
        0: B; 1: + gradient; 2: + Hessian of B_z and d2B/dx^2.
    out : float64 (24,)
        Written in place (layout in the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> out = np.zeros(OUT_LEN)
    >>> magnet_point(0, np.array([1e-7, 0.0, 0.0]), np.array([0.0, 0.0, 1.0]),
    ...              0.0, 0.0, 2e-7, 1, out)
    >>> round(float(out[2]), 6)  # on-axis dipole field 2/3 J (R/z)^3
    0.083333
    """
    shape_point(shape_id, params, pol, rx, ry, rz, order, out)


@njit(cache=True, fastmath=False, parallel=True, error_model="numpy")
def magnet_points(shape_id, params, pol, rel_points, order):
    """Batch form of :func:`magnet_point`, parallel over points.

    Parameters
    ----------
    shape_id : int
        0 sphere, 1 cuboid, 2 cylinder.
    params, pol : float64 (3,)
        Shape parameters (m) and polarization (T).
    rel_points : float64 (n, 3)
        Observer positions relative to the magnet's centre, m.
    order : int
        0, 1 or 2.

    Returns
    -------
    out : float64 (n, 24)
        Rows in the layout of :func:`magnet_point`; columns above ``order`` are zero.
    """
    n = rel_points.shape[0]
    out = np.zeros((n, OUT_LEN))
    for i in prange(n):
        magnet_point(shape_id, params, pol, rel_points[i, 0], rel_points[i, 1],
                     rel_points[i, 2], order, out[i])
    return out
