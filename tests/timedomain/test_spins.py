"""Spin dynamics: OU statistical polarization, OSCAR telegraph, CAI envelope.

Truths: OU process with variance sigma^2 and autocorrelation exp(-|t|/tau); random
telegraph with flip rate r has autocorrelation exp(-2 r |t|) and mean dwell 1/r;
CAI envelope (1 - loss)^floor(2 f t) exp(-t/T1rho).
"""

import math

import numpy as np
import pytest

from mrfm.errors import UserError
from mrfm.timedomain import spins


def test_ou_variance_and_correlation_time():
    """tau = 100 dt, 2e6 samples = 2e4 tau: SE of the variance ~ sqrt(tau/T) = 0.7 %.

    Tolerances: variance 4 %, autocorrelation at lag tau within 0.03 of exp(-1).
    """
    dt, tau, sigma, n = 1e-3, 0.1, 2.5e-18, 2_000_000
    a, b = spins.ou_coefficients(dt=dt, tau=tau, sigma=sigma)
    z = np.random.default_rng(5).standard_normal(n)
    m = np.empty(n)
    spins.ou_process(sigma * 0.3, a, b, z, m)
    assert np.var(m) == pytest.approx(sigma**2, rel=0.04)
    lag = int(tau / dt)
    rho = np.mean(m[:-lag] * m[lag:]) / np.var(m)
    assert abs(rho - math.exp(-1)) < 0.03
    # integrated correlation time from the lag-1 coefficient
    assert a == pytest.approx(math.exp(-dt / tau))


def test_telegraph_flip_statistics():
    dt, rate, n = 1e-3, 5.0, 2_000_000
    p = spins.telegraph_flip_probability(dt=dt, flip_rate=rate)
    assert p == pytest.approx(0.5 * (1 - math.exp(-2 * rate * dt)))
    u = np.random.default_rng(9).random(n)
    s = np.empty(n)
    spins.telegraph(1.0, p, u, s)
    assert set(np.unique(s)) == {-1.0, 1.0}
    lag = 50  # 0.05 s: expected correlation exp(-2 * 5 * 0.05) = exp(-0.5)
    rho = np.mean(s[:-lag] * s[lag:])
    # correlation time 0.1 s = 100 samples; 2e6 samples -> SE ~ 0.01
    assert abs(rho - math.exp(-0.5)) < 0.04
    assert abs(np.mean(s)) < 0.05


def test_cai_envelope():
    t = np.array([0.0, 0.24e-3, 0.26e-3, 1.01e-3])
    env = spins.cai_envelope(t, inversion_rate=4e3, loss_per_inversion=0.01, t1rho=0.5)
    expected = 0.99 ** np.floor(t * 4e3) * np.exp(-t / 0.5)
    np.testing.assert_allclose(env, expected, rtol=1e-14)
    assert env[0] == 1.0 and env[2] < env[1]
    with pytest.raises(UserError):
        spins.cai_envelope(t, inversion_rate=1.0, loss_per_inversion=1.0, t1rho=1.0)
