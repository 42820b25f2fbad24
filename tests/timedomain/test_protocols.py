"""Protocol signals recovered by the readout chain.

- OSCAR: an imposed spin frequency shift df (dk = 2 k df / f0) on the self-oscillating
  cantilever is measured by the PLL within 5 % at SNR >= 20 (SNR = df / standard error
  of the PLL mean).
- CAI: a force F cos(2 pi f0 t) on resonance gives lock-in R = F Q / k / sqrt 2 (RMS) in
  metres (calibrated by the quadrature slope).
- Statistical CAI: the force channel's variance equals the imposed variance (OU, 1/2 from
  the carrier cos^2).
When mrfm.solver lands, the same checks run with its signal (see test_solver_integration).
"""

import math

import numpy as np
import pytest

from mrfm.timedomain.chain import ChainParameters, ChainSimulator


def test_oscar_pll_shift_matches_imposed_shift():
    df = 0.2
    c = ChainParameters(k=1e-4, f0=5e3, Q=2e4, temperature=1.6, dt=1 / (20 * 5e3),
                        mode="self-oscillating", amplitude=16e-9, spin_model="shift",
                        spin_value=df, pll_bandwidth=20.0, lockin_time_constant=1e-2, seed=3)
    sim = ChainSimulator(c)
    sim.run(50_000)  # PLL lock
    shift = sim.run(400_000)["frequency_shift"]
    block = 5_000  # 50 ms blocks, longer than the loop's 1/(2 pi B) = 8 ms memory
    means = shift[: shift.size // block * block].reshape(-1, block).mean(axis=1)
    se = means.std(ddof=1) / math.sqrt(means.size)
    assert df / se >= 20
    assert abs(shift.mean() / df - 1) < 0.05


def test_oscar_telegraph_switches_sign():
    c = ChainParameters(k=1e-4, f0=5e3, Q=2e4, temperature=0.0, dt=1 / (20 * 5e3),
                        mode="self-oscillating", amplitude=16e-9, spin_model="shift-telegraph",
                        spin_value=0.5, spin_time=0.05, pll_bandwidth=50.0,
                        lockin_time_constant=1e-2, seed=1, shot_noise=False)
    out = ChainSimulator(c).run(200_000)
    spin = out["spin"]
    assert set(np.unique(spin)) == {-0.5, 0.5}
    measured = out["frequency_shift"][20_000:]
    truth = spin[20_000:]
    # the PLL follows the telegraph within its bandwidth: correlation > 0.9
    assert np.corrcoef(measured, truth)[0, 1] > 0.9


def test_cai_lockin_in_phase_force():
    force, k, q, f0 = 2e-15, 1e-4, 500.0, 5e3
    c = ChainParameters(k=k, f0=f0, Q=q, temperature=0.3, dt=1 / (20 * f0), spin_model="cai",
                        spin_value=force, modulation_frequency=f0, lockin_time_constant=0.02,
                        lockin_slope=24, seed=5, adc_bits=0)
    out = ChainSimulator(c).run(200_000)
    x, y = out["lockin_x"][-50_000:], out["lockin_y"][-50_000:]
    r_m = np.hypot(x.mean(), y.mean()) / c.volts_per_metre
    measured_force = r_m * math.sqrt(2) * k / q
    # thermal force noise in the ENBW: S_F * 5/(64 tau) -> < 1 % of the force here
    assert measured_force == pytest.approx(force, rel=0.03)
    # on resonance the displacement lags the force by 90 degrees: signal in -Y
    assert abs(y.mean()) > 10 * abs(x.mean())


def test_statistical_cai_force_variance():
    variance, tau = 4e-34, 0.02
    c = ChainParameters(k=1e-4, f0=5e3, Q=500.0, temperature=0.0, dt=1e-5,
                        spin_model="cai-statistical", spin_value=variance, spin_time=tau,
                        lockin_time_constant=1e-3, seed=8, shot_noise=False)
    out = ChainSimulator(c).run(1_000_000)
    m = out["spin"]
    # 1e6 samples = 500 tau: SE of the variance ~ sqrt(tau / T) = 4.5 %; tolerance 18 %
    assert np.var(m) == pytest.approx(variance, rel=0.18)
    np.testing.assert_allclose(out["force"], m * np.cos(2 * np.pi * 5e3 * np.arange(m.size) * 1e-5),
                               rtol=1e-9, atol=1e-9 * math.sqrt(variance))
