"""Readout: lock-in noise bandwidth, interferometer slope and shot noise, ADC quantization.

Truths: ENBW of an n-pole RC filter = 1/(4 tau), 1/(8 tau), 3/(32 tau), 5/(64 tau)
(PHYSICS.md; SR830 manual ch. 3), with var X = S * ENBW for white input of one-sided PSD
S; dP/dx = 4 pi P0 V / lambda at quadrature (derivative of the fringe formula); shot-noise
PSD 2 h nu P / eta; uniform quantization noise variance LSB^2/12 (Widrow & Kollar 2008).
"""

import math

import numpy as np
import pytest
import scipy.constants as sc

from mrfm.errors import UserError
from mrfm.timedomain import adc, interferometer, lockin
from mrfm.timedomain.chain import ChainParameters, ChainSimulator


@pytest.mark.parametrize("slope, enbw_tau", [(6, 1 / 4), (12, 1 / 8), (18, 3 / 32),
                                             (24, 5 / 64)])
def test_lockin_output_noise_matches_enbw(slope, enbw_tau):
    """White noise (sigma = 1 per sample, S = 2 sigma^2 dt) through the lock-in.

    The record spans 2e4 time constants; the variance estimate of X and Y together
    has a relative standard error of at most sqrt(2 tau_c / T / 2) ~ 1 %; tolerance 5 %.
    """
    dt, tau, n = 1e-5, 100e-5, 2_000_000
    u = np.random.default_rng(3).standard_normal(n)
    x, y = lockin.demodulate(u, dt=dt, frequency=1234.5, time_constant=tau, slope_db=slope)
    settle = int(40 * tau / dt)
    var = 0.5 * (np.var(x[settle:]) + np.var(y[settle:]))
    expected = 2 * dt * lockin.enbw(time_constant=tau, slope_db=slope)
    assert enbw_tau / tau == pytest.approx(lockin.enbw(time_constant=tau, slope_db=slope))
    assert abs(var / expected - 1) < 0.05


def test_lockin_recovers_rms_amplitude_and_phase():
    dt, f, amp, ph = 1e-5, 2000.0, 0.3, 0.7
    t = np.arange(400_000) * dt
    u = amp * np.cos(2 * np.pi * f * t + ph)
    x, y = lockin.demodulate(u, dt=dt, frequency=f, time_constant=0.01, slope_db=24)
    assert x[-1] == pytest.approx(amp / math.sqrt(2) * math.cos(ph), rel=1e-4)
    assert y[-1] == pytest.approx(amp / math.sqrt(2) * math.sin(ph), rel=1e-4)


def test_lockin_refuses_bad_settings():
    with pytest.raises(UserError, match="slope"):
        lockin.enbw(time_constant=1.0, slope_db=9)
    with pytest.raises(UserError, match="Nyquist"):
        lockin.check_settings(dt=1e-4, frequency=6e3, time_constant=1.0, slope_db=6)
    with pytest.raises(UserError, match="time constant"):
        lockin.check_settings(dt=1e-4, frequency=1e3, time_constant=1e-5, slope_db=6)


def test_interferometer_slope_at_quadrature():
    p0, vis, lam = 2e-6, 0.6, 1550e-9
    h = 1e-13
    fd = (interferometer.photodiode_power(h, power=p0, visibility=vis, wavelength=lam)
          - interferometer.photodiode_power(-h, power=p0, visibility=vis, wavelength=lam)) / (2 * h)
    slope = interferometer.quadrature_slope(power=p0, visibility=vis, wavelength=lam)
    assert fd == pytest.approx(slope, rel=1e-6)
    assert slope == pytest.approx(4 * math.pi * p0 * vis / lam)
    # the fringe is periodic in lambda/2 and saturates at P0 (1 + V)
    p = interferometer.photodiode_power(np.array([lam / 8, lam / 8 + lam / 2]), power=p0,
                                        visibility=vis, wavelength=lam)
    np.testing.assert_allclose(p, p0 * (1 + vis), rtol=1e-12)


def test_chain_photodiode_small_signal_and_shot_noise():
    """Photodiode channel = gain * slope * x for small x; its noise floor = shot noise."""
    c = ChainParameters(k=1e-3, f0=5e3, Q=100.0, temperature=0.0, dt=1e-5, adc_bits=0,
                        drive_amplitude=1e-15, lockin_time_constant=1e-3, shot_noise=False)
    out = ChainSimulator(c).run(5000)
    np.testing.assert_allclose(out["photodiode"], c.volts_per_metre * out["displacement"],
                               rtol=1e-5, atol=1e-14)
    cn = ChainParameters(k=1e-3, f0=5e3, Q=100.0, temperature=0.0, dt=1e-5, adc_bits=0,
                         lockin_time_constant=1e-3, power=1e-6, efficiency=0.5)
    pd = ChainSimulator(cn).run(200_000)["photodiode"]
    s_p = 2 * sc.h * sc.c / cn.wavelength * cn.power / cn.efficiency
    expected = cn.gain**2 * s_p / (2 * cn.dt)
    assert abs(np.var(pd) / expected - 1) < 0.02  # SE sqrt(2/2e5) = 0.3 %


def test_laser_heating_raises_thermal_motion():
    c = ChainParameters(k=1e-4, f0=5e3, Q=10.0, temperature=4.0, dt=1e-5, power=1e-6,
                        heating=2e6, lockin_time_constant=1e-3)
    assert c.effective_temperature == pytest.approx(6.0)
    x = ChainSimulator(c).run(400_000)["displacement"]
    # 400k samples, correlation time Q/(pi f0) = 0.6 ms = 64 samples: SE ~ 2 %
    assert np.var(x) == pytest.approx(sc.k * 6.0 / 1e-4, rel=0.1)


def test_adc_quantization_noise_and_clipping():
    u = np.random.default_rng(1).uniform(-0.9, 0.9, 200_000)
    q, clipped = adc.quantize(u, bits=8, input_range=1.0)
    step = adc.lsb(bits=8, input_range=1.0)
    assert step == pytest.approx(2 / 256)
    assert clipped == 0
    assert np.var(q - u) == pytest.approx(step**2 / 12, rel=0.02)
    assert np.all(np.abs(np.round(q / step) * step - q) < 1e-15)
    q2, clipped2 = adc.quantize(np.array([2.0, -3.0, 0.1]), bits=8, input_range=1.0)
    assert clipped2 == 2 and q2[0] == pytest.approx(1.0) and q2[1] == pytest.approx(-1.0)
