"""The solver's field and curvature kernels for a spherical tip, callable from the tests.

Called from Python, ``K.field_magnitude(0, ...)`` types the shape id as a run-time int64,
so numba compiles every tip shape's code into it (and into each curvature kernel that
passes the id on): about 20 s of CPU on a cold cache, for tests that only use a sphere.
These wrappers pass ``SPHERE`` as a compile-time constant, as the solver's own
specializations do, so only the sphere's code is compiled. They call the same kernels
with the same arguments: the numbers are the kernels' own.
"""

from __future__ import annotations

from numba import njit

from mrfm.physics.magnet_kernels import SPHERE
from mrfm.solver import box_bounds as BB
from mrfm.solver import curvature as CV
from mrfm.solver import kernels as K


@njit(cache=True)
def field_magnitude(mparams, pol, rx, ry, rz, order, pp, out):
    """:func:`mrfm.solver.kernels.field_magnitude` for a sphere."""
    return K.field_magnitude(SPHERE, mparams, pol, rx, ry, rz, order, pp, out)


@njit(cache=True)
def trajectory_average(mparams, pol, rx, ry, rz, pp, out):
    """:func:`mrfm.solver.curvature.trajectory_average` for a sphere."""
    return CV.trajectory_average(SPHERE, mparams, pol, rx, ry, rz, pp, out)


@njit(cache=True)
def trajectory_curvature(mparams, pol, rx, ry, rz, pp, out):
    """:func:`mrfm.solver.curvature.trajectory_curvature` for a sphere."""
    return CV.trajectory_curvature(SPHERE, mparams, pol, rx, ry, rz, pp, out)


@njit(cache=True)
def small_amplitude_curvature(mparams, pol, rx, ry, rz, g2, pp, out):
    """:func:`mrfm.solver.curvature.small_amplitude_curvature` for a sphere."""
    return CV.small_amplitude_curvature(SPHERE, mparams, pol, rx, ry, rz, g2, pp, out)


@njit(cache=True)
def curvature_excess(mparams, pol, cx, cy, cz, sx, sy, sz, b, pp, out, limit):
    """:func:`mrfm.solver.box_bounds.curvature_excess` for a sphere."""
    return BB.curvature_excess(SPHERE, mparams, pol, cx, cy, cz, sx, sy, sz, b, pp, out, limit)


@njit(cache=True)
def curvature_bound(mparams, pol, cx, cy, cz, sx, sy, sz, b, pp):
    """:func:`mrfm.solver.box_bounds.curvature_bound` for a sphere."""
    return BB.curvature_bound(SPHERE, mparams, pol, cx, cy, cz, sx, sy, sz, b, pp)


@njit(cache=True)
def clear_of_slice_edges(mparams, pol, cx, cy, cz, sx, sy, sz, b, s0, gx, gy, gz, half, pp):
    """:func:`mrfm.solver.box_bounds.clear_of_slice_edges` for a sphere."""
    return BB.clear_of_slice_edges(SPHERE, mparams, pol, cx, cy, cz, sx, sy, sz, b, s0, gx, gy,
                                   gz, half, pp)
