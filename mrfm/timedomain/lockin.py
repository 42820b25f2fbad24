"""Digital lock-in amplifier modelled on the SR830 (Stanford Research Systems manual, ch. 3).

The input u(t) is multiplied by the reference cos(theta) and sin(theta),
theta = 2 pi f_ref t + phase, and each product is low-pass filtered by n
identical cascaded first-order sections of time constant tau (slope 6 n
dB/octave, n = 1..4). The outputs are RMS amplitudes, as on the SR830:
for u = A cos(2 pi f_ref t + p), X = (A/sqrt 2) cos(p - phase) and
Y = (A/sqrt 2) sin(p - phase). For white input noise of one-sided PSD S the
output noise variance is var X = S * ENBW with the equivalent noise bandwidth
of the n-pole filter ENBW = int_0^inf |H(f)|^2 df = 1/(4 tau), 1/(8 tau),
3/(32 tau), 5/(64 tau) for n = 1..4 (:mod:`mrfm.physics.lockin`).

Each section is the exact zero-order-hold discretization of the RC filter,
y[n+1] = a y[n] + (1 - a) u[n], a = exp(-dt/tau). The reference is a phasor
rotated by one step per sample and recomputed exactly from the absolute
sample index every :data:`RESYNC` samples, so the output does not depend on
how a long record is split into chunks.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from mrfm.errors import UserError
from mrfm.physics import lockin as lockin_filter
from mrfm.physics.lockin import SLOPES_DB, filter_order, section_pole

__all__ = ["RESYNC", "SLOPES_DB", "enbw", "filter_order", "lockin_sample", "phasor_at",
           "reference_phasor"]

RESYNC = 4096


def enbw(*, time_constant: float, slope_db: int) -> float:
    """Equivalent noise bandwidth, Hz, of the lock-in's output filter (one-sided);
    :func:`mrfm.physics.lockin.enbw` for a slope in dB/octave."""
    return lockin_filter.enbw(time_constant, filter_order(slope_db))


@njit(cache=True, fastmath=False)
def reference_phasor(n, cycles_per_sample, phase):  # pragma: no cover - numba
    """Exact (cos, sin) of 2 pi frac(cycles_per_sample * n) + phase for sample index n."""
    turns = (cycles_per_sample * float(n)) % 1.0
    th = 2.0 * math.pi * turns + phase
    return math.cos(th), math.sin(th)


@njit(cache=True, fastmath=False)
def phasor_at(n0, cycles_per_sample, phase, resync):  # pragma: no cover - numba
    """Phasor at sample n0 computed as the streaming kernels do (resync grid, then rotation)."""
    base = n0 - n0 % resync
    c, s = reference_phasor(base, cycles_per_sample, phase)
    w = 2.0 * math.pi * cycles_per_sample
    cw, sw = math.cos(w), math.sin(w)
    for _ in range(n0 - base):
        c, s = c * cw - s * sw, s * cw + c * sw
    return c, s


@njit(cache=True, fastmath=False, inline="always")
def rc_section(a, state, x):  # pragma: no cover - numba
    """One sample x through a first-order low-pass section of pole ``a`` = exp(-dt/tau):
    the new state a state + (1 - a) x."""
    return a * state + (1.0 - a) * x


@njit(cache=True, fastmath=False, inline="always")
def rms_outputs(x, y):  # pragma: no cover - numba
    """The filtered in-phase and quadrature products as the lock-in's RMS outputs (X, Y):
    sqrt(2) x and -sqrt(2) y (the product with cos / sin halves the amplitude; Y is the
    component in phase with -sin)."""
    return math.sqrt(2.0) * x, -math.sqrt(2.0) * y


@njit(cache=True, fastmath=False)
def lockin_sample(u, c, s, a, order, stages):  # pragma: no cover - numba
    """Feed one input sample u with reference (c, s); return (X, Y) (RMS).

    ``stages`` (2*order,) holds the in-phase filter sections then the quadrature ones.
    """
    xin = u * c
    yin = u * s
    for j in range(order):
        stages[j] = rc_section(a, stages[j], xin)
        xin = stages[j]
        stages[order + j] = rc_section(a, stages[order + j], yin)
        yin = stages[order + j]
    return rms_outputs(xin, yin)


@njit(cache=True, fastmath=False)
def lockin_process(u, n0, cycles_per_sample, phase, a, order, stages, out_x, out_y):
    """Demodulate ``u`` (samples n0 .. n0+n-1) into X, Y; filter state in ``stages``."""
    c, s = phasor_at(n0, cycles_per_sample, phase, RESYNC)
    w = 2.0 * math.pi * cycles_per_sample
    cw, sw = math.cos(w), math.sin(w)
    for i in range(u.shape[0]):
        n = n0 + i
        if n % RESYNC == 0:
            c, s = reference_phasor(n, cycles_per_sample, phase)
        out_x[i], out_y[i] = lockin_sample(u[i], c, s, a, order, stages)
        c, s = c * cw - s * sw, s * cw + c * sw


def demodulate(
    u: np.ndarray,
    *,
    dt: float,
    frequency: float,
    time_constant: float,
    slope_db: int = 24,
    phase: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Lock-in X and Y (RMS, units of u) of a sampled signal.

    Parameters
    ----------
    u : ndarray, shape (n,)
        Input samples at interval dt.
    dt : float
        Sample interval, s.
    frequency : float
        Reference frequency, Hz (below the Nyquist frequency 1/(2 dt)).
    time_constant : float
        Filter time constant tau, s (>= dt).
    slope_db : int
        6, 12, 18 or 24 dB/octave.
    phase : float
        Reference phase, rad.

    Returns
    -------
    X, Y : ndarray, shape (n,)
    """
    check_settings(dt=dt, frequency=frequency, time_constant=time_constant, slope_db=slope_db)
    order = filter_order(slope_db)
    u = np.ascontiguousarray(u, dtype=np.float64)
    out_x = np.empty_like(u)
    out_y = np.empty_like(u)
    stages = np.zeros(2 * order)
    lockin_process(u, 0, frequency * dt, phase, section_pole(time_constant, dt), order, stages,
                   out_x, out_y)
    return out_x, out_y


def check_settings(*, dt: float, frequency: float, time_constant: float, slope_db: int) -> None:
    """Raise UserError for a reference above Nyquist, tau < dt or an unknown slope."""
    filter_order(slope_db)
    if not 0 < frequency < 0.5 / dt:
        raise UserError(
            f"lock-in reference {frequency:g} Hz must be in (0, {0.5 / dt:g}) Hz "
            f"(the Nyquist frequency of the {1 / dt:g} Hz sample rate)"
        )
    if not time_constant >= dt:
        raise UserError(
            f"lock-in time constant {time_constant:g} s is shorter than the sample interval "
            f"{dt:g} s; use at least {dt:g} s"
        )
