"""The rotating-frame cantilever + lock-in model (mrfm.timedomain.envelope), the engine of the
virtual rig's lock-in, against independent truths:

* ring-up after a step of force: the closed form G F (1 - exp(-t/tau_c)), tau_c = 2Q/omega0,
  through the n-pole filter's impulse response t^(n-1) e^(-t/tau)/(tau^n (n-1)!) (scipy quad);
* X/Y noise variance: (1/2) int S_V(f) |H_lockin(f - f_ref)|^2 df with
  S_V = g^2 (S_F |H_cant(f)|^2 + S_det), the exact transfer function (scipy quad);
* the autocorrelation of X at two spacings: (1/2) int S(f') cos(2 pi f' s) df' of the
  demodulated spectrum (quad), and a Monte-Carlo check of readings at those spacings;
* statistical polarization: zero-mean readings with the solver's variance;
* the sample-by-sample time-domain chain (mrfm.timedomain.chain): its lock-in X after
  ring-up and its noise variance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from mrfm.physics import Cantilever, lockin
from mrfm.timedomain.chain import ChainParameters, ChainSimulator
from mrfm.timedomain.envelope import EnvelopeLockin, EnvelopeParameters, EnvelopeSystem

DEMO = Cantilever(k=50e-6, f0=3e3, Q=3e4, T=0.3)
VPM, DET = 1e6, 1e-13


def _params(**kw) -> EnvelopeParameters:
    base = dict(cantilever=DEMO, f_ref=3e3, f_drive=3e3, time_constant=1.0, order=2,
                phase=-math.pi / 2, volts_per_meter=VPM, detector_noise=DET)
    base.update(kw)
    return EnvelopeParameters(**base)


def _spectrum(c: Cantilever, p: EnvelopeParameters):
    """Two-sided demodulated PSD of X + iY at offset f' from the reference, V^2/Hz."""
    def s(fp: float) -> float:
        f = p.f_ref + fp
        s_v = p.volts_per_meter**2 * (float(c.displacement_psd(f)) + p.detector_noise**2)
        h = abs(lockin.response(fp, time_constant=p.time_constant, order=p.order)) ** 2
        return s_v * h
    return s


def _breaks(c: Cantilever, p: EnvelopeParameters) -> list[float]:
    w = c.f0 / c.Q
    pts = {c.f0 - p.f_ref + k * w for k in (-300, -30, -3, -1, 0, 1, 3, 30, 300)}
    pts |= {k / p.time_constant for k in (-300, -30, -3, 0, 3, 30, 300)}
    return sorted(x for x in pts if x > -p.f_ref)


def _quad(fun, edges, weight_s: float = 0.0) -> float:
    total = 0.0
    for a, b in zip(edges[:-1], edges[1:], strict=False):
        if weight_s:
            total += integrate.quad(fun, a, b, limit=400, epsabs=0, weight="cos",
                                    wvar=2 * math.pi * weight_s)[0]
        else:
            total += integrate.quad(fun, a, b, limit=400, epsabs=0)[0]
    for a, b in ((-math.inf, edges[0]), (edges[-1], math.inf)):
        total += integrate.quad(fun, a, b, limit=400)[0] if not weight_s else 0.0
    return total


def _truth_variance(p: EnvelopeParameters) -> float:
    return 0.5 * _quad(_spectrum(p.cantilever, p), _breaks(p.cantilever, p))


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_ring_up_follows_the_closed_form_through_the_filter(order):
    c = DEMO
    p = _params(order=order)
    e = EnvelopeLockin(p)  # no noise draws: the mean response
    force = 1e-16
    e.set_inputs(force)
    gain = VPM * c.Q / c.k / math.sqrt(2)  # X per N at resonance, -90 degrees
    tau, tc = p.time_constant, c.ringdown_time
    z = np.zeros(p.size)
    for t in (0.3, 1.0, 3.0, 10.0, 30.0):
        e.advance(t, z)

        def h(s, t=t):
            impulse = s ** (order - 1) * math.exp(-s / tau) / (tau**order
                                                             * math.factorial(order - 1))
            return impulse * (1.0 - math.exp(-(t - s) / tc))

        truth = gain * force * integrate.quad(h, 0.0, t, limit=200)[0]
        assert e.output().real == pytest.approx(truth, rel=1e-6)
        assert abs(e.output().imag) < 1e-4 * abs(truth)  # the 1/(8 Q^2) detuning of w_d
    # ring-down after the force goes: exp(-t/tc) through the filter, to zero
    e.set_inputs(0.0)
    e.advance(30.0 + 40 * tc, z)
    assert abs(e.output()) < 1e-6 * gain * force


@pytest.mark.parametrize("order, tau, offset", [(1, 1.0, 0.0), (2, 0.01, 0.0), (2, 1.0, 0.05),
                                                (4, 0.1, 1.0), (3, 3.0, -0.02)])
def test_noise_variance_is_the_psd_integral(order, tau, offset):
    p = _params(order=order, time_constant=tau, f_ref=3e3 + offset, f_drive=3e3 + offset)
    var = EnvelopeSystem(p).output_variance()
    assert var == pytest.approx(_truth_variance(p), rel=1e-3)
    # the white-noise shortcut S_V(f_ref) * ENBW the rig used before is far off
    s_v = VPM**2 * (float(DEMO.displacement_psd(p.f_ref)) + DET**2)
    if offset == 0.0 and tau >= 1.0:
        assert s_v * lockin.enbw(tau, order) > 2.0 * var


def test_readings_have_the_exact_joint_statistics():
    p = _params(order=2, time_constant=0.5)
    sysm = EnvelopeSystem(p)
    var = sysm.output_variance()
    spectrum, edges = _spectrum(DEMO, p), _breaks(DEMO, p)
    rng = np.random.default_rng(5)
    for s in (0.5, 4.0):
        truth = 0.5 * _quad(spectrum, edges, weight_s=s)  # E[X(t) X(t+s)], V^2
        phi = sysm.transition(s)
        i = sysm.out
        cov = phi @ sysm.covariance
        model = 0.5 * (cov[i, i] + cov[i + 1, i + 1])
        assert model == pytest.approx(truth, rel=2e-3)
        # Monte Carlo: pairs of readings s apart, each pair started from the stationary law
        n = 4000
        pairs = np.empty((n, 2))
        for k in range(n):
            e = EnvelopeLockin(p, 0.0, rng.standard_normal(p.size))
            x0 = e.output().real
            e.advance(s, rng.standard_normal(p.size))
            pairs[k] = x0, e.output().real
        assert np.var(pairs[:, 0]) == pytest.approx(var, rel=0.08)
        rho = np.corrcoef(pairs.T)[0, 1]
        assert rho == pytest.approx(truth / var, abs=0.05)
    assert 0.5 * _quad(spectrum, edges, weight_s=4.0) / var < 0.4 < (
        0.5 * _quad(spectrum, edges, weight_s=0.5) / var)  # close: correlated; far: less


def test_statistical_force_is_zero_mean_with_the_solver_variance():
    sigma = 1e-17  # N r.m.s.
    cold = Cantilever(k=DEMO.k, f0=DEMO.f0, Q=300.0, T=1e-6)  # ring time 32 ms
    p = _params(cantilever=cold, time_constant=0.01, spin_force_std=sigma, spin_time=20.0,
                detector_noise=0.0)
    gain = VPM * cold.Q / cold.k / math.sqrt(2)
    sysm = EnvelopeSystem(p)
    i = sysm.out
    # tau_m >> ring and filter times: X follows the force, Var X = (G sigma)^2 (to ~0.3 %)
    assert sysm.covariance[i, i] == pytest.approx((gain * sigma) ** 2, rel=5e-3)
    assert sysm.covariance[i + 1, i + 1] < 1e-4 * (gain * sigma) ** 2
    rng = np.random.default_rng(2)
    e = EnvelopeLockin(p, 0.0, rng.standard_normal(p.size))
    xs = []
    for k in range(1, 3001):
        e.advance(200.0 * k, rng.standard_normal(p.size))  # 10 tau_m apart: independent
        xs.append(e.output())
    xs = np.array(xs)
    assert abs(xs.real.mean()) < 4 * gain * sigma / math.sqrt(xs.size)
    assert xs.real.std() == pytest.approx(gain * sigma, rel=0.06)
    assert xs.imag.std() < 0.01 * gain * sigma  # at -90 degrees the force is all in X


def _chain(temperature: float, seconds: float, **kw):
    c = Cantilever(k=1e-4, f0=5e3, Q=200.0, T=max(temperature, 1e-9))
    args = dict(k=c.k, f0=c.f0, Q=c.Q, temperature=temperature, dt=1e-5, shot_noise=False,
                adc_bits=0, lockin_frequency=c.f0, lockin_time_constant=0.01,
                lockin_slope=12, lockin_phase=-math.pi / 2, seed=3)
    args.update(kw)
    params = ChainParameters(**args)
    # the record in pieces of 1e6 samples (the simulator continues where it stopped), keeping
    # only X: the 200 s thermal record is 2e7 samples, 1.1 GB with all seven channels
    sim, n = ChainSimulator(params), int(round(seconds / params.dt))
    out = {"lockin_x": np.concatenate([sim.run(min(1_000_000, n - i))["lockin_x"]
                                       for i in range(0, n, 1_000_000)])}
    vpm = params.gain * params.power * params.visibility * 4 * math.pi / params.wavelength
    env = _params(cantilever=c, f_ref=c.f0, f_drive=c.f0, time_constant=0.01, order=2,
                  volts_per_meter=vpm, detector_noise=0.0)
    return out, env, params


def test_time_domain_chain_and_envelope_agree():
    # ring-up of the CAI force from rest (no bath), X at several times
    force = 1e-15
    out, p, params = _chain(0.0, 0.3, spin_model="cai", spin_value=force,
                            modulation_frequency=5e3)
    e = EnvelopeLockin(p)
    e.set_inputs(force)
    z = np.zeros(p.size)
    steady = abs(EnvelopeSystem(p).mean_target(force, 0j)[EnvelopeSystem(p).out])
    for t in (0.01, 0.03, 0.1, 0.3):
        e.advance(t, z)
        x_chain = out["lockin_x"][int(round(t / params.dt)) - 1]
        assert x_chain == pytest.approx(e.output().real, abs=0.01 * steady)
    # thermal noise: the chain's Var X against the envelope's stationary variance
    out, p, params = _chain(4.2, 200.0)
    x = out["lockin_x"][int(1.0 / params.dt):]
    assert np.var(x) == pytest.approx(EnvelopeSystem(p).output_variance(), rel=0.1)


def test_velocity_feedback_shortens_the_ring_time_and_keeps_the_force_noise():
    """Cold damping to Q_fb: ring-up with 2 Q_fb/omega0 to X = g (Q_fb/k) F/sqrt 2, thermal
    noise S_F (the cantilever's own Q) through |H_fb|^2 (quad), i.e. E|A|^2/2 =
    (Q_fb/Q) kB T/k with a wide filter (feedback cooling)."""
    q_fb = 60.0
    loop = Cantilever(k=DEMO.k, f0=DEMO.f0, Q=q_fb, T=DEMO.T)
    p = _params(time_constant=1e-4, order=1, feedback_Q=q_fb, detector_noise=0.0)
    e = EnvelopeLockin(p)
    e.set_inputs(1e-16)
    gain = VPM * q_fb / DEMO.k / math.sqrt(2)
    tc = loop.ringdown_time  # 6.4 ms
    for t in (0.002, 0.01, 0.05):
        e.advance(t, np.zeros(p.size))
        truth = integrate.quad(lambda s, t=t: math.exp(-s / 1e-4) / 1e-4
                               * (1 - math.exp(-(t - s) / tc)), 0, t, limit=200)[0]
        assert e.output().real == pytest.approx(gain * 1e-16 * truth, rel=1e-5)
    var = EnvelopeSystem(p).output_variance()
    s_f = DEMO.force_noise_psd()

    def product(fp):
        f = p.f_ref + fp
        return VPM**2 * s_f * abs(loop.transfer_function(f)) ** 2 * abs(
            lockin.response(fp, time_constant=1e-4, order=1)) ** 2

    edges = [-3e3 + 1e-9, -500.0, -50.0, -5.0, 0.0, 5.0, 50.0, 500.0, 5e3]
    truth = 0.5 * sum(integrate.quad(product, a, b, limit=400)[0]
                      for a, b in zip(edges[:-1], edges[1:], strict=False))
    truth += 0.5 * integrate.quad(product, edges[-1], math.inf, limit=400)[0]
    assert var == pytest.approx(truth, rel=2e-2)
    cooled = 0.5 * VPM**2 * (q_fb / DEMO.Q) * 1.380649e-23 * DEMO.T / DEMO.k
    assert var == pytest.approx(cooled, rel=0.1)  # most of the Lorentzian is in the filter


def test_detuned_drive_rings_up_with_a_beat_to_the_exact_response():
    """A force at f0 + 0.5 Hz (five linewidths f0/Q = 0.1 Hz off): the envelope in the drive's
    frame is g H(f) F (1 - e^{p t})/sqrt 2 with p = -omega0/2Q + i (omega_d - omega), H the
    oscillator's 1/(k (1 - u^2 + i u/Q)) written out here; through a 1 ms filter (quad)."""
    f = DEMO.f0 + 0.5
    p = _params(f_ref=f, f_drive=f, time_constant=1e-3, order=1, phase=0.0)
    u = f / DEMO.f0
    h = 1.0 / (DEMO.k * ((1.0 - u * u) + 1j * u / DEMO.Q))
    gamma = DEMO.omega0 / (2 * DEMO.Q)
    pole = complex(-gamma, math.sqrt(DEMO.omega0**2 - gamma**2) - 2 * math.pi * f)
    steady = VPM * h * 1e-16 / math.sqrt(2)
    e = EnvelopeLockin(p)
    e.set_inputs(1e-16)
    for t in (0.3, 1.0, 2.5, 40.0):
        e.advance(t, np.zeros(p.size))

        def part(s, t=t, k=0):
            v = math.exp(-s / 1e-3) / 1e-3 * steady * (1 - np.exp(pole * (t - s)))
            return (v.real, v.imag)[k]

        truth = complex(*(integrate.quad(part, 0, t, args=(t, k), limit=400, points=[0.01])[0]
                          for k in (0, 1)))
        assert abs(e.output() - truth) < 1e-4 * abs(steady)
    assert abs(e.output() - steady) < 1e-4 * abs(steady)  # 40 s = 12.6 ring times: H(f) F


def test_warm_up_leaves_the_engine_where_it_was():
    """The rig's warm-up (:meth:`EnvelopeLockin.warm_up`) compiles the step on a scratch
    copy: a warmed engine's readings equal those of an engine never warmed, bit for bit."""
    p = _params(order=2)
    rng = np.random.default_rng(3)
    z = rng.standard_normal((3, p.size))
    warmed, plain = EnvelopeLockin(p), EnvelopeLockin(p)
    for e in (warmed, plain):
        e.set_inputs(1e-16)
        e.advance(0.5, z[0])
    before = (warmed.t, warmed.state.copy(), warmed.output())
    warmed.warm_up(0.1)
    assert (warmed.t, warmed.output()) == (before[0], before[2])
    assert np.array_equal(warmed.state, before[1])
    for i, t in ((1, 1.0), (2, 2.5)):
        warmed.advance(t, z[i])
        plain.advance(t, z[i])
        assert warmed.output() == plain.output()
