"""The harmonics of a periodic spin force in the time-domain chain: a phase table.

A CAI slice's force is ``A(t) W(phase)`` with W the slice's inversion waveform
(:func:`mrfm.timedomain.spins.cai_force_waveform`), a sum of cosines
``W = sum_n w_n cos(n phase)`` normalized to the fundamental, w_1 = 1 (the fundamental's
amplitude A is the solver's CAI force). The chain (:mod:`.chain`) keeps the fundamental's
exact phasor and takes every other harmonic n (n = 0, 2, 3, ... with n f_mod below the
Nyquist frequency 1/(2 dt)) from one table over the phase u = phase / 2 pi in [0, 1):
the force ``W_h(u) = sum_{n != 1} w_n cos(2 pi n u)`` and the cantilever's exact one-step
response to it, ``G(u) = sum_{n != 1} w_n Re[g_n e^{i 2 pi n u}]`` with g_n the exact
response to a cosine of frequency n f_mod over a step
(:func:`mrfm.timedomain.oscillator.sinusoid_response`; n = 0 is the force held constant
over the step). Linear interpolation between :data:`TABLE_SIZE` nodes: the error of a
harmonic n is at most (2 pi n / L)**2 / 8 of its amplitude (1.8e-5 at n = 9 with
L = 16384), so the cost per sample does not grow with the number of harmonics. Harmonics
at or above the Nyquist frequency are left out (their response is below
``w_n / (Q (n^2 - 1))`` of the fundamental's and the sampled force would alias them).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from mrfm.errors import UserError
from mrfm.timedomain.oscillator import sinusoid_response

#: nodes of the phase table (one period)
TABLE_SIZE = 16384
#: most harmonics a waveform may give (n = 0 .. MAX_HARMONIC)
MAX_HARMONIC = 64


def check_waveform(coefficients: tuple[float, ...]) -> None:
    """Raise UserError unless ``coefficients`` is () or (w_0, 1, w_2, ...) of finite numbers."""
    if not coefficients:
        return
    w = np.asarray(coefficients, dtype=float)
    if w.ndim != 1 or w.size < 2 or w.size > MAX_HARMONIC + 1 or not np.all(np.isfinite(w)):
        raise UserError(f"cai_waveform: {len(coefficients)} values; give 2 to "
                        f"{MAX_HARMONIC + 1} finite cosine coefficients w_0, w_1 = 1, w_2, ...")
    if w[1] != 1.0:
        raise UserError(f"cai_waveform: w_1 = {w[1]!r}; the coefficients are relative to the "
                        "fundamental, so w_1 must be 1")


def harmonics_below_nyquist(coefficients: tuple[float, ...], *, f_mod: float,
                            dt: float) -> list[int]:
    """The harmonic numbers n != 1 of the table: w_n != 0 and n f_mod < 1/(2 dt)."""
    nyquist = 0.5 / dt
    return [n for n, w in enumerate(coefficients) if n != 1 and w != 0.0
            and n * f_mod < nyquist]


def response_table(coefficients: tuple[float, ...], *, phi: np.ndarray, omega0: float,
                   gamma: float, mass: float, f_mod: float, dt: float) -> np.ndarray:
    """The phase table, shape (TABLE_SIZE + 1, 3): W_h, G_x, G_v at u = k / TABLE_SIZE.

    Parameters
    ----------
    coefficients : tuple of float
        w_0, w_1 = 1, w_2, ... (:func:`check_waveform`).
    phi : (2, 2) float
        The step's transition matrix (:func:`mrfm.timedomain.oscillator.discretize`).
    omega0, gamma, mass : float
        rad/s, 1/s (omega0 / 2Q; 0 without damping), kg.
    f_mod, dt : float
        Modulation frequency (Hz) and step (s).
    """
    check_waveform(coefficients)
    u = np.arange(TABLE_SIZE + 1) / TABLE_SIZE
    table = np.zeros((TABLE_SIZE + 1, 3))
    for n in harmonics_below_nyquist(coefficients, f_mod=f_mod, dt=dt):
        w = coefficients[n]
        g = sinusoid_response(phi, omega0=omega0, gamma=gamma, mass=mass,
                              omega=2.0 * math.pi * n * f_mod, dt=dt)
        rot = np.exp(2j * math.pi * n * u)
        table[:, 0] += w * rot.real
        table[:, 1] += w * (g[0] * rot).real
        table[:, 2] += w * (g[1] * rot).real
    table[-1] = table[0]  # one period: u = 1 is u = 0
    return table


@njit(cache=True, fastmath=False)
def turns_of(c, s):  # pragma: no cover - numba
    """The phase of the phasor (c, s) in turns, in [0, 1)."""
    u = math.atan2(s, c) / (2.0 * math.pi)
    if u < 0.0:
        u += 1.0
    if u >= 1.0:
        u -= 1.0
    return u


@njit(cache=True, fastmath=False)
def lookup(table, u):  # pragma: no cover - numba
    """(W_h, G_x, G_v) at phase u in [0, 1) turns, linear between the table's nodes."""
    size = table.shape[0] - 1
    pos = u * size
    k = int(pos)
    if k >= size:
        k = size - 1
    f = pos - k
    a0, a1, a2 = table[k, 0], table[k, 1], table[k, 2]
    return (a0 + f * (table[k + 1, 0] - a0), a1 + f * (table[k + 1, 1] - a1),
            a2 + f * (table[k + 1, 2] - a2))
