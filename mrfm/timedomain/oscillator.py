"""Exact discretization of the Langevin cantilever (a damped harmonic oscillator).

The cantilever obeys (PHYSICS.md "Cantilever")

    m x'' + c x' + k x = F_th(t) + F(t),   c = m omega0 / Q,   m = k / omega0**2,

with white thermal force noise <F_th(t) F_th(t')> = 2 c kB T delta(t - t')
(one-sided PSD S_F = 4 c kB T = 4 k kB T / (omega0 Q)). With the state s = (x, v)
and A = [[0, 1], [-omega0**2, -2 gamma]], gamma = omega0 / (2Q), one step of
length dt is exactly

    s[n+1] = Phi s[n] + Gamma F[n] + w[n],   Phi = expm(A dt),
    Gamma = int_0^dt expm(A s) ds (0, 1/m)          (zero-order hold of F),
    w[n] ~ N(0, C),  C = q int_0^dt phi(s) phi(s)^T ds,  phi(s) = expm(A s) (0, 1/m) m,

q = 2 c kB T / m**2. All three are evaluated in closed form here, so the
sampled process has exactly the continuous process's statistics for any dt
(Gillespie, Am. J. Phys. 64, 225 (1996) for the free Brownian particle; the
oscillator case follows the same construction; Van Loan, IEEE Trans. Autom.
Control 23, 395 (1978) for the covariance integral).

Slow modulations of the spring constant (a frequency shift, k -> k + dk(t)) and
of the damping (velocity feedback, c -> c + dc(t)) enter through the exact
first derivatives of Phi, ``Phi(k + dk, c + dc) = Phi + dk dPhi/dk + dc dPhi/dc``
(Fréchet derivatives of the matrix exponential, Higham, *Functions of
Matrices*, SIAM 2008, ch. 3.2): exact in dt, with a per-step error of order
(dk/k)**2 and (dc dt/m)**2 — for an MRFM frequency shift (dk/k ~ 1e-6) this is
below double-precision rounding. The force input term and the noise
covariance are those of the unmodulated oscillator (relative error of order
dk/k and dc dt/m).

Only the underdamped oscillator (Q > 1/2) is supported: an overdamped
cantilever has no resonance to detect, and the closed forms below divide by
the damped frequency.

The numba kernels that step a record (:func:`propagate`, :func:`propagate_thermal`)
live in :mod:`mrfm.timedomain.oscillator_kernels` and are importable from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike

from mrfm.errors import UserError
from mrfm.physics.cantilever import Cantilever, amplitude_decay_rate, modal_mass
from mrfm.timedomain.oscillator_kernels import propagate, propagate_thermal

__all__ = [
    "Discretization", "check_quality_factor", "cholesky_2x2", "discretize", "lorentzian_psd",
    "noise_covariance", "propagate", "propagate_thermal", "simulate_oscillator",
    "sinusoid_response", "transition_matrix",
]


@dataclass(frozen=True)
class Discretization:
    """Exact one-step matrices of the oscillator for a time step ``dt``.

    Attributes
    ----------
    dt : float
        Time step, s.
    phi : ndarray, shape (2, 2)
        State transition matrix expm(A dt) acting on (x [m], v [m/s]).
    gamma_in : ndarray, shape (2,)
        Response (m, m/s) to a unit force (1 N) held constant over the step.
    chol : ndarray, shape (2, 2)
        Lower Cholesky factor of the per-step thermal noise covariance (m, m/s).
    cov : ndarray, shape (2, 2)
        The per-step noise covariance itself (m^2, m^2/s, m^2/s^2).
    dphi_dk : ndarray, shape (2, 2)
        Derivative of Phi with respect to the spring constant, per N/m.
    dphi_dc : ndarray, shape (2, 2)
        Derivative of Phi with respect to the damping coefficient c, per kg/s.
    """

    dt: float
    phi: np.ndarray
    gamma_in: np.ndarray
    chol: np.ndarray
    cov: np.ndarray
    dphi_dk: np.ndarray
    dphi_dc: np.ndarray


def check_quality_factor(Q: float) -> None:
    """Raise UserError unless the oscillator is underdamped (Q > 1/2)."""
    if not Q > 0.5:
        raise UserError(
            f"cantilever.Q: value {Q!r} is not supported by the time-domain simulator; "
            "it needs an underdamped cantilever, Q > 0.5"
        )


def transition_matrix(*, omega0: float, gamma: float, dt: float) -> np.ndarray:
    """Closed-form ``expm(A dt)`` for A = [[0, 1], [-omega0**2, -2 gamma]].

    Parameters
    ----------
    omega0 : float
        Undamped angular frequency, rad/s.
    gamma : float
        Amplitude decay rate omega0/(2Q), 1/s (0 for an undamped oscillator).
    dt : float
        Time step, s.

    Returns
    -------
    ndarray, shape (2, 2)
        ``Phi = exp(-gamma dt) [cos(wd dt) I + sin(wd dt)/wd (A + gamma I)]`` with
        wd = sqrt(omega0**2 - gamma**2).
    """
    if not gamma < omega0:
        raise UserError("the oscillator is not underdamped (gamma >= omega0); need Q > 0.5")
    wd = math.sqrt(omega0 * omega0 - gamma * gamma)
    decay = math.exp(-gamma * dt)
    c = math.cos(wd * dt)
    s = math.sin(wd * dt) / wd
    return decay * np.array([[c + gamma * s, s], [-omega0 * omega0 * s, c - gamma * s]])


def _exp_integral(z: complex, dt: float) -> complex:
    """``int_0^dt exp(z s) ds = expm1(z dt)/z`` without cancellation (z may be 0)."""
    if z == 0:
        return complex(dt)
    return complex(np.expm1(z * dt) / z)


def noise_covariance(*, omega0: float, gamma: float, dt: float, q: float) -> np.ndarray:
    """Covariance of the state increment driven by white acceleration noise over one step.

    Parameters
    ----------
    omega0, gamma : float
        Undamped angular frequency (rad/s) and decay rate (1/s) of the propagating dynamics.
    dt : float
        Time step, s.
    q : float
        Two-sided intensity of the white acceleration noise, m^2/s^3
        (``2 c kB T / m**2`` for thermal noise).

    Returns
    -------
    ndarray, shape (2, 2)
        ``q int_0^dt phi(s) phi(s)^T ds`` with phi(s) = (Phi_01(s), Phi_11(s)).

    Notes
    -----
    With S(s) = sin(wd s)/wd and C(s) = cos(wd s), phi(s) = exp(-gamma s) (S, C - gamma S);
    the three integrals of exp(-2 gamma s) {S^2, S C, C^2} reduce to
    E0 = int exp(-2 gamma s) ds and E = int exp((-2 gamma + 2i wd) s) ds, evaluated with
    expm1. When the noise satisfies the fluctuation-dissipation relation with the same
    damping (q = 4 gamma kB T / m) and the oscillator is close to critical damping
    (wd < omega0/2, Q < 0.58), where (E0 - Re E)/wd**2 cancels, :func:`discretize` uses the
    stationary form C = P - Phi P Phi^T, P = diag(kB T/k, kB T/m) instead. The closed form
    has a relative rounding error ~ eps/(wd dt)**2 (1e-10 at dt = T0/1000).
    """
    wd = math.sqrt(omega0 * omega0 - gamma * gamma)
    e0 = _exp_integral(complex(-2.0 * gamma), dt).real
    ez = _exp_integral(complex(-2.0 * gamma, 2.0 * wd), dt)
    j_ss = (e0 - ez.real) / (2.0 * wd * wd)
    j_sc = ez.imag / (2.0 * wd)
    j_cc = (e0 + ez.real) / 2.0
    c00 = q * j_ss
    c01 = q * (j_sc - gamma * j_ss)
    c11 = q * (j_cc - 2.0 * gamma * j_sc + gamma * gamma * j_ss)
    return np.array([[c00, c01], [c01, c11]])


def _stationary_covariance(*, omega0: float, gamma: float, dt: float, q: float) -> np.ndarray:
    """``P - Phi P Phi^T`` with the stationary P of noise intensity q and damping gamma."""
    var_v = q / (4.0 * gamma)
    p_inf = np.diag([var_v / omega0**2, var_v])
    phi = transition_matrix(omega0=omega0, gamma=gamma, dt=dt)
    return p_inf - phi @ p_inf @ phi.T


def cholesky_2x2(cov: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of a 2x2 positive semi-definite matrix (zero rows allowed)."""
    c00 = max(float(cov[0, 0]), 0.0)
    l00 = math.sqrt(c00)
    l10 = float(cov[1, 0]) / l00 if l00 > 0 else 0.0
    l11 = math.sqrt(max(float(cov[1, 1]) - l10 * l10, 0.0))
    return np.array([[l00, 0.0], [l10, l11]])


def discretize(
    *,
    k: float,
    omega0: float,
    Q: float,
    temperature: float,
    dt: float,
    base_Q: float | None = None,
) -> Discretization:
    """Exact step matrices of the thermally driven cantilever.

    Parameters
    ----------
    k : float
        Spring constant, N/m.
    omega0 : float
        Angular resonance frequency, rad/s.
    Q : float
        Quality factor of the bath coupling (sets the thermal noise), > 1/2.
    temperature : float
        Bath temperature, K (0 for a noiseless oscillator).
    dt : float
        Time step, s (> 0, any size: the discretization is exact).
    base_Q : float, optional
        Quality factor of the propagated dynamics (default ``Q``). ``math.inf`` propagates
        the undamped oscillator: a self-oscillating cantilever whose velocity feedback
        cancels the damping, with the residual damping entered through ``dphi_dc``.

    Returns
    -------
    Discretization
    """
    check_quality_factor(Q)
    if not dt > 0:
        raise UserError(f"time step dt = {dt!r} s must be > 0")
    base_Q = Q if base_Q is None else base_Q
    check_quality_factor(base_Q)
    f0 = omega0 / (2.0 * math.pi)
    mass = modal_mass(k, f0)
    gamma = amplitude_decay_rate(f0, base_Q)
    phi = transition_matrix(omega0=omega0, gamma=gamma, dt=dt)
    wd = math.sqrt(omega0**2 - gamma**2)
    # Gamma = (1/m) (int_0^dt Phi_01(s) ds, Phi_01(dt)); Phi_01(s) = exp(-gamma s) sin(wd s)/wd
    gamma_in = np.array([_exp_integral(complex(-gamma, wd), dt).imag / wd, phi[0, 1]]) / mass
    # white force noise of two-sided intensity S_F / 2 (S_F one-sided, from the cantilever's
    # fluctuation-dissipation law), as an acceleration: q = S_F / (2 m^2) = 2 c kB T / m^2
    q = 0.0
    if temperature > 0:
        bath = Cantilever(k=k, f0=f0, Q=Q, T=temperature)
        q = bath.force_noise_psd() / (2.0 * mass**2)
    if q > 0:
        cov = noise_covariance(omega0=omega0, gamma=gamma, dt=dt, q=q)
        matched = base_Q == Q
        if matched and wd < 0.5 * omega0:
            cov = _stationary_covariance(omega0=omega0, gamma=gamma, dt=dt, q=q)
    else:
        cov = np.zeros((2, 2))
    a = np.array([[0.0, 1.0], [-(omega0**2), -2.0 * gamma]])
    e_k = np.array([[0.0, 0.0], [-1.0 / mass, 0.0]])
    e_c = np.array([[0.0, 0.0], [0.0, -1.0 / mass]])
    dphi_dk = scipy.linalg.expm_frechet(a * dt, e_k * dt, compute_expm=False)
    dphi_dc = scipy.linalg.expm_frechet(a * dt, e_c * dt, compute_expm=False)
    return Discretization(
        dt=dt,
        phi=phi,
        gamma_in=gamma_in,
        chol=cholesky_2x2(cov),
        cov=cov,
        dphi_dk=dphi_dk,
        dphi_dc=dphi_dc,
    )


def sinusoid_response(
    disc_phi: np.ndarray, *, omega0: float, gamma: float, mass: float, omega: float, dt: float
) -> np.ndarray:
    """Exact one-step response to the force ``Re(exp(i omega t))`` starting at phase 0.

    Returns the complex vector g (shape (2,)) such that a drive F0 cos(omega t + p) adds
    ``Re(F0 exp(i (omega t_n + p)) g)`` to (x, v) over the step from t_n to t_n + dt:
    ``g = (i omega I - A)^-1 (exp(i omega dt) I - Phi) (0, 1/m)``.
    """
    a = np.array([[0.0, 1.0], [-(omega0**2), -2.0 * gamma]], dtype=complex)
    lhs = 1j * omega * np.eye(2) - a
    rhs = (np.exp(1j * omega * dt) * np.eye(2) - disc_phi) @ np.array([0.0, 1.0 / mass])
    return np.linalg.solve(lhs, rhs)


def simulate_oscillator(
    *,
    k: float,
    f0: float,
    Q: float,
    temperature: float,
    dt: float,
    n: int,
    rng: np.random.Generator | None = None,
    force: np.ndarray | None = None,
    x0: float = 0.0,
    v0: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate the thermally driven (optionally forced) cantilever in memory.

    Parameters
    ----------
    k, f0, Q, temperature : float
        Spring constant (N/m), resonance frequency (Hz), quality factor, bath temperature (K).
    dt : float
        Time step, s (exact for any dt).
    n : int
        Number of samples.
    rng : numpy Generator, optional
        Source of the thermal noise (required when temperature > 0).
    force : ndarray, shape (n,), optional
        External force, N, held constant over each step (zero-order hold).
    x0, v0 : float
        Initial displacement (m) and velocity (m/s).

    Returns
    -------
    x, v : ndarray, shape (n,)
        Displacement (m) and velocity (m/s) at t = 0, dt, ..., (n-1) dt.

    Examples
    --------
    >>> import numpy as np
    >>> x, v = simulate_oscillator(k=1e-4, f0=5e3, Q=1e3, temperature=4.2, dt=1e-5,
    ...                            n=1000, rng=np.random.default_rng(0))
    >>> x.shape
    (1000,)
    """
    d = discretize(k=k, omega0=2 * math.pi * f0, Q=Q, temperature=temperature, dt=dt)
    if temperature > 0:
        if rng is None:
            raise ValueError("rng is required when temperature > 0")
        normals = rng.standard_normal((n, 2))
    else:
        normals = np.empty((0, 2))
    f = np.empty(0) if force is None else np.ascontiguousarray(force, dtype=np.float64)
    if f.size not in (0, n):
        raise ValueError(f"force has {f.size} samples, expected {n}")
    out_x = np.empty(n)
    out_v = np.empty(n)
    propagate(d.phi, d.gamma_in, d.chol, float(x0), float(v0), f, normals, out_x, out_v)
    return out_x, out_v


def lorentzian_psd(
    f: ArrayLike, *, k: float, f0: float, Q: float, temperature: float
) -> float | np.ndarray:
    """One-sided thermal displacement PSD S_x(f) = S_F |H(f)|^2, m^2/Hz (temperature > 0 K).

    :meth:`mrfm.physics.Cantilever.displacement_psd` of the cantilever (k, f0, Q) at
    ``temperature``; ``f`` in Hz, any shape.
    """
    return Cantilever(k=k, f0=f0, Q=Q, T=temperature).displacement_psd(f)
