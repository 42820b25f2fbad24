"""The rig's physics seen through the instruments' wire protocols.

Truths: the piezo model's closed forms (play-operator loop width 2 h w g, Jung &
Gweon creep Delta*gamma*log10(1 + t/tau_c)); a linear magnet ramp at the set
rate; first-order thermal relaxation T(t) = T_set + (T0 - T_set) exp(-t/tau);
the lock-in output equal to the signal model's force through the cantilever
transfer function and the detector gain, within 5 sigma of the thermal noise.
"""

from __future__ import annotations

import cmath
import math
import time

import pytest

from mrfm.physics import SpinSpecies
from mrfm.rig.clock import SimClock

from .rig_helpers import RIG_TOML, LineClient, make_rig, with_experiment

QUIET = RIG_TOML.replace("seed = 1", "seed = 1\nsensor_noise = 0.0")


def gcs(c: LineClient, cmd: str) -> str:
    c.send(cmd)
    lines = [c.readline()]
    while lines[-1].endswith(" "):
        lines.append(c.readline())
    return "\n".join(s.rstrip() for s in lines)


def val(reply: str) -> float:
    return float(reply.split("=")[1])


def test_piezo_moves_respect_limits(rig, client):
    c = client("scanner")
    assert gcs(c, "TMX? 1") == "1=5.0000000"  # lab's x range inside the 4 K travel
    assert val(gcs(c, "TMX? 3")) == pytest.approx(4.0, abs=1e-6)  # height limit 4 um
    fine = rig.state.fine
    lo, hi = fine.travel(fine.axes["1"])
    # 4.2 K: gain 50 um/120 V * 0.2 (the stage law's fraction at 4.2 K and below), times
    # the lab's voltage limit there
    f = 0.2
    v_limit = 250 + (120 - 250) * 0.2 / 296  # interpolated between (4 K, 250 V), (300 K, 120 V)
    assert hi - lo == pytest.approx(50e-6 / 120 * f * v_limit, rel=1e-9)
    c.send("MOV 1 2.5")
    assert gcs(c, "ERR?") == "0"
    rig.state.clock.advance(0.1)
    assert val(gcs(c, "POS? 1")) == pytest.approx(2.5, abs=0.01)
    c.send("MOV 1 5.5")  # beyond the soft limit: refused, nothing moves
    assert gcs(c, "ERR?") == "7"
    assert val(gcs(c, "MOV? 1")) == pytest.approx(2.5)
    c.send("MOV 9 1")
    assert gcs(c, "ERR?") == "15"
    reply = gcs(c, "POS?")
    assert reply.count("\n") == 2 and reply.startswith("1=")


def test_piezo_hysteresis_and_creep_open_loop():
    rig = make_rig(QUIET.replace("seed = 1", "seed = 1\ncreep = 0.0"), clock=SimClock(manual=True))
    try:
        c = LineClient(rig.resources["scanner"])
        c.send("SVA 1 10")
        assert gcs(c, "ERR?") == "79"  # open-loop command with the servo on
        c.send("SVO 1 0")
        c.send("SVA 1 300")
        assert gcs(c, "ERR?") == "17"  # above the 250 V limit at 4 K
        for v in (0, 200, 100):
            c.send(f"SVA 1 {v}")
        down = val(gcs(c, "POS? 1"))
        for v in (0, 100):
            c.send(f"SVA 1 {v}")
        up = val(gcs(c, "POS? 1"))
        s = rig.state.settings
        g = rig.state.fine.gain(rig.state.fine.axes["1"]) / 1e-6  # um/V
        v_limit = rig.state.voltage_limit()
        assert v_limit == pytest.approx(250 + (120 - 250) * 0.2 / 296)
        width = 2 * s.hysteresis * s.play_width * v_limit * g
        assert down - up == pytest.approx(width, abs=2e-7)  # POS? prints 7 decimals
        assert width > 0.05  # a visible loop, tens of nm
        c.close()
    finally:
        rig.stop()

    rig = make_rig(QUIET, clock=SimClock(manual=True))
    try:
        c = LineClient(rig.resources["scanner"])
        c.send("SVO 2 0")
        p0 = val(gcs(c, "POS? 2"))
        c.send("SVA 2 150")
        t_step = rig.state.now()
        p_step = val(gcs(c, "POS? 2"))
        delta = p_step - p0
        s = rig.state.settings
        for dt in (1.0, 10.0, 100.0):
            rig.state.clock.advance(dt - (rig.state.now() - t_step))
            expected = p_step + delta * s.creep * math.log10(1 + dt / s.creep_time)
            assert val(gcs(c, "POS? 2")) == pytest.approx(expected, abs=2e-7)
        # closed loop removes creep: switch the servo on, the position holds
        c.send("SVO 2 1")
        held = val(gcs(c, "POS? 2"))
        rig.state.clock.advance(1000.0)
        assert val(gcs(c, "POS? 2")) == pytest.approx(held, abs=1e-6)
        c.close()
    finally:
        rig.stop()


def test_magnet_ramps_at_the_configured_rate(rig, client):
    c = client("magnet", "\r\n")
    assert c.readline() == "American Magnetics Model 430 IP Interface"
    assert c.readline() == "Hello."
    c.send("CONF:RAMP:RATE:FIELD 1,0.05,3")  # above the lab's 0.02 T/s: refused
    assert c.query("SYST:ERR?").startswith("-222")
    c.send("CONF:RAMP:RATE:FIELD 1,0.01,3")
    c.send("CONF:FIELD:TARG 0.5")
    assert c.query("SYST:ERR?") == '0,"No error"'
    c.send("RAMP")
    assert c.query("STATE?") == "1"
    rig.state.clock.advance(10.0)
    assert float(c.query("FIELD:MAG?")) == pytest.approx(0.1, abs=1e-9)
    assert c.query("STATE?") == "1"
    rig.state.clock.advance(40.0)
    assert float(c.query("FIELD:MAG?")) == pytest.approx(0.5, abs=1e-12)
    assert c.query("STATE?") == "2"
    c.send("CONF:FIELD:TARG 3.5")  # above max_field
    assert c.query("SYST:ERR?").startswith("-222")
    c.send("CONF:FIELD:UNITS 0")  # kilogauss
    assert float(c.query("FIELD:MAG?")) == pytest.approx(5.0)


def test_temperature_follows_setpoint_with_time_constant():
    scale = 200.0
    rig = make_rig(RIG_TOML, clock=SimClock(scale))
    try:
        c = LineClient(rig.resources["temperature"], "\r\n")
        assert c.query("KRDG? A") == "+004.200"
        # the setpoint acts from when the server handles it: between t_sent and t_done
        t_sent = rig.state.now()
        c.send("SETP 1,8.0;RANGE 1,1")
        assert c.query("RANGE? 1") == "1"
        t_done = rig.state.now()
        time.sleep(0.1)  # ~20 simulated seconds
        before = rig.state.now() - t_done
        temp = float(c.query("KRDG? A"))
        after = rig.state.now() - t_sent
        tau = 20.0

        def model(t):
            return 8.0 + (4.2 - 8.0) * math.exp(-t / tau)

        assert model(before) - 1e-3 <= temp <= model(after) + 1e-3
        assert 4.5 < temp < 7.99
        assert float(c.query("SETP? 1")) == 8.0
        assert 0 < float(c.query("HTR? 1")) <= 100
        c.close()
    finally:
        rig.stop()


#: the Curie CAI rig of the lock-in tests; they compare readings with the Curie force and
#: its thermal noise, so the spins' statistical fluctuation (as large as the force for
#: these protons) is off here and tested on its own (test_curie_readings_carry_spin_noise)
LOCKIN_RIG = with_experiment(RIG_TOML.replace(
    "seed = 1", 'seed = 7\ninitial_height = "50 nm"\nspin_noise = false')
    .replace('initial_field = "0 T"', 'initial_field = "2.6 T"'))
#: 1H: RF resonant at 2.7 T and FM deviation of 4 mT, Hz
GAMMA_1H = SpinSpecies.from_name("1H").gamma
F_RF = GAMMA_1H * 2.7 / (2 * math.pi)
FDEV = 4e-3 * GAMMA_1H / (2 * math.pi)


def _cai_on(rig, phase: float) -> tuple[LineClient, LineClient]:
    """RF on, frequency-modulated (F_RF, FDEV) at the cantilever frequency f0, and the
    lock-in on f0 (tau = 10 s, 12 dB/oct, reference ``phase`` deg): the (rf, lockin) clients."""
    f0 = rig.state.cantilever.f0
    rf = LineClient(rig.resources["rf"])
    rf.send(f"FREQ {F_RF:.3f};FDEV {FDEV:.3f};RATE {f0};TYPE 1;MODL 1;AMPR 0;ENBR 1")
    assert rf.query("LERR?") == "0"  # (also: every command above has been handled)
    li = LineClient(rig.resources["lockin"])
    li.send(f"FREQ {f0};OFLT 12;OFSL 1;PHAS {phase:g}")
    assert float(li.query("PHAS?")) == phase
    return rf, li


def test_lockin_reading_matches_signal_model():
    rig = make_rig(LOCKIN_RIG, clock=SimClock(manual=True))
    try:
        st = rig.state
        f0 = st.cantilever.f0
        rf, li = _cai_on(rig, 0.0)
        sc = LineClient(rig.resources["scanner"])
        sc.send("MOV 1 0.1")
        assert sc.query("ERR?") == "0"
        st.clock.advance(300.0)
        x, y = (float(v) for v in li.query("SNAP? 1,2").split(","))
        tip = st.tip_position()
        assert tip[0] == pytest.approx(100e-9, abs=1e-12) and tip[2] == pytest.approx(50e-9)
        force = st.signal_model.signal_at(*tip, 2.6, float(rf.query("FREQ?")), 4e-3)
        expected = (st.settings.volts_per_meter * st.cantilever.transfer_function(f0) * force
                    / math.sqrt(2))
        sigma = math.sqrt(st.input_noise_psd(f0) / 8.0 / 10.0)  # ENBW 1/(8 tau), tau = 10 s
        assert abs(force) > 1e-17
        assert abs(expected) > 20 * sigma  # the test means something
        assert abs(complex(x, y) - expected) < 5 * sigma * math.sqrt(2)
        assert math.degrees(cmath.phase(complex(x, y))) == pytest.approx(
            math.degrees(cmath.phase(expected)), abs=10.0
        )
        # RF off: the reading decays to noise
        rf.send("ENBR 0")
        assert rf.query("ENBR?") == "0"
        st.clock.advance(300.0)
        x, y = (float(v) for v in li.query("SNAP? 1,2").split(","))
        assert abs(complex(x, y)) < 6 * sigma
        for cl in (rf, sc, li):
            cl.close()
    finally:
        rig.stop()


def test_temperature_interlock_switches_rf_off(rig, client):
    rf = client("rf")
    ls = client("temperature", "\r\n")
    rf.send("ENBR 1")
    assert rf.query("ENBR?") == "1"
    ls.send("SETP 1,20;RANGE 1,2")  # medium range reaches 50 K
    assert ls.query("RANGE? 1") == "2"
    rig.state.clock.advance(200.0)  # 10 time constants
    assert float(ls.query("KRDG? A")) == pytest.approx(20.0, abs=2e-3)
    assert rf.query("ENBR?") == "0"  # above the 10 K interlock
    rf.send("ENBR 1")
    assert rf.query("LERR?") == "12"
    assert any("interlock" in e for e in rig.state.events)


MULTIPLIED = LOCKIN_RIG.replace(
    'driver = "srs.sg384"', 'driver = "srs.sg384"\nfrequency_multiplier = 4'
)


def test_rf_multiplier_scales_carrier_and_fm_depth():
    """An external x4 multiplier: the spins see 4 x the SG384's frequency and FM deviation."""
    signals = []
    for text, n in ((LOCKIN_RIG, 1), (MULTIPLIED, 4)):
        rig = make_rig(text, clock=SimClock(manual=True))
        try:
            st = rig.state
            assert st.rf_multiplier == n
            rf = LineClient(rig.resources["rf"])
            rf.send(f"FREQ {F_RF / n:.6f};FDEV {FDEV / n:.6f};TYPE 1;MODL 1;ENBR 1")
            assert rf.query("LERR?") == "0"
            assert float(rf.query("FREQ?")) == pytest.approx(F_RF / n, abs=1e-6)
            carrier, dev = st.carrier()
            assert carrier == pytest.approx(F_RF, abs=n * 1e-6)  # the wire's 1 uHz digits
            assert dev == pytest.approx(FDEV, abs=n * 1e-6)
            rf.send("FREQ 5 GHz")  # beyond the SG384: refused whatever follows it
            assert rf.query("LERR?") != "0"
            assert float(rf.query("FREQ?")) == pytest.approx(F_RF / n, abs=1e-6)
            rig.state.fine.move(rig.state.fine.axes["1"], 100e-9, st.now())
            st.clock.advance(1.0)
            signals.append(st.spin_signal())
            tip = st.tip_position()
            assert signals[-1] == st.signal_model.signal_at(*tip, 2.6, F_RF, 4e-3)
            rf.close()
        finally:
            rig.stop()
    assert abs(signals[0]) > 1e-17
    assert signals[1] == pytest.approx(signals[0], rel=1e-9)


def test_rf_multiplier_tunes_the_source_for_the_experiment():
    from mrfm.config import load
    from mrfm.errors import ConfigError
    from mrfm.resources import data_dir
    from mrfm.rig.server import VirtualRig, rf_multiplier
    from mrfm.rig.state import RigState
    from mrfm.rigdef import rigfile

    exp = load(data_dir("configs") / "demo.toml")  # 11 GHz, 4 mT FM depth (electrons)
    st = RigState(experiment=exp, rf_multiplier=4, clock=SimClock(manual=True))
    assert st.rf.frequency == pytest.approx(2.75e9, rel=1e-15)  # inside the SG384's 4.05 GHz
    assert st.rf.fm_deviation == pytest.approx(28.0e6, rel=1e-2)  # inside its 32 MHz
    f, dev = st.carrier()
    depth = 2 * math.pi * dev / st.signal_model.gamma
    assert st.signal_model.is_experiment_setting(exp.B0, f, depth)
    assert rf_multiplier(rigfile.load(data_dir("instruments") / "virtual.toml")) == 4.0
    for bad in ("0", '"x4"', "-2"):
        text = MULTIPLIED.replace("frequency_multiplier = 4", f"frequency_multiplier = {bad}")
        with pytest.raises(ConfigError, match="frequency_multiplier"):
            VirtualRig(rigfile.loads(text))


def test_lockin_phase_minus_90_puts_the_cai_force_in_x():
    """At resonance x = -i (Q/k) F, so the -90 degree reference gives X = +vpm (Q/k) F/sqrt(2)."""
    rig = make_rig(LOCKIN_RIG, clock=SimClock(manual=True))
    try:
        st = rig.state
        f0 = st.cantilever.f0
        rf, li = _cai_on(rig, -90.0)
        readings = []
        for x_um in (0.1, -0.1):
            st.fine.move(st.fine.axes["1"], x_um * 1e-6, st.now())
            st.clock.advance(300.0)
            x, y = (float(v) for v in li.query("SNAP? 1,2").split(","))
            force = st.spin_signal()
            c = st.settings.volts_per_meter * st.cantilever.Q / st.cantilever.k / math.sqrt(2)
            sigma = math.sqrt(st.input_noise_psd(f0) / 8.0 / 10.0)
            assert abs(c * force) > 20 * sigma
            assert x == pytest.approx(c * force, abs=5 * sigma)
            assert abs(y) < 5 * sigma
            assert x * force > 0  # X carries the force's sign ...
            readings.append(x)
        assert readings[0] * readings[1] < 0  # ... which flips with the side (the pad's edges)
        rf.close()
        li.close()
    finally:
        rig.stop()


def test_cantilever_noise_follows_the_cryostat_temperature(rig):
    """The rig's cantilever is the experiment's at the stage temperature: at f0 the input
    noise is vpm^2 (S_F (Q/k)^2 + S_det) with S_F = 4 k kB T/(2 pi f0 Q) (|H(f0)| = Q/k),
    Q the total of every loss channel (Cantilever.Q_total: intrinsic and gas damping)."""
    from scipy import constants

    st = rig.state
    c0 = st.experiment.cantilever
    vpm, det = st.settings.volts_per_meter, st.settings.detector_noise

    def expected(temp):
        q = c0.Q_total
        s_f = 4 * c0.k * constants.k * temp / (2 * math.pi * c0.f0 * q)
        return vpm**2 * (s_f * (q / c0.k) ** 2 + det**2)

    assert st.temperature() == 4.2
    assert st.input_noise_psd(c0.f0) == pytest.approx(expected(4.2), rel=1e-12)
    st.cryostat.heater_range = 1
    st.cryostat.set_setpoint(8.0, st.now())
    st.clock.advance(200.0)  # 10 time constants
    temp = st.temperature()
    assert temp == pytest.approx(8.0, abs=1e-3)
    c = st.cantilever
    assert (c.k, c.f0, c.Q, c.T) == (c0.k, c0.f0, c0.Q, temp)
    assert st.input_noise_psd(c0.f0) == pytest.approx(expected(temp), rel=1e-12)


def test_piezo_gain_follows_the_stage_law(rig):
    """The rig's piezo gain is the stage's law (mrfm.physics.stage.piezo_fraction_at) with the
    rig's own 4.2 K fraction, at every stage temperature: 1 at 300 K, the fraction at 4.2 K
    and below, linear between (the rig once had its own copy, interpolating from 4.0 K)."""
    from mrfm.physics import Stage
    from mrfm.physics.stage import piezo_fraction_at

    state = rig.state
    f4 = state.settings.low_temperature_fraction
    for t in (0.3, 4.0, 4.2, 77.0, 152.1, 299.0, 300.0, 320.0):
        state.cryostat.temperature = t
        state.cryostat.setpoint = t
        got = state.temperature_factor()
        t_now = state.cryostat.temperature
        assert got == piezo_fraction_at(t_now, f4)
        assert got == pytest.approx(Stage(temperature=t_now, piezo_fraction_4K=f4)
                                    .piezo_fraction(), rel=1e-15)
    assert piezo_fraction_at(4.0, 0.2) == 0.2 and piezo_fraction_at(300.0, 0.2) == 1.0
    assert piezo_fraction_at(152.1, 0.2) == pytest.approx(0.6, rel=1e-12)


def test_the_curie_signal_follows_the_cryostat_temperature():
    """The spin signal is computed at the stage's temperature, not at the experiment's
    (the rig's thermal noise already was): the same rig at 4.2 K and at 8.4 K gives the
    ratio of the protons' Curie polarizations, tanh(x/2)/tanh(x) with x = mu B / kB 4.2 K
    (0.5 to 1e-7 at 2.7 T), and the 8.4 K value is the solver's at 8.4 K."""
    import dataclasses

    import numpy as np
    from scipy.constants import k as kB

    from mrfm.solver import simulate

    values = []
    for base in ("4.2 K", "8.4 K"):
        rig = make_rig(LOCKIN_RIG.replace('base_temperature = "4.2 K"',
                                          f'base_temperature = "{base}"'),
                       clock=SimClock(manual=True))
        try:
            rf, li = _cai_on(rig, 0.0)
            sc = LineClient(rig.resources["scanner"])
            sc.send("MOV 1 0.1")  # the tip at x = 100 nm, over the pad's edge
            assert sc.query("ERR?") == "0"
            st = rig.state
            st.clock.advance(1.0)
            assert st.temperature() == pytest.approx(float(base.split()[0]))
            values.append(st.spin_signal())
            for cl in (rf, sc, li):
                cl.close()
            tip = st.tip_position()
            b0, (f_rf, f_dev) = st.field(), st.carrier()
            exp = st.signal_model.experiment
        finally:
            rig.stop()
    assert abs(values[0]) > 1e-17
    mu = abs(GAMMA_1H) * 1.054571817e-34 / 2
    x = mu * 2.7 / (kB * 4.2)
    assert values[1] / values[0] == pytest.approx(math.tanh(x / 2) / math.tanh(x), rel=1e-6)
    one = np.array
    point = dataclasses.replace(
        exp, B0=b0, cantilever=dataclasses.replace(exp.cantilever, T=8.4),
        rf=dataclasses.replace(exp.rf, frequency=f_rf,
                               fm_depth=f_dev * 2 * math.pi / abs(GAMMA_1H)),
        scan=dataclasses.replace(exp.scan, x=one([tip[0]]), y=one([tip[1]]),
                                 height=one([tip[2]])))
    solver = float(simulate(point, method="direct", progress=False).signal.ravel()[0])
    assert values[1] == pytest.approx(solver, rel=1e-9)


def test_curie_readings_carry_spin_noise():
    """Under a Curie CAI force the rig adds the spins' statistical fluctuation, as datasets
    do: the lock-in's inputs carry the force variance of the same experiment under
    statistical polarization (an independent one-point solver run here) with the lock's
    correlation time (timedomain.spins.spin_correlation_time), the noise level the
    lock-in reports grows by it, and readings spaced by 20 correlation times scatter
    about the Curie X by that level in X (120 readings: the spread to ~7 %, tolerance
    25 %; the mean to within 4 spreads / sqrt(n)). With [virtual] spin_noise = false the inputs
    carry the force alone."""
    import dataclasses

    import numpy as np

    from mrfm.solver import simulate
    from mrfm.timedomain.spins import spin_correlation_time

    rig = make_rig(LOCKIN_RIG.replace("spin_noise = false", "spin_noise = true"),
                   clock=SimClock(manual=True))
    quiet = make_rig(LOCKIN_RIG, clock=SimClock(manual=True))
    try:
        st = rig.state
        rf, li = _cai_on(rig, -90.0)
        st.fine.move(st.fine.axes["1"], 0.1e-6, st.now())
        st.clock.advance(300.0)
        inputs = st.lockin_inputs(st.now())
        x, y, h, b0, f_rf, f_dev, active = inputs.where
        exp = st.experiment
        one = dataclasses.replace(
            exp, B0=b0,
            rf=dataclasses.replace(exp.rf, frequency=f_rf, fm_depth=4e-3),
            protocol=dataclasses.replace(exp.protocol, polarization="statistical"),
            scan=dataclasses.replace(exp.scan, x=np.array([x]), y=np.array([y]),
                                     height=np.array([h])))
        variance = float(simulate(one, method="direct", progress=False).signal.ravel()[0])
        assert inputs.force_std == pytest.approx(math.sqrt(variance), rel=1e-9)
        tau_m = spin_correlation_time(dataclasses.replace(one, protocol=exp.protocol),
                                      float(st.rf.mod_rate))
        assert inputs.spin_time == pytest.approx(tau_m, rel=1e-9)
        assert abs(inputs.force) > 0
        level = st.channels[0].noise_std()
        qst = quiet.state
        rf_q, li_q = _cai_on(quiet, -90.0)
        qst.fine.move(qst.fine.axes["1"], 0.1e-6, qst.now())
        qst.clock.advance(300.0)
        plain = qst.lockin_inputs(qst.now())
        assert plain.force_std == 0.0 and plain.force == inputs.force
        thermal = qst.channels[0].noise_std()
        assert level > 3 * thermal  # these protons' fluctuation dominates the thermal noise
        readings = []
        for _ in range(120):
            st.clock.advance(20 * max(tau_m, 10.0))
            readings.append(float(li.query("SNAP? 1,2").split(",")[0]))
        c = st.settings.volts_per_meter * st.cantilever.Q / st.cantilever.k / math.sqrt(2)
        mean_x = c * inputs.force.real
        # noise_std averages X and Y; the spin part is all in X (the force's phase), the
        # thermal part circular: X's variance is 2 level^2 - thermal^2
        spread = math.sqrt(2 * level**2 - thermal**2)
        assert np.std(readings) == pytest.approx(spread, rel=0.25)
        assert abs(np.mean(readings) - mean_x) < 4 * spread / math.sqrt(len(readings))
        for cl in (rf, li, rf_q, li_q):
            cl.close()
    finally:
        rig.stop()
        quiet.stop()


def test_the_tip_drifts_by_the_stages_law_unseen_by_the_sensors():
    """[virtual] drift (default on): after an hour at the base temperature the tip has crept
    by the stage's residual drift (1 nm/h) along one direction drawn from the seed, while
    the scanner's sensor reports the commanded position; heating the stage to 10 K raises
    the tip by the loop's thermal expansion, L int alpha dT (quadrature here: 0.36 nm)."""
    from scipy import integrate

    rig = make_rig(RIG_TOML.replace("drift = false", "drift = true"),
                   clock=SimClock(manual=True))
    try:
        st = rig.state
        stage = st.experiment.stage
        start = st.tip_position()
        sc = LineClient(rig.resources["scanner"])
        before = [val(gcs(sc, f"POS? {i}")) for i in (1, 2, 3)]
        st.clock.advance(3600.0)
        moved = [a - b for a, b in zip(st.tip_position(), start, strict=True)]
        assert math.hypot(*moved) == pytest.approx(stage.residual_drift * 3600.0, rel=1e-9)
        # the sensors (noise 0.05 nm) still read the commanded 0 where the tip crept by more
        axis = max(range(3), key=lambda i: abs(moved[i]))
        assert abs(val(gcs(sc, f"POS? {axis + 1}")) - before[axis]) < 0.25e-3  # um
        ls = LineClient(rig.resources["temperature"], "\r\n")
        ls.send("SETP 1,10;RANGE 1,1")
        assert ls.query("RANGE? 1") == "1"  # handled before the clock moves
        st.clock.advance(400.0)  # 20 thermal time constants
        t_now = float(ls.query("KRDG? A"))
        assert t_now == pytest.approx(10.0, abs=1e-6)
        lift, _ = integrate.quad(stage.thermal_expansion, 4.2, t_now, epsabs=0.0,
                                 epsrel=1e-12)
        creep = stage.residual_drift * st.now()
        direction = [m / math.hypot(*moved) for m in moved]
        height = st.tip_position()[2] - start[2]
        assert height == pytest.approx(creep * direction[2] + stage.loop_length * lift,
                                       rel=1e-6)
        assert stage.loop_length * lift == pytest.approx(0.36e-9, rel=0.01)
        for cl in (sc, ls):
            cl.close()
    finally:
        rig.stop()


@pytest.mark.parametrize("polarization", ["curie", "statistical"])
def test_a_rig_whose_passages_keep_no_lock_starts_and_reads(tmp_path, polarization):
    """B1 = 100 uT under the pad's 4 mT sweep: the adiabaticity is so low that no lock
    survives a passage (spin_correlation_time 0 s). The rig starts, with or without the
    Curie force's spin noise, and a reading is finite; the statistical signal (nothing
    locked) is absent. Before, the zero correlation time reached the lock-in's engine as
    -1/tau_m (ZeroDivisionError at start-up)."""
    from mrfm.config import load
    from mrfm.timedomain.spins import spin_correlation_time

    from .rig_helpers import PAD_EXPERIMENT

    text = PAD_EXPERIMENT.read_text().replace('fm_depth = "4 mT"',
                                              'fm_depth = "4 mT"\nB1 = "100 uT"')
    text = text.replace('polarization = "curie"', f'polarization = "{polarization}"')
    path = tmp_path / "weak.toml"
    path.write_text(text)
    assert spin_correlation_time(load(path)) == 0.0
    rig_text = with_experiment(RIG_TOML.replace("seed = 1", 'seed = 1\ninitial_height = "50 nm"'
                                                '\nspin_noise = true')
                               .replace('initial_field = "0 T"', 'initial_field = "2.6 T"'),
                               path)
    rig = make_rig(rig_text, clock=SimClock(manual=True))
    try:
        st = rig.state
        assert st.experiment_correlation_time == st.experiment.protocol.T1rho
        rf, li = _cai_on(rig, -90.0)
        st.clock.advance(30.0)
        x, y = (float(v) for v in li.query("SNAP? 1,2").split(","))
        assert math.isfinite(x) and math.isfinite(y)
        inputs = st.lockin_inputs(st.now())
        assert inputs.force_std == 0.0 and inputs.spin_time is None
        assert inputs.direct_std == 0j
        for cl in (rf, li):
            cl.close()
    finally:
        rig.stop()
