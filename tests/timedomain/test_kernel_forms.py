"""The per-sample forms the chain kernel compiles in, against the laws they stand for.

The chain kernel (mrfm.timedomain.chain) calls scalar functions of the modules that own
each law, compiled into its loop: interferometer.fringe_power (photodiode_power),
lockin.rc_section and rms_outputs (the lock-in's filter and outputs; scipy's lfilter is the
independent first-order recursion) and spins.cai_envelope_at (cai_envelope).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import signal

from mrfm.timedomain import interferometer as optics
from mrfm.timedomain import lockin, spins


def test_fringe_power_is_the_photodiode_law():
    rng = np.random.default_rng(7)
    x = rng.normal(scale=3e-7, size=200)
    kw = dict(power=2e-6, visibility=0.7, wavelength=1550e-9, phase=-0.4)
    general = optics.photodiode_power(x, **kw)
    k4 = 4.0 * math.pi / kw["wavelength"]
    per_sample = np.array([optics.fringe_power(v, kw["power"], kw["visibility"], k4,
                                               kw["phase"]) for v in x])
    np.testing.assert_allclose(per_sample, general, rtol=1e-12, atol=1e-12 * kw["power"])


@pytest.mark.parametrize("order", [1, 2, 4])
def test_rc_sections_are_first_order_recursions(order):
    rng = np.random.default_rng(order)
    u = rng.normal(size=300)
    a = math.exp(-1e-5 / 3e-4)
    expect = u.copy()
    for _ in range(order):  # y_n = a y_(n-1) + (1 - a) x_n from rest, `order` times
        expect = signal.lfilter([1.0 - a], [1.0, -a], expect)
    states = [0.0] * order
    got = np.empty_like(u)
    for n, x in enumerate(u):
        for j in range(order):
            states[j] = lockin.rc_section(a, states[j], x)
            x = states[j]
        got[n] = x
    np.testing.assert_allclose(got, expect, rtol=1e-12, atol=1e-14)
    assert lockin.rms_outputs(0.5, 0.25) == (math.sqrt(2.0) * 0.5, -math.sqrt(2.0) * 0.25)


@pytest.mark.parametrize("loss,t1rho", [(0.0, math.inf), (2e-3, math.inf), (1e-3, 0.05)])
def test_cai_envelope_at_is_the_envelope(loss, t1rho):
    t = np.linspace(0.0, 0.2, 997)
    rate = 2 * 4.9e3
    general = spins.cai_envelope(t, inversion_rate=rate, loss_per_inversion=loss, t1rho=t1rho)
    inv_t1 = 0.0 if math.isinf(t1rho) else 1.0 / t1rho
    per_sample = np.array([spins.cai_envelope_at(v, rate, math.log1p(-loss), inv_t1)
                           for v in t])
    np.testing.assert_allclose(per_sample, general, rtol=1e-13)
    assert per_sample[0] == 1.0 and np.all(np.diff(per_sample) <= 0)
