"""Landau-Zener inversion efficiency of one spin's signal under an adiabatic passage.

The sweep that inverts a spin (the frequency modulation for CAI, the cantilever's own
motion through the field gradient for OSCAR, iOSCAR and CERMIT) is adiabatic only where
B1_eff^2 is large against the sweep rate; :func:`inversion_factor` turns the local
adiabaticity into the factor each protocol's signal carries (PHYSICS.md section 7.1). Used
by the per-voxel and per-point kernels of :mod:`mrfm.solver.slice`; inlined there (a call
that is not inlined passes each array argument as its whole descriptor).
"""

from __future__ import annotations

from numba import njit

from mrfm.jit import scalar_kernel
from mrfm.physics import spin_dynamics as SD
from mrfm.solver import kernels as K


@njit(cache=True, fastmath=False, inline="always")
def sweep_depth(kid, gx, pp):
    """Sweep amplitude in field units, T: fm_depth (CAI; CERMIT without an amplitude) or
    |d|B|/dx| x_pk (OSCAR, iOSCAR, CERMIT: the cantilever's motion sweeps the spin).
    Inlined (the vectorized leaves of :mod:`mrfm.solver.dense`); :func:`_sweep_depth` is
    the called form."""
    return depth_of(kid, gx, pp[K.P_HALF], pp[K.P_XPK])


@njit(cache=True, fastmath=False, inline="always")
def depth_of(kid, gx, half, xpk):
    """:func:`sweep_depth` from the fm depth ``half`` (T) and the amplitude ``xpk`` (m) as
    numbers (a vectorized loop keeps them in registers)."""
    if kid == K.CAI or xpk <= 0.0:
        return half
    return abs(gx) * xpk


@scalar_kernel
def _sweep_depth(kid, gx, pp):
    """:func:`sweep_depth` as a called function (:func:`inversion_factor` is inlined in
    many kernels; a call keeps each copy small to compile)."""
    return sweep_depth(kid, gx, pp)


@njit(cache=True, fastmath=False, inline="always")
def factor_applies(kid, pp):
    """Whether protocol family ``kid`` under ``pp`` (its polarization and CERMIT's mode) can
    have a Landau-Zener factor other than 1 at all: CERMIT saturate and the force gradient
    never, statistical CAI/OSCAR never (the first test of :func:`inversion_factor`)."""
    if kid == K.FORCE_GRADIENT or (kid == K.CERMIT and pp[K.P_INVERT] == 0.0):
        return False
    return pp[K.P_STAT] == 0.0 or kid == K.CERMIT


@njit(cache=True, fastmath=False, inline="always")
def sweep_reaches(kid, s0, gx, half, xpk):
    """``|s0|`` (s0 = |B| - B_res) below the sweep depth (:func:`depth_of`), without a
    division. Where
    :func:`factor_applies`, :func:`inversion_factor` can differ from 1 only where its
    quotient ``|b - B_res| / depth`` is below 1, hence only where this is True (the
    quotient is below 1 only if the offset is below the depth; this is also True at the
    few spins whose quotient rounds to 1). For vectorized callers that hand these spins to
    the exact path (:mod:`mrfm.solver.dense`: a division per spin cost a fifth of its
    loop)."""
    return abs(s0) < depth_of(kid, gx, half, xpk)


@njit(cache=True, fastmath=False, inline="always")
def inversion_factor(kid, shape_id, mparams, pol, rx, ry, rz, b, gx, pp, out):
    """Landau-Zener factor of one spin's signal (1 under ideal inversion; see the notes).

    With A = |gamma| B1_eff^2 / (2 pi f0 depth sqrt(1 - s^2)) at the spin
    (:func:`mrfm.physics.spin_dynamics.adiabaticity_at`, s = (|B| - B_res) / depth) and
    P_flip = 1 - exp(-pi A / 2): Curie CAI, OSCAR and iOSCAR get the lock retention
    2 P_flip - 1 (the expected moment still locked in phase after a passage); CERMIT's
    invert mode gets P_flip (Delta mu = -2 P_flip mu; squared for the statistical
    variance); statistical CAI/OSCAR get 1 (a failed passage reverses a spin's sign: the
    variance stays, its correlation time shortens, see
    :func:`mrfm.physics.spin_dynamics.locked_lifetime`); CERMIT saturate and force-gradient 1.
    ``out`` is overwritten (scratch).
    """
    if not factor_applies(kid, pp):
        return 1.0
    stat = pp[K.P_STAT] != 0.0
    depth = _sweep_depth(kid, gx, pp)
    if depth <= 0.0:
        return 1.0
    s = (b - pp[K.P_BRES]) / depth
    if not abs(s) < 1.0:
        # never swept through resonance: A = inf, P_flip = 1 exactly, and so the factor
        # (also for a NaN offset, as before); spares B1_eff (a second field evaluation) and
        # the exponential at every spin outside the sweep (CERMIT: all but a thin sheet)
        return 1.0
    b1e = K.b1_effective(shape_id, mparams, pol, rx, ry, rz, pp, out)
    a = SD.adiabaticity_at(pp[K.P_GAMMA], b1e, depth, pp[K.P_FMOD], s)
    p = SD.flip_probability_at(a)
    if kid == K.CERMIT:
        return p * p if stat else p
    return 2.0 * p - 1.0


__all__ = ["factor_applies", "inversion_factor", "sweep_depth", "sweep_reaches"]
