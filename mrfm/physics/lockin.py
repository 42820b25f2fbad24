"""The lock-in amplifier's output low-pass filter: the one home of its response and ENBW.

A lock-in (SR830 manual, ch. 3, "Time constants and noise"; SR865 manual, sec. 3.4)
filters the mixer output with ``n`` identical cascaded first-order RC sections of time
constant ``tau``: slope 6 n dB/octave, amplitude response

    H(f) = 1 / (1 + i 2 pi f tau)^n.

Its equivalent noise bandwidth (one-sided, for white input noise of one-sided PSD S the
output variance is S * ENBW) is

    ENBW = int_0^inf |H(f)|^2 df = Gamma(n - 1/2) / (4 sqrt(pi) Gamma(n) tau)
         = 1/(4 tau), 1/(8 tau), 3/(32 tau), 5/(64 tau)   for n = 1..4

(the closed form follows from the Beta integral; the SR830 manual's table gives the same
numbers). In the time domain the sections are a state y (their outputs, the last is the
lock-in's output) with dy/dt = A y + e_0 u / tau (:func:`filter_matrix`); over a step of
dt with the input held, y advances by the Poisson-weighted propagator of
:func:`held_input_steps`, and the output sampled at the end of each step is the
convolution of :func:`held_input_response` (exact, any order). The time domain, the virtual rig
and the dataset noise model use these functions; nothing else in the package restates
them.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from mrfm.errors import UserError

#: filter slopes a lock-in offers, dB/octave (1 to 4 poles)
SLOPES_DB = (6, 12, 18, 24)
#: ENBW * tau of an n-pole filter, n = 1..4
ENBW_FACTOR = {1: 1.0 / 4.0, 2: 1.0 / 8.0, 3: 3.0 / 32.0, 4: 5.0 / 64.0}


def filter_order(slope_db: int) -> int:
    """Number of cascaded poles for a slope of 6, 12, 18 or 24 dB/octave."""
    if slope_db not in SLOPES_DB:
        raise UserError(
            f"lock-in slope {slope_db!r} dB/oct is not available; allowed: 6, 12, 18, 24")
    return int(slope_db) // 6


def _check_order(order: int) -> int:
    if order not in ENBW_FACTOR:
        raise UserError(f"lock-in filter order {order!r} is not available; allowed: 1, 2, 3, 4")
    return int(order)


def enbw(time_constant: float, order: int) -> float:
    """Equivalent noise bandwidth, Hz, of an ``order``-pole filter of time constant tau (s)."""
    order = _check_order(order)
    if not (math.isfinite(time_constant) and time_constant > 0):
        raise UserError(f"lock-in time constant {time_constant!r} s must be > 0")
    return ENBW_FACTOR[order] / time_constant


def step_response(t: ArrayLike, *, time_constant: float, order: int) -> float | np.ndarray:
    """Fraction of a step the ``order``-pole filter's output has reached after ``t`` s:
    the regularized lower incomplete gamma function P(n, t / tau) (the n-fold convolution
    of the sections' exponential impulse responses is the Gamma(n, tau) density);
    1 - e^(-t/tau) for one pole. 0 for t <= 0."""
    from scipy import special  # only here: keeps `import mrfm.physics` light

    order = _check_order(order)
    x = np.maximum(np.asarray(t, dtype=float), 0.0) / float(time_constant)
    y = special.gammainc(order, x)
    return float(y) if np.ndim(y) == 0 else y


def settling_time(time_constant: float, order: int, fraction: float = 0.99) -> float:
    """Time (s) the ``order``-pole filter's output takes to reach ``fraction`` of a step:
    tau P^-1(n, fraction) (:func:`step_response`): 4.6, 6.6, 8.4 and 10.0 tau to 99 % for
    1 to 4 poles (the SR830 manual's settling table)."""
    from scipy import special

    order = _check_order(order)
    if not 0.0 < fraction < 1.0:
        raise UserError(f"settling fraction {fraction!r} must be in (0, 1)")
    enbw(time_constant, order)  # validates the time constant
    return float(time_constant) * float(special.gammaincinv(order, fraction))


def time_constant_for_enbw(bandwidth: float, order: int) -> float:
    """Time constant, s, that gives an ``order``-pole filter the noise bandwidth (Hz)."""
    order = _check_order(order)
    if not (math.isfinite(bandwidth) and bandwidth > 0):
        raise UserError(f"lock-in noise bandwidth {bandwidth!r} Hz must be > 0")
    return ENBW_FACTOR[order] / bandwidth


def filter_matrix(time_constant: float, order: int) -> np.ndarray:
    """A of the filter's sections as a state y (order,), the lock-in's output last:
    dy_0/dt = (u - y_0) / tau, dy_k/dt = (y_(k-1) - y_k) / tau; -1/tau on the diagonal,
    1/tau below it, 1/s. The input u enters the first section as e_0 u / tau."""
    order = _check_order(order)
    enbw(time_constant, order)  # validates the time constant
    a = np.zeros((order, order))
    for k in range(order):
        a[k, k] = -1.0 / time_constant
        if k:
            a[k, k - 1] = 1.0 / time_constant
    return a


def section_pole(time_constant: float, dt: float) -> float:
    """Pole a = e^(-dt / tau) of one RC section sampled every ``dt`` s with the input held
    over each step: y[n+1] = a y[n] + (1 - a) u[n], exact (the one-pole case of
    :func:`held_input_steps`; the time domain's lock-in, detector and PLL filters).
    ``time_constant`` inf gives 1 (the output holds)."""
    if not (time_constant > 0 and dt >= 0 and math.isfinite(dt)):
        raise UserError(f"RC section: time constant {time_constant!r} s must be > 0 and "
                        f"step {dt!r} s >= 0")
    return math.exp(-dt / time_constant)


def held_input_steps(time_constant: float, order: int, dt: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(phi, hold): the sections' state after ``dt`` s with the input held at u over it is
    ``phi @ y + hold * u`` (exact).

    phi = e^(A dt) of :func:`filter_matrix` is lower-triangular Toeplitz, phi[i, j] =
    e^-x x^(i-j) / (i-j)! (x = dt / tau; A = (N - I) / tau with N nilpotent, so the
    exponential's series stops at N^(order-1)); a held input leaves the state at rest
    all equal to it, so hold = (I - phi) 1."""
    order = _check_order(order)
    enbw(time_constant, order)
    if not (math.isfinite(dt) and dt > 0):
        raise UserError(f"lock-in filter step {dt!r} s must be > 0")
    x = dt / time_constant
    pole = section_pole(time_constant, dt)
    phi = np.zeros((order, order))
    for m in range(order):
        term = pole * x**m / math.factorial(m)
        for i in range(m, order):
            phi[i, i - m] = term
    return phi, 1.0 - phi.sum(axis=1)


def held_input_response(sequence: ArrayLike, *, time_constant: float, order: int,
                        dt: float, initial: float | None = None) -> np.ndarray:
    """The filter's output at the end of each step of ``dt`` s for an input held at
    ``sequence[n]`` over step n, the filter settled at ``initial`` before the first step
    (default: the first input); exact at any order and step.

    The response to one step's unit input read k steps later is h[k] = P(n, (k+1) x) -
    P(n, k x) (:func:`step_response`, x = dt / tau), and the settled start decays as
    1 - P(n, (m+1) x), so y[m] = sum_k h[k] u[m-k] + u0 (1 - P(n, (m+1) x)): a
    convolution (FFT), free of the ill-conditioned n-fold pole of the rational form
    (:func:`held_input_steps` gives the same recursively)."""
    from scipy import signal  # only here: keeps `import mrfm.physics` light

    held_input_steps(time_constant, order, dt)  # validates
    u = np.asarray(sequence, dtype=float).reshape(-1)
    if u.size == 0:
        return u.copy()
    start = float(u[0]) if initial is None else float(initial)
    p = np.asarray(step_response(np.arange(u.size + 1) * dt, time_constant=time_constant,
                                 order=order))
    h = np.diff(p)
    return signal.fftconvolve(u, h)[: u.size] + start * (1.0 - p[1:])


def response(f: ArrayLike, *, time_constant: float, order: int) -> complex | np.ndarray:
    """Complex response H(f) = (1 + i 2 pi f tau)^-n of the output filter (any shape of f, Hz)."""
    order = _check_order(order)
    h = (1.0 + 2j * np.pi * np.asarray(f, dtype=float) * time_constant) ** (-order)
    return complex(h) if np.ndim(h) == 0 else h
