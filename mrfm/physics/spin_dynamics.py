"""Spin dynamics of the detection protocols: adiabaticity, Landau-Zener inversion, spin lock.

All functions are pure, vectorized numpy (no configuration objects); the experiment-level
evaluation over the resonant slice is :func:`mrfm.info.slice_spin_dynamics`.

Adiabatic passage and the adiabaticity parameter
    In the frame rotating at the RF frequency a spin sees the effective field with the
    longitudinal offset Delta(t) = gamma |B| - omega_rf (rad/s) and the transverse part
    omega1 = gamma B1_eff. It follows the effective field (is inverted by one passage
    through resonance) when the sweep is slow compared with omega1**2. For a sweep that is
    linear through resonance, Delta = alpha t, the Landau-Zener-Stueckelberg-Majorana
    result (Landau, Phys. Z. Sowjetunion 2, 46 (1932); Zener, Proc. R. Soc. A 137, 696
    (1932)) gives the probability of the diabatic path (the spin is left behind, not
    inverted) exp(-pi A / 2) with

        A = omega1**2 / |dDelta/dt| = gamma B1_eff**2 / |d B_offset / dt|,

    B_offset = |B| - omega_rf/|gamma| in field units (gamma > 0 written; the sign of gamma
    does not enter). Convention used throughout: the *flip probability* (inversion
    efficiency of one passage) is ``P_flip = 1 - exp(-pi A / 2)``; a spin starting along the
    effective field ends with M_z / M_z(0) = 1 - 2 P_flip, so the component kept along the
    (now reversed) effective field is 2 P_flip - 1 = 1 - 2 exp(-pi A / 2).

Sweep rates of the protocols (rate at the moment a spin crosses resonance)
    * CAI (Rugar, Yannoni & Sidles, Nature 360, 563 (1992); Degen et al., PNAS 106, 1313
      (2009)): the RF is frequency modulated at the cantilever frequency f_mod with depth
      fm_depth (field units), B_offset(t) = s fm_depth + fm_depth cos(2 pi f_mod t) for a
      spin whose resting offset is s fm_depth (|s| <= 1). At the crossing,
      |dB_offset/dt| = 2 pi f_mod fm_depth sqrt(1 - s**2); the centre of the slice (s = 0)
      has the fastest crossing, 2 pi f_mod fm_depth.
    * OSCAR / iOSCAR (Stipe et al., PRL 87, 277602 (2001); Rugar et al., Nature 430, 329
      (2004)) and CERMIT (Garner et al., APL 84, 5091 (2004); Moore et al., PNAS 106, 22251
      (2009)): the cantilever motion x = x_pk cos(omega0 t) sweeps the field seen by the
      spin, dB_offset/dt = (d|B|/dx) xdot; with a locally uniform gradient G = d|B|/dx the
      sweep is the FM case with depth G x_pk at f_mod = f0: 2 pi f0 |G| x_pk sqrt(1 - s**2).

Effective B1 and the force direction
    The spin is quantized along the local total field n = B / |B| with B = B0 z + B_tip.
    Only the part of the (rotating-frame amplitude) B1 perpendicular to n drives it:
    B1_eff = |B1 - (B1 . n) n|. A moment locked along n (m = mu n) feels the force
    F = grad(m . B) = mu grad|B|, i.e. F_j = mu sum_i n_i dB_i/dx_j.

Spin lock with rotating-frame relaxation (T1rho)
    A locked (statistical or Curie) moment decays along the effective field as
    exp(-t / T1rho) (Rugar et al. 2004: T1rho = 760 ms for single E' centres; Degen et al.,
    PRL 99, 250601 (2007)). The demodulated spin force is then a random process of
    correlation time tau_m, read through the lock-in: :mod:`mrfm.physics.spin_noise`.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from mrfm.jit import scalar_kernel

#: Adiabaticity below which ``mrfm simulate`` warns (P_flip = 1 - exp(-3 pi / 2) = 0.991).
ADIABATICITY_WARNING = 3.0


def _out(x: np.ndarray) -> float | np.ndarray:
    return float(x) if np.ndim(x) == 0 else x


# ------------------------------------------------------------------ sweep rates, adiabaticity
def sweep_rate(depth: ArrayLike, f_mod: float, offset: ArrayLike = 0.0) -> float | np.ndarray:
    """|dB_offset/dt| at the resonance crossing of a cosine sweep, T/s.

    Parameters
    ----------
    depth : float or array_like
        Sweep amplitude in field units, T (CAI: ``fm_depth``; OSCAR/iOSCAR/CERMIT:
        |d|B|/dx| x_pk). Any shape.
    f_mod : float
        Sweep (modulation) frequency, Hz (the cantilever frequency).
    offset : float or array_like
        The spin's resting offset over the depth, s = B_offset / depth (|s| <= 1 crosses
        resonance; larger |s| is never swept and gets rate 0). Broadcast with ``depth``.

    Returns
    -------
    float or ndarray
        2 pi f_mod |depth| sqrt(1 - s**2), T/s.
    """
    d = np.abs(np.asarray(depth, dtype=float))
    s = np.asarray(offset, dtype=float)
    root = np.sqrt(np.clip(1.0 - s * s, 0.0, None))
    return _out(2.0 * math.pi * float(f_mod) * d * root)


def adiabaticity(gamma: float, b1_eff: ArrayLike, rate: ArrayLike) -> float | np.ndarray:
    """Adiabaticity A = |gamma| B1_eff**2 / |dB_offset/dt| (dimensionless; inf at rate 0).

    Parameters
    ----------
    gamma : float
        Gyromagnetic ratio, rad/(s T) (its sign does not matter).
    b1_eff : float or array_like
        Effective (perpendicular) rotating-frame B1, T.
    rate : float or array_like
        Field sweep rate at the crossing, T/s (:func:`sweep_rate`). Broadcast together.
    """
    b1 = np.asarray(b1_eff, dtype=float)
    r = np.abs(np.asarray(rate, dtype=float))
    num = abs(float(gamma)) * b1 * b1
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(r > 0.0, num / np.where(r > 0.0, r, 1.0), np.inf)
    return _out(a)


def flip_probability(a: ArrayLike) -> float | np.ndarray:
    """Landau-Zener inversion efficiency of one passage, P_flip = 1 - exp(-pi A / 2).

    ``a`` : adiabaticity (>= 0, any shape; inf gives 1).
    """
    x = np.asarray(a, dtype=float)
    return _out(-np.expm1(-0.5 * math.pi * x))


def lock_retention(a: ArrayLike) -> float | np.ndarray:
    """Component kept along the effective field after one passage, 2 P_flip - 1.

    For A -> inf it is 1; for A -> 0 it is -1 (the spin stays along z, the field reverses).
    """
    x = np.asarray(a, dtype=float)
    return _out(1.0 - 2.0 * np.exp(-0.5 * math.pi * x))


def nonadiabatic_decay_rate(a: ArrayLike, passages_per_second: float) -> float | np.ndarray:
    """Rate, 1/s, at which repeated passages lose the lock: -n ln(2 P_flip - 1).

    ``passages_per_second`` is 2 f_mod for CAI, OSCAR and CERMIT (two crossings per cycle).
    inf where 2 P_flip - 1 <= 0 (the lock is lost at the first passage).
    """
    r = np.asarray(lock_retention(a), dtype=float)
    with np.errstate(divide="ignore"):
        rate = np.where(r > 0.0, -float(passages_per_second) * np.log(np.where(r > 0, r, 1.0)),
                        np.inf)
    return _out(rate)


def locked_lifetime(t1rho: float, a: ArrayLike, f_mod: float) -> float | np.ndarray:
    """Lifetime of the lock, s: 1 / (1/T1rho + nonadiabatic_decay_rate(A, 2 f_mod)).

    The correlation time tau_m of a statistically polarized signal under cyclic passages
    (CAI, OSCAR) at the sweep frequency f_mod (two passages per cycle); T1rho when A -> inf.
    """
    rate = 1.0 / float(t1rho) + np.asarray(nonadiabatic_decay_rate(a, 2.0 * float(f_mod)))
    return _out(1.0 / rate)


# ------------------------------------------------------------------ CAI lock-in weight
def cai_fundamental_weight(s: ArrayLike) -> float | np.ndarray:
    """Lock-in (fundamental) weight of a spin at relative offset s under CAI, (4/pi) sqrt(1-s^2).

    Derivation: under the sinusoidal FM sweep B_offset(t) = fm_depth (s + cos(w t)) (see the
    module notes) an adiabatically following spin has mu_z(t) = mu sign(cos(w t) + s) (up to
    the overall sign): a square wave that is +mu for |w t| < arccos(-s) = pi - arccos(s).
    Its cosine Fourier coefficient at w is (1/pi) int_{-pi}^{pi} sign(cos u + s) cos u du
    = (2/pi) (2 sin(pi - arccos s)) = (4/pi) sqrt(1 - s^2); the sine coefficient vanishes
    (even waveform). So the force at the modulation frequency, which the lock-in reads, has
    the amplitude (4/pi) sqrt(1 - s^2) mu |d|B|/dx| (peak, not r.m.s.). Averaged over a
    uniform s in [-1, 1] the weight is 1 (so a thick uniform sample keeps the force of the
    unit-weight model) and its square 32 / (3 pi^2) = 1.0808 (the statistical variance is 8 %
    higher than with unit weight).

    ``s`` : (|B| - B_res) / fm_depth, any shape; the weight is 0 for |s| >= 1.
    """
    x = np.asarray(s, dtype=float)
    q = np.clip(1.0 - x * x, 0.0, None)
    return _out(np.where(np.abs(x) < 1.0, (4.0 / math.pi) * np.sqrt(q), 0.0))


# ------------------------------------------------------------------ scalar kernels (numba)
@scalar_kernel
def adiabaticity_at(gamma, b1_eff, depth, f_mod, s):  # pragma: no cover - numba
    """Scalar A for the solver's kernels: |gamma| B1_eff^2 / (2 pi f_mod |depth| sqrt(1-s^2)).

    inf where the spin is not swept (|s| >= 1 or depth 0); same law as :func:`adiabaticity`
    with :func:`sweep_rate`.
    """
    q = 1.0 - s * s
    rate = 2.0 * math.pi * f_mod * abs(depth) * math.sqrt(q) if q > 0.0 else 0.0
    if rate <= 0.0:
        return math.inf
    return abs(gamma) * b1_eff * b1_eff / rate


@scalar_kernel
def cai_fundamental_weight_at(s):  # pragma: no cover - numba
    """Scalar (4/pi) sqrt(1 - s^2) for |s| < 1, else 0 (:func:`cai_fundamental_weight`)."""
    q = 1.0 - s * s
    return 4.0 / math.pi * math.sqrt(q) if q > 0.0 else 0.0


@scalar_kernel
def flip_probability_at(a):  # pragma: no cover - numba
    """Scalar Landau-Zener P_flip = 1 - exp(-pi A / 2) (:func:`flip_probability`)."""
    return -math.expm1(-0.5 * math.pi * a)


@scalar_kernel
def b1_effective_at(b1, bx, by, bz, ux, uy, uz):  # pragma: no cover - numba
    """Scalar B1_eff of a B1 along the unit vector u at the total field (bx, by, bz), T."""
    c = (bx * ux + by * uy + bz * uz) / math.sqrt(bx * bx + by * by + bz * bz)
    q = 1.0 - c * c
    return b1 * math.sqrt(q) if q > 0.0 else 0.0


# ------------------------------------------------------------------ geometry of the local field
def quantization_axis(total_field: ArrayLike, high_field: bool = False) -> np.ndarray:
    """Unit vector n = B / |B| of the local total field, shape (..., 3) from (..., 3).

    ``high_field``: the high-field approximation of the solver (``protocol.high_field``;
    :data:`mrfm.solver.kernels.P_HIGH`): B0 along +z dominates the tip's field, so n = z
    and |B| ~ B0 + B_z (:func:`field_magnitude`)."""
    b = np.asarray(total_field, dtype=float)
    if high_field:
        n = np.zeros(b.shape)
        n[..., 2] = 1.0
        return n
    norm = np.linalg.norm(b, axis=-1, keepdims=True)
    if np.any(norm == 0.0):
        raise ValueError("quantization_axis: the total field vanishes at a point")
    return b / norm


def field_magnitude(total_field: ArrayLike, high_field: bool = False) -> float | np.ndarray:
    """|B| of the local total field (..., 3) -> (...), T; ``high_field``: B_z, the
    projection on the axis of :func:`quantization_axis` (B0 + B_tip,z)."""
    b = np.asarray(total_field, dtype=float)
    return _out(b[..., 2].copy() if high_field else np.linalg.norm(b, axis=-1))


def b1_effective(b1: float, total_field: ArrayLike,
                 direction: ArrayLike = (1.0, 0.0, 0.0),
                 high_field: bool = False) -> float | np.ndarray:
    """B1_eff = |B1 - (B1 . n) n|, the part of B1 perpendicular to the local field, T.

    Parameters
    ----------
    b1 : float
        Rotating-frame B1 amplitude, T.
    total_field : array_like, shape (..., 3)
        B0 z + B_tip at the spins, T.
    direction : array_like, shape (3,)
        Direction of the lab-frame RF field (default x, the usual coil or stripline
        geometry); normalized here.
    high_field : bool
        The axis is z (:func:`quantization_axis`): B1 sqrt(1 - u_z**2), B1 for an x RF.

    Returns
    -------
    float or ndarray, shape (...)
        B1 sqrt(1 - (u . n)**2) with u the unit RF direction.
    """
    u = np.asarray(direction, dtype=float)
    un = np.linalg.norm(u)
    if u.shape != (3,) or not un > 0:
        raise ValueError(f"b1_effective: direction {direction!r} must be a non-zero 3-vector")
    n = quantization_axis(total_field, high_field)
    c = n @ (u / un)
    return _out(float(b1) * np.sqrt(np.clip(1.0 - c * c, 0.0, None)))


def force_per_moment(total_field: ArrayLike, field_jacobian: ArrayLike,
                     high_field: bool = False) -> np.ndarray:
    """grad |B| = force on a unit moment locked along n, N per (J/T), shape (..., 3).

    Parameters
    ----------
    total_field : array_like, shape (..., 3)
        B at the spins, T.
    field_jacobian : array_like, shape (..., 3, 3)
        dB_i/dx_j, T/m (the magnets' ``gradient`` layout: [..., i, j]).
    high_field : bool
        grad B_z (:func:`quantization_axis`).
    """
    n = quantization_axis(total_field, high_field)
    jac = np.asarray(field_jacobian, dtype=float)
    return np.einsum("...i,...ij->...j", n, jac)


# ------------------------------------------------------------------ spin lock
def spin_lock_decay(t: ArrayLike, t1rho: float) -> float | np.ndarray:
    """Locked fraction exp(-t / T1rho) after a lock time t (s)."""
    return _out(np.exp(-np.asarray(t, dtype=float) / float(t1rho)))
