"""Spin noise of synthetic scans (``mrfm.imaging.noise.add_noise``) against its laws.

With a lock-in time constant 1/100 of the dwell the filter passes each point unchanged
(a = exp(-100)), so the added noise's spread is the per-point law itself: sqrt(F(u) Var)
for the spin noise on a Curie signal, F(u) = 2 (u - 1 + e^-u)/u^2 the boxcar average of an
exponentially correlated signal (u = dwell / tau_m), and sqrt(2 F(2u)) times the variance
for a variance measurement. 3600 points: a standard deviation to ~1.2 %; tolerance 5 %.
At u = 2 the earlier long-dwell shortcuts (min(1, 2/u) and sqrt(2 / max(1, u/2))) gave
1.0 and 1.41 where the laws give 0.57 and 0.87: the tests tell them apart (checked by
putting the old formulas back: 5 of the 6 cases fail; at u = 0.1 the variance
measurement's 1.41 and 1.32 are too close for 3600 points). These are the laws of a
reading held as the dwell's mean; a lock-in's reading is its filter of the signal (see
``spin_dynamics.averaged_variance_fraction``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mrfm.imaging.noise import NoiseModel, add_noise


def _model(kind: str, u: float) -> NoiseModel:
    dwell = 0.05
    return NoiseModel(kind=kind, thermal_sigma=0.0, tau=dwell / 100, order=1, dwell=dwell,
                      tau_m=dwell / u)


@pytest.mark.parametrize("u", [0.1, 2.0, 25.0])
def test_curie_spin_noise_is_the_boxcar_average(u):
    shape = (20, 18, 10)
    noiseless = np.zeros(shape)
    var = 4e-36
    noisy, info = add_noise(noiseless, model=_model("force", u), spacing=(1e-9, 1e-9, 1e-9),
                            rng=np.random.default_rng(3), spin_variance=np.full(shape, var))
    expect = math.sqrt(var * 2 * (u - 1 + math.exp(-u)) / u**2)
    # abs=0: the default absolute tolerance (1e-12) would accept any value near 1e-18 N
    assert np.std(noisy) == pytest.approx(expect, rel=0.05, abs=0.0)
    assert info["spin_sigma_rms"] == pytest.approx(expect, rel=1e-12, abs=0.0)


@pytest.mark.parametrize("u", [0.1, 2.0, 25.0])
def test_variance_measurement_spread(u):
    shape = (20, 18, 10)
    level = 3e-36
    noiseless = np.full(shape, level)
    noisy, _ = add_noise(noiseless, model=_model("variance", u), spacing=(1e-9, 1e-9, 1e-9),
                         rng=np.random.default_rng(4))
    v = 2 * u  # x^2 decorrelates twice as fast as x
    expect = level * math.sqrt(2 * 2 * (v - 1 + math.exp(-v)) / v**2)
    assert np.std(noisy - noiseless) == pytest.approx(expect, rel=0.05, abs=0.0)
