"""Spin noise of synthetic scans (``mrfm.imaging.noise.add_noise``) against its laws.

- On a Curie map: the spin signal (correlation time tau_m) read through the lock-in's
  filter, against integrals of its Lorentzian times the filter's |H|^2.
- A variance measurement: with a lock-in time constant 1/100 of the dwell the filter
  passes each point unchanged (a = exp(-100)), so the spread is the per-point law,
  sqrt(2 F(2u)) times the variance, F(u) = 2 (u - 1 + e^-u)/u^2, u = dwell / tau_m. At
  u = 2 the earlier sqrt(2 / max(1, u/2)) gave 1.41 where the law gives 0.87.
3600 points: a standard deviation to ~1.2 %; tolerance 5 %.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mrfm.imaging.noise import NoiseModel, add_noise


def _uniform_variance(level, tau_m, tau, thermal, dwell, shape, seed):
    """(readings, info) of a variance measurement of a uniform map ``level`` (N^2) through
    a 12 dB/oct lock-in."""
    model = NoiseModel(kind="variance", thermal_sigma=thermal, tau=tau, order=2,
                       dwell=dwell, tau_m=tau_m)
    return add_noise(np.full(shape, level), model=model, spacing=(1e-9, 1e-9, 1e-9),
                     rng=np.random.default_rng(seed))


@pytest.mark.parametrize("order", [1, 4])
@pytest.mark.parametrize(("tau_m", "tau"), [(0.5, 0.0005), (0.025, 0.0005), (0.002, 0.02),
                                            (0.05, 0.05)])
def test_curie_spin_noise_is_the_spin_signal_through_the_lockin(order, tau_m, tau):
    """The spin noise on a Curie map (zero signal, uniform spin variance): its spread is
    sqrt(Var g), g = int S |H|^2 df / sigma^2 (the lock-in's capture, scipy quad here), and
    consecutive points correlate as the filtered signal does one dwell apart (the cosine
    transform of S |H|^2). Dwell 50 ms, 3600 points: the spread to ~1.2 % (tolerance 5 %),
    the lag-1 correlation to ~0.017 (tolerance 0.06). At tau = dwell / 100 the long-dwell
    boxcar law min(1, 2 tau_m / dwell) gave 1 and 0.08 where the lock-in keeps 0.999 and
    0.98 (tau_m = 0.5 and 0.025 s)."""
    from scipy import integrate

    from mrfm.physics import lockin
    from mrfm.physics import spin_noise as sn

    dwell = 0.05
    model = NoiseModel(kind="force", thermal_sigma=0.0, tau=tau, order=order, dwell=dwell,
                       tau_m=tau_m)
    shape = (20, 18, 10)
    var = 4e-36
    noisy, info = add_noise(np.zeros(shape), model=model, spacing=(1e-9, 1e-9, 1e-9),
                            rng=np.random.default_rng(3), spin_variance=np.full(shape, var))

    def power(f):
        return sn.spin_signal_psd(f, 1.0, tau_m) * abs(
            lockin.response(f, time_constant=tau, order=order)) ** 2

    capture, _ = integrate.quad(power, 0.0, np.inf, limit=400, epsabs=1e-13)
    lag, _ = integrate.quad(power, 0.0, np.inf, weight="cos", wvar=2 * math.pi * dwell,
                            limlst=200)
    seq = np.transpose(noisy, (2, 1, 0)).ravel()  # acquisition order
    assert np.std(seq) == pytest.approx(math.sqrt(var * capture), rel=0.05, abs=0.0)
    assert info["spin_sigma_rms"] == pytest.approx(math.sqrt(var * capture), rel=1e-9,
                                                   abs=0.0)
    corr = np.corrcoef(seq[:-1], seq[1:])[0, 1]
    assert corr == pytest.approx(lag / capture, abs=0.06)


@pytest.mark.parametrize(("tau_m", "tau", "thermal"), [(0.5, 0.0005, 0.0), (0.025, 0.0005, 0.0),
                                                     (0.05, 0.02, 0.0), (0.05, 0.02, 2e-18),
                                                     (0.01, 0.02, 3e-18)])
def test_variance_measurement_mean_and_spread(tau_m, tau, thermal):
    """A variance measurement (uniform spin variance): the readings' mean is the captured
    variance g sigma^2 and their spread sqrt(a^2 i_ss + 2ac i_sw + c^2 i_ww)
    (a = g sigma^2, c the thermal variance; spin_noise.mean_square_spread_terms, checked
    there against simulated records). 3600 points: the mean to 4 standard errors (from
    the readings' lag covariances), the spread to ~1.2 % (tolerance 5 %). Without a
    thermal part and with a filter 1000 times faster than the spin signal the spread is
    sqrt(2 F(2u)) g sigma^2 (u = dwell / tau_m), the boxcar law."""
    from mrfm.physics import spin_noise as sn

    dwell, order, level = 0.05, 2, 3e-36
    noisy, info = _uniform_variance(level, tau_m, tau, thermal, dwell, (20, 18, 10), 4)
    g = sn.lockin_capture_fraction(tau_m, tau, order)
    i_ss, i_sw, i_ww = sn.mean_square_spread_terms(dwell, tau_m, tau, order)
    a, c = g * level, thermal**2
    spread = math.sqrt(a * a * i_ss + 2 * a * c * i_sw + c * c * i_ww)
    assert info["spin_capture"] == g
    # the noise level is measured from the reading's mean g sigma^2, not from sigma^2
    # (which would add (1 - g) sigma^2 of bias to it)
    assert info["sigma"] == pytest.approx(np.std(noisy), rel=1e-12, abs=0.0)
    assert info["snr"] == pytest.approx(a / info["sigma"], rel=1e-12, abs=0.0)
    assert np.std(noisy) == pytest.approx(spread, rel=0.05, abs=0.0)
    # the mean's standard error from the readings' lag covariances (they correlate as one
    # record's mean squares: spin_noise.mean_square_lag_terms)
    k = sn.mean_square_lag_terms(dwell, tau_m, tau, order)
    cov = a * a * k[0] + 2 * a * c * k[1] + c * c * k[2]
    n = noisy.size
    lags = np.arange(1, min(cov.size, n))
    error = math.sqrt((cov[0] + 2 * np.sum((1 - lags / n) * cov[lags])) / n)
    assert abs(np.mean(noisy) - a) < 4 * error
    if thermal == 0.0 and tau <= 1e-3 * tau_m:
        # the filter's own smoothing moves it by ~tau / tau_m
        assert spread == pytest.approx(a * sn.variance_estimate_rel_std(dwell, tau_m),
                                       rel=0.01, abs=0.0)


def test_variance_noise_level_is_measured_from_the_captured_reading():
    """On a varying map the reported noise level is the readings' random spread (the rms of
    their standard deviations), not their distance from the uncaptured map: with g = 1/3
    that distance is dominated by (1 - g) times the map's variation."""
    dwell = 0.05
    model = NoiseModel(kind="variance", thermal_sigma=0.0, tau=dwell / 10, order=1,
                       dwell=dwell, tau_m=dwell / 20)
    shape = (20, 18, 10)
    level = np.linspace(0.1, 3.0, np.prod(shape)).reshape(shape) * 1e-36
    noisy, info = add_noise(level, model=model, spacing=(1e-9, 1e-9, 1e-9),
                            rng=np.random.default_rng(6))
    g = info["spin_capture"]
    assert g == pytest.approx(1 / 3, rel=1e-12)
    assert info["sigma"] == pytest.approx(info["spin_sigma_rms"], rel=0.05, abs=0.0)
    # the distance from the uncaptured map: sqrt(sigma^2 + ((1 - g) std(map))^2)
    assert np.std(noisy - level) > 1.5 * info["sigma"]


@pytest.mark.parametrize("order", [2, 4])
def test_thermal_noise_and_signal_go_through_the_lockin_exactly(order):
    """Datasets filter the signal and sample the thermal noise with the lock-in's exact
    n-pole model: a step of the map reaches P(n, k dwell / tau) after k points
    (physics.lockin.step_response; 24 dB/oct at a dwell of 5 tau: 0.735 where a chain of
    separately sampled poles gave 0.973), and the thermal readings (no spin part) have the
    stationary spread thermal_sigma and the lag-1 and lag-2 correlations of the filtered
    white noise (spin_noise.filtered_autocorrelations; 8000 points: correlations to ~0.01,
    tolerance 0.04; spread to ~1.5 %, tolerance 6 %)."""
    from mrfm.physics import lockin
    from mrfm.physics import spin_noise as sn

    tau = 0.01
    step = NoiseModel(kind="force", thermal_sigma=0.0, tau=tau, order=order, dwell=5 * tau,
                      tau_m=1.0)
    level = np.zeros((8, 1, 1))
    level[3:] = 1e-18
    noisy, _ = add_noise(level, model=step, spacing=(1e-9, 1e-9, 1e-9),
                         rng=np.random.default_rng(1))
    reached = noisy[3:6, 0, 0] / 1e-18
    assert reached == pytest.approx(lockin.step_response(np.array([1, 2, 3]) * 5 * tau,
                                                         time_constant=tau, order=order),
                                    rel=1e-10, abs=0.0)
    thermal = NoiseModel(kind="force", thermal_sigma=2e-18, tau=tau, order=order,
                         dwell=0.6 * tau, tau_m=1.0)
    shape = (40, 20, 10)
    noisy, _ = add_noise(np.zeros(shape), model=thermal, spacing=(1e-9, 1e-9, 1e-9),
                            rng=np.random.default_rng(2))
    seq = np.transpose(noisy, (2, 1, 0)).ravel()
    _, rho = sn.filtered_autocorrelations(np.array([0.6, 1.2]) * tau, 1.0, tau, order)
    assert np.std(seq) == pytest.approx(2e-18, rel=0.06, abs=0.0)
    assert np.corrcoef(seq[:-1], seq[1:])[0, 1] == pytest.approx(rho[0], abs=0.04)
    assert np.corrcoef(seq[:-2], seq[2:])[0, 1] == pytest.approx(rho[1], abs=0.04)


@pytest.mark.parametrize(("tau_m", "tau", "thermal"), [(1.0, 0.125, 0.0), (0.05, 0.02, 3e-18)])
def test_variance_readings_correlate_as_one_records_mean_squares(tau_m, tau, thermal):
    """Variance readings of a uniform map (in acquisition order) correlate between
    neighbours as the mean squares of one record do: Cov(l) = a^2 k_ss(l) + 2ac k_sw(l) +
    c^2 k_ww(l) (spin_noise.mean_square_lag_terms, checked there by quadrature and a
    simulated record); dataset-tmv's timing (dwell 5 tau, tau_m 1.6 dwells) gives 0.55
    one point apart, which the earlier independent draws put at 0. 7200 points: the
    correlations to ~0.02, tolerance 0.06; the spread to ~2 %, tolerance 8 %."""
    from mrfm.physics import spin_noise as sn

    dwell, order, level = 5 * tau, 2, 3e-36
    noisy, _ = _uniform_variance(level, tau_m, tau, thermal, dwell, (40, 18, 10), 9)
    seq = np.transpose(noisy, (2, 1, 0)).ravel()
    g = sn.lockin_capture_fraction(tau_m, tau, order)
    k = sn.mean_square_lag_terms(dwell, tau_m, tau, order)
    a, c = g * level, thermal**2
    cov = a * a * k[0] + 2 * a * c * k[1] + c * c * k[2]
    assert np.std(seq) == pytest.approx(math.sqrt(cov[0]), rel=0.08, abs=0.0)
    for lag in (1, 2):
        assert np.corrcoef(seq[:-lag], seq[lag:])[0, 1] == pytest.approx(cov[lag] / cov[0],
                                                                        abs=0.06)
    if tau_m == 1.0:
        assert cov[1] / cov[0] == pytest.approx(0.549, abs=0.002)
