"""The demo on the shipped virtual rig, end to end: ``mrfm scan configs/demo.toml --rig virtual``.

Truths: the solver's signal map of the same experiment (its sign and shape); the
chain's closed-form gain at resonance, X = volts_per_meter (Q_fb/k) F / sqrt(2) with the
-90 degree reference phase and Q_fb the rig's velocity-feedback Q (the cantilever rings
for 2 Q_fb/omega0 = 6.4 ms, well inside a point's wait); the lock-in noise r.m.s.
sqrt((1/2) int S_V(f) |H(f - f0)|^2 df) with S_V = volts_per_meter^2 (S_F |H_fb(f)|^2 +
S_det), S_F = 4 k kB T/(omega0 Q) of the cantilever's own Q, and H the SR830's default
12 dB/oct filter of tau = 10 ms (scipy quad; PHYSICS.md, "Readout").
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import integrate

from mrfm.physics import Cantilever, lockin


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_demo_scan_puts_the_force_in_x_and_noise_in_y(tmp_path):
    import h5py

    from mrfm.config import load
    from mrfm.resources import data_dir
    from mrfm.rigdef import rigfile
    from mrfm.scan import run_scan
    from mrfm.solver import simulate

    config = data_dir("configs") / "demo.toml"
    out = tmp_path / "d.h5"
    # the demo rig without its drift: this test compares X with the solver's map at the
    # commanded positions to the thermal noise (5 uV), and the creep of a scan of some
    # hundred simulated seconds, more when a loaded machine stretches the wall time, moves
    # the tip by a fraction of a nm where the force changes by percents per nm
    rig_file = rigfile.load(data_dir("instruments") / "virtual.toml")
    still = dataclasses.replace(rig_file, virtual=dataclasses.replace(rig_file.virtual,
                                                                      drift=False))
    result = run_scan(config, still, out)
    assert result.status == "complete" and result.points_measured == 1024
    assert result.complete and result.fault is None and result.path == out.absolute()
    with h5py.File(out, "r") as f:
        x = f["/entry/data/lockin_x"][...].reshape(32, 32)
        y = f["/entry/data/lockin_y"][...].reshape(32, 32)
        recorded = f["/entry/data/force"][...].reshape(32, 32)  # X x the rig's force_per_volt
    exp = load(config)
    force = simulate(exp, progress=False).signal[:, :, 0]
    rig = rigfile.load(data_dir("instruments") / "virtual.toml")
    vpm = rig.virtual.volts_per_meter
    c = exp.cantilever
    q_fb = rig.virtual.feedback_Q
    assert q_fb == 60
    loop = Cantilever(k=c.k, f0=c.f0, Q=q_fb, T=c.T)
    gain = vpm * q_fb / c.k / math.sqrt(2)  # V per N, at resonance, phase -90 degrees
    s_f = c.force_noise_psd()  # 4 k kB T/(omega0 Q), Q of every loss channel

    def product(fp):
        s_v = vpm**2 * (s_f * abs(loop.transfer_function(c.f0 + fp)) ** 2
                        + rig.virtual.detector_noise**2)
        return s_v * abs(lockin.response(fp, time_constant=10e-3, order=2)) ** 2

    edges = [-c.f0, -1e3, -100.0, -10.0, 0.0, 10.0, 100.0, 1e3, 1e4]
    total = sum(integrate.quad(product, a, b, limit=400)[0]
                for a, b in zip(edges[:-1], edges[1:], strict=False))
    sigma = math.sqrt(0.5 * (total + integrate.quad(product, edges[-1], math.inf)[0]))
    # X: the solver's map with its sign, at the chain's gain
    assert np.corrcoef(x.ravel(), force.ravel())[0, 1] >= 0.95
    fit = float(x.ravel() @ force.ravel() / (force.ravel() @ force.ravel()))
    assert fit == pytest.approx(gain, rel=0.03)
    assert np.std(x - fit * force) == pytest.approx(sigma, rel=0.15)
    assert np.max(np.abs(x)) < 0.5  # no overload: well inside the SR830's 1 V full scale
    assert np.max(np.abs(x)) > 20 * sigma
    # the calibrated force channel: the solver's force itself (k, Q of the demo's cantilever)
    scale = float(recorded.ravel() @ force.ravel() / (force.ravel() @ force.ravel()))
    assert scale == pytest.approx(1.0, rel=0.03)
    # Y: noise only
    assert abs(np.corrcoef(y.ravel(), force.ravel())[0, 1]) < 0.15
    assert np.std(y) == pytest.approx(sigma, rel=0.15)
    assert abs(np.mean(y)) < 5 * sigma / math.sqrt(y.size)
