"""The virtual lock-in sees the cantilever's equation of motion, through the wire protocol.

Truths: the ring-up of a driven damped oscillator, G F (1 - exp(-t/tau_c)) with
tau_c = 2Q/omega0 (:attr:`mrfm.physics.Cantilever.ringdown_time`) and
G = volts_per_meter (Q/k)/sqrt 2 at resonance, through the n-pole filter's impulse
response (scipy quad); a change acts from the simulated time of its command, whatever
the time of the lock-in's previous update.
"""

from __future__ import annotations

import math

import pytest
from scipy import integrate

from mrfm.rig.clock import SimClock

from .rig_helpers import LineClient, make_rig
from .test_physics_rig import F_RF, FDEV, LOCKIN_RIG

#: the lock-in rig, cold (0.1 mK: thermal X noise below 0.05 % of the signal) and with a
#: quiet detector, so the noise is small next to the signal. The protons' Curie
#: polarization follows the stage (1 at 0.1 mK, 6.6e-4 at 4.2 K): the detector gain is
#: 1e3 times lower than the default so that the lock-in is not overloaded
COLD_RIG = LOCKIN_RIG.replace('base_temperature = "4.2 K"',
                              'base_temperature = "0.1 mK"\ndetector_noise = 1e-16\n'
                              'volts_per_meter = 1e4')


def _ring_up(t: float, tc: float, tau: float, order: int) -> float:
    """Fraction of the steady state after t: (1 - e^(-t/tc)) through the n-pole filter."""
    def h(s: float) -> float:
        impulse = s ** (order - 1) * math.exp(-s / tau) / (tau**order * math.factorial(order - 1))
        return impulse * (1.0 - math.exp(-(t - s) / tc))
    return integrate.quad(h, 0.0, t, limit=200)[0]


@pytest.mark.parametrize("idle", [0.0, 50.0])
def test_rf_on_rings_up_from_the_moment_of_the_command(idle):
    rig = make_rig(COLD_RIG, clock=SimClock(manual=True))
    try:
        st = rig.state
        f0 = st.cantilever.f0
        li = LineClient(rig.resources["lockin"])
        li.send(f"FREQ {f0};OFLT 8;OFSL 1;PHAS -90")  # 100 ms, 12 dB/oct
        assert li.query("OFLT?") == "8"  # (the commands above have been handled)
        st.fine.move(st.fine.axes["1"], 0.1e-6, st.now())
        rf = LineClient(rig.resources["rf"])
        rf.send(f"FREQ {F_RF:.3f};FDEV {FDEV:.3f};RATE {f0};TYPE 1;MODL 1;AMPR 0")
        assert rf.query("LERR?") == "0"
        st.clock.advance(1.0)
        float(li.query("OUTP? 1"))  # the lock-in's last update before the change
        st.clock.advance(idle)  # time passes unobserved: the RF is still off
        rf.send("ENBR 1")
        assert rf.query("ENBR?") == "1"
        c = st.cantilever
        tc = c.ringdown_time
        assert 1.2 < tc < 1.3  # 2Q/omega0 of the pad experiment's Q = 2e4 at 5 kHz
        force = st.spin_signal()
        gain = st.settings.volts_per_meter * abs(c.transfer_function(f0)) / math.sqrt(2)
        assert abs(gain * force) > 1e-3
        t_on = st.now()
        for t in (0.5, 1.0, 2.0, 5.0, 15.0):
            st.clock.advance(t_on + t - st.now())
            x = float(li.query("OUTP? 1"))
            expected = gain * force * _ring_up(t, tc, 0.1, 2)
            assert x == pytest.approx(expected, abs=0.01 * abs(gain * force)), t
        # RF off: rings down with the same time
        rf.send("ENBR 0")
        assert rf.query("ENBR?") == "0"
        t_off = st.now()
        st.clock.advance(2.0)
        x = float(li.query("OUTP? 1"))
        steady = gain * force * _ring_up(15.0, tc, 0.1, 2)
        down = steady - gain * force * _ring_up(2.0, tc, 0.1, 2)
        assert st.now() - t_off == pytest.approx(2.0)
        assert x == pytest.approx(down, abs=0.01 * abs(gain * force))
        for cl in (li, rf):
            cl.close()
    finally:
        rig.stop()


def test_statistical_polarization_is_a_zero_mean_random_force(tmp_path):
    """X is zero-mean with variance G^2 sigma^2 tau_m/(tau_m + tau_c) (the solver's force
    variance sigma^2 through the cantilever's first-order envelope response; the 100 ms
    filter takes a further 0.1 %), not the deterministic r.m.s. force."""
    import statistics

    from .rig_helpers import PAD_EXPERIMENT, with_experiment

    text = PAD_EXPERIMENT.read_text().replace('polarization = "curie"',
                                              'polarization = "statistical"\ntau_m = "100 s"')
    exp = tmp_path / "stat.toml"
    exp.write_text(text)
    rig_text = with_experiment(COLD_RIG.split("\n", 1)[1], exp)
    rig = make_rig(rig_text, clock=SimClock(manual=True))
    try:
        st = rig.state
        f0 = st.cantilever.f0
        li = LineClient(rig.resources["lockin"])
        li.send(f"FREQ {f0};OFLT 8;OFSL 1;PHAS -90")
        assert li.query("OFLT?") == "8"
        st.fine.move(st.fine.axes["1"], 0.1e-6, st.now())
        rf = LineClient(rig.resources["rf"])
        rf.send(f"FREQ {F_RF:.3f};FDEV {FDEV:.3f};RATE {f0};TYPE 1;MODL 1;AMPR 0;ENBR 1")
        assert rf.query("ENBR?") == "1"
        st.clock.advance(1.0)  # the servo has settled at x = 100 nm
        variance = st.spin_signal()
        assert st.signal_model.unit == "N^2" and variance > 0
        assert st.spin_correlation_time == 100.0
        c = st.cantilever
        gain = st.settings.volts_per_meter * abs(c.transfer_function(f0)) / math.sqrt(2)
        sigma_x = gain * math.sqrt(variance * 100.0 / (100.0 + c.ringdown_time))
        xs, ys = [], []
        for _ in range(400):
            st.clock.advance(1000.0)  # 10 tau_m: independent readings
            x, y = (float(v) for v in li.query("SNAP? 1,2").split(","))
            xs.append(x)
            ys.append(y)
        assert abs(statistics.fmean(xs)) < 4 * sigma_x / math.sqrt(len(xs))
        assert statistics.pstdev(xs) == pytest.approx(sigma_x, rel=0.12)
        assert statistics.pstdev(ys) < 0.05 * sigma_x  # the force is in X at -90 degrees
        for cl in (li, rf):
            cl.close()
    finally:
        rig.stop()
