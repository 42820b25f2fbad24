"""The PLL's bandwidth is the -3 dB bandwidth of its closed loop.

Truth
-----
* Ideal second-order PI loop (no detector filter), zeta = 1/sqrt(2): H(s) =
  (2 zeta w_n s + w_n^2) / (s^2 + 2 zeta w_n s + w_n^2), whose -3 dB frequency is
  w_n sqrt(2 + sqrt 5) (Best, Phase-Locked Loops, 6th ed., ch. 2): checked from the
  polynomial form, independently of :func:`closed_loop_response`.
* With the detector filter: |H| = 1/sqrt(2) at B and below it at every f > B (scan).
* Simulation: a frequency-modulated carrier (deviation 0.2 Hz at f_m) run through the numba
  loop; the tracked offset's Fourier amplitude at f_m over the deviation is |H(f_m)|
  (1/sqrt(2) at f_m = B) within 2 %.
"""

import math

import numpy as np
import pytest

from mrfm.timedomain import pll


def test_ideal_loop_closed_form():
    b = 12.0
    kp, ki = pll.loop_gains(b, ideal=True)
    wn = math.sqrt(2 * math.pi * ki)
    assert math.pi * kp / wn == pytest.approx(1 / math.sqrt(2), rel=1e-14)
    assert wn == pytest.approx(2 * math.pi * b / math.sqrt(2 + math.sqrt(5)), rel=1e-14)
    f = np.array([0.1, 3.0, b, 40.0])
    s = 2j * math.pi * f
    z = 1 / math.sqrt(2)
    h_poly = (2 * z * wn * s + wn**2) / (s**2 + 2 * z * wn * s + wn**2)
    h = pll.closed_loop_response(f, kp=kp, ki=ki, detector_cutoff=None)
    np.testing.assert_allclose(h, h_poly, rtol=1e-12)
    assert abs(h[2]) == pytest.approx(1 / math.sqrt(2), rel=1e-12)


@pytest.mark.parametrize(("b", "f_pd"), [(10.0, None), (10.0, 40.0), (2.0, 50.0)])
def test_bandwidth_is_minus_3_db_with_detector(b, f_pd):
    kp, ki = pll.loop_gains(b, f_pd)
    cutoff = 10 * b if f_pd is None else f_pd
    h_b = pll.closed_loop_response(b, kp=kp, ki=ki, detector_cutoff=cutoff)
    assert abs(h_b) == pytest.approx(1 / math.sqrt(2), rel=1e-10)
    f = np.linspace(b * 1.0001, 100 * b, 100_000)
    assert np.all(np.abs(pll.closed_loop_response(f, kp=kp, ki=ki,
                                                  detector_cutoff=cutoff)) < 1 / math.sqrt(2))
    assert abs(pll.closed_loop_response(0.01 * b, kp=kp, ki=ki,
                                        detector_cutoff=cutoff)) == pytest.approx(1, abs=1e-3)


@pytest.mark.parametrize("ratio", [0.3, 1.0, 2.0])
def test_simulated_loop_follows_the_transfer_function(ratio):
    b, f_c, dt = 10.0, 1000.0, 1e-5
    f_m, dev = ratio * b, 0.2
    n_settle, n_cycles = 200_000, int(round(20 / ratio))
    n = n_settle + int(round(n_cycles / f_m / dt))
    t = np.arange(n) * dt
    u = np.cos(2 * math.pi * f_c * t + dev / f_m * np.sin(2 * math.pi * f_m * t))
    out = pll.track_frequency(u, dt=dt, f_center=f_c, bandwidth=b)
    tt, y = t[n_settle:], out[n_settle:]
    amp = 2 * np.mean(y * np.exp(-2j * math.pi * f_m * tt))
    kp, ki = pll.loop_gains(b)
    h = pll.closed_loop_response(f_m, kp=kp, ki=ki, detector_cutoff=10 * b)
    assert abs(amp) / dev == pytest.approx(abs(h), rel=0.02)
