"""Spin dynamics: adiabaticity, Landau-Zener inversion, B1_eff, spin lock; the spin signal
through a lock-in (mrfm.physics.spin_noise).

Independent truth
-----------------
* Numerical Bloch equations in the rotating frame (scipy ``solve_ivp``, DOP853):
  dM/dt = Omega x M with Omega = (omega1, 0, Delta(t)) and relaxation along Omega-hat at
  1/T1rho. A linear sweep checks P_flip = 1 - exp(-pi A / 2) (Landau 1932, Zener 1932);
  one half period of a cosine (CAI) sweep checks the crossing rate 2 pi f D sqrt(1 - s^2);
  a cyclic adiabatic sweep with T1rho checks exp(-t / T1rho).
* Closed forms: mamin2007 numbers by hand; Lorentzian integrals (scipy ``quad``);
  B1_eff for simple geometries; grad|B| by finite differences of a sphere's field.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from mrfm.physics import SphereMagnet, lockin
from mrfm.physics import spin_dynamics as sd
from mrfm.physics import spin_noise as sn


def _bloch(omega1: float, delta, t0: float, t1: float, t1rho: float = math.inf,
           t_eval=None) -> tuple[np.ndarray, np.ndarray]:
    """Integrate the rotating-frame Bloch equations from M along Omega(t0); (t, M)."""

    def omega(t: float) -> np.ndarray:
        return np.array([omega1, 0.0, delta(t)])

    def rhs(t: float, m: np.ndarray) -> np.ndarray:
        w = omega(t)
        dm = np.cross(w, m)
        if math.isfinite(t1rho):
            n = w / np.linalg.norm(w)
            dm -= np.dot(m, n) * n / t1rho
        return dm

    w0 = omega(t0)
    sol = integrate.solve_ivp(rhs, (t0, t1), w0 / np.linalg.norm(w0), method="DOP853",
                              rtol=1e-9, atol=1e-11, t_eval=t_eval)
    assert sol.success
    return sol.t, sol.y.T


def _along_field(omega1: float, delta: float, m: np.ndarray) -> float:
    w = np.array([omega1, 0.0, delta])
    return float(np.dot(m, w) / np.linalg.norm(w))


@pytest.mark.parametrize("a", [0.1, 0.4, 1.0, 2.0])
def test_landau_zener_linear_sweep_matches_bloch(a):
    # omega1 = 1 rad/s, alpha = omega1^2 / A; sweep from -50 to +50 omega1 (finite-range
    # corrections ~ omega1 / Delta_max are averaged by projecting on the final field).
    omega1, dmax = 1.0, 50.0
    alpha = omega1**2 / a
    t_end = dmax / alpha
    _, m = _bloch(omega1, lambda t: alpha * t, -t_end, t_end)
    kept = _along_field(omega1, dmax, m[-1])
    p_bloch = 0.5 * (1.0 + kept)
    assert p_bloch == pytest.approx(sd.flip_probability(a), abs=1e-3)
    assert kept == pytest.approx(sd.lock_retention(a), abs=2e-3)


@pytest.mark.parametrize(("a", "s"), [(0.5, 0.0), (1.0, 0.0), (1.0, 0.6), (2.0, -0.4)])
def test_cosine_sweep_crossing_rate(a, s):
    # CAI sweep Delta = D (s + cos w t) with D = 25 omega1; A from sweep_rate (gamma = 1).
    omega1, depth = 1.0, 25.0
    # choose w so that adiabaticity(1, omega1, sweep_rate(D, w / 2pi, s)) == a
    w = omega1**2 / (a * depth * math.sqrt(1.0 - s * s))
    rate = sd.sweep_rate(depth, w / (2.0 * math.pi), s)
    assert sd.adiabaticity(1.0, omega1, rate) == pytest.approx(a, rel=1e-12)
    _, m = _bloch(omega1, lambda t: depth * (s + math.cos(w * t)), 0.0, math.pi / w)
    kept = _along_field(omega1, depth * (s - 1.0), m[-1])
    assert 0.5 * (1.0 + kept) == pytest.approx(sd.flip_probability(a), abs=0.015)


def test_spin_lock_decays_with_t1rho_through_adiabatic_cycles():
    # A = 20 at the slice centre: the lock survives the passages; only T1rho decays it.
    omega1, depth, a, t1rho = 1.0, 10.0, 20.0, 800.0
    w = omega1**2 / (a * depth)
    t_eval = np.linspace(0.0, 3.0 * math.pi / w, 7)
    t, m = _bloch(omega1, lambda t: depth * math.cos(w * t), 0.0, t_eval[-1], t1rho,
                  t_eval=t_eval)
    kept = np.array([_along_field(omega1, depth * math.cos(w * ti), mi)
                     for ti, mi in zip(t, m, strict=True)])
    passages = np.floor(t * w / math.pi + 0.5)  # crossings at w t = pi/2, 3pi/2, 5pi/2
    expect = sd.spin_lock_decay(t, t1rho) * sd.lock_retention(a) ** passages
    np.testing.assert_allclose(kept, expect, rtol=2e-3, atol=2e-3)


def test_mamin2007_adiabaticity_by_hand():
    # 19F (gamma = 25.18148e7 rad/(s T)), B1 = 1 mT, fm_depth = 10 mT, f0 = 3 kHz:
    # A = gamma B1^2 / (2 pi f0 fm_depth) = 2.518148e8 * 1e-6 / (2 pi 3e3 * 1e-2) = 1.33592
    a = sd.adiabaticity(25.18148e7, 1e-3, sd.sweep_rate(10e-3, 3e3))
    assert a == pytest.approx(2.518148e2 / (2 * math.pi * 30.0), rel=1e-12)
    assert a == pytest.approx(1.33592, rel=1e-5)
    # about 12 % of passages fail: exp(-pi A / 2) = 0.12265
    assert 1.0 - sd.flip_probability(a) == pytest.approx(0.12265, rel=1e-3)


def test_flip_probability_limits_and_rate():
    assert sd.flip_probability(0.0) == 0.0
    assert sd.flip_probability(math.inf) == 1.0
    assert sd.lock_retention(0.0) == -1.0
    np.testing.assert_allclose(sd.flip_probability(np.array([3.0])),
                               [1.0 - math.exp(-1.5 * math.pi)], rtol=1e-14)
    # retention 1 - 2 exp(-pi A/2) per passage at 2 f passages per second
    a, f = 4.0, 3e3
    r = 1.0 - 2.0 * math.exp(-2.0 * math.pi)
    assert sd.nonadiabatic_decay_rate(a, 2 * f) == pytest.approx(-2 * f * math.log(r), rel=1e-12)
    assert sd.nonadiabatic_decay_rate(0.1, 2 * f) == math.inf
    assert sd.sweep_rate(1e-3, 1e3, 1.5) == 0.0
    assert sd.adiabaticity(1.0, 1e-3, 0.0) == math.inf


def test_b1_effective_geometry():
    b1 = 2e-3
    assert sd.b1_effective(b1, [0.0, 0.0, 0.3]) == pytest.approx(b1, rel=1e-15)
    assert sd.b1_effective(b1, [0.0, 0.0, -0.3]) == pytest.approx(b1, rel=1e-15)
    assert sd.b1_effective(b1, [0.1, 0.0, 0.1]) == pytest.approx(b1 / math.sqrt(2), rel=1e-14)
    assert sd.b1_effective(b1, [0.2, 0.0, 0.0]) == pytest.approx(0.0, abs=1e-18)
    # a field tilted in y-z leaves an x-directed B1 fully perpendicular
    assert sd.b1_effective(b1, [0.0, 0.5, 0.1]) == pytest.approx(b1, rel=1e-15)
    fields = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, math.sqrt(3.0)]])
    np.testing.assert_allclose(sd.b1_effective(1.0, fields), [1.0, math.sqrt(3.0) / 2.0],
                               rtol=1e-14)
    with pytest.raises(ValueError):
        sd.b1_effective(b1, [0.0, 0.0, 0.0])


def test_force_per_moment_is_grad_of_field_magnitude():
    # Sphere tip (R = 100 nm, J = 1.9 T) at low B0 = 30 mT, where the tip field tilts the axis.
    mag = SphereMagnet(radius=100e-9, polarization=1.9)
    b0 = np.array([0.0, 0.0, 0.03])
    p = np.array([[60e-9, 25e-9, -180e-9], [-40e-9, 0.0, -150e-9]])
    total = mag.field(p) + b0
    got = sd.force_per_moment(total, mag.gradient(p))
    h = 1e-12
    for j in range(3):
        step = np.zeros(3)
        step[j] = h
        fd = (np.linalg.norm(mag.field(p + step) + b0, axis=-1)
              - np.linalg.norm(mag.field(p - step) + b0, axis=-1)) / (2 * h)
        np.testing.assert_allclose(got[:, j], fd, rtol=1e-6)
    # along z alone (high-field limit) the force would be dBz/dx: the tilt matters here
    n = sd.quantization_axis(total)
    assert np.all(np.abs(n[:, 2]) < 0.999)


def test_spin_signal_psd_integrates_to_variance():
    var, tau = 2.5e-36, 0.76
    total, _ = integrate.quad(lambda f: sn.spin_signal_psd(f, var, tau), 0.0, np.inf)
    assert total == pytest.approx(var, rel=1e-9)
    # half maximum at f = 1/(2 pi tau): FWHM (two-sided) 1/(pi tau)
    half = sn.spin_signal_bandwidth(tau) / 2.0
    assert sn.spin_signal_psd(half, var, tau) == pytest.approx(
        0.5 * sn.spin_signal_psd(0.0, var, tau), rel=1e-12)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize(("tau_m", "tc"), [(0.76, 0.1), (0.05, 1.0), (1.0, 1.0)])
def test_lockin_capture_fraction_against_quad(order, tau_m, tc):
    def integrand(f: float) -> float:
        return (sn.spin_signal_psd(f, 1.0, tau_m)
                * abs(lockin.response(f, time_constant=tc, order=order)) ** 2)

    truth, _ = integrate.quad(integrand, 0.0, np.inf, limit=400, epsabs=1e-13)
    assert sn.lockin_capture_fraction(tau_m, tc, order) == pytest.approx(truth, rel=1e-7)
    if order == 1:
        assert sn.lockin_capture_fraction(tau_m, tc, 1) == pytest.approx(tau_m / (tau_m + tc))


def test_scalar_kernels_equal_the_vectorized_laws():
    rng = np.random.default_rng(7)
    for _ in range(50):
        gamma = rng.uniform(-2e11, 2e11)
        b1, depth, f, s = rng.uniform(1e-6, 1e-3), rng.uniform(1e-4, 1e-2), 5e3, rng.uniform(-1, 1)
        a = sd.adiabaticity(gamma, b1, sd.sweep_rate(depth, f, s))
        assert sd.adiabaticity_at(gamma, b1, depth, f, s) == pytest.approx(a, rel=1e-13)
        assert sd.flip_probability_at(a) == pytest.approx(sd.flip_probability(a), rel=1e-14)
        b = rng.normal(size=3)
        u = rng.normal(size=3)
        u /= np.linalg.norm(u)
        assert sd.b1_effective_at(b1, *b, *u) == pytest.approx(
            sd.b1_effective(b1, b, u), rel=1e-12, abs=1e-20)
    assert sd.adiabaticity_at(1.0, 1e-3, 1e-3, 1e3, 1.0) == math.inf


def test_locked_lifetime_combines_t1rho_and_passage_losses():
    t1rho, f = 0.76, 5.5e3
    assert sd.locked_lifetime(t1rho, math.inf, f) == pytest.approx(t1rho, rel=1e-15)
    a = 3.0
    loss = -2 * f * math.log(1 - 2 * math.exp(-1.5 * math.pi))
    assert sd.locked_lifetime(t1rho, a, f) == pytest.approx(1 / (1 / t1rho + loss), rel=1e-13)


@pytest.mark.parametrize("u", [2e-4, 1e-3, 0.05, 0.0999, 0.1001, 0.7, 2.0, 13.0, 400.0])
def test_averaged_variance_fraction_against_double_integral(u):
    """The boxcar average's variance against its definition, (1/T^2) double integral of
    exp(-|t - s| / tau_m) over [0, T]^2 (scipy dblquad); also across the series switch."""
    tau = 0.3
    t = u * tau
    # twice the triangle s < r, where the integrand is smooth
    half, _ = integrate.dblquad(lambda s, r: math.exp(-(r - s) / tau), 0.0, t,
                                0.0, lambda r: r, epsabs=1e-15 * t * t, epsrel=1e-11)
    truth = 2.0 * half
    assert sn.averaged_variance_fraction(t, tau) == pytest.approx(truth / t**2, rel=1e-9,
                                                                  abs=0.0)


def test_averaged_variance_fraction_limits_and_errors():
    tau = 0.2
    assert sn.averaged_variance_fraction(0.0, tau) == 1.0
    # long dwell: 2 tau/T - 2 (tau/T)^2 (the e^-u term is below 1e-40)
    t = 100.0
    assert sn.averaged_variance_fraction(t, tau) == pytest.approx(
        2 * tau / t - 2 * (tau / t) ** 2, rel=1e-12)
    # the series and the closed form agree to rounding across the switch at u = 0.1 (the
    # closed form's cancellation is ~2 eps / u there), and the series against exact
    # rational arithmetic (Fraction, 40 terms) at small u
    lo, hi = sn.averaged_variance_fraction(np.array([0.1 * (1 - 1e-15), 0.1]) * tau, tau)
    assert abs(lo - hi) < 1e-14
    from fractions import Fraction

    for u in (1e-8, 1e-5, 3e-3, 0.05, 0.0999):
        q = Fraction(u)
        exact = sum(2 * (-q) ** k / math.factorial(k + 2) for k in range(40))
        got = sn.averaged_variance_fraction(u * tau, tau)
        assert abs(Fraction(got) - exact) <= Fraction(1, 10**15) * exact
    for bad in (-1.0, math.nan):
        with pytest.raises(ValueError, match="duration"):
            sn.averaged_variance_fraction(bad, tau)
    with pytest.raises(ValueError, match="tau_m"):
        sn.averaged_variance_fraction(1.0, 0.0)


@pytest.mark.parametrize("u", [0.25, 2.0, 10.0])
def test_variance_estimate_rel_std_by_monte_carlo(u):
    """Simulated Ornstein-Uhlenbeck records (exact AR(1) steps, Gillespie, Phys. Rev. E 54,
    2084 (1996)), 6000 records of T = u tau_m in 400 steps: the spread of their mean squares
    against the law. Statistical error of a standard deviation from 6000 samples ~0.9 %;
    the step's discretisation below 0.3 %; tolerance 5 %."""
    rng = np.random.default_rng(11)
    tau, n_rec, n_step = 1.0, 6000, 400
    a = math.exp(-u * tau / n_step / tau)
    x = rng.standard_normal(n_rec)
    acc = np.zeros(n_rec)
    for _ in range(n_step):
        x = a * x + math.sqrt(1 - a * a) * rng.standard_normal(n_rec)
        acc += x * x
    est = acc / n_step
    assert np.std(est) == pytest.approx(sn.variance_estimate_rel_std(u * tau, tau), rel=0.05)
    x = rng.standard_normal(n_rec)
    acc = np.zeros(n_rec)
    for _ in range(n_step):
        x = a * x + math.sqrt(1 - a * a) * rng.standard_normal(n_rec)
        acc += x
    assert np.var(acc / n_step) == pytest.approx(sn.averaged_variance_fraction(u * tau, tau),
                                                 rel=0.05)


@pytest.mark.parametrize("order", [1, 2, 4])
@pytest.mark.parametrize(("tau_m", "tc", "dt"), [(0.76, 0.1, 0.05), (0.05, 1.0, 0.3),
                                                 (1.0, 1.0, 5.0), (1e-3, 0.1, 0.5)])
def test_filtered_spin_signal_steps_against_the_spectrum(order, tau_m, tc, dt):
    """The sampled model of the spin signal read through the lock-in filter: the reading's
    variance and its covariance with the next reading against integrals of the Lorentzian
    times |H|^2 (scipy quad; the cosine transform by QAWF), and the step's stationarity."""
    phi, root, p = sn.filtered_spin_signal_steps(tau_m, tc, order, dt)

    def power(f: float) -> float:
        return (sn.spin_signal_psd(f, 1.0, tau_m)
                * abs(lockin.response(f, time_constant=tc, order=order)) ** 2)

    var, _ = integrate.quad(power, 0.0, np.inf, limit=400, epsabs=1e-13)
    lag, _ = integrate.quad(power, 0.0, np.inf, weight="cos", wvar=2 * math.pi * dt,
                            limlst=200)
    assert p[-1, -1] == pytest.approx(var, rel=1e-8, abs=0.0)
    assert (phi @ p)[-1, -1] == pytest.approx(lag, rel=1e-6, abs=1e-12)
    np.testing.assert_allclose(phi @ p @ phi.T + root @ root.T, p, rtol=0, atol=1e-13)


def test_filtered_spin_signal_steps_continuous_across_the_two_step_forms():
    """Van Loan's form for short steps, P - Phi P Phi^T for long ones (switch at dt = 2 tau):
    the step covariance agrees across the switch."""
    tau_m, tc = 1.0, 0.1
    q = []
    for dt in (0.2 * (1 - 1e-12), 0.2 * (1 + 1e-12)):
        _, root, _ = sn.filtered_spin_signal_steps(tau_m, tc, 3, dt)
        q.append(root @ root.T)
    np.testing.assert_allclose(q[0], q[1], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="dt"):
        sn.filtered_spin_signal_steps(tau_m, tc, 1, 0.0)


@pytest.mark.parametrize("order", [1, 3])
def test_filtered_autocorrelations_against_the_spectra(order):
    """The lock-in output's autocorrelations for the spin signal and for white noise
    against cosine transforms of S |H|^2 and |H|^2 (scipy quad, QAWF), normalized."""
    tau_m, tc = 0.3, 0.05
    lags = np.array([0.0, 0.01, 0.07, 0.4])
    rho_s, rho_w = sn.filtered_autocorrelations(lags, tau_m, tc, order)

    def spin(f):
        return sd_psd(f, tau_m) * abs(lockin.response(f, time_constant=tc, order=order)) ** 2

    def white(f):
        return abs(lockin.response(f, time_constant=tc, order=order)) ** 2

    for fn, rho in ((spin, rho_s), (white, rho_w)):
        zero, _ = integrate.quad(fn, 0.0, np.inf, limit=400, epsabs=1e-14)
        for lag, r in zip(lags[1:], rho[1:], strict=True):
            val, _ = integrate.quad(fn, 0.0, np.inf, weight="cos", wvar=2 * math.pi * lag,
                                    limlst=200)
            assert r == pytest.approx(val / zero, rel=1e-6, abs=1e-10)
        assert rho[0] == pytest.approx(1.0, rel=1e-12)


def sd_psd(f, tau_m):
    return sn.spin_signal_psd(f, 1.0, tau_m)


def test_mean_square_spread_terms_by_monte_carlo():
    """Records of the lock-in's output: an exactly sampled spin signal through the filter
    (filtered_spin_signal_steps, itself checked against the spectrum) plus white noise
    through the same filter (scipy lfilter of held white samples at a step 500 times finer
    than the dwell); 3000 records of one dwell, started stationary. The spread of their mean
    squares against sqrt(a^2 i_ss + 2ac i_sw + c^2 i_ww): a standard deviation from 3000
    samples to ~1.3 %, the white part's discretisation ~0.5 %; tolerance 5 %."""
    from scipy import signal

    rng = np.random.default_rng(8)
    tau_m, tc, order, dwell = 0.05, 0.02, 2, 0.05
    n_rec, n_step = 3000, 500
    dt = dwell / n_step
    a_var, c_var = 1.0, 1.5
    phi, root, p = sn.filtered_spin_signal_steps(tau_m, tc, order, dt)
    g = p[-1, -1]
    ev, vec = np.linalg.eigh(p)
    z = rng.standard_normal((n_rec, p.shape[0])) @ (vec * np.sqrt(np.clip(ev, 0, None))).T
    spin = np.empty((n_rec, n_step))
    for k in range(n_step):
        z = z @ phi.T + rng.standard_normal((n_rec, p.shape[0])) @ root.T
        spin[:, k] = z[:, -1]
    spin *= math.sqrt(a_var / g)
    # white noise through `order` RC poles, each y[n] = e y[n-1] + (1 - e) x[n]
    e = math.exp(-dt / tc)
    burn = int(12 * order * tc / dt)  # the start transient below 1e-8
    white = rng.standard_normal((n_rec, burn + n_step))
    for _ in range(order):
        white = signal.lfilter([1 - e], [1, -e], white, axis=1)
    white = white[:, burn:]
    white *= math.sqrt(c_var) / white.std()
    x = spin + white
    est = np.mean(x * x, axis=1)
    i_ss, i_sw, i_ww = sn.mean_square_spread_terms(dwell, tau_m, tc, order)
    expect = math.sqrt(a_var**2 * i_ss + 2 * a_var * c_var * i_sw + c_var**2 * i_ww)
    assert np.std(est) == pytest.approx(expect, rel=0.05, abs=0.0)
    # and without the filter's smoothing (tau 1e-6 of tau_m) the boxcar law 2 F(2u)
    i0 = sn.mean_square_spread_terms(dwell, tau_m, 1e-6 * tau_m, 1)[0]
    assert i0 == pytest.approx(sn.variance_estimate_rel_std(dwell, tau_m) ** 2, rel=1e-4,
                               abs=0.0)
    with pytest.raises(ValueError, match="duration"):
        sn.mean_square_spread_terms(0.0, tau_m, tc, order)


@pytest.mark.parametrize(("duration", "tau_m", "tc"), [
    (5.0, 1.0, 0.001), (20.0, 1.0, 0.001), (10.0, 0.05, 0.0005), (1.25, 1.0, 0.25),
    (0.05, 0.002, 0.02), (0.05, 0.05, 0.02)])
def test_mean_square_spread_terms_against_one_pole_closed_forms(duration, tau_m, tc):
    """One pole: rho_white = e^(-s/tau), rho_spin = (tau_m e^(-s/tau_m) - tau e^(-s/tau)) /
    (tau_m - tau) (the OU signal through the pole), each double integral by scipy quad.
    Covers a lock-in 1000 times faster than the spin signal and a dwell 10^4 time constants
    long (a single Simpson grid of 4096 intervals missed the white part by 11-31 % there)."""
    def rw(s):
        return math.exp(-s / tc)

    def rs(s):
        return (tau_m * math.exp(-s / tau_m) - tc * math.exp(-s / tc)) / (tau_m - tc)

    got = sn.mean_square_spread_terms(duration, tau_m, tc, 1)
    kinks = [min(duration, tc * k) for k in (1, 10, 100)]
    for value, fn in zip(got, (lambda s: rs(s) ** 2, lambda s: rs(s) * rw(s),
                               lambda s: rw(s) ** 2), strict=True):
        exact, _ = integrate.quad(lambda s, fn=fn: (duration - s) * fn(s), 0.0, duration,
                                  points=kinks, limit=500, epsabs=0.0, epsrel=1e-12)
        assert value == pytest.approx(4 * exact / duration**2, rel=1e-7, abs=0.0)


@pytest.mark.parametrize(("dwell", "tau_m", "tc", "order"), [
    (0.625, 1.0, 0.125, 2), (0.05, 0.02, 0.0005, 1), (0.05, 0.01, 0.02, 4),
])
def test_mean_square_lag_terms_against_adaptive_quadrature(dwell, tau_m, tc, order):
    """The covariance terms of mean squares l dwells apart, k_xy(l) = (2/T^2)
    int_{-T}^{T} (T - |u|) rho_x(|u + lT|) rho_y(|u + lT|) du, against scipy's adaptive
    quadrature of filtered_autocorrelations (a matrix exponential per lag: another
    algorithm than the stepped propagator with Simpson's rule), lags 0-2, to 1e-7 of
    k(0); lag 0 is mean_square_spread_terms; the terms vanish past the last lag."""
    from scipy import integrate

    k = sn.mean_square_lag_terms(dwell, tau_m, tc, order)
    assert tuple(k[:, 0]) == sn.mean_square_spread_terms(dwell, tau_m, tc, order)

    def f(s, which):
        rs, rw = sn.filtered_autocorrelations(np.array([abs(s)]), tau_m, tc, order)
        return (rs[0] * rs[0], rs[0] * rw[0], rw[0] * rw[0])[which]

    for lag in (1, 2):
        for which in range(3):
            q = integrate.quad(lambda u, lag=lag, which=which:
                               (dwell - abs(u)) * f(u + lag * dwell, which),
                               -dwell, dwell, limit=400, epsabs=1e-14, epsrel=1e-11,
                               points=[-lag * dwell] if lag == 1 else None)[0]
            q *= 2.0 / dwell**2
            assert abs(k[which, lag] - q) < 1e-7 * k[which, 0]
    assert np.all(np.abs(k[:, -1]) < 1e-20 * k[:, 0])


def test_mean_square_lag_correlation_by_monte_carlo():
    """Successive mean squares of one record of the filtered spin signal (sampled exactly,
    filtered_spin_signal_steps, 50 steps per dwell, 6000 dwells): their lag-1 and lag-2
    correlations against k_ss(l) / k_ss(0) (0.55 and 0.17 at dataset-tmv's dwell of 5 time
    constants and tau_m = 1.6 dwells); 6000 correlated readings: ~0.02, tolerance 0.06."""
    tau_m, tc, order, dwell, steps, n = 1.0, 0.125, 2, 0.625, 50, 6000
    phi, root, p = sn.filtered_spin_signal_steps(tau_m, tc, order, dwell / steps)
    rng = np.random.default_rng(11)
    ev, vec = np.linalg.eigh(p)
    z = (vec * np.sqrt(np.clip(ev, 0, None))) @ rng.standard_normal(p.shape[0])
    w = rng.standard_normal((n * steps, p.shape[0])) @ root.T
    out = np.empty(n * steps)
    for i in range(n * steps):
        out[i] = z[-1]
        z = phi @ z + w[i]
    ms = np.mean(out.reshape(n, steps) ** 2, axis=1)
    k = sn.mean_square_lag_terms(dwell, tau_m, tc, order)[0]
    assert k[1] / k[0] == pytest.approx(0.549, abs=0.002)
    for lag in (1, 2):
        assert np.corrcoef(ms[:-lag], ms[lag:])[0, 1] == pytest.approx(k[lag] / k[0], abs=0.06)
