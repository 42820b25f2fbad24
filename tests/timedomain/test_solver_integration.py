"""The time-domain chain measures what mrfm.solver predicts, for the same experiment.

Each test loads a preset, changes what it says (stated below, so that a short record
reaches the needed signal-to-noise ratio), asks the solver for the one-point signal
(:func:`mrfm.timedomain.spins.spin_signal_from_solver` through
:func:`mrfm.timedomain.experiment.chain_parameters`), runs the chain and recovers the
signal from the *readout* (PLL or lock-in), never from the imposed spin channel.

- OSCAR (Rugar et al., Nature 430, 329 (2004); configs/rugar2004.toml): Curie
  polarization, stage at 10 mK (a fully polarized spin and 13x less thermal frequency
  noise than at 1.6 K) and the tip 60 nm above the surface at x = -235 nm (the largest
  shift on the x line, -11.6 mHz, four times the paper's gradient). The PLL mean over 10 s
  must match the solver's shift within 5 % at SNR >= 20 (SNR = shift / standard error of
  the mean from 0.5 s blocks, longer than the PLL's memory 1/(2 pi B) = 16 ms).
- CAI (Mamin et al., Nature Nanotech. 2, 301 (2007); configs/mamin2007.toml): Curie
  polarization, tip at x = 200 nm (largest force on the x line), Q lowered to 1e3 so that
  the 7 nm response stays on the linear part of the fringe (b = 4 pi x / lambda = 0.06:
  first-harmonic compression 2 J1(b)/b - 1 = -4e-4) and rings up in 2Q/omega0 = 0.1 s;
  T1rho = 1e4 s (no decay in the record). On resonance the in-phase force is
  F = sqrt 2 R k / (Q dV/dx), R the RMS lock-in magnitude; averaged over 10 s after 5 s
  of settling, it must match within 5 % at SNR >= 20 (standard error from 1 s blocks;
  about 0.5 % of F here).
- Statistical CAI (Degen et al., PRL 99, 250601 (2007)): the solver's force variance
  sigma^2 drives an Ornstein–Uhlenbeck force (correlation time 0.2 s). The lock-in's
  signal channel, converted to force, has the variance sigma^2 g with
  g = int S_m(f)/sigma^2 |H_c(f)|^2 |H_lk(f)|^2 df (Lorentzian S_m of the OU process,
  the cantilever's envelope response 1/(1 + i 2 pi f tau_c), tau_c = 2Q/omega0, and the
  24 dB/oct lock-in filter), evaluated by quadrature; the thermal part is removed by
  subtracting the quadrature channel's variance. 400 s = 2000 correlation times: relative
  standard error sqrt(2 tau_m / T) = 3.2 %; tolerance 15 %.
"""

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.integrate

pytest.importorskip("mrfm.solver")

import mrfm.config  # noqa: E402
from mrfm.timedomain.chain import ChainSimulator  # noqa: E402
from mrfm.timedomain.experiment import chain_parameters  # noqa: E402
from mrfm.timedomain.settings import TimeseriesSettings  # noqa: E402
from mrfm.timedomain.spins import spin_signal_from_solver  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def experiment(name, overrides):
    return mrfm.config.load(CONFIGS / f"{name}.toml", overrides)


def solver_value(exp):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sig = spin_signal_from_solver(exp, (float(exp.scan.x[0]), float(exp.scan.y[0]),
                                            float(exp.scan.height[0])))
    return sig


def block_standard_error(values, block):
    means = values[: values.size // block * block].reshape(-1, block).mean(axis=1)
    return means.std(ddof=1) / math.sqrt(means.size)


def test_oscar_pll_shift_matches_solver():
    exp = experiment("rugar2004", {"protocol.polarization": "curie",
                                   "stage.temperature": "10 mK", "scan.x": "-235 nm",
                                   "scan.y": "0 nm", "scan.height": "60 nm"})
    predicted = solver_value(exp)
    assert predicted.unit == "Hz" and abs(predicted.value) > 5e-3
    settings = TimeseriesSettings.from_config(
        {"mode": "self-oscillating", "duration": "11 s", "seed": 4,
         "pll": {"bandwidth": "10 Hz"}, "lockin": {"time_constant": "10 ms"}}, "timeseries")
    params, n = chain_parameters(exp, settings)
    assert params.spin_model == "shift" and params.spin_value == predicted.value
    sim = ChainSimulator(params)
    settle = int(round(1.0 / params.dt))
    sim.run(settle)  # amplitude loop and PLL lock
    shift = sim.run(n - settle)["frequency_shift"]
    se = block_standard_error(shift, int(round(0.5 / params.dt)))
    assert abs(predicted.value) / se >= 20
    assert shift.mean() == pytest.approx(predicted.value, rel=0.05)


def test_cai_lockin_force_matches_solver():
    exp = experiment("mamin2007", {"protocol.polarization": "curie", "cantilever.Q": 1000,
                                   "protocol.T1rho": "1e4 s", "scan.x": "200 nm",
                                   "scan.y": "0 nm"})
    predicted = solver_value(exp)
    assert predicted.unit == "N" and abs(predicted.value) > 1e-16
    f0 = exp.cantilever.f0
    settings = TimeseriesSettings.from_config(
        {"sample_rate": 8 * f0, "duration": "15 s", "seed": 2, "adc": {"bits": 0},
         "lockin": {"time_constant": "50 ms"}}, "timeseries")
    params, n = chain_parameters(exp, settings)
    assert params.spin_model == "cai"
    sim = ChainSimulator(params)
    settle = int(round(5.0 / params.dt))
    sim.run(settle)
    out = sim.run(n - settle)
    x, y = out["lockin_x"], out["lockin_y"]
    to_force = math.sqrt(2) * exp.cantilever.k / (exp.cantilever.Q * params.volts_per_metre)
    measured = np.hypot(x.mean(), y.mean()) * to_force
    se = block_standard_error(y, int(round(1.0 / params.dt))) * to_force
    assert abs(predicted.value) / se >= 20
    assert measured == pytest.approx(abs(predicted.value), rel=0.05)


def test_statistical_cai_force_variance_matches_solver():
    exp = experiment("mamin2007", {"protocol.polarization": "statistical",
                                   "cantilever.Q": 1000, "scan.x": "-100 nm",
                                   "scan.y": "0 nm"})
    predicted = solver_value(exp)
    assert predicted.unit == "N^2" and predicted.value > 0
    cant = exp.cantilever
    tau_m, tau_lk = 0.2, 0.02
    settings = TimeseriesSettings.from_config(
        {"sample_rate": 8 * cant.f0, "duration": "402 s", "seed": 6, "adc": {"bits": 0},
         "spin_correlation_time": tau_m, "lockin": {"time_constant": tau_lk}}, "timeseries")
    params, n = chain_parameters(exp, settings)
    assert params.spin_model == "cai-statistical" and params.spin_value == predicted.value
    sim = ChainSimulator(params)
    settle = int(round(2.0 / params.dt))
    sim.run(settle)
    out = sim.run(n - settle)
    to_force = math.sqrt(2) * cant.k / (cant.Q * params.volts_per_metre)
    signal = np.var(out["lockin_y"]) * to_force**2
    reference = np.var(out["lockin_x"]) * to_force**2
    tau_c = 2 * cant.Q / (2 * math.pi * cant.f0)

    def weight(f):
        w = 2 * math.pi * f
        return (4 * tau_m / (1 + (w * tau_m) ** 2) / (1 + (w * tau_c) ** 2)
                / (1 + (w * tau_lk) ** 2) ** 4)

    g = scipy.integrate.quad(weight, 0, math.inf, epsrel=1e-10, limit=200)[0]
    assert 0.3 < g < 1.0
    assert signal > 5 * reference  # the spin force dominates the thermal force
    assert (signal - reference) == pytest.approx(predicted.value * g, rel=0.15)


def test_default_tip_is_the_scan_grid_centre_and_sees_the_demo_rod():
    from mrfm.config import load
    from mrfm.resources import data_dir
    from mrfm.timedomain.experiment import default_tip
    from mrfm.timedomain.spins import spin_signal_from_solver

    exp = load(data_dir("configs") / "demo.toml")
    x, y, h = default_tip(exp)
    assert x == exp.scan.x[len(exp.scan.x) // 2] and y == exp.scan.y[len(exp.scan.y) // 2]
    assert h == exp.scan.height[0]
    # the demo rod lies under the grid's centre: a CAI force of several aN there
    assert abs(spin_signal_from_solver(exp, (x, y, h)).value) > 1e-18
