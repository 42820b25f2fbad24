"""The time-domain chain drives the CAI slice's real inversion waveform, not only its
fundamental, and still reads the solver's fundamental-weighted force in the lock-in.

Truths:
- the closed-form Fourier series of one spin's square wave sign(cos(phase) + s):
  a_0 = (2 alpha - pi)/pi and a_n = 4 sin(n alpha)/(n pi), alpha = arccos(-s), written out
  here (not through mrfm.timedomain.spins); a_n/a_1 = sin(n alpha)/(n sqrt(1 - s^2));
- the cantilever's transfer function at each harmonic n f_mod (Cantilever.transfer_function:
  x_n / F_n = H(n f_mod)) in the steady state;
- the lock-in's magnitude at resonance, volts_per_metre A Q / (k sqrt 2), and the pure
  fundamental chain;
- for point spins, the numerical Fourier series (2^16 samples a cycle) of
  sum_i F_i sign(cos(phase) + s_i) with each F_i from a one-spin solver run (hard slice),
  over the solver's fundamental-weighted CAI force.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from mrfm.physics import Cantilever, Sample
from mrfm.solver import simulate
from mrfm.timedomain import slice_waveform
from mrfm.timedomain.chain import ChainParameters, ChainSimulator
from mrfm.timedomain.experiment import chain_parameters
from mrfm.timedomain.settings import TimeseriesSettings
from tests.solver.helpers import PROTON, make_exp
from tests.timedomain.point_spins import (
    one_spin_forces,
    point_spin_experiment,
    slice_offsets,
    thirty_spins,
)

F0, K, Q = 5e3, 1e-4, 100.0
DT = 1 / (20 * F0)  # 20 samples a period: harmonics n <= 9 below the Nyquist frequency
CYCLES = 1000  # the FFT window: harmonic n is bin n * CYCLES


def _square_wave_series(s: float, n: int) -> float:
    alpha = math.acos(-s)
    return (2 * alpha - math.pi) / math.pi if n == 0 else 4 * math.sin(n * alpha) / (n * math.pi)


def _noiseless(**kw) -> ChainParameters:
    return ChainParameters(k=K, f0=F0, Q=Q, temperature=0.0, dt=DT, shot_noise=False,
                           adc_bits=0, spin_model="cai", lockin_time_constant=1e-2, **kw)


def _spectrum(x: np.ndarray) -> np.ndarray:
    """Complex cosine amplitudes at the bins of the last CYCLES periods (bin 0: the mean)."""
    m = 20 * CYCLES
    c = np.fft.rfft(x[-m:]) * (2.0 / m)
    c[0] *= 0.5
    return c


@pytest.mark.parametrize("s", [0.35, -0.7])
def test_force_and_deflection_carry_the_square_waves_harmonics(s):
    """Force harmonics n = 0..9 over the fundamental against the closed form (abs 2e-5: the
    table's interpolation, (2 pi n / 16384)^2 / 8 <= 1.5e-5 of a harmonic); deflection over
    force at each harmonic against H(n f_mod) (rel 1e-4); after 40 ring times (0.25 s)."""
    w = tuple(_square_wave_series(s, n) / _square_wave_series(s, 1) for n in range(12))
    amp = 1e-15
    out = ChainSimulator(_noiseless(spin_value=amp, cai_waveform=w)).run(25_000 + 20 * CYCLES)
    force, defl = _spectrum(out["force"]), _spectrum(out["displacement"])
    assert force[CYCLES] == pytest.approx(amp, rel=1e-9)  # the fundamental: the solver value
    cant = Cantilever(k=K, f0=F0, Q=Q, T=1.0)
    for n in range(10):
        b = n * CYCLES
        assert force[b].real / amp == pytest.approx(w[n], abs=2e-5), n
        assert abs(force[b].imag) / amp < 2e-5
        assert defl[b] / force[b] == pytest.approx(complex(cant.transfer_function(n * F0)),
                                                   rel=1e-4), n
    # above the Nyquist frequency nothing is driven (n = 10, 11 are left out)
    assert abs(w[11]) > 0.05 and np.max(np.abs(force[9 * CYCLES + 1:])) < 1e-6 * amp
    # the square wave's 3rd harmonic is there in the raw deflection too, w_3 / (8 Q) of the
    # fundamental's deflection (the off-resonant response at 3 f0)
    assert abs(w[3]) > 0.1 and abs(defl[3 * CYCLES]) > 1e-4 * abs(defl[CYCLES])


def test_lockin_reads_the_fundamental_of_the_waveform():
    """X + iY with the real waveform equals the pure fundamental's (rel 1e-6: the harmonics
    and the static deflection demodulate to zero through 24 dB/oct) and the closed form
    volts_per_metre A Q/(k sqrt 2) within 1 %."""
    s = 0.35
    w = tuple(_square_wave_series(s, n) / _square_wave_series(s, 1) for n in range(10))
    amp = 1e-15
    wave = ChainSimulator(p := _noiseless(spin_value=amp, cai_waveform=w)).run(40_000)
    cos = ChainSimulator(_noiseless(spin_value=amp)).run(40_000)
    zw = complex(wave["lockin_x"][-1], wave["lockin_y"][-1])
    zc = complex(cos["lockin_x"][-1], cos["lockin_y"][-1])
    assert abs(zw - zc) < 1e-6 * abs(zc)
    assert abs(zw) == pytest.approx(p.volts_per_metre * amp * Q / (K * math.sqrt(2)), rel=1e-2)


@pytest.mark.parametrize("adiabatic", ["ideal", "landau-zener"])
def test_point_spin_waveform_from_the_solver(adiabatic):
    pts = thirty_spins()
    full = point_spin_experiment(pts, "fundamental", adiabatic=adiabatic, B1=3e-4)
    s = slice_offsets(full, pts)
    assert np.sum(np.abs(s) < 1) >= 8
    amps = one_spin_forces(pts, s, adiabatic=adiabatic, B1=3e-4)
    n_cycle = 1 << 16
    phase = 2 * np.pi * (np.arange(n_cycle) + 0.5) / n_cycle
    force = np.sign(np.cos(phase)[:, None] + s[None, :]) @ amps
    fundamental = simulate(full, method="direct").signal.ravel()[0]
    w = slice_waveform.cai_waveform_from_solver(full, (0.0, 0.0, 20e-9), 9)
    assert len(w) == 10 and w[1] == 1.0
    scale = np.abs(amps).sum() / abs(fundamental)
    for n in range(10):
        a_n = (1 if n == 0 else 2) / n_cycle * np.sum(force * np.cos(n * phase))
        assert w[n] == pytest.approx(a_n / fundamental, abs=1e-4 * scale), n
    assert max(abs(v) for v in w[2:]) > 0.05  # a waveform, not a cosine


def test_electron_spins_timeseries_drive_the_waveform_and_read_the_solver_force():
    """configs/electron-spins.toml (four point spins), Q lowered to 100 (ring time 10 ms at
    its f0), tip over the largest force of a coarse map; noise off to read the deterministic
    lock-in: |X + iY| sqrt2 k/(Q vpm) equals the solver's fundamental-weighted force (1 %),
    and the chain's force channel carries the waveform's 3rd harmonic."""
    import mrfm.config

    cfg = Path(__file__).resolve().parents[2] / "configs" / "electron-spins.toml"
    exp = mrfm.config.load(cfg, {"cantilever.Q": 100.0, "scan.x": ["-150 nm", "150 nm", 16],
                                 "scan.y": ["-150 nm", "150 nm", 16]})
    res = simulate(exp, progress=False)
    sig = np.asarray(res.signal, dtype=float).reshape(16, 16)
    i, j = np.unravel_index(np.argmax(np.abs(sig)), sig.shape)
    tip = (float(res.coords["x"][i]), float(res.coords["y"][j]), float(exp.scan.height[0]))
    settings = TimeseriesSettings.from_config({"duration": "0.2 s", "tip": list(tip)},
                                              "timeseries")
    params, n = chain_parameters(exp, settings)
    assert params.spin_value == pytest.approx(sig[i, j], rel=1e-9)
    assert len(params.cai_waveform) >= 3 and abs(params.cai_waveform[3]) > 1e-3
    quiet = dataclasses.replace(params, temperature=0.0, shot_noise=False, adc_bits=0,
                                lockin_time_constant=1e-3)
    cant = exp.cantilever
    out = ChainSimulator(quiet).run(n)
    r = abs(complex(out["lockin_x"][-1], out["lockin_y"][-1]))
    force = math.sqrt(2) * r * cant.k / (cant.Q_total * quiet.volts_per_metre)
    assert force == pytest.approx(abs(sig[i, j]), rel=1e-2)
    per = round(1 / (quiet.modulation_frequency * quiet.dt))
    if abs(per * quiet.modulation_frequency * quiet.dt - 1) < 1e-9:  # whole periods: FFT bins
        m = per * (n // per // 2)
        c = np.fft.rfft(out["force"][-m:]) * (2.0 / m)
        cycles = m // per
        assert c[3 * cycles].real / c[cycles].real == pytest.approx(params.cai_waveform[3],
                                                                    abs=1e-4)


@pytest.mark.parametrize("polarization", ["curie", "statistical"])
def test_voxel_waveform_from_the_offset_distribution(polarization):
    """One 6 nm proton voxel whose offsets span s = 0.007 .. 0.84 (fm_depth 0.1 T): the
    waveform from the voxel's offset distribution (hard-slice solver runs, integrated by
    parts) against 216 point spins on the voxel's midpoint grid, spin by spin (abs 0.01: the
    grid's discretization, ~0.003 here); its fundamental against the solver's
    fundamental-weighted signal (ideal passages; Curie rel 1e-6, statistical rel 3e-3:
    the midpoint rule on 32 angles)."""
    voxel, centre = 6e-9, np.array([12e-9, 0.0, -5e-9])
    dens = Sample(origin=centre, voxel=np.full(3, voxel),
                  densities={"1H": np.full((1, 1, 1), 5e28)})

    def exp_for(sample, rf_frequency):
        return make_exp(sample=sample, fm_depth=0.1, rf_frequency=rf_frequency, B1=3e-4,
                        polarization=polarization, species=PROTON)

    probe = exp_for(dens, 1e8)
    magnet_centre = np.array([0.0, 0.0, 20e-9 + probe.magnet.half_height])
    field = probe.magnet.field((centre - magnet_centre)[None, :])[0]
    field[2] += probe.B0
    f_rf = abs(PROTON.gamma) * (np.linalg.norm(field) - 0.04) / (2 * math.pi)
    g = (np.arange(6) + 0.5) / 6 - 0.5
    pts = centre + voxel * np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    tip = (0.0, 0.0, 20e-9)
    exp = exp_for(dens, f_rf)
    w_vox = slice_waveform.cai_waveform_from_solver(exp, tip, 6)
    points = Sample(origin=np.zeros(3), voxel=np.full(3, 1e-9), points={"1H": pts})
    s = slice_offsets(exp_for(points, f_rf), pts)
    assert 0.0 < s.min() and s.max() < 0.9  # inside the slice, on one side: no cosine
    amps = [simulate(exp_for(Sample(origin=np.zeros(3), voxel=np.full(3, 1e-9),
                                    points={"1H": p[None, :]}), f_rf),
                     method="direct").signal.ravel()[0] for p in pts]
    w_pts = slice_waveform.cai_slice_waveform(s, np.array(amps), 6,
                                              statistical=polarization == "statistical")
    assert abs(w_vox[2]) > 0.3
    for n in range(7):
        assert w_vox[n] == pytest.approx(w_pts[n], abs=1e-2), n
    h = slice_waveform.offset_distribution_harmonics(exp, tip, 1)
    fundamental = simulate(dataclasses.replace(exp, protocol=dataclasses.replace(
        exp.protocol, slice_profile="fundamental")), method="direct").signal.ravel()[0]
    assert h[1] == pytest.approx(fundamental, rel=1e-6 if polarization == "curie" else 3e-3)
