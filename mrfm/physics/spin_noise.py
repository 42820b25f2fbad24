"""The spin signal as a random process, and what a lock-in reads of it.

A locked (statistical or Curie) moment decays along the effective field with T1rho, so
the demodulated spin force is a random process with autocorrelation
sigma**2 exp(-|tau| / tau_m) (Rugar et al., Nature 430, 329 (2004); Degen et al., PRL 99,
250601 (2007)): one-sided Lorentzian PSD S(f) = 4 sigma**2 tau_m / (1 + (2 pi f tau_m)**2)
(FWHM 1/(pi tau_m) Hz). Through the lock-in's output filter H (:mod:`mrfm.physics.lockin`)
the fraction of its power that reaches the output is int S |H|**2 df / sigma**2,
tau_m / (tau_m + tau) for one pole (:func:`lockin_capture_fraction`); the readings taken
at the end of each dwell follow :func:`filtered_spin_signal_steps` exactly. A mean over a
time T (a boxcar, not a lock-in) keeps 2 (u - 1 + exp(-u)) / u**2 of the variance,
u = T / tau_m (:func:`averaged_variance_fraction`), the law behind the spread of a
measured variance (:func:`variance_estimate_rel_std`).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.typing import ArrayLike

from mrfm.physics import lockin


def _out(x: np.ndarray) -> float | np.ndarray:
    return float(x) if np.ndim(x) == 0 else x


def spin_signal_psd(f: ArrayLike, variance: float, tau_m: float) -> float | np.ndarray:
    """One-sided Lorentzian PSD 4 sigma**2 tau_m / (1 + (2 pi f tau_m)**2), unit**2/Hz.

    The demodulated spin force (or frequency shift) with correlation time tau_m (s) and
    variance sigma**2; its integral over 0 < f < inf is sigma**2.
    """
    w = 2.0 * math.pi * np.asarray(f, dtype=float) * float(tau_m)
    return _out(4.0 * float(variance) * float(tau_m) / (1.0 + w * w))


def spin_signal_bandwidth(tau_m: float) -> float:
    """Full width at half maximum of the spin signal's Lorentzian, 1/(pi tau_m), Hz."""
    return 1.0 / (math.pi * float(tau_m))


def lockin_capture_fraction(tau_m: float, time_constant: float, order: int) -> float:
    """Fraction of the spin signal's power passed by the lock-in's output filter.

    int_0^inf S(f) |H(f)|**2 df / sigma**2 with S the Lorentzian of :func:`spin_signal_psd`
    and H the n-pole filter of :func:`mrfm.physics.lockin.response`: the output's
    stationary variance P[out, out] of the signal-and-filter system of
    :func:`filtered_spin_signal_steps` (its Lyapunov equation; tested against the
    integral by quadrature); tau_m / (tau_m + tau) for one pole.
    """
    tm = float(tau_m)
    tc = float(time_constant)
    a, g = _chain(tm, tc, order, "lockin_capture_fraction")
    if order == 1:
        return tm / (tm + tc)
    return float(_stationary(a, g)[-1, -1])


def _chain(tau_m: float | None, tc: float, order: int,
           caller: str) -> tuple[np.ndarray, np.ndarray]:
    """(A, G) of dz = A z dt + b dW, G = b b^T: a unit-variance Ornstein-Uhlenbeck signal
    of correlation time ``tau_m`` (s; its state first) feeding ``order`` RC poles of time
    constant ``tc`` (s; the output last); ``tau_m`` None: white noise into the first pole
    (the poles alone)."""
    poles = lockin.filter_matrix(tc, order)  # validates order and time constant
    if tau_m is not None and not (math.isfinite(tau_m) and tau_m > 0):
        raise ValueError(f"{caller}: tau_m {tau_m!r} s must be > 0")
    first = 0 if tau_m is None else 1
    n = order + first
    a = np.zeros((n, n))
    g = np.zeros((n, n))
    a[first:, first:] = poles
    if tau_m is None:
        g[0, 0] = 1.0 / (tc * tc)
    else:
        a[0, 0] = -1.0 / tau_m
        a[1, 0] = 1.0 / tc  # the signal drives the first pole
        g[0, 0] = 2.0 / tau_m
    return a, g


def _stationary(a: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The stationary covariance P of :func:`_chain`'s system: A P + P A^T + G = 0."""
    from scipy import linalg

    p = linalg.solve_continuous_lyapunov(a, -g)
    return 0.5 * (p + p.T)


def filtered_spin_signal_steps(tau_m: float, time_constant: float, order: int,
                               dt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact sampled model of a unit-variance spin signal read through the lock-in filter.

    The spin signal xi(t) has autocorrelation exp(-|t| / tau_m) (an Ornstein-Uhlenbeck
    process, d xi = -xi / tau_m dt + sqrt(2 / tau_m) dW) and passes through the
    ``order``-pole RC filter of :func:`mrfm.physics.lockin.response`
    (d y_k = (y_{k-1} - y_k) / tau dt, y_0 = xi). The state z = (xi, y_1 .. y_order)
    obeys dz = A z dt + b dW, sampled every ``dt`` exactly (Van Loan, IEEE Trans. Autom.
    Control 23, 395 (1978)): z[n+1] = Phi z[n] + L w[n], w standard normal.

    Returns
    -------
    phi : (order + 1, order + 1) ndarray
        exp(A dt).
    root : (order + 1, order + 1) ndarray
        A square root L L^T of the step covariance int_0^dt e^{As} b b^T e^{A^T s} ds.
    stationary : (order + 1, order + 1) ndarray
        The stationary covariance P (A P + P A^T + b b^T = 0); P[-1, -1] is the fraction of
        the signal's variance at the filter's output, :func:`lockin_capture_fraction`.
    """
    tm = float(tau_m)
    a, g = _chain(tm, float(time_constant), order, "filtered_spin_signal_steps")
    return _sampled(a, g, dt, max(1.0 / tm, 1.0 / float(time_constant)),
                    "filtered_spin_signal_steps")


def filtered_white_noise_steps(time_constant: float, order: int, dt: float
                               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact sampled model of white noise (the thermal force) read through the lock-in
    filter, scaled to unit variance at the output: (phi, root, stationary) as in
    :func:`filtered_spin_signal_steps` for the state of the ``order`` poles alone
    (stationary[-1, -1] = 1; the output's variance is S ENBW for an input of one-sided
    PSD S, :func:`mrfm.physics.lockin.enbw`)."""
    a, g = _chain(None, float(time_constant), order, "filtered_white_noise_steps")
    phi, root, stationary = _sampled(a, g, dt, 1.0 / float(time_constant),
                                     "filtered_white_noise_steps")
    scale = stationary[-1, -1]
    return phi, root / math.sqrt(scale), stationary / scale


def _sampled(a: np.ndarray, g: np.ndarray, dt: float, rate: float,
             caller: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(phi, root, stationary) of dz = A z dt + b dW (G = b b^T) sampled every ``dt``
    exactly; ``rate``: the fastest of the system's rates, 1/s."""
    from scipy import linalg  # only here: keeps `import mrfm.physics` light

    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"{caller}: dt {dt!r} s must be > 0")
    n = a.shape[0]
    stationary = _stationary(a, g)
    if dt * rate <= 2.0:
        # Van Loan's block exponential (its e^{-A dt} block grows as e^{dt / tau}: short
        # steps only, where the stationary form below would cancel)
        big = np.zeros((2 * n, 2 * n))
        big[:n, :n] = -a
        big[:n, n:] = g
        big[n:, n:] = a.T
        e = linalg.expm(big * dt)
        phi = e[n:, n:].T
        q = phi @ e[:n, n:]
    else:
        # long steps: the state forgets its start, and Q = P - Phi P Phi^T is well
        # conditioned
        phi = linalg.expm(a * dt)
        q = stationary - phi @ stationary @ phi.T
    q = 0.5 * (q + q.T)
    w, v = np.linalg.eigh(q)
    root = v * np.sqrt(np.clip(w, 0.0, None))
    return phi, root, stationary


def averaged_variance_fraction(duration: ArrayLike, tau_m: float) -> float | np.ndarray:
    """Variance of the mean of the spin signal over ``duration`` (s), over its variance.

    For a stationary process with autocorrelation sigma**2 exp(-|t| / tau_m) the mean over
    T has variance (sigma**2 / T**2) int_0^T int_0^T exp(-|t - s| / tau_m) ds dt =
    sigma**2 2 (u - 1 + exp(-u)) / u**2 with u = T / tau_m (a boxcar average: 1 for
    T << tau_m, 2 tau_m / T for T >> tau_m; e.g. Papoulis, *Probability, Random Variables
    and Stochastic Processes*, 4th ed., section 9-5 on time averages). Below u = 0.1 the
    series sum_k 2 (-u)**k / (k + 2)!, k <= 12, avoids the cancellation (both sides within
    about 1e-14 of the exact value).

    This is the variance of a reading that is the mean over the dwell. A lock-in's output
    is instead its RC filter of the signal (:func:`lockin_capture_fraction`); the two
    agree only where the filter's time constant is comparable to the dwell.
    """
    tm = float(tau_m)
    if not (math.isfinite(tm) and tm > 0):
        raise ValueError(f"averaged_variance_fraction: tau_m {tau_m!r} s must be > 0")
    u = np.asarray(duration, dtype=float) / tm
    if np.any(~(u >= 0)):
        raise ValueError(f"averaged_variance_fraction: duration {duration!r} s must be >= 0")
    small = u < 0.1
    us = np.where(small, 1.0, u)  # no division by 0 in the branch not taken
    exact = 2.0 * (us + np.expm1(-us)) / (us * us)
    series = np.zeros_like(u)
    for k in range(12, -1, -1):  # Horner, smallest terms first
        series = series * -u + 2.0 / math.factorial(k + 2)
    return _out(np.where(small, series, exact))


def variance_estimate_rel_std(duration: ArrayLike, tau_m: float) -> float | np.ndarray:
    """Relative standard deviation of a variance measured as the mean of x**2 over
    ``duration`` (s), x a zero-mean Gaussian signal with autocorrelation
    sigma**2 exp(-|t| / tau_m) (the spin signal of a statistical-polarization measurement,
    Degen et al., PRL 99, 250601 (2007)).

    x**2 has autocovariance 2 sigma**4 exp(-2 |t| / tau_m) (Isserlis' theorem), so the
    estimate's variance is 2 sigma**4 times :func:`averaged_variance_fraction` at
    tau_m / 2: sqrt(2) for a duration much shorter than tau_m, sqrt(2 tau_m / T) for a
    long one.
    """
    return _out(np.sqrt(2.0 * np.asarray(averaged_variance_fraction(duration, 0.5 * tau_m))))


def filtered_autocorrelations(lags: ArrayLike, tau_m: float, time_constant: float,
                              order: int) -> tuple[np.ndarray, np.ndarray]:
    """(rho_spin, rho_white): the autocorrelations, normalized to 1 at lag 0, of the
    lock-in's output (``order`` RC poles of ``time_constant``, s) for the spin signal of
    correlation time ``tau_m`` (s) and for white noise (the thermal force), at ``lags``
    (s, >= 0; any shape): (e^{A s} P)[out, out] / P[out, out] of :func:`_chain`'s
    systems."""
    from scipy import linalg

    s = np.asarray(lags, dtype=float)
    if np.any(~(s >= 0)):
        raise ValueError(f"filtered_autocorrelations: lags {lags!r} s must be >= 0")
    out = []
    for a, v0, p_out in _output_chains(float(tau_m), float(time_constant), order,
                                       "filtered_autocorrelations"):
        rho = np.array([(linalg.expm(a * lag) @ v0)[-1] for lag in s.ravel()])
        out.append(rho.reshape(s.shape) / p_out)
    return out[0], out[1]


@functools.lru_cache(maxsize=64)
def mean_square_spread_terms(duration: float, tau_m: float, time_constant: float,
                             order: int) -> tuple[float, float, float]:
    """(i_ss, i_sw, i_ww): the variance of the mean of X**2 over ``duration`` T (s) is
    a**2 i_ss + 2 a c i_sw + c**2 i_ww, X the lock-in's output holding the spin signal
    (variance a after the filter) and white noise (variance c after the filter), both
    zero-mean Gaussian and independent.

    Isserlis' theorem gives Cov(X**2(t), X**2(t')) = 2 R_X(t - t')**2 with
    R_X = a rho_spin + c rho_white (:func:`filtered_autocorrelations`), so
    i_xy = (4 / T**2) int_0^T (T - s) rho_x(s) rho_y(s) ds: Simpson's rule on
    [0, min(T, 30 tau_max)] (tau_max the longest of tau_m and order times the time
    constant; beyond it the integrand is below e^-60) in segments of
    :data:`SPREAD_INTERVALS` intervals each, the first [0, 40 tau_min], each next ten
    times as long, so that both time scales are resolved; the autocorrelations are
    stepped by one exact propagator e^{A h} per segment. With no filter and no white part
    this is 2 F(2u) (:func:`variance_estimate_rel_std` squared).
    """
    t = float(duration)
    if not (math.isfinite(t) and t > 0):
        raise ValueError(f"mean_square_spread_terms: duration {duration!r} s must be > 0")
    tm = float(tau_m)
    tc = float(time_constant)
    bounds = _growing_segments(min(t, 30.0 * max(tm, order * tc)), tm, tc)
    chains = _output_chains(tm, tc, order, "mean_square_spread_terms")
    total = np.zeros(3)
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        lags, weights = _simpson(lo, hi, SPREAD_INTERVALS)
        rs, rw = (_autocorrelation_run(a, v0, p_out, lo, hi, SPREAD_INTERVALS)
                  for a, v0, p_out in chains)
        w = weights * (t - lags)
        total += np.array([np.sum(w * rs * rs), np.sum(w * rs * rw), np.sum(w * rw * rw)])
    i_ss, i_sw, i_ww = (4.0 / (t * t)) * total
    return float(i_ss), float(i_sw), float(i_ww)


#: Simpson intervals per segment of :func:`mean_square_spread_terms`
SPREAD_INTERVALS = 2048
#: Simpson intervals per dwell past the first of :func:`mean_square_lag_terms` (there the
#: autocorrelations are at least one dwell old: smooth, or below e^-60 of their start)
LAG_INTERVALS = 512
#: most lags :func:`mean_square_lag_terms` reports
MAX_LAGS = 256


@functools.lru_cache(maxsize=64)
def mean_square_lag_terms(duration: float, tau_m: float, time_constant: float,
                          order: int) -> np.ndarray:
    """(3, L + 1) array: the terms k_ss, k_sw, k_ww of the covariance of two readings l
    dwells apart, each the mean of X**2 over a dwell of ``duration`` T (s) (X as in
    :func:`mean_square_spread_terms`): Cov(r_i, r_(i+l)) = a**2 k_ss(l) + 2 a c k_sw(l) +
    c**2 k_ww(l), the readings of one stationary record.

    Isserlis' theorem as there: k_xy(l) = (2 / T**2) int_(-T)^T (T - |u|) rho_x(|u + l T|)
    rho_y(|u + l T|) du, so k_xy(0) is :func:`mean_square_spread_terms`' i_xy; for l >= 1
    the integral is the weighted moments of f = rho_x rho_y over the dwells l - 1 and l
    after the first reading, by Simpson's rule (the first dwell in the segments of
    :func:`mean_square_spread_terms`, the others in :data:`LAG_INTERVALS` intervals each).
    L = min(:data:`MAX_LAGS`, ceil(30 tau_max / T) + 1), tau_max the longest of tau_m and
    order times the time constant: beyond it the terms are below e^-60 of k(0). The array
    is cached per argument set; treat it as read-only.
    """
    t = float(duration)
    tm = float(tau_m)
    tc = float(time_constant)
    zero = mean_square_spread_terms(t, tm, tc, order)
    tau_max = max(tm, order * tc)
    lags = int(min(MAX_LAGS, math.ceil(30.0 * tau_max / t) + 1))
    chains = _output_chains(tm, tc, order, "mean_square_lag_terms")
    # moments of f over each dwell m = 0..lags: m0 = int f, m1 = int (s - m T) f
    m0 = np.zeros((3, lags + 1))
    m1 = np.zeros((3, lags + 1))
    bounds = _growing_segments(t, tm, tc)
    pieces = [(lo, hi, SPREAD_INTERVALS, 0) for lo, hi in zip(bounds[:-1], bounds[1:],
                                                             strict=True)]
    pieces += [(m * t, (m + 1) * t, LAG_INTERVALS, m) for m in range(1, lags + 1)]
    for lo, hi, n, m in pieces:
        s, w = _simpson(lo, hi, n)
        rs, rw = (_autocorrelation_run(a, v0, p_out, lo, hi, n) for a, v0, p_out in chains)
        for row, f in enumerate((rs * rs, rs * rw, rw * rw)):
            m0[row, m] += np.sum(w * f)
            m1[row, m] += np.sum(w * (s - m * t) * f)
    out = np.empty((3, lags + 1))
    out[:, 0] = zero
    for lag in range(1, lags + 1):
        out[:, lag] = (2.0 / (t * t)) * (m1[:, lag - 1] + t * m0[:, lag] - m1[:, lag])
    out.setflags(write=False)
    return out


def _growing_segments(end: float, tau_m: float, tc: float) -> list[float]:
    """Bounds of [0, end] in segments of growing length, each resolving the scale it starts
    at: [0, 40 tau_min], then x10 per segment (a 1 ms lock-in under a 1 s spin signal needs
    its own grid)."""
    bounds = [0.0]
    edge = 40.0 * min(tau_m, tc)
    while bounds[-1] < end:
        bounds.append(min(end, edge))
        edge *= 10.0
    return bounds


def _output_chains(tau_m: float, tc: float, order: int,
                   caller: str) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """(A, P[:, -1], P[-1, -1]) of :func:`_chain`'s spin and white systems, in that order:
    what :func:`_autocorrelation_run` steps."""
    chains = []
    for tau_in in (tau_m, None):
        a, g = _chain(tau_in, tc, order, caller)
        p = _stationary(a, g)
        chains.append((a, p[:, -1].copy(), p[-1, -1]))
    return chains


def _simpson(lo: float, hi: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(nodes, weights) of Simpson's rule on n (even) intervals of [lo, hi]."""
    h = (hi - lo) / n
    w = np.full(n + 1, 2.0)
    w[1::2] = 4.0
    w[0] = w[-1] = 1.0
    return lo + h * np.arange(n + 1), w * (h / 3.0)


def _autocorrelation_run(a: np.ndarray, v0: np.ndarray, p_out: float, lo: float, hi: float,
                         n: int) -> np.ndarray:
    """The normalized output autocorrelation (e^{A s} P)[-1, -1] / P[-1, -1] at the n + 1
    Simpson nodes of [lo, hi]; ``v0`` = P[:, -1]. One propagator to lo, then one step."""
    from scipy import linalg

    v = linalg.expm(a * lo) @ v0 if lo > 0 else v0.copy()
    step = linalg.expm(a * ((hi - lo) / n))
    r = np.empty(n + 1)
    for k in range(n + 1):
        r[k] = v[-1]
        v = step @ v
    return r / p_out
