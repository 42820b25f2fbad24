"""Phase-locked loop measuring the frequency of the self-oscillating cantilever.

A numerically controlled oscillator (NCO) of phase psi is compared with the
input u: the products u cos(psi) and -u sin(psi), low-pass filtered by two
first-order sections of cutoff f_pd, give (A/2) exp(i (phi - psi)); their
argument is the phase error e. A proportional-integral controller sets the
NCO frequency, f = f_c + Kp e + Ki int e dt. Linearized, with the detector
filter D(s) = (1 + s / w_pd)^-2 acting on the phase error, the open loop is
G(s) = D(s) 2 pi (Kp s + Ki) / s^2 and the measured frequency follows the input
frequency through the closed loop H(s) = G / (1 + G) (:func:`closed_loop_response`).
Without the detector filter the loop is second order with natural frequency
w_n = sqrt(2 pi Ki) and damping zeta = pi Kp / w_n (Best, *Phase-Locked Loops*,
6th ed., McGraw-Hill 2007, ch. 2), and its -3 dB bandwidth is
w_3dB = w_n sqrt(1 + 2 zeta^2 + sqrt((1 + 2 zeta^2)^2 + 1)) = 2.058 w_n for
zeta = 1/sqrt(2). The loop "bandwidth" B is the -3 dB bandwidth of H, the
detector filter included: :func:`loop_gains` keeps zeta = 1/sqrt(2) and solves
|H(i 2 pi B)| = 1/sqrt(2) for w_n. The NCO frequency minus the centre
frequency is the measured frequency shift, as in the frequency-shift
detection of OSCAR (Stipe et al., PRL 87, 277602 (2001)).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from mrfm.errors import UserError
from mrfm.physics import lockin
from mrfm.timedomain.interferometer import lowpass_coefficient

#: state vector layout: psi (rad), integrator (Hz), I1, I2, Q1, Q2
STATE_SIZE = 6


#: damping ratio of the PI loop (without the detector filter)
ZETA = 1.0 / math.sqrt(2.0)


def _gains(omega_n: float) -> tuple[float, float]:
    """(Kp, Ki) of natural frequency omega_n (rad/s) and damping ZETA."""
    return 2.0 * ZETA * omega_n / (2.0 * math.pi), omega_n**2 / (2.0 * math.pi)


def closed_loop_response(f: np.ndarray | float, *, kp: float, ki: float,
                         detector_cutoff: float | None) -> np.ndarray | complex:
    """Linearized closed-loop response H(f) of measured to input frequency (any shape, Hz).

    H = G / (1 + G), G(s) = (1 + s/w_pd)^-2 2 pi (Kp s + Ki) / s^2 at s = i 2 pi f;
    ``detector_cutoff`` None leaves the detector filter out (w_pd -> inf).
    """
    s = 2j * math.pi * np.asarray(f, dtype=float)
    g = 2.0 * math.pi * (kp * s + ki) / (s * s)
    if detector_cutoff is not None:
        # the phase detector's two RC sections: the lock-in's filter at 12 dB/oct
        g = g * lockin.response(f, time_constant=1.0 / (2.0 * math.pi * detector_cutoff),
                                order=2)
    h = g / (1.0 + g)
    return complex(h) if np.ndim(h) == 0 else h


def loop_gains(bandwidth: float, detector_cutoff: float | None = None,
               *, ideal: bool = False) -> tuple[float, float]:
    """(Kp [Hz/rad], Ki [Hz/(rad s)]) whose closed loop has the -3 dB bandwidth B (Hz).

    Parameters
    ----------
    bandwidth : float
        -3 dB bandwidth B of the closed loop, Hz.
    detector_cutoff : float, optional
        Phase-detector cutoff, Hz (default 10 B, as :func:`track_frequency`).
    ideal : bool
        Ignore the detector filter: the closed form w_n = 2 pi B / sqrt(2 + sqrt 5).
    """
    b = float(bandwidth)
    if not (math.isfinite(b) and b > 0):
        raise UserError(f"pll.bandwidth {bandwidth!r} Hz must be > 0")
    w_b = 2.0 * math.pi * b
    if ideal:
        x = 1.0 + 2.0 * ZETA**2
        return _gains(w_b / math.sqrt(x + math.sqrt(x * x + 1.0)))
    f_pd = 10.0 * b if detector_cutoff is None else float(detector_cutoff)

    def excess(omega_n: float) -> float:
        kp, ki = _gains(omega_n)
        return abs(closed_loop_response(b, kp=kp, ki=ki, detector_cutoff=f_pd)) - ZETA

    import scipy.optimize  # here, not at import: most users of this module never get here

    omega_n = scipy.optimize.brentq(excess, 0.05 * w_b, 2.0 * w_b, xtol=1e-14 * w_b,
                                    rtol=1e-14)
    return _gains(omega_n)


def check_settings(*, dt: float, bandwidth: float, detector_cutoff: float) -> None:
    """Raise UserError unless B < f_pd / 4 and f_pd is below the Nyquist frequency."""
    if not 0 < detector_cutoff < 0.5 / dt:
        raise UserError(
            f"pll.detector_cutoff {detector_cutoff:g} Hz must be in (0, {0.5 / dt:g}) Hz"
        )
    if not 0 < bandwidth <= detector_cutoff / 4:
        raise UserError(
            f"pll.bandwidth {bandwidth:g} Hz must be in (0, {detector_cutoff / 4:g}] Hz "
            "(a quarter of the phase detector's cutoff, for a stable loop)"
        )


@njit(cache=True, fastmath=False)
def pll_sample(u, dt, f_center, kp, ki, a, state):  # pragma: no cover - numba
    """Feed one sample; return the NCO frequency offset f - f_center (Hz) used for the step."""
    psi = state[0]
    ii = u * math.cos(psi)
    qq = -u * math.sin(psi)
    state[2] = a * state[2] + (1.0 - a) * ii
    state[3] = a * state[3] + (1.0 - a) * state[2]
    state[4] = a * state[4] + (1.0 - a) * qq
    state[5] = a * state[5] + (1.0 - a) * state[4]
    e = math.atan2(state[5], state[3])
    offset = kp * e + state[1]
    state[1] += ki * e * dt
    psi += 2.0 * math.pi * (f_center + offset) * dt
    state[0] = psi % (2.0 * math.pi)
    return offset


@njit(cache=True, fastmath=False)
def pll_process(u, dt, f_center, kp, ki, a, state, out):  # pragma: no cover - numba
    """Run the loop over ``u``; ``out[i]`` is the frequency offset at sample i, Hz."""
    for i in range(u.shape[0]):
        out[i] = pll_sample(u[i], dt, f_center, kp, ki, a, state)


def track_frequency(
    u: np.ndarray, *, dt: float, f_center: float, bandwidth: float,
    detector_cutoff: float | None = None, initial_phase: float = 0.0,
) -> np.ndarray:
    """Frequency offset (Hz) of the signal ``u`` from ``f_center`` as tracked by the PLL.

    Parameters
    ----------
    u : ndarray, shape (n,)
        Input samples (any unit; the phase detector normalizes the amplitude).
    dt : float
        Sample interval, s.
    f_center : float
        NCO centre frequency, Hz.
    bandwidth : float
        -3 dB bandwidth B of the closed loop, Hz (:func:`loop_gains`).
    detector_cutoff : float, optional
        Phase-detector low-pass cutoff, Hz (default 10 B).
    initial_phase : float
        NCO phase at sample 0, rad.
    """
    f_pd = 10.0 * bandwidth if detector_cutoff is None else detector_cutoff
    check_settings(dt=dt, bandwidth=bandwidth, detector_cutoff=f_pd)
    kp, ki = loop_gains(bandwidth, f_pd)
    state = np.zeros(STATE_SIZE)
    state[0] = initial_phase
    out = np.empty(len(u))
    pll_process(np.ascontiguousarray(u, dtype=np.float64), dt, f_center, kp, ki,
                lowpass_coefficient(cutoff=f_pd, dt=dt), state, out)
    return out
