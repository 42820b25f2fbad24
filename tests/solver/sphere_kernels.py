"""The solver's field and curvature kernels for a spherical tip, callable from the tests.

Called from Python, ``K.field_magnitude(0, ...)`` types the shape id as a run-time int64,
so numba compiles every tip shape's code into it (and into each curvature kernel that
passes the id on): about 20 s of CPU on a cold cache, for tests that only use a sphere.
These wrappers pass ``SPHERE`` as a compile-time constant, as the solver's own
specializations do, so only the sphere's code is compiled. They call the same kernels
with the same arguments: the numbers are the kernels' own.

:func:`protocol_kernels` does the same for the per-voxel and per-block kernels that also
take a protocol family (``kid``): one set per family, shared by the test modules and
cached on disk (:func:`mrfm.jit.compile_closure`), so each is compiled once per cold
cache, not once per test module and run.

:func:`frozen` gives a test's polarization the solver's array type (read-only).
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np
from numba import njit

from mrfm.jit import compile_closure
from mrfm.physics.magnet_kernels import SPHERE
from mrfm.solver import box_bounds as BB
from mrfm.solver import cubature as C
from mrfm.solver import curvature as CV
from mrfm.solver import direct
from mrfm.solver import kernels as K
from mrfm.solver import sheet as SH
from mrfm.solver import slice as S


def frozen(values) -> np.ndarray:
    """A read-only float64 copy of ``values``, for a polarization passed to the kernels.

    The solver passes the magnet's polarization read-only (the magnet dataclasses freeze
    their arrays), and numba types read-only and writable arrays apart: a writable one
    compiles a second version of every kernel it reaches. Measured on a cold cache, the
    tests' writable polarizations cost 17 CPU-seconds of such duplicates (the curvature
    and bound kernels, the three tip shapes' field kernels).
    """
    out = np.array(values, dtype=float)
    out.flags.writeable = False
    return out


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


@njit(cache=True)
def voxel_is_silent(s, gx, gy, gz, c, rx, ry, rz, ax, ay, az, pp):
    """:func:`mrfm.solver.box_bounds.voxel_is_silent` (no protocol or shape argument)."""
    return BB.voxel_is_silent(s, gx, gy, gz, c, rx, ry, rz, ax, ay, az, pp)


@functools.cache
def protocol_kernels(kid: int) -> SimpleNamespace:
    """The solver's per-voxel and per-block kernels for protocol family ``kid`` and a
    sphere, both compile-time constants as the solver passes them (with ``kid`` given at
    run time numba would compile every protocol's code into each). Attributes, named as
    the kernels they call: ``cubature_ok`` (direct._cubature_ok), ``block_rules``,
    ``block_sum``, ``voxel_value``, ``inside_leaf_value``, ``slice_leaf_value``,
    ``leaf_screen``, ``box_is_silent`` and ``sheet_correction``; arguments after
    ``shape_id``. Each compiles on its first call."""

    def cubature_ok(mp, pol, cx, cy, cz, hx, hy, hz, voxel, pp, out):
        return direct._cubature_ok(kid, SPHERE, mp, pol, cx, cy, cz, hx, hy, hz, voxel, pp, out)

    def block_rules(mp, pol, cx, cy, cz, la, lb, lc, ax, ay, az, pp, out, cr):
        return C.block_rules(kid, SPHERE, mp, pol, cx, cy, cz, la, lb, lc, ax, ay, az, pp,
                             out, cr)

    def block_sum(mp, pol, cx, cy, cz, la, lb, lc, ax, ay, az, pp, out, cr, tol):
        return C.block_sum(kid, SPHERE, mp, pol, cx, cy, cz, la, lb, lc, ax, ay, az, pp, out,
                           cr, tol)

    def voxel_value(mp, pol, x, y, z, ax, ay, az, pp, out, cr, st):
        return S.voxel_value(kid, SPHERE, mp, pol, x, y, z, ax, ay, az, pp, out, cr, st)

    def inside_leaf_value(mp, pol, x, y, z, ax, ay, az, pp, out, cr):
        return S.inside_leaf_value(kid, SPHERE, mp, pol, x, y, z, ax, ay, az, pp, out, cr)

    def slice_leaf_value(mp, pol, x, y, z, ax, ay, az, pp, out, cr):
        return S.slice_leaf_value(kid, SPHERE, mp, pol, x, y, z, ax, ay, az, pp, out, cr)

    def leaf_screen(mp, pol, cx, cy, cz, hx, hy, hz, pp, out):
        return BB.leaf_screen(kid, SPHERE, mp, pol, cx, cy, cz, hx, hy, hz, pp, out)

    def box_is_silent(mp, pol, cx, cy, cz, hx, hy, hz, ax, ay, az, pp, out):
        return BB.box_is_silent(kid, SPHERE, mp, pol, cx, cy, cz, hx, hy, hz, ax, ay, az, pp,
                                out)

    def sheet_correction(mp, pol, cx, cy, cz, hx, hy, hz, la, lb, lc, ax, ay, az, pp, ppi, out,
                         cr):
        return SH.sheet_correction(kid, SPHERE, mp, pol, cx, cy, cz, hx, hy, hz, la, lb, lc,
                                   ax, ay, az, pp, ppi, out, cr)

    fns = (cubature_ok, block_rules, block_sum, voxel_value, inside_leaf_value,
           slice_leaf_value, leaf_screen, box_is_silent, sheet_correction)
    return SimpleNamespace(**{f.__name__: compile_closure(f, f"kid{kid}") for f in fns})
