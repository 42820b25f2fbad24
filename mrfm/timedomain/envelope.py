"""Cantilever and lock-in in the rotating frame: exact updates between any two times.

The virtual rig's lock-in output (:mod:`mrfm.rig.lockin`) comes from this model, the
slowly-varying-envelope reduction of the sample-by-sample chain of :mod:`.chain`
(cantilever -> detector -> lock-in); ``tests/timedomain/test_envelope.py`` checks that both
give the same ring-up and noise. With the cantilever displacement
``x(t) = Re[A(t) e^{i w_m t}]`` (w_m the force's modulation frequency) and the detector's
``volts_per_meter`` g, the state (complex, in the frame rotating at w_m) is the envelope
``B = g A / sqrt 2`` (V r.m.s.) and the lock-in's n RC sections ``y_1 .. y_n``:

    dB   = [p B + c (F + sigma_F xi)] dt + sqrt(q_B) dW_1,
    dy_1 = [(e^{-i phi} (B + D + sigma_D xi) - y_1)/tau - i Delta y_1] dt
           + (sqrt(S_det)/tau) dW_2,
    dy_k = [(y_{k-1} - y_k)/tau - i Delta y_k] dt,                       k = 2..n,
    dxi  = -xi/tau_m dt + sqrt(2/tau_m) dW_3                            (real, unit variance),

with ``p = -w0/(2Q) + i (w_d - w_m)`` the cantilever's pole (w_d the damped frequency:
the ring-up and ring-down time is 2Q/w0, :attr:`mrfm.physics.Cantilever.ringdown_time`),
``c = -p g H(w_m)/sqrt 2`` so the steady state is the exact transfer function
``B = g H(w_m) F/sqrt 2`` (:meth:`mrfm.physics.Cantilever.transfer_function`),
``Delta = w_m - w_ref``, ``phi`` the reference phase and the output
``X + iY = y_n e^{i Delta t}`` (V r.m.s.; the SR830's filter, :mod:`mrfm.physics.lockin`).
Only the counter-rotating terms (relative size 1/(2Q)) and the mixer's 2 w products
(removed by the filter) are dropped. The thermal force (one-sided
``S_F = 4 k kB T/(w0 Q)``) makes B an Ornstein-Uhlenbeck process with
``E|B|^2 = g^2 kB T/k`` (equipartition), ``q_B = 2 (w0/2Q) g^2 kB T/k``. Under velocity
feedback (:attr:`EnvelopeParameters.feedback_Q`) the pole and H use the closed-loop Q
while q_B keeps the cantilever's own (Bruland et al., J. Appl. Phys. 83, 3972 (1998)); the
detector's
white noise ``S_det = g^2 detector_noise^2`` enters the first section. Both are
circular, so X and Y each carry half the variance of ``y_n``. A force F (N, the CAI
amplitude of Curie polarization) or a direct input D (V, a frequency-shift signal)
is constant between updates; statistical polarization is the random force
``sigma_F xi(t)`` with the solver's variance ``sigma_F^2`` (N^2) and correlation time
``tau_m`` (Degen et al., PRL 99, 250601 (2007)).

The state vector s is real, ``(xi, Re B, Im B, Re y_1, Im y_1, ...)``, ``ds = (M s + b) dt
+ G dW``, and one step of any length dt is exact (the discretization of a linear SDE;
Gillespie, Am. J. Phys. 64, 225 (1996) for the Ornstein-Uhlenbeck case; Van Loan,
IEEE Trans. Autom. Control 23, 395 (1978)):

    s(t + dt) = s_inf + Phi (s(t) - s_inf) + w,   Phi = expm(M dt),   s_inf = -M^-1 b,
    w ~ N(0, P - Phi P Phi^T),   M P + P M^T + G G^T = 0 (the stationary covariance),

so readings at any sequence of times have the process's joint statistics.
"""

from __future__ import annotations

import cmath
import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from numba import njit

from mrfm.physics.cantilever import Cantilever

__all__ = ["EnvelopeLockin", "EnvelopeParameters", "EnvelopeSystem"]

#: index of xi, of Re B and of Re y_1 in the real state vector
I_XI, I_B, I_Y = 0, 1, 3


@dataclass(frozen=True)
class EnvelopeParameters:
    """Everything the rotating-frame matrices depend on (SI).

    Attributes
    ----------
    cantilever : Cantilever
        The mode (k N/m, f0 Hz, Q, T K); its temperature sets the thermal noise.
    f_ref : float
        Lock-in reference frequency, Hz.
    f_drive : float
        Frequency of the force (the RF modulation rate), Hz.
    time_constant : float
        Lock-in filter time constant tau, s.
    order : int
        Number of RC sections (1..4: 6..24 dB/octave).
    phase : float
        Reference phase phi, rad.
    volts_per_meter : float
        Detector gain g, V/m.
    detector_noise : float
        Displacement-equivalent detector noise, m/sqrt(Hz) (one-sided, white).
    spin_force_std : float
        sigma_F, N: r.m.s. of the statistical spin force (0: none).
    spin_direct_std : complex
        sigma_D, V: the statistical signal entering the lock-in directly (0: none).
    spin_time : float
        Correlation time tau_m of the statistical signal, s.
    feedback_Q : float or None
        Closed-loop Q under velocity feedback (cold damping): the pole and the transfer
        function use it, the thermal force noise keeps the cantilever's own damping
        (None: no feedback).
    """

    cantilever: Cantilever
    f_ref: float
    f_drive: float
    time_constant: float
    order: int
    phase: float = 0.0
    volts_per_meter: float = 1.0
    detector_noise: float = 0.0
    spin_force_std: float = 0.0
    spin_direct_std: complex = 0j
    spin_time: float = 1.0
    feedback_Q: float | None = None  # noqa: N815 - the physics symbol

    @property
    def size(self) -> int:
        """Length of the real state vector, 3 + 2 n."""
        return I_Y + 2 * self.order


def _put(m: np.ndarray, i: int, j: int, z: complex) -> None:
    """Add the complex coefficient z (complex state j -> complex state i) in real form."""
    m[i, j] += z.real
    m[i, j + 1] -= z.imag
    m[i + 1, j] += z.imag
    m[i + 1, j + 1] += z.real


class EnvelopeSystem:
    """The matrices of one :class:`EnvelopeParameters`: M, the stationary covariance P and
    the input columns."""

    def __init__(self, params: EnvelopeParameters) -> None:
        self.params = p = params
        c = p.cantilever
        n, tau = p.order, p.time_constant
        size = p.size
        # the response: the cantilever, or the closed loop under velocity feedback
        loop = c.feedback_loop(p.feedback_Q)
        w0, gamma = c.omega0, 1.0 / loop.ringdown_time  # omega0/(2Q)
        wd = math.sqrt(w0 * w0 - gamma * gamma)
        wm = 2.0 * math.pi * p.f_drive
        delta = wm - 2.0 * math.pi * p.f_ref
        g = p.volts_per_meter
        pole = complex(-gamma, wd - wm)
        #: V per N of force amplitude into dB/dt
        self.force_gain = -pole * g * complex(loop.transfer_function(p.f_drive)) / math.sqrt(2.0)
        rot = cmath.exp(-1j * p.phase)
        m = np.zeros((size, size))
        tm = p.spin_time
        m[I_XI, I_XI] = -1.0 / tm
        _put(m, I_B, I_B, pole)
        coupling = self.force_gain * p.spin_force_std
        m[I_B, I_XI] += coupling.real
        m[I_B + 1, I_XI] += coupling.imag
        direct = rot * p.spin_direct_std / tau
        m[I_Y, I_XI] += direct.real
        m[I_Y + 1, I_XI] += direct.imag
        _put(m, I_Y, I_B, rot / tau)
        for k in range(n):
            j = I_Y + 2 * k
            _put(m, j, j, complex(-1.0 / tau, -delta))
            if k:
                _put(m, j, j - 2, complex(1.0 / tau, 0.0))
        self.matrix = m
        self.delta = delta
        self.rotation = rot
        # noise intensities (G G^T): circular complex noise puts half on Re and half on Im
        q = np.zeros((size, size))
        q[I_XI, I_XI] = 2.0 / tm
        # the thermal force of the cantilever's own damping: E|B|^2 = g^2 kB T/k (the
        # thermal variance, Cantilever.thermal_rms squared) without feedback, times
        # Q_loop/Q with it (feedback cooling)
        q_b = 2.0 / c.ringdown_time * g * g * c.thermal_rms() ** 2
        q[I_B, I_B] = q[I_B + 1, I_B + 1] = 0.5 * q_b
        s_det = (g * p.detector_noise) ** 2
        q[I_Y, I_Y] = q[I_Y + 1, I_Y + 1] = 0.5 * s_det / tau**2
        cov = scipy.linalg.solve_continuous_lyapunov(m, -q)
        self.covariance = 0.5 * (cov + cov.T)
        self.out = I_Y + 2 * (n - 1)

    def mean_target(self, force: complex, direct: complex) -> np.ndarray:
        """s_inf for a constant force amplitude (N, complex) and direct input (V, complex)."""
        b = np.zeros(self.params.size)
        fb = self.force_gain * force
        b[I_B], b[I_B + 1] = fb.real, fb.imag
        d = self.rotation * direct / self.params.time_constant
        b[I_Y], b[I_Y + 1] = d.real, d.imag
        if not b.any():
            return b
        return -np.linalg.solve(self.matrix, b)

    def output_variance(self) -> float:
        """Stationary variance of X and Y averaged, V^2 (thermal, spin and detector noise).

        The thermal and detector noise are circular (equal in X and Y); a statistical spin
        signal is not: its part is in the phase of its gain (X at the -90 degree phase)."""
        i = self.out
        return 0.5 * float(self.covariance[i, i] + self.covariance[i + 1, i + 1])

    def transition(self, dt: float) -> np.ndarray:
        """Phi = expm(M dt) (the kernel's scaled Taylor series)."""
        return expm_small(self.matrix, float(dt))


@njit(cache=True, fastmath=False)
def expm_small(m, dt):  # pragma: no cover - numba
    """expm(m dt) of a small matrix: Taylor series of m dt / 2^s (norm <= 1/4, 18 terms,
    truncation below 1e-26) squared s times."""
    n = m.shape[0]
    norm = 0.0
    for i in range(n):
        r = 0.0
        for j in range(n):
            r += abs(m[i, j])
        norm = max(norm, r)
    norm *= dt
    s = 0
    if norm > 0.25:
        s = int(math.ceil(math.log2(norm / 0.25)))
    a = m * (dt / 2.0**s)
    result = np.eye(n)
    term = np.eye(n)
    for k in range(1, 19):
        term = term @ a / k
        result += term
    for _ in range(s):
        result = result @ result
    return result


@njit(cache=True, fastmath=False)
def exact_step(phi, cov, s, target, z):  # pragma: no cover - numba
    """s <- target + Phi (s - target) + L z, L L^T = P - Phi P Phi^T (a Cholesky factor that
    sets a pivot at or below rounding to zero, so a semidefinite covariance works)."""
    n = s.shape[0]
    qd = cov - phi @ cov @ phi.T
    lo = np.zeros((n, n))
    scale = 0.0
    for i in range(n):
        scale = max(scale, abs(cov[i, i]))
    floor = 1e-14 * scale
    for j in range(n):
        d = qd[j, j]
        for k in range(j):
            d -= lo[j, k] * lo[j, k]
        if d <= floor:
            continue
        dj = math.sqrt(d)
        lo[j, j] = dj
        for i in range(j + 1, n):
            v = qd[i, j]
            for k in range(j):
                v -= lo[i, k] * lo[j, k]
            lo[i, j] = v / dj
    new = target + phi @ (s - target) + lo @ z
    for i in range(n):
        s[i] = new[i]


class EnvelopeLockin:
    """One lock-in looking at one cantilever, advanced exactly between update times.

    Parameters
    ----------
    params : EnvelopeParameters
        The starting parameters.
    t : float
        Simulated time of the start, s.
    z : ndarray, shape (params.size,), optional
        Standard normal deviates: the state starts at a draw from the stationary
        distribution (None: at zero, the deterministic mean).
    """

    def __init__(self, params: EnvelopeParameters, t: float = 0.0,
                 z: np.ndarray | None = None) -> None:
        self.system = EnvelopeSystem(params)
        self.t = float(t)
        self.state = np.zeros(params.size)
        self.force = 0j
        self.direct = 0j
        self._target = np.zeros(params.size)
        if z is not None:  # a draw from the stationary distribution
            w, v = np.linalg.eigh(self.system.covariance)
            self.state = v @ (np.sqrt(np.clip(w, 0.0, None)) * np.asarray(z, dtype=float))

    @property
    def params(self) -> EnvelopeParameters:
        """The present parameters."""
        return self.system.params

    def set_inputs(self, force: complex, direct: complex = 0j) -> None:
        """New force amplitude (N) and direct input (V), from the present time on."""
        if force != self.force or direct != self.direct:
            self.force, self.direct = complex(force), complex(direct)
            self._target = self.system.mean_target(self.force, self.direct)

    def retune(self, params: EnvelopeParameters) -> None:
        """New parameters from the present time on: the cantilever keeps its motion
        ``B e^{i w_m t}`` and the filters their outputs ``y e^{i Delta t}``."""
        old = self.system.params
        if params == old:
            return
        if params.order != old.order:  # SR830: a new slope restarts the sections at the output
            keep = self.state[: I_Y + 2 * min(params.order, old.order)].copy()
            self.state = np.zeros(params.size)
            self.state[: keep.size] = keep
        old_delta = self.system.delta
        turn_b = _turn(old.f_drive - params.f_drive, self.t)
        new = EnvelopeSystem(params)
        turn_y = cmath.exp(1j * (_angle(old_delta, self.t) - _angle(new.delta, self.t)))
        _rotate(self.state, I_B, turn_b)
        for k in range(params.order):
            _rotate(self.state, I_Y + 2 * k, turn_y)
        self.system = new
        self._target = new.mean_target(self.force, self.direct)

    def advance(self, t: float, z: np.ndarray) -> None:
        """Exact step to time t (s) with the present inputs; z: ``params.size`` N(0, 1)."""
        dt = t - self.t
        if dt <= 0.0:
            return
        sysm = self.system
        exact_step(sysm.transition(dt), sysm.covariance, self.state, self._target, z)
        self.t = float(t)

    def warm_up(self, dt: float) -> None:
        """Compile the step's kernels (matrix exponential over ``dt`` s, exact step) on a
        scratch copy of the state: the engine's time, state and outputs stay as they were."""
        sysm = self.system
        scratch = self.state.copy()
        exact_step(sysm.transition(dt), sysm.covariance, scratch, self._target,
                   np.zeros_like(scratch))

    def output(self) -> complex:
        """X + iY (V r.m.s.) at the present time."""
        i = self.system.out
        y = complex(self.state[i], self.state[i + 1])
        if self.system.delta == 0.0:
            return y
        return y * cmath.exp(1j * _angle(self.system.delta, self.t))

    def mean_output(self) -> complex:
        """The steady-state X + iY for the present inputs (no noise), V."""
        i = self.system.out
        return complex(self._target[i], self._target[i + 1])


def _angle(omega: float, t: float) -> float:
    """omega t (rad) reduced modulo 2 pi without losing digits for large t."""
    turns = (omega / (2.0 * math.pi)) * t
    return 2.0 * math.pi * (turns - math.floor(turns))


def _turn(df: float, t: float) -> complex:
    return cmath.exp(1j * _angle(2.0 * math.pi * df, t)) if df else 1.0 + 0j


def _rotate(s: np.ndarray, i: int, z: complex) -> None:
    v = complex(s[i], s[i + 1]) * z
    s[i], s[i + 1] = v.real, v.imag

