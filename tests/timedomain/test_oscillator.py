"""Exact discretization of the Langevin cantilever.

Independent truths: scipy.linalg.expm and numerical quadrature for the step matrices;
equipartition <x^2> = kB T / k; the continuous-time transient variance
P(t) = P_inf - expm(A t) P_inf expm(A t)^T (scipy expm, a second algorithm); the expected
Hann-windowed periodogram computed from the analytic autocovariance of the thermal
oscillator R(t) = (kB T/k) exp(-gamma t) (cos wd t + gamma/wd sin wd t) (the Fourier pair
of the Lorentzian S_F |H|^2, sampled: aliasing included exactly); the free ring-down
x(t) = x0 exp(-gamma t)(cos wd t + gamma/wd sin wd t); energy conservation for Q -> inf;
the steady-state driven amplitude F0 |H(f)|.
"""

import math

import numpy as np
import pytest
import scipy.constants as sc
import scipy.integrate
import scipy.linalg

from mrfm.errors import UserError
from mrfm.timedomain.oscillator import (
    discretize,
    lorentzian_psd,
    propagate,
    propagate_thermal,
    simulate_oscillator,
    sinusoid_response,
)

K, F0, T = 1e-4, 5e3, 4.2
W0 = 2 * math.pi * F0
M = K / W0**2
T0 = 1 / F0


def a_matrix(Q):
    return np.array([[0.0, 1.0], [-(W0**2), -W0 / Q]])


@pytest.mark.parametrize("Q", [0.7, 10.0, 1e3, 1e6])
@pytest.mark.parametrize("dt", [T0 / 20, T0 / 3, T0 / 2000])
def test_step_matrices_match_expm_and_quadrature(Q, dt):
    d = discretize(k=K, omega0=W0, Q=Q, temperature=T, dt=dt)
    a = a_matrix(Q)
    np.testing.assert_allclose(d.phi, scipy.linalg.expm(a * dt), rtol=1e-12, atol=1e-14 * dt * W0)
    q = 2 * (M * W0 / Q) * sc.k * T / M**2

    def col(s):
        return scipy.linalg.expm(a * s)[:, 1]

    cov = np.array([[scipy.integrate.quad(lambda s, i=i, j=j: q * col(s)[i] * col(s)[j], 0, dt,
                                          epsabs=0, epsrel=1e-12)[0] for j in range(2)]
                    for i in range(2)])
    scale = np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    assert np.all(np.abs(d.cov - cov) <= 1e-9 * scale)
    gam = [scipy.integrate.quad(lambda s, i=i: col(s)[i] / M, 0, dt, epsabs=0,
                                epsrel=1e-12)[0] for i in range(2)]
    np.testing.assert_allclose(d.gamma_in, gam, rtol=1e-9)
    np.testing.assert_allclose(d.chol @ d.chol.T, d.cov, rtol=1e-9, atol=1e-12 * np.abs(cov).max())


@pytest.mark.parametrize("Q", [10.0, 1e3, 1e6])
@pytest.mark.parametrize("dt", [T0 / 20, T0 / 3])
def test_equipartition_is_a_fixed_point_of_the_step(Q, dt):
    d = discretize(k=K, omega0=W0, Q=Q, temperature=T, dt=dt)
    p_inf = np.diag([sc.k * T / K, sc.k * T / M])
    p_next = d.phi @ p_inf @ d.phi.T + d.cov
    np.testing.assert_allclose(p_next, p_inf, rtol=1e-9, atol=1e-12 * p_inf[0, 0] * W0)


@pytest.mark.parametrize("Q", [10.0, 1e3, 1e6])
@pytest.mark.parametrize("dt", [T0 / 20, T0 / 3])
def test_ensemble_variance_from_rest_matches_continuous_time(Q, dt):
    """10^4 oscillators started at rest; variance after n steps vs the exact transient.

    Tolerance: the sample variance of N = 10^4 Gaussian draws has relative standard
    error sqrt(2/N) = 1.4 %; we allow 5 standard errors (7 %).
    """
    n_osc, n_steps = 10_000, 60
    rng = np.random.default_rng(7)
    d = discretize(k=K, omega0=W0, Q=Q, temperature=T, dt=dt)
    s = np.zeros((2, n_osc))
    for _ in range(n_steps):
        s = d.phi @ s + d.chol @ rng.standard_normal((2, n_osc))
    e = scipy.linalg.expm(a_matrix(Q) * n_steps * dt)
    p_inf = np.diag([sc.k * T / K, sc.k * T / M])
    p_t = p_inf - e @ p_inf @ e.T
    tol = 5 * math.sqrt(2 / n_osc)
    assert abs(np.var(s[0]) / p_t[0, 0] - 1) < tol
    assert abs(np.var(s[1]) / p_t[1, 1] - 1) < tol


def autocovariance(lag_t, Q):
    g = W0 / (2 * Q)
    wd = math.sqrt(W0**2 - g**2)
    return sc.k * T / K * np.exp(-g * lag_t) * (np.cos(wd * lag_t) + g / wd * np.sin(wd * lag_t))


@pytest.mark.parametrize("source", ["numpy", "philox"])
@pytest.mark.parametrize("Q", [10.0, 1e3, 1e6])
@pytest.mark.parametrize("dt", [T0 / 20, T0 / 3])
def test_psd_matches_lorentzian(Q, dt, source):
    """Averaged Hann periodogram of 300 records, equilibrium start; the noise comes from
    numpy (kernel `propagate`) or is drawn in the kernel (`propagate_thermal`, Philox +
    ziggurat, one stream per record).

    Expected value per bin: (2 dt / sum w^2) sum_m R(m dt) c_w(m) exp(-2 pi i k m / L), with
    c_w the window autocorrelation — exact for the sampled Lorentzian process. Each
    averaged bin is a mean of 300 (nearly) exponential variables: relative standard error
    1/sqrt(300) = 5.8 %; every bin must lie within 5.5 standard errors (Gaussian limit:
    p < 1e-4 over the 511 bins) and the mean normalized deviation over all bins must stay
    below 0.5.
    """
    n_rec, length = 300, 1024
    rng = np.random.default_rng(11)
    d = discretize(k=K, omega0=W0, Q=Q, temperature=T, dt=dt)
    w = np.hanning(length)
    acc = np.zeros(length // 2 + 1)
    out_x, out_v = np.empty(length), np.empty(length)
    sx, sv = math.sqrt(sc.k * T / K), math.sqrt(sc.k * T / M)
    for r in range(n_rec):
        x0, v0 = sx * rng.standard_normal(), sv * rng.standard_normal()
        if source == "numpy":
            propagate(d.phi, d.gamma_in, d.chol, x0, v0, np.empty(0),
                      rng.standard_normal((length, 2)), out_x, out_v)
        else:
            propagate_thermal(d.phi, d.gamma_in, d.chol, x0, v0, 5, 0, 100 + r, 0,
                              np.empty(0), out_x, out_v)
        acc += np.abs(np.fft.rfft(w * out_x)) ** 2
    est = acc / n_rec * 2 * dt / np.sum(w**2)
    m = np.arange(length)
    cw = np.array([np.dot(w[: length - j], w[j:]) for j in m])
    r = autocovariance(m * dt, Q) * cw
    full = np.concatenate([r, [0.0], r[:0:-1]])
    expected = np.fft.fft(full).real[: 2 * (length // 2) + 1: 2] * 2 * dt / np.sum(w**2)
    z = (est[1:-1] / expected[1:-1] - 1) * math.sqrt(n_rec)
    assert np.max(np.abs(z)) < 5.5
    assert abs(np.mean(z)) < 0.5  # mean bias below half a standard error (2.9 %)
    # and far from resonance (dt = T0/20) the estimate follows the continuous Lorentzian
    if dt == T0 / 20 and Q == 10.0:
        f = np.fft.rfftfreq(length, dt)
        sel = (f > 0.2 * F0) & (f < 2 * F0)
        ratio = est[sel] / lorentzian_psd(f[sel], k=K, f0=F0, Q=Q, temperature=T)
        assert abs(np.mean(ratio) - 1) < 0.05


@pytest.mark.parametrize("dt", [T0 / 20, T0 / 3])
def test_ringdown_matches_analytic_envelope(dt):
    Q, x0, n = 200.0, 1e-8, 3000
    x, v = simulate_oscillator(k=K, f0=F0, Q=Q, temperature=0.0, dt=dt, n=n, x0=x0)
    t = np.arange(n) * dt
    g = W0 / (2 * Q)
    wd = math.sqrt(W0**2 - g**2)
    exact = x0 * np.exp(-g * t) * (np.cos(wd * t) + g / wd * np.sin(wd * t))
    assert np.max(np.abs(x - exact)) < 1e-12 * x0
    amp = np.sqrt(x**2 + (v / W0) ** 2)  # envelope, to O(1/Q)
    np.testing.assert_allclose(amp, x0 * np.exp(-g * t), rtol=2 / Q)


def test_energy_conserved_as_q_to_infinity():
    dt, n, x0 = T0 / 7.3, 200_000, 1e-8
    x, v = simulate_oscillator(k=K, f0=F0, Q=math.inf, temperature=0.0, dt=dt, n=n, x0=x0)
    energy = 0.5 * K * x**2 + 0.5 * M * v**2
    assert np.max(np.abs(energy / energy[0] - 1)) < 1e-9


def test_driven_steady_state_amplitude_is_exact():
    """Sinusoidal drive (exact per-step response) at f0 and off resonance vs F0 |H(f)|."""
    from mrfm.timedomain.chain import ChainParameters, ChainSimulator

    q = 30.0
    for f_drive in (F0, 1.3 * F0):
        c = ChainParameters(k=K, f0=F0, Q=q, temperature=0.0, dt=T0 / 3, drive_amplitude=1e-12,
                            drive_frequency=f_drive, shot_noise=False, adc_bits=0,
                            lockin_time_constant=1e-3)
        x = ChainSimulator(c).run(6000)["displacement"][3000:]
        h = 1 / (K * abs(1 - (f_drive / F0) ** 2 + 1j * f_drive / (F0 * q)))
        t = np.arange(3000, 6000) * c.dt
        basis = np.column_stack([np.cos(2 * np.pi * f_drive * t), np.sin(2 * np.pi * f_drive * t)])
        coef, *_ = np.linalg.lstsq(basis, x, rcond=None)
        assert abs(np.hypot(*coef) / (1e-12 * h) - 1) < 1e-9


def test_sinusoid_response_matches_quadrature():
    q, dt, w = 50.0, T0 / 5, 1.1 * W0
    d = discretize(k=K, omega0=W0, Q=q, temperature=0.0, dt=dt)
    g = sinusoid_response(d.phi, omega0=W0, gamma=W0 / (2 * q), mass=M, omega=w, dt=dt)
    a = a_matrix(q)
    for i in range(2):
        re = scipy.integrate.quad(lambda s, i=i: (scipy.linalg.expm(a * (dt - s))[i, 1] / M)
                                  * math.cos(w * s), 0, dt, epsrel=1e-12)[0]
        im = scipy.integrate.quad(lambda s, i=i: (scipy.linalg.expm(a * (dt - s))[i, 1] / M)
                                  * math.sin(w * s), 0, dt, epsrel=1e-12)[0]
        assert abs(g[i] - complex(re, im)) < 1e-10 * abs(g[i])


def test_spring_constant_derivative_matches_finite_difference():
    q, dt = 1e4, T0 / 20
    d = discretize(k=K, omega0=W0, Q=q, temperature=0.0, dt=dt)
    h = 1e-6 * K

    def phi_of(k):
        return scipy.linalg.expm(np.array([[0.0, 1.0], [-k / M, -W0 / q]]) * dt)

    fd = (phi_of(K + h) - phi_of(K - h)) / (2 * h)
    np.testing.assert_allclose(d.dphi_dk, fd, rtol=1e-6, atol=1e-8 * np.abs(fd).max())


def test_overdamped_refused():
    with pytest.raises(UserError, match="Q > 0.5"):
        discretize(k=K, omega0=W0, Q=0.4, temperature=T, dt=T0 / 20)
