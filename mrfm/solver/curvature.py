"""Cantilever-trajectory curvature of |B| for the force-gradient and CERMIT protocols.

The trajectory-weighted curvature K2 of Lee, Moore & Marohn, PRB 85, 165447 (2012),
Eq. 20 for a fixed moment (:func:`trajectory_curvature`), its full trapezoid average
(:func:`trajectory_average`) and the small-amplitude expansions that replace it where the
swing is small against the field's variation (:func:`small_amplitude_curvature`,
:func:`sphere_small_amplitude`). Field magnitudes and derivatives come from
:func:`mrfm.solver.kernels.field_magnitude`; protocol parameters from the ``P_*`` indices
of :mod:`mrfm.solver.kernels`.
"""

from __future__ import annotations

import math

from numba import njit

from mrfm.jit import inlined_kernel, scalar_kernel
from mrfm.physics._sphere import bz_xxxx_terms, dipole_strength
from mrfm.solver.kernels import P_HIGH, P_NTHETA, P_XPK, field_magnitude

#: the small-amplitude expansion of :func:`trajectory_curvature` is used where d2|B|/dx2 varies
#: by at most this fraction of its value over the cantilever's swing (see
#: :func:`small_amplitude_curvature`)
SMALL_AMPLITUDE_TOL = 1e-3


#: the analytic small-amplitude form (sphere tip, high-field approximation) is used where its
#: proven error bound is at most this fraction of |d2B_z/dx2| (see
#: :func:`sphere_small_amplitude`)
ANALYTIC_TOL = 1e-9


@njit(cache=True, fastmath=False, inline="always")
def sphere_small_amplitude(mparams, pol, rx, ry, rz, g2, a):
    """Analytic small-amplitude trajectory curvature of a sphere tip in the high-field
    approximation (K2 of B_z), with a proven error bound.

    With g_n = d^n B_z/dx^n, expanding K2 = (1 / pi) integral g_2(x - a cos th) sin^2 th dth
    (see :func:`small_amplitude_curvature`) to fourth order with Lagrange's remainder (odd
    terms vanish; ``<cos^2 sin^2> = 1/4``, ``<cos^4 sin^2> = 1/8``)::

        K2 = g_2 + (a^2 / 8) g_4 + E,   |E| <= (a^4 / 192) max |g_6|
                                            <= 210 a^4 k |J| / (r - a)^9

    (``|g_6| <= 8! k |J| / r^9`` over the swing, whose points are at least r - a from the
    centre, by :func:`mrfm.physics._sphere.sphere_bz_xxxx`'s bound; k = R^3 / 3). g_4 is the
    closed form :func:`mrfm.physics._sphere.sphere_bz_xxxx`: one field evaluation instead
    of three.

    Returns
    -------
    (K2, ok) : (float, bool)
        T/m^2; ``ok`` where the bound is at most :data:`ANALYTIC_TOL` ``|g_2|`` and the
        swing stays outside the sphere.
    """
    return small_amplitude_terms(mparams[0], pol[0], pol[1], pol[2], rx, ry, rz, g2, a)


# inlined by numba, not by LLVM (:func:`mrfm.jit.inlined_kernel`): the vectorized CERMIT
# leaves (:mod:`mrfm.solver.dense_passes`) call it inside their field loop, which LLVM left
# scalar when it inlined the curvature (the benchmark's off-lattice CERMIT tip 10.1-10.4
# against 6.3-9.6 ms, 5 December 2026)
@njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def small_amplitude_terms(radius, jx, jy, jz, rx, ry, rz, g2, a):
    """:func:`sphere_small_amplitude` with the radius (m) and the polarization (T) as
    numbers (see :func:`mrfm.physics._sphere.magnitude_terms`)."""
    d = math.sqrt(rx * rx + ry * ry + rz * rz) - a
    if d <= radius:
        return g2, False
    kj = dipole_strength(radius, jx, jy, jz)
    a2 = a * a
    d3 = d * d * d
    k2 = g2 + 0.125 * a2 * bz_xxxx_terms(radius, jx, jy, jz, rx, ry, rz)
    return k2, 210.0 * a2 * a2 * kj <= ANALYTIC_TOL * abs(g2) * (d3 * d3 * d3)


@inlined_kernel
def small_amplitude_curvature(shape_id, mparams, pol, rx, ry, rz, g2, pp, out):
    """Small-amplitude form of :func:`trajectory_curvature` and whether it may be used.

    Integrating Lee, Moore & Marohn, PRB 85, 165447 (2012), Eq. 20 by parts shows that
    the trajectory curvature is a weighted mean of g_2 = d2|B|/dx2 over the swing::

        K2 = (1 / pi) integral_{-pi}^{pi} g_2(x - a cos th) sin^2 th dth      (a = x_pk)

    (weights sin^2 th / pi, summing to 1). Hence ``|K2 - g_2(x)| <= V``, the largest
    change of g_2 over [x - a, x + a]. Expanding in powers of a (``<sin^2 cos^2> = 1/8``)::

        K2 = g_2 + (a^2 / 8) g_4 + (a^4 / 192) g_6 + ...

    and the second term is taken from the central second difference of g_2 at step a,
    ``(g_2(x + a) - 2 g_2(x) + g_2(x - a)) / 8`` (own error ``(a^4 / 96) g_6``). The
    expansion is accepted (``ok``) where the variation over the swing, estimated by the
    ends ``V ~ max |g_2(x +- a) - g_2(x)|``, is at most :data:`SMALL_AMPLITUDE_TOL` of
    ``|g_2(x)|``: the error is then at most ``V + |second term| <= 2 TOL |g_2|`` (the
    weighted-mean bound) and in practice O(TOL^2) (tested against the full average).
    The caller falls back to the full trajectory average elsewhere (amplitudes
    comparable to the field's length scale, and the thin shell where g_2 passes through
    zero). Two more evaluations of d2|B|/dx2 replace ``P_NTHETA + 1`` of d|B|/dx.

    Parameters
    ----------
    g2 : float
        d2|B|/dx2 at (rx, ry, rz), T/m^2 (the caller has it from :func:`field_magnitude`).

    Returns
    -------
    (K2, ok) : (float, bool)
        T/m^2.
    """
    k2, ok = _analytic_curvature(shape_id, mparams, pol, rx, ry, rz, g2, pp)
    if ok:
        return k2, True
    return difference_curvature(shape_id, mparams, pol, rx, ry, rz, g2, pp, out)


@inlined_kernel
def _analytic_curvature(shape_id, mparams, pol, rx, ry, rz, g2, pp):
    """(K2, ok) of :func:`sphere_small_amplitude` for a sphere tip at high field, else
    (g2, False)."""
    if shape_id == 0 and pp[P_HIGH] != 0.0:
        return sphere_small_amplitude(mparams, pol, rx, ry, rz, g2, pp[P_XPK])
    return g2, False


@inlined_kernel
def difference_curvature(shape_id, mparams, pol, rx, ry, rz, g2, pp, out):
    """(K2, ok) of :func:`small_amplitude_curvature` from the second difference of g_2 at
    step a = x_pk (two field evaluations), without the analytic sphere form."""
    a = pp[P_XPK]
    b, gx, gy, gz, gp = field_magnitude(shape_id, mparams, pol, rx + a, ry, rz, 2, pp, out)
    b, gx, gy, gz, gm = field_magnitude(shape_id, mparams, pol, rx - a, ry, rz, 2, pp, out)
    second = 0.125 * (gp + gm - 2.0 * g2)
    swing = max(abs(gp - g2), abs(gm - g2))
    return g2 + second, swing <= SMALL_AMPLITUDE_TOL * abs(g2)


@inlined_kernel
def field_and_curvature(shape_id, mparams, pol, rx, ry, rz, pp, out):
    """|B|, grad|B| and the trajectory curvature :func:`trajectory_curvature` at one point.

    Returns
    -------
    (b, gx, gy, gz, K2) : tuple of float
        T, T/m, T/m^2.
    """
    b, gx, gy, gz, g2 = field_magnitude(shape_id, mparams, pol, rx, ry, rz, 2, pp, out)
    return b, gx, gy, gz, curvature_from_g2(shape_id, mparams, pol, rx, ry, rz, g2, pp, out)


@inlined_kernel
def curvature_from_g2(shape_id, mparams, pol, rx, ry, rz, g2, pp, out):
    """The trajectory curvature K2 of :func:`field_and_curvature` where the caller already
    has g2 = d2|B|/dx2 at the point (from ``field_magnitude(..., 2, ...)``), T/m^2."""
    if pp[P_XPK] <= 0.0:
        return g2
    k2, ok = _analytic_curvature(shape_id, mparams, pol, rx, ry, rz, g2, pp)
    if ok:
        return k2
    return numerical_curvature(shape_id, mparams, pol, rx, ry, rz, g2, pp, out)


@scalar_kernel
def numerical_curvature(shape_id, mparams, pol, rx, ry, rz, g2, pp, out):
    """K2 where the analytic form does not serve: the second difference of
    :func:`small_amplitude_curvature` (:func:`difference_curvature`) where it may be used,
    else :func:`trajectory_average`, T/m^2. Compiled on its own (not inlined): the common
    analytic case stays small in its many callers."""
    k2, ok = difference_curvature(shape_id, mparams, pol, rx, ry, rz, g2, pp, out)
    if not ok:
        k2 = trajectory_average(shape_id, mparams, pol, rx, ry, rz, pp, out)
    return k2


@scalar_kernel
def trajectory_curvature(shape_id, mparams, pol, rx, ry, rz, pp, out):
    """Cantilever-trajectory weighted curvature of |B|, T/m^2.

    For peak amplitude a = x_pk > 0 it is the large-amplitude form of
    Lee, Moore & Marohn, PRB 85, 165447 (2012), Eq. 20 for a fixed moment::

        K2 = -(1 / (pi a)) * integral_{-pi}^{pi} d|B|/dx(x - a cos th) cos th dth

    which tends to d2|B|/dx2 as a -> 0. Where the amplitude is small against the field's
    variation, the two-term expansion of :func:`small_amplitude_curvature` is returned
    (its acceptance test bounds the neglected terms); elsewhere the full average
    :func:`trajectory_average`. For a = 0 the exact second derivative is returned.
    """
    b, gx, gy, gz, k2 = field_and_curvature(shape_id, mparams, pol, rx, ry, rz, pp, out)
    return k2


@scalar_kernel
def trajectory_average(shape_id, mparams, pol, rx, ry, rz, pp, out):
    """The full trajectory average of :func:`trajectory_curvature` at any amplitude
    a = x_pk > 0, T/m^2: the integrand, periodic and even in theta, by the trapezoid rule
    on [0, pi] with ``pp[P_NTHETA]`` intervals (spectrally accurate)."""
    a = pp[P_XPK]
    n = int(pp[P_NTHETA])
    h = math.pi / n
    acc = 0.0
    for m in range(n + 1):
        th = m * h
        c = math.cos(th)
        b, gx, gy, gz, d2 = field_magnitude(shape_id, mparams, pol, rx - a * c, ry, rz, 1,
                                            pp, out)
        w = 0.5 if (m == 0 or m == n) else 1.0
        acc += w * gx * c
    # integral over [-pi, pi] = 2 * integral over [0, pi]
    return -(2.0 * acc * h) / (math.pi * a)
