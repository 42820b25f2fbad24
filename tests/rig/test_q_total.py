"""The virtual rig's calibration and lock-in use the cantilever's total damping (Q_total).

Truth: the free-molecular gas Q of the rig tests' pad cantilever (k = 100 uN/m, f0 = 5 kHz,
default 100 nm thick Si, 4.2 K helium) at the stage pressure, by hand (Christian 1966 in the
form of mrfm.physics.stage: Q_gas = (pi/2)^1.5 rho t f0 sqrt(R T / M) / P), and
1/Q_total = 1/Q_intrinsic + 1/Q_gas; at resonance |H(f0)| = Q_total / k exactly.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from mrfm.config import load
from mrfm.rig.clock import SimClock
from mrfm.rig.lockin import force_per_volt
from mrfm.rig.state import RigState
from mrfm.rigdef import rigfile
from mrfm.rigdef.spec import VirtualSettings
from mrfm.scan.run import _calibrate_virtual_lockin, virtual_rig_path

from .rig_helpers import PAD_EXPERIMENT

PRESSURE = 0.1  # Pa: gas damping (Q_gas 2141) dominates the intrinsic Q = 2e4


def _q_gas_by_hand(pressure: float) -> float:
    return ((math.pi / 2) ** 1.5 * 2329 * 100e-9 * 5e3
            * math.sqrt(8.314462618 * 4.2 / 4.002602e-3) / pressure)


@pytest.fixture(scope="module")
def damped():
    return load(PAD_EXPERIMENT, overrides={"stage.pressure": f"{PRESSURE} Pa"})


def test_the_pad_cantilever_at_the_stage_pressure_is_gas_damped(damped):
    c = damped.cantilever
    q_gas = _q_gas_by_hand(PRESSURE)
    assert c.Q == 2e4
    assert c.Q_total == pytest.approx(1 / (1 / 2e4 + 1 / q_gas), rel=1e-9)
    assert c.Q_total < 0.2 * c.Q  # the case where using the intrinsic Q would be wrong


def test_force_per_volt_uses_q_total(damped):
    settings = VirtualSettings(volts_per_meter=2e7)
    c = damped.cantilever
    expected = math.sqrt(2) * c.k / (2e7 * c.Q_total)
    assert force_per_volt(c, settings) == pytest.approx(expected, rel=1e-12)
    assert force_per_volt(c, settings) > 5 * math.sqrt(2) * c.k / (2e7 * c.Q)


def test_scan_calibration_of_the_virtual_lockin_uses_q_total(damped):
    """``mrfm scan`` on the virtual rig: the lock-in's force_per_volt for a gas-damped
    cantilever (the shipped rig without velocity feedback, then with it)."""
    rf = rigfile.load(virtual_rig_path())
    plain = dataclasses.replace(rf, virtual=dataclasses.replace(rf.virtual, feedback_Q=None))
    c = damped.cantilever
    for rig, q in ((plain, c.Q_total), (rf, rf.virtual.feedback_Q)):
        out = _calibrate_virtual_lockin(rig, damped)
        opts = [s.options for s in out.instruments if "force_per_volt" in s.options]
        assert opts, "no lock-in calibrated"
        expected = math.sqrt(2) * c.k / (rig.virtual.volts_per_meter * q)
        for o in opts:
            assert o["force_per_volt"] == pytest.approx(expected, rel=1e-12)


def test_rig_transfer_and_lockin_follow_a_change_of_the_total_damping(damped):
    """The rig's transfer function and the lock-in engine follow Q_total: a
    cantilever with the same intrinsic Q but other gas damping gives a new response."""
    st = RigState(experiment=damped, clock=SimClock(manual=True))
    c = st.cantilever
    f0 = c.f0
    assert abs(st.transfer(f0)) == pytest.approx(c.Q_total / c.k, rel=1e-12)
    ch = st.new_lockin()
    ch.configure(frequency=f0)
    ch.noise_std()
    assert ch._engine.params.cantilever.Q_total == pytest.approx(c.Q_total, rel=1e-15)
    # ten times the pressure: Q_gas / 10, the same intrinsic Q
    less = damped.with_overrides({"stage.pressure": f"{10 * PRESSURE} Pa"}).cantilever
    assert less.Q == c.Q and less.Q_total < 0.2 * c.Q_total
    st._cantilever = dataclasses.replace(less, T=c.T)
    assert abs(st.transfer(f0)) == pytest.approx(less.Q_total / less.k, rel=1e-12)
    ch.noise_std()
    assert ch._engine.params.cantilever.Q_total == pytest.approx(less.Q_total, rel=1e-15)


def test_input_noise_under_velocity_feedback(damped):
    """Velocity feedback (``feedback_Q``) damps the response, not the thermal force: at f0
    the input noise is vpm^2 (S_F (Q_fb/k)^2 + S_det) with the cantilever's own
    S_F = 4 k kB T / (2 pi f0 Q_total) (Poggio et al., PRL 99, 017201 (2007): cold damping
    leaves the force noise unchanged)."""
    from scipy import constants

    settings = VirtualSettings(volts_per_meter=2e7, feedback_Q=150.0, detector_noise=1e-13)
    st = RigState(experiment=damped, settings=settings, clock=SimClock(manual=True))
    c = st.cantilever
    s_f = 4 * c.k * constants.k * c.T / (2 * math.pi * c.f0 * c.Q_total)
    expected = 2e7**2 * (s_f * (150.0 / c.k) ** 2 + 1e-13**2)
    assert st.input_noise_psd(c.f0) == pytest.approx(expected, rel=1e-12)
    plain = RigState(experiment=damped, settings=dataclasses.replace(settings, feedback_Q=None),
                     clock=SimClock(manual=True))
    assert plain.input_noise_psd(c.f0) > 10 * st.input_noise_psd(c.f0)
