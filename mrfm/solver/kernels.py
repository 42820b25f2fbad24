"""Numba building blocks shared by every detection protocol.

The solver evaluates, for a spin at position ``r`` relative to the magnet's
centre, the field magnitude ``|B|`` of ``B = B0 z + B_tip(r)`` and its
derivatives (PHYSICS.md "Frame and conventions")::

    d|B|/dx_j   = (B . dB/dx_j) / |B|
    d2|B|/dx2   = (|dB/dx|^2 + B . d2B/dx2) / |B| - (B . dB/dx)^2 / |B|^3

or, in the high-field approximation ``|B| ~ B0 + B_z``, the z components
alone. Tip fields come from :func:`mrfm.physics.magnet_kernels.magnet_point`,
so every magnet shape works.

Also here: the thermal (Brillouin) mean moment (the Brillouin function compiled from
:func:`mrfm.physics.spins.brillouin_scalar`) and its Chebyshev table. The OSCAR
cantilever-trajectory integral is in :mod:`mrfm.solver.oscar_trajectory`, the
trajectory-weighted curvature (force gradient, CERMIT) in :mod:`mrfm.solver.curvature`,
the box averages of the resonant slice's weighting in :mod:`mrfm.solver.box_fraction`.

Protocol parameters travel to the kernels as one float64 vector ``pp``; the
``P_*`` constants index it.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import njit
from scipy import constants

from mrfm.jit import scalar_kernel
from mrfm.physics._sphere import sphere_magnitude
from mrfm.physics.magnet_kernels import OUT_LEN, magnet_point
from mrfm.physics.spin_dynamics import b1_effective_at
from mrfm.physics.spins import brillouin_scalar

KB = constants.k

#: protocol identifiers used inside the kernels
CAI = 0
OSCAR = 1
CERMIT = 2
FORCE_GRADIENT = 3

# indices into the protocol parameter vector ``pp``
P_B0 = 0  # applied field along z, T
P_BRES = 1  # resonance field omega_rf / |gamma|, T
P_HALF = 2  # half-width of the resonant slice, T
P_B1 = 3  # RF field amplitude, T
P_XPK = 4  # peak cantilever amplitude, m
P_MOMENT = 5  # full moment of one spin hbar |gamma| I, J/T
P_SPIN = 6  # spin quantum number I
P_T = 7  # temperature, K
P_STAT = 8  # 1.0: statistical polarization (variance), 0.0: Curie (mean)
P_VAR1 = 9  # variance of mu_z of one spin (statistical), J^2/T^2
P_HIGH = 10  # 1.0: high-field approximation |B| ~ B0 + B_z
P_PREF = 11  # protocol prefactor multiplying the per-unit-moment kernel
P_NTHETA = 12  # number of trajectory intervals on [0, pi]
P_TOL = 13  # curvature tolerance for sub-voxel refinement (fraction of the voxel's |B| span)
P_DEPTH = 14  # maximum sub-voxel refinement depth (each level halves the edges)
P_PROFILE = 15  # slice profile: box_fraction.PROFILE_HARD, PROFILE_COS2 or PROFILE_FUNDAMENTAL
P_LZ = 16  # 1.0: Landau-Zener inversion efficiency per voxel, 0.0: ideal inversion
P_GAMMA = 17  # |gamma| of the species, rad/(s T)
P_FMOD = 18  # sweep (modulation) frequency: the cantilever frequency f0, Hz
P_INVERT = 19  # 1.0: CERMIT invert mode (Delta mu = -2 P_flip mu)
PP_LEN = 20



@njit(cache=True, fastmath=False, inline="always")
def field_magnitude(shape_id, mparams, pol, rx, ry, rz, order, pp, out):
    """|B| and its derivatives at one point relative to the magnet centre.

    Parameters
    ----------
    shape_id, mparams, pol
        Magnet description (see ``mrfm.physics.magnet_kernels``).
    rx, ry, rz : float
        Spin position minus magnet centre, m.
    order : int
        0: |B| only; 1: also grad|B|; 2: also d2|B|/dx2.
    pp : (PP_LEN,) float64
        Protocol parameters (``P_B0`` and ``P_HIGH`` are used).
    out : (OUT_LEN,) float64
        Scratch buffer for the magnet kernel.

    Returns
    -------
    (b, gx, gy, gz, d2) : tuple of float
        |B| (T), grad|B| (T/m) and d2|B|/dx2 (T/m^2); entries above ``order`` are 0.
    """
    if shape_id == 0:
        return sphere_magnitude(mparams, pol, rx, ry, rz, order, pp[P_B0], pp[P_HIGH] != 0.0)
    # the order as a plain int64: a literal order compiled one magnet kernel per order
    magnet_point(shape_id, mparams, pol, rx, ry, rz, np.int64(order), out)
    gx = 0.0
    gy = 0.0
    gz = 0.0
    d2 = 0.0
    if pp[P_HIGH] != 0.0:
        b = pp[P_B0] + out[2]
        if order >= 1:
            gx = out[9]
            gy = out[10]
            gz = out[11]
        if order >= 2:
            d2 = out[23]
        return b, gx, gy, gz, d2
    bx = out[0]
    by = out[1]
    bz = out[2] + pp[P_B0]
    b = math.sqrt(bx * bx + by * by + bz * bz)
    if order >= 1:
        if b <= 0.0:
            return b, 0.0, 0.0, 0.0, 0.0
        gx = (bx * out[3] + by * out[6] + bz * out[9]) / b
        gy = (bx * out[4] + by * out[7] + bz * out[10]) / b
        gz = (bx * out[5] + by * out[8] + bz * out[11]) / b
    if order >= 2:
        dsq = out[3] * out[3] + out[6] * out[6] + out[9] * out[9]
        d2 = (dsq + bx * out[21] + by * out[22] + bz * out[23]) / b - gx * gx / b
    return b, gx, gy, gz, d2


@scalar_kernel
def box_field_magnitude(shape_id, mparams, pol, rx, ry, rz, order, pp, out):
    """:func:`field_magnitude` as a called function, for the callers that evaluate the
    field once or a few times per box of voxels (the bounds, the screens, the block tests).

    :func:`field_magnitude` is inlined where it is called: into the per-voxel loops, where
    the call would cost a tenth of a voxel's time, and at every other call site too. Each
    inlined copy costs numba about 1 s of compilation per protocol (it deep-copies the
    callee's IR once per block of it); these callers share this one compiled copy instead,
    at the price of a call per box. Same arguments and results.
    """
    return field_magnitude(shape_id, mparams, pol, rx, ry, rz, order, pp, out)


#: Brillouin function B_I(x) (odd in x; x = mu B / (kB T) with mu = hbar |gamma| I), compiled
#: from :func:`mrfm.physics.spins.brillouin_scalar`
brillouin = njit(cache=True, fastmath=False)(brillouin_scalar)


@njit(cache=True, fastmath=False, inline="always")
def mean_moment(pp, b):
    """Thermal mean moment along the local field, J/T (Curie law, exact Brillouin form)."""
    mu = pp[P_MOMENT]
    return mu * brillouin(pp[P_SPIN], mu * b / (KB * pp[P_T]))


@njit(cache=True, fastmath=False, inline="always")
def moment_weight(pp, b, q):
    """Per-spin signal from the per-unit-moment kernel value ``q`` (already with prefactor).

    Curie: <mu_z>(|B|, T) * q; statistical: Var(mu_z) * q^2 (:func:`weight_of_moment`).
    """
    m = 0.0 if pp[P_STAT] != 0.0 else mean_moment(pp, b)
    return weight_of_moment(pp, m, q)


@njit(cache=True, fastmath=False, inline="always")
def weight_of_moment(pp, m, q):
    """:func:`moment_weight` where the thermal moment ``m`` (J/T) is at hand: ``m * q``
    (Curie), ``Var(mu_z) * q^2`` (statistical, ``m`` unused). The vectorized leaves of
    :mod:`mrfm.solver.dense` take ``m`` from :func:`table_moments`."""
    if pp[P_STAT] != 0.0:
        return pp[P_VAR1] * q * q
    return m * q


#: :func:`moment_table` is accepted where it matches :func:`mean_moment` to this fraction of
#: the largest moment on its interval (the Brillouin function's own rounding is ~1e-13 for
#: I > 1/2, where it differences two coth; tanh for I = 1/2 is matched to ~2e-15)
MOMENT_TABLE_TOL = 1e-12
#: Chebyshev degrees :func:`moment_table` tries, in order
MOMENT_TABLE_DEGREES = (8, 12, 16, 24, 32)


@njit(cache=True, fastmath=False)
def _mean_moments(pp, bs):
    """:func:`mean_moment` at each field of ``bs`` (1-D), J/T."""
    out = np.empty(bs.size)
    for q in range(bs.size):
        out[q] = mean_moment(pp, bs[q])
    return out


def moment_table(pp: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Chebyshev coefficients of the thermal moment :func:`mean_moment` on [lo, hi] T
    (a new array; see :func:`_moment_table`)."""
    return _moment_table(np.ascontiguousarray(pp, dtype=float).tobytes(), float(lo),
                         float(hi)).copy()


@functools.lru_cache(maxsize=64)
def _moment_table(pp_bytes: bytes, lo: float, hi: float) -> np.ndarray:
    """Chebyshev coefficients of the thermal moment :func:`mean_moment` on [lo, hi] T.

    Remembered for the last 64 (parameters, interval): building one took 0.2 ms, 5 % of a
    CERMIT single tip on the direct path, and repeated calls of :func:`mrfm.solver.simulate`
    (a scan's tips one at a time, a fit) ask for the same table. ``pp_bytes``: the
    protocol parameters (:func:`mean_moment` reads a few of them) as bytes.

    The interpolant at the Chebyshev points of the lowest degree of
    :data:`MOMENT_TABLE_DEGREES` that matches :func:`mean_moment` to
    :data:`MOMENT_TABLE_TOL` of the largest moment at 2,001 points spread over the interval
    (the Brillouin function is analytic, so the interpolant converges geometrically; over a
    resonant slice a few percent wide in |B| degree 8 matches it to rounding). For the
    vectorized leaves of :mod:`mrfm.solver.dense`, where numba cannot vectorize ``tanh``;
    evaluated by :func:`table_moments`. Returns an empty array where no degree matches or
    the interval is empty (the callers then take :func:`mean_moment` per spin).
    """
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        return np.empty(0)
    pp = np.frombuffer(pp_bytes, dtype=float).copy()
    mid = 0.5 * (hi + lo)
    rad = 0.5 * (hi - lo)
    x = np.linspace(-1.0, 1.0, 2001)
    exact = _mean_moments(pp, mid + rad * x)
    scale = float(np.max(np.abs(exact)))
    for deg in MOMENT_TABLE_DEGREES:
        coef = np.polynomial.chebyshev.chebinterpolate(
            lambda u: _mean_moments(pp, mid + rad * np.atleast_1d(u)), deg)
        err = float(np.max(np.abs(np.polynomial.chebyshev.chebval(x, coef) - exact)))
        if err <= MOMENT_TABLE_TOL * scale:
            return np.ascontiguousarray(coef, dtype=float)
    return np.empty(0)


@njit(cache=True, fastmath=False, inline="always")
def table_moments(coef, lo, hi, bs, n, out, work):
    """``out[q]`` = the Chebyshev series ``coef`` of :func:`moment_table` (interval [lo, hi])
    at ``bs[q]`` for q < n (fields inside the interval), by Clenshaw's recurrence run over
    the array, one coefficient at a time (the loops over q vectorize); ``work``: scratch of
    at least n."""
    m = coef.size
    c = (hi + lo)
    inv = 1.0 / (hi - lo)
    for q in range(n):
        out[q] = 0.0
        work[q] = 0.0
    for k in range(m - 1, 0, -1):
        ck = coef[k]
        for q in range(n):
            x2 = 2.0 * (2.0 * bs[q] - c) * inv
            t = ck + x2 * out[q] - work[q]
            work[q] = out[q]
            out[q] = t
    c0 = coef[0]
    for q in range(n):
        x = (2.0 * bs[q] - c) * inv
        out[q] = c0 + x * out[q] - work[q]


def scratch() -> np.ndarray:
    """A fresh scratch buffer for :func:`magnet_point` (OUT_LEN float64)."""
    return np.zeros(OUT_LEN)


@njit(cache=True, fastmath=False, inline="always")
def b1_effective(shape_id, mparams, pol, rx, ry, rz, pp, out):
    """B1_eff (T): the part of an x-directed B1 perpendicular to the local total field.

    :func:`mrfm.physics.spin_dynamics.b1_effective_at` at B = B0 z + B_tip(r); in the
    high-field approximation the quantization axis is z and B1_eff = B1.
    """
    if pp[P_HIGH] != 0.0:
        return pp[P_B1]
    magnet_point(shape_id, mparams, pol, rx, ry, rz, np.int64(0), out)
    return b1_effective_at(pp[P_B1], out[0], out[1], out[2] + pp[P_B0], 1.0, 0.0, 0.0)
