"""Analytic tip magnets: uniformly magnetized sphere, cuboid and axially magnetized cylinder.

Three layers, as in magpylib: the numba kernels (:mod:`mrfm.physics.magnet_kernels`, one
point or a parallel batch, used directly by the solver), the batch wrapper
:func:`magnet_field_quantities` (any batch shape, absolute positions), and the frozen
dataclasses below that hold the geometry and call the same kernel.

All quantities are SI: lengths in m, polarization J = mu0 M in T, B in T, gradients in T/m,
second derivatives in T/m^2. Every magnet is axis-aligned; ``center`` is its centre in m.

Examples
--------
>>> import numpy as np
>>> tip = SphereMagnet(radius=100e-9, polarization=1.0)
>>> round(float(tip.field([0.0, 0.0, 200e-9])[2]), 6)   # 2/3 J (R/z)^3 on the axis
0.083333
>>> tip.gradient(np.zeros((4, 7, 3))).shape
(4, 7, 3, 3)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from numpy.typing import ArrayLike, NDArray
from scipy.constants import mu_0

from mrfm.jit import compile_closure
from mrfm.physics.magnet_kernels import CUBOID, CYLINDER, OUT_LEN, SPHERE, magnet_point

__all__ = ["CuboidMagnet", "CylinderMagnet", "SphereMagnet", "magnet_field_quantities"]

_CHUNK = 512


@njit(cache=True, fastmath=False, parallel=True, error_model="numpy")
def _evaluate(shape_id, params, pol, points, center, order, res):
    """Fill ``res`` (n, ncols) with the first ncols kernel outputs at ``points`` (n, 3), m.

    The output is allocated by the caller with numpy, whose large allocations are advised onto
    transparent huge pages: the page faults of a freshly allocated (n, 12) array otherwise
    cost more than the field itself. ``center`` is subtracted here, point by point, so no
    temporary array of relative positions is written either.
    """
    n = points.shape[0]
    ncols = res.shape[1]
    cx = center[0]
    cy = center[1]
    cz = center[2]
    nchunks = (n + _CHUNK - 1) // _CHUNK
    for c in prange(nchunks):
        buf = np.zeros(OUT_LEN)
        stop = min(n, (c + 1) * _CHUNK)
        for i in range(c * _CHUNK, stop):
            magnet_point(shape_id, params, pol, points[i, 0] - cx, points[i, 1] - cy,
                         points[i, 2] - cz, order, buf)
            for k in range(ncols):
                res[i, k] = buf[k]


@functools.cache
def _evaluate_for(shape_id: int):
    """:func:`_evaluate` compiled for one shape (a closure constant is a literal to numba,
    so only that shape's kernel is compiled); takes the arguments after ``shape_id``.
    Each shape's version has a name of its own (:func:`mrfm.jit.compile_closure`).
    """
    shape_c = int(shape_id)

    def evaluate(params, pol, points, center, order, res):
        _evaluate(shape_c, params, pol, points, center, order, res)

    return compile_closure(evaluate, f"shape{shape_c}", error_model="numpy")


def magnet_field_quantities(
    shape_id: int,
    params: ArrayLike,
    polarization: ArrayLike,
    points: ArrayLike,
    *,
    center: ArrayLike = (0.0, 0.0, 0.0),
    order: int = 0,
) -> NDArray[np.float64]:
    """Kernel output for a batch of absolute positions of any batch shape.

    Parameters
    ----------
    shape_id : int
        0 sphere, 1 cuboid, 2 cylinder.
    params : array_like (3,)
        Shape parameters, m (sphere (R, 0, 0); cuboid (a, b, c); cylinder (diameter, height, 0)).
    polarization : array_like (3,)
        J, T.
    points : array_like (..., 3)
        Observer positions, m.
    center : array_like (3,)
        Magnet centre, m.
    order : int
        0 (B), 1 (+ gradient) or 2 (+ Hessian of B_z and d2B/dx^2).

    Returns
    -------
    ndarray (..., 3), (..., 12) or (..., 24)
        Columns as in :func:`mrfm.physics.magnet_kernels.magnet_point`.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim == 0 or pts.shape[-1] != 3:
        raise ValueError(f"points must have shape (..., 3); got {pts.shape}")
    if order not in (0, 1, 2):
        raise ValueError(f"order must be 0, 1 or 2; got {order!r}")
    batch = pts.shape[:-1]
    flat = np.ascontiguousarray(pts.reshape(-1, 3))
    ncols = (3, 12, OUT_LEN)[order]
    out = np.empty((flat.shape[0], ncols))
    _evaluate_for(int(shape_id))(np.ascontiguousarray(params, dtype=np.float64),
              np.ascontiguousarray(polarization, dtype=np.float64), flat,
              np.ascontiguousarray(center, dtype=np.float64), order, out)
    return out.reshape(*batch, ncols)


def _vector3(value: ArrayLike, what: str) -> NDArray[np.float64]:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape == ():
        arr = np.array([0.0, 0.0, float(arr)])
    if arr.shape != (3,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be a finite scalar or 3-vector; got {value!r}")
    arr = arr.copy()
    arr.flags.writeable = False
    return arr


def _length(value: float, what: str) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > 0.0):
        raise ValueError(f"{what} must be a positive length in m; got {value!r}")
    return v


def _point3(value: ArrayLike, what: str) -> NDArray[np.float64]:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (3,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be a finite 3-vector in m; got {value!r}")
    arr = arr.copy()
    arr.flags.writeable = False
    return arr


class _FieldMethods:
    """Field, gradient and second derivatives shared by the three magnet classes."""

    shape_id: int
    params: NDArray[np.float64]
    polarization: NDArray[np.float64]
    center: NDArray[np.float64]
    volume: float

    def _quantities(self, points: ArrayLike, order: int) -> NDArray[np.float64]:
        return magnet_field_quantities(self.shape_id, self.params, self.polarization, points,
                                       center=self.center, order=order)

    def field(self, points: ArrayLike) -> NDArray[np.float64]:
        """Magnetic field B at ``points`` (..., 3), m -> (..., 3), T (inside and outside)."""
        return self._quantities(points, 0)

    def gradient(self, points: ArrayLike) -> NDArray[np.float64]:
        """Field gradient G[..., i, j] = dB_i/dx_j at ``points`` (..., 3) -> (..., 3, 3), T/m."""
        return self.field_and_gradient(points)[1]

    def field_and_gradient(self, points: ArrayLike
                           ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(B (..., 3) in T, G (..., 3, 3) in T/m) at ``points`` (..., 3), m, from one kernel
        pass (:meth:`field` and :meth:`gradient` together cost one)."""
        q = self._quantities(points, 1)
        return q[..., :3], q[..., 3:12].reshape(*q.shape[:-1], 3, 3)

    def bz_hessian(self, points: ArrayLike) -> NDArray[np.float64]:
        """Hessian d2B_z/dx_j dx_k at ``points`` (..., 3) -> (..., 3, 3), T/m^2."""
        q = self._quantities(points, 2)
        return q[..., 12:21].reshape(*q.shape[:-1], 3, 3)

    def d2b_dx2(self, points: ArrayLike) -> NDArray[np.float64]:
        """(d2B_x/dx^2, d2B_y/dx^2, d2B_z/dx^2) at ``points`` (..., 3) -> (..., 3), T/m^2."""
        return self._quantities(points, 2)[..., 21:24]

    @property
    def moment(self) -> NDArray[np.float64]:
        """Total magnetic moment m = J V / mu0, J/T, (3,)."""
        return self.polarization * self.volume / mu_0

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return (np.array_equal(self.params, other.params)
                and np.array_equal(self.polarization, other.polarization)
                and np.array_equal(self.center, other.center))

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.params.tobytes(), self.polarization.tobytes(),
                     self.center.tobytes()))


@dataclass(frozen=True, eq=False)
class SphereMagnet(_FieldMethods):
    """Uniformly magnetized sphere.

    Outside it is exactly a point dipole m = J V / mu0 at its centre; inside B = 2/3 J with
    zero gradient (Jackson, Classical Electrodynamics, 3rd ed., Sec. 5.10).

    Parameters
    ----------
    radius : float
        Radius R, m.
    polarization : float or array_like (3,)
        J = mu0 M, T; a scalar means along +z; any direction allowed.
    center : array_like (3,)
        Centre, m.
    """

    radius: float
    polarization: NDArray[np.float64]
    center: NDArray[np.float64] = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "radius", _length(self.radius, "SphereMagnet radius"))
        object.__setattr__(self, "polarization",
                           _vector3(self.polarization, "SphereMagnet polarization"))
        object.__setattr__(self, "center", _point3(self.center, "SphereMagnet center"))

    @property
    def shape_id(self) -> int:
        """Kernel shape code (0)."""
        return SPHERE

    @property
    def params(self) -> NDArray[np.float64]:
        """Kernel parameters (R, 0, 0), m."""
        return np.array([self.radius, 0.0, 0.0])

    @property
    def half_height(self) -> float:
        """Distance from the centre to the lowest point, m (R)."""
        return self.radius

    @property
    def volume(self) -> float:
        """4/3 pi R^3, m^3."""
        return 4.0 / 3.0 * math.pi * self.radius**3

    def __str__(self) -> str:
        return (f"SphereMagnet(radius={self.radius * 1e9:.4g} nm, "
                f"J={tuple(float(v) for v in self.polarization)} T)")


@dataclass(frozen=True, eq=False)
class CuboidMagnet(_FieldMethods):
    """Uniformly magnetized rectangular prism with edges (a, b, c) along x, y, z.

    Closed-form charge-sheet field (arctan + log) of Engel-Herbert & Hesjedal, J. Appl. Phys.
    97, 074504 (2005), with hand-derived analytic gradient and second derivatives; details and
    the singular set (edges of the charged faces, corners) in :mod:`mrfm.physics._cuboid`.

    Parameters
    ----------
    dimension : array_like (3,)
        Edge lengths (a, b, c), m.
    polarization : float or array_like (3,)
        J = mu0 M, T; a scalar means along +z; any direction allowed.
    center : array_like (3,)
        Centre, m.
    """

    dimension: NDArray[np.float64]
    polarization: NDArray[np.float64]
    center: NDArray[np.float64] = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        dim = np.asarray(self.dimension, dtype=np.float64)
        if dim.shape != (3,):
            raise ValueError(
                f"CuboidMagnet dimension must be (a, b, c) in m; got {self.dimension!r}"
            )
        dim = np.array([_length(v, "CuboidMagnet dimension entry") for v in dim])
        dim.flags.writeable = False
        object.__setattr__(self, "dimension", dim)
        object.__setattr__(self, "polarization",
                           _vector3(self.polarization, "CuboidMagnet polarization"))
        object.__setattr__(self, "center", _point3(self.center, "CuboidMagnet center"))

    @property
    def shape_id(self) -> int:
        """Kernel shape code (1)."""
        return CUBOID

    @property
    def params(self) -> NDArray[np.float64]:
        """Kernel parameters (a, b, c), m."""
        return np.array(self.dimension)

    @property
    def half_height(self) -> float:
        """Distance from the centre to the lowest face, m (c/2)."""
        return 0.5 * float(self.dimension[2])

    @property
    def volume(self) -> float:
        """a b c, m^3."""
        return float(np.prod(self.dimension))

    def __str__(self) -> str:
        dims = ", ".join(f"{v * 1e9:.4g}" for v in self.dimension)
        return (f"CuboidMagnet(dimension=({dims}) nm, "
                f"J={tuple(float(v) for v in self.polarization)} T)")


@dataclass(frozen=True, eq=False)
class CylinderMagnet(_FieldMethods):
    """Axially magnetized circular cylinder, axis along z.

    Field from Derby & Olbert, Am. J. Phys. 78, 229 (2010) (Bulirsch's cel); gradient and
    second derivatives analytic (current-loop closed forms and an exact axial series near the
    axis); details in :mod:`mrfm.physics._cylinder`.

    Parameters
    ----------
    diameter : float
        Diameter, m.
    height : float
        Length along z, m.
    polarization : float or array_like (3,)
        J = mu0 M, T; a scalar means along +z. Only axial polarization is modelled: a
        3-vector with a transverse (x or y) component raises ``ValueError``.
    center : array_like (3,)
        Centre, m.
    """

    diameter: float
    height: float
    polarization: NDArray[np.float64]
    center: NDArray[np.float64] = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "diameter", _length(self.diameter, "CylinderMagnet diameter"))
        object.__setattr__(self, "height", _length(self.height, "CylinderMagnet height"))
        pol = _vector3(self.polarization, "CylinderMagnet polarization")
        if pol[0] != 0.0 or pol[1] != 0.0:
            raise ValueError(
                "CylinderMagnet polarization must be axial (along z): got transverse component "
                f"({pol[0]:g}, {pol[1]:g}) T; give a scalar or (0, 0, Jz), or use a "
                "CuboidMagnet/SphereMagnet for a tilted magnetization"
            )
        object.__setattr__(self, "polarization", pol)
        object.__setattr__(self, "center", _point3(self.center, "CylinderMagnet center"))

    @property
    def shape_id(self) -> int:
        """Kernel shape code (2)."""
        return CYLINDER

    @property
    def params(self) -> NDArray[np.float64]:
        """Kernel parameters (diameter, height, 0), m."""
        return np.array([self.diameter, self.height, 0.0])

    @property
    def half_height(self) -> float:
        """Distance from the centre to the lower end face, m (height/2)."""
        return 0.5 * self.height

    @property
    def volume(self) -> float:
        """pi (d/2)^2 h, m^3."""
        return math.pi * 0.25 * self.diameter**2 * self.height

    def __str__(self) -> str:
        return (f"CylinderMagnet(diameter={self.diameter * 1e9:.4g} nm, "
                f"height={self.height * 1e9:.4g} nm, J={float(self.polarization[2]):g} T along z)")
