"""Magnetization of the resonant slice versus time, for each detection protocol.

Pure functions of plain numbers (rates, times, variances) and arrays of random
draws, so each can be tested alone; :func:`spin_signal_from_solver` connects
them to :func:`mrfm.solver.simulate` at one tip position.

- **CAI** (cyclic adiabatic inversion; Rugar, Yannoni & Sidles, Nature 360,
  563 (1992)): the slice is inverted twice per modulation cycle; each
  inversion keeps a fraction ``1 - loss`` of the magnetization and the locked
  magnetization decays as exp(-t/T1rho) in between (:func:`cai_envelope`).
  A spin at offset s = (|B| - B_res)/fm_depth flips when the sinusoidal sweep
  fm_depth (s + cos(phase)) crosses zero: its moment is the square wave
  ``sign(cos(phase) + s)`` (:func:`cai_inversion_waveform`), whose harmonics are
  4 sin(n alpha)/(n pi), alpha = arccos(-s) (:func:`cai_harmonics`); the slice's force is
  the sum over its spins (:func:`cai_force_waveform`). The lock-in reads the fundamental,
  (4/pi) sqrt(1 - s^2) per spin, the solver's CAI weight
  (:func:`mrfm.physics.spin_dynamics.cai_fundamental_weight`): the solver's CAI force is
  the fundamental's peak amplitude A. The signal chain drives ``A W(2 pi f_mod t + phase)``
  with the slice's waveform W normalized to its fundamental
  (:mod:`mrfm.timedomain.slice_waveform`, :mod:`mrfm.timedomain.waveform`). The harmonics
  n = 0, 2, 3, ... drive the cantilever ~Q (n^2 - 1) times less than the fundamental and
  the lock-in rejects them (a linear oscillator's response at n f0 demodulates to 0 over
  whole cycles): the raw force and deflection carry them, X and Y read the fundamental.
- **Statistical polarization** (Degen et al., PRL 99, 250601 (2007)): the net
  moment is an Ornstein–Uhlenbeck process with variance sigma**2 and
  correlation time tau_m, sampled exactly, m[n+1] = a m[n] + sigma
  sqrt(1 - a**2) z[n], a = exp(-dt/tau_m) (Gillespie, Phys. Rev. E 54, 2084
  (1996)) (:func:`ou_process`).
- **OSCAR** (Stipe et al., PRL 87, 277602 (2001); Rugar et al., Nature 430,
  329 (2004)): a locked spin is +mu or -mu and flips at random times (random
  telegraph signal). With Poisson flips at rate r the autocorrelation is
  exp(-2 r |t|); the simulator uses r = 1/(2 T1rho) so that the locked
  magnetization relaxes as exp(-t/T1rho). One step is exact: the sign changes
  with probability P(odd number of flips in dt) = (1 - exp(-2 r dt))/2
  (:func:`telegraph`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from mrfm.errors import UserError
from mrfm.physics.spin_dynamics import spin_lock_decay

if TYPE_CHECKING:
    from mrfm.config import Experiment


def cai_envelope(
    t: np.ndarray, *, inversion_rate: float, loss_per_inversion: float, t1rho: float
) -> np.ndarray:
    """Relative CAI magnetization m(t)/m(0) after the inversions completed by time t.

    Parameters
    ----------
    t : ndarray
        Times since the start of the CAI sequence, s.
    inversion_rate : float
        Inversions per second (twice the modulation frequency), 1/s.
    loss_per_inversion : float
        Fraction of the magnetization lost at each adiabatic inversion, in [0, 1).
    t1rho : float
        Rotating-frame relaxation time, s (``math.inf``: no decay).

    Returns
    -------
    ndarray
        ``(1 - loss)**floor(t * inversion_rate) * exp(-t / t1rho)``, same shape as t.
    """
    t = np.asarray(t, dtype=float)
    if not 0.0 <= loss_per_inversion < 1.0:
        raise UserError(f"loss per inversion {loss_per_inversion!r} must be in [0, 1)")
    count = np.floor(t * inversion_rate)
    decay = spin_lock_decay(t, t1rho) if math.isfinite(t1rho) else np.ones_like(t)
    return np.exp(count * math.log1p(-loss_per_inversion)) * decay


@njit(cache=True, fastmath=False, inline="always")
def cai_envelope_at(t, inversion_rate, log_keep, inv_t1rho):  # pragma: no cover - numba
    """:func:`cai_envelope` at one time t (s) inside a compiled loop, with ``log_keep`` =
    log(1 - loss per inversion) and ``inv_t1rho`` = 1/T1rho (0: no decay) computed once by
    the caller: the chain kernel's form of the same law (tested equal)."""
    return math.exp(math.floor(t * inversion_rate) * log_keep) * math.exp(-t * inv_t1rho)


def cai_inversion_waveform(phase: np.ndarray, offset: float | np.ndarray) -> np.ndarray:
    """Moment of a CAI-locked spin over the modulation cycle, in units of its moment (+-1).

    The sweep offset is fm_depth (s + cos(phase)); an adiabatically following spin points
    along the effective field's z component, ``sign(cos(phase) + s)`` (0 exactly at a
    crossing). ``phase`` and ``offset`` (s, |s| < 1 in the slice) broadcast together.
    """
    return np.sign(np.cos(np.asarray(phase, dtype=float)) + np.asarray(offset, dtype=float))


def cai_harmonics(offset: float | np.ndarray, n: int) -> float | np.ndarray:
    """Cosine Fourier coefficient of :func:`cai_inversion_waveform` at the n-th harmonic.

    n >= 1: ``4 sin(n alpha) / (n pi)`` with alpha = arccos(-s) (the half-width of the +1
    part of the cycle); n = 1 is the lock-in weight (4/pi) sqrt(1 - s^2). n = 0: the mean,
    ``(2 alpha - pi) / pi``. The sine coefficients vanish (the waveform is even).
    """
    s = np.clip(np.asarray(offset, dtype=float), -1.0, 1.0)
    alpha = np.arccos(-s)
    if n < 0:
        raise UserError(f"harmonic n {n!r} must be >= 0")
    out = (2.0 * alpha - math.pi) / math.pi if n == 0 else 4.0 * np.sin(n * alpha) / (n * math.pi)
    return float(out) if np.ndim(out) == 0 else out


def cai_force_waveform(phase: np.ndarray, offsets: np.ndarray,
                       amplitudes: np.ndarray) -> np.ndarray:
    """CAI force of a set of spins at the modulation phases ``phase``, N.

    Parameters
    ----------
    phase : (m,) float
        Modulation phase 2 pi f_mod t (+ the sweep's phase), rad.
    offsets : (k,) float
        Each spin's s = (|B| - B_res) / fm_depth.
    amplitudes : (k,) float
        Each spin's unit-weight force <mu_z> d|B|/dx, N.

    Returns
    -------
    (m,) float
        ``sum_i amplitudes[i] * sign(cos(phase) + offsets[i])``; its fundamental's
        cosine amplitude is ``sum_i amplitudes[i] (4/pi) sqrt(1 - s_i^2)``.
    """
    ph = np.asarray(phase, dtype=float)[:, None]
    wave = cai_inversion_waveform(ph, np.asarray(offsets, dtype=float)[None, :])
    return wave @ np.asarray(amplitudes, dtype=float)


def ou_coefficients(*, dt: float, tau: float, sigma: float) -> tuple[float, float]:
    """Exact one-step coefficients (a, b) of an OU process: m' = a m + b z.

    ``a = exp(-dt/tau)``, ``b = sigma sqrt(1 - a**2)`` (computed with expm1).
    """
    a = math.exp(-dt / tau)
    b = sigma * math.sqrt(-math.expm1(-2.0 * dt / tau))
    return a, b


@njit(cache=True, fastmath=False)
def ou_process(m0, a, b, normals, out):  # pragma: no cover - numba
    """Fill ``out[i]`` with the OU process at samples 0..n-1 from m0; return the value at n.

    Parameters
    ----------
    m0 : float
        Value at sample 0.
    a, b : float
        From :func:`ou_coefficients`.
    normals : (n,) float64
        Standard normal draws.
    out : (n,) float64
    """
    m = m0
    for i in range(out.shape[0]):
        out[i] = m
        m = a * m + b * normals[i]
    return m


def telegraph_flip_probability(*, dt: float, flip_rate: float) -> float:
    """Probability that a random telegraph signal changes sign within one step dt."""
    return -0.5 * math.expm1(-2.0 * flip_rate * dt)


@njit(cache=True, fastmath=False)
def telegraph(s0, p_flip, uniforms, out):  # pragma: no cover - numba
    """Fill ``out`` with a +-1 telegraph signal starting at s0; return the sign at sample n.

    ``uniforms`` (n,) are U(0, 1) draws; the sign flips after sample i when
    ``uniforms[i] < p_flip``.
    """
    s = s0
    for i in range(out.shape[0]):
        out[i] = s
        if uniforms[i] < p_flip:
            s = -s
    return s


@dataclass(frozen=True)
class SpinSignal:
    """The spin signal at the tip position, as the time-domain simulator uses it.

    Attributes
    ----------
    protocol : str
        Solver protocol name (CAI, OSCAR, CERMIT, force-gradient).
    polarization : str
        "curie" or "statistical".
    value : float
        CAI curie: peak amplitude of the force's fundamental at f_mod (the lock-in's
        component; :func:`cai_force_waveform`), N. CAI statistical: its variance, N^2.
        OSCAR / CERMIT / force-gradient: frequency shift, Hz (for statistical OSCAR the
        shift of one locked orientation, the square root of the solver's variance in
        Hz^2; the sign flips at random).
    unit : str
        "N", "N^2" or "Hz".
    """

    protocol: str
    polarization: str
    value: float
    unit: str


UNITS = {"N": "force", "N^2": "force variance", "Hz": "frequency shift"}


#: protocols whose statistical signal is locked by cyclic adiabatic passages (two per sweep
#: cycle), so each failed passage shortens the signal's correlation time
PASSAGE_PROTOCOLS = ("CAI", "OSCAR", "iOSCAR")


def spin_correlation_time(exp: Experiment, f_mod: float | None = None) -> float:
    """Correlation time tau_m of the statistically polarized signal, s: one law for the
    virtual rig's lock-in (:mod:`mrfm.rig.lockin`), the time-domain chain and the
    datasets' noise (:mod:`mrfm.imaging.noise`).

    ``protocol.tau_m`` where the experiment sets it (a measured correlation time); else,
    for CAI, OSCAR and iOSCAR with ``protocol.adiabatic = "landau-zener"``, the lifetime
    of the lock under the passages,
    :func:`mrfm.physics.spin_dynamics.locked_lifetime` (T1rho, A, f_mod) =
    1 / (1/T1rho - 2 f_mod ln(2 P_flip - 1)), with A the worst adiabaticity over the spins
    in the resonant slice (:func:`mrfm.info.slice_spin_dynamics`, the value ``mrfm info``
    reports: the fastest-decaying part of the signal); else ``protocol.T1rho``.

    Parameters
    ----------
    exp : mrfm.config.Experiment
    f_mod : float, optional
        Sweep (modulation) frequency, Hz; default the cantilever's f0. The adiabaticity
        is inversely proportional to the sweep rate (:func:`~mrfm.physics.spin_dynamics.
        sweep_rate`), so the slice's A at f0 becomes A f0 / f_mod.
    """
    from mrfm.info import slice_spin_dynamics  # the experiment-level slice evaluation
    from mrfm.physics.spin_dynamics import locked_lifetime

    proto = exp.protocol
    if proto.tau_m:
        return float(proto.tau_m)
    t1rho = float(proto.T1rho)
    if proto.name not in PASSAGE_PROTOCOLS or proto.adiabatic != "landau-zener":
        return t1rho
    dyn = slice_spin_dynamics(exp)
    if dyn is None or dyn.adiabaticity is None:
        return t1rho  # no spin in the slice: no passage
    f0 = float(exp.cantilever.f0)
    fm = f0 if f_mod is None else float(f_mod)
    if not (math.isfinite(fm) and fm > 0):
        raise UserError(f"modulation frequency {f_mod!r} Hz must be > 0")
    return float(locked_lifetime(t1rho, dyn.adiabaticity * f0 / fm, fm))


def spin_signal_from_solver(exp: Experiment, tip: tuple[float, float, float]) -> SpinSignal:
    """Run :func:`mrfm.solver.simulate` for one tip position and return its signal.

    Parameters
    ----------
    exp : mrfm.config.Experiment
        The experiment; its scan grid is replaced by the single point ``tip``.
    tip : (x, y, height), m
        Tip position (lateral offset and tip-sample gap).

    Raises
    ------
    UserError
        If the solver returns a unit this simulator cannot use.
    """
    from mrfm.solver import simulate  # imported here: only this function needs the solver

    one = exp.with_overrides({"scan.x": float(tip[0]), "scan.y": float(tip[1]),
                              "scan.height": float(tip[2])})
    res = simulate(one)
    value = float(np.asarray(res.signal, dtype=float).ravel()[0])
    unit = str(res.unit)
    if unit == "Hz^2":
        # statistical frequency-shift protocols give the variance of the shift; a locked
        # spin is +-df with equal probability, whose variance is df**2
        value, unit = math.sqrt(max(value, 0.0)), "Hz"
    if unit not in UNITS:
        raise UserError(f"solver returned a signal in {unit!r}; the time series needs N, N^2 or Hz")
    return SpinSignal(protocol=str(res.protocol), polarization=exp.protocol.polarization,
                      value=value, unit=unit)
