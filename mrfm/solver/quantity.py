"""The per-spin quantity of each protocol family, compiled for one family at a time.

:func:`point_quantity` evaluates a protocol's per-point quantity (the modules of
:mod:`mrfm.solver.protocols`); :func:`centre_value` the per-spin value at the centre of a
slice box from the field values the caller already has (CAI's d|B|/dx, CERMIT's
trajectory curvature from d2|B|/dx2). Both are resolved when their numba caller is
compiled: a compile-time literal protocol id (``kid``) compiles only that protocol's code,
any other ``kid`` all of them, as a function the caller calls (not inlined into it:
:data:`mrfm.jit.SCALAR_OVERLOAD`).
"""

from __future__ import annotations

from numba import types
from numba.extending import overload

from mrfm.jit import SCALAR_OVERLOAD, scalar_kernel
from mrfm.solver import curvature as CV
from mrfm.solver import kernels as K
from mrfm.solver.protocols import cai, cermit, force_gradient, oscar

_QUANTITIES = {K.CAI: cai.quantity, K.CERMIT: cermit.quantity, K.OSCAR: oscar.quantity,
               K.FORCE_GRADIENT: force_gradient.quantity}


def point_quantity(kid, shape_id, mparams, pol, rx, ry, rz, pp, out, crossings):
    """The per-point quantity of protocol family ``kid`` (see the protocol modules).

    Resolved when the numba caller is compiled (overload below): a compile-time literal
    ``kid`` compiles only that protocol's quantity, otherwise all four are; called, not
    inlined.
    """
    return _QUANTITIES[kid](shape_id, mparams, pol, rx, ry, rz, pp, out, crossings)


@overload(point_quantity, prefer_literal=True, jit_options=SCALAR_OVERLOAD)
def _point_quantity_numba(kid, shape_id, mparams, pol, rx, ry, rz, pp, out, crossings):
    if isinstance(kid, types.IntegerLiteral):
        quantity = _QUANTITIES[kid.literal_value]

        def one_protocol(kid, shape_id, mparams, pol, rx, ry, rz, pp, out, crossings):
            return quantity(shape_id, mparams, pol, rx, ry, rz, pp, out, crossings)

        return one_protocol

    def any_protocol(kid, shape_id, mparams, pol, rx, ry, rz, pp, out, crossings):
        if kid == K.CAI:
            return cai.quantity(shape_id, mparams, pol, rx, ry, rz, pp, out, crossings)
        if kid == K.CERMIT:
            return cermit.quantity(shape_id, mparams, pol, rx, ry, rz, pp, out, crossings)
        if kid == K.OSCAR:
            return oscar.quantity(shape_id, mparams, pol, rx, ry, rz, pp, out, crossings)
        return force_gradient.quantity(shape_id, mparams, pol, rx, ry, rz, pp, out, crossings)

    return any_protocol


def centre_value(kid, shape_id, mparams, pol, cx, cy, cz, b, gx, d2, pp, out, crossings):
    """The per-spin value at a slice box's centre, where |B| = b, d|B|/dx = gx and (CERMIT)
    d2|B|/dx2 = d2: CAI's pref * d|B|/dx (at hand), CERMIT's pref * K2 (without the dispatch
    of :func:`point_quantity`), else :func:`point_quantity`'s; resolved at compile time like
    :func:`point_quantity`."""
    if kid == K.CAI:
        return _cai_centre(kid, shape_id, mparams, pol, cx, cy, cz, b, gx, d2, pp, out,
                           crossings)
    if kid == K.CERMIT:
        return _cermit_centre(kid, shape_id, mparams, pol, cx, cy, cz, b, gx, d2, pp, out,
                              crossings)
    return _any_centre(kid, shape_id, mparams, pol, cx, cy, cz, b, gx, d2, pp, out, crossings)


@scalar_kernel
def _cai_centre(kid, shape_id, mparams, pol, cx, cy, cz, b, gx, d2, pp, out, crossings):
    return K.moment_weight(pp, b, pp[K.P_PREF] * gx)


@scalar_kernel
def _cermit_centre(kid, shape_id, mparams, pol, cx, cy, cz, b, gx, d2, pp, out, crossings):
    k2 = CV.curvature_from_g2(shape_id, mparams, pol, cx, cy, cz, d2, pp, out)
    return K.moment_weight(pp, b, pp[K.P_PREF] * k2)


@scalar_kernel
def _any_centre(kid, shape_id, mparams, pol, cx, cy, cz, b, gx, d2, pp, out, crossings):
    b, gx, gy, gz, q, inside = point_quantity(kid, shape_id, mparams, pol, cx, cy, cz, pp,
                                              out, crossings)
    return K.moment_weight(pp, b, q)


@overload(centre_value, prefer_literal=True, jit_options=SCALAR_OVERLOAD)
def _centre_value_numba(kid, shape_id, mparams, pol, cx, cy, cz, b, gx, d2, pp, out,
                        crossings):
    if not isinstance(kid, types.IntegerLiteral):
        return centre_value
    value = {K.CAI: _cai_centre, K.CERMIT: _cermit_centre}.get(kid.literal_value, _any_centre)

    def one_protocol(kid, shape_id, mparams, pol, cx, cy, cz, b, gx, d2, pp, out, crossings):
        return value(kid, shape_id, mparams, pol, cx, cy, cz, b, gx, d2, pp, out, crossings)

    return one_protocol


__all__ = ["centre_value", "point_quantity"]
