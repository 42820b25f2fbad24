"""The correlation time of statistical polarization includes the passage losses, in the
virtual rig's lock-in and in the time-domain chain alike (one law).

Truth, by hand for one proton below the tip: s = (|B| - B_res)/fm_depth from the magnet's
field, B1_eff = B1 sqrt(1 - (B_x/|B|)^2) (x-directed B1), the Landau-Zener adiabaticity
A = gamma B1_eff^2 / (2 pi f_mod fm_depth sqrt(1 - s^2)), the lock kept per passage
r = 1 - 2 exp(-pi A / 2), two passages per cycle: tau = 1 / (1/T1rho - 2 f_mod ln r).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from mrfm.physics import Sample
from mrfm.rig.clock import SimClock
from mrfm.rig.state import RigState
from mrfm.timedomain.experiment import chain_parameters
from mrfm.timedomain.settings import TimeseriesSettings
from tests.solver.helpers import PROTON, make_exp

#: the solver is not needed for the chain's parameters (the test experiment has no source text)
SOLVER_FREE = {"duration": "1 ms", "spin_signal": 1e-36}
SPIN = np.array([[12e-9, 0.0, -5e-9]])  # off the axis: a lateral gradient, a force
S_OFFSET, FM_DEPTH, B1, F0, T1RHO = 0.3, 2e-3, 6.7e-4, 5e3, 1.0


def _one_spin(adiabatic="landau-zener", tau_m=None):
    sample = Sample(origin=np.zeros(3), voxel=np.full(3, 1e-9), points={"1H": SPIN})
    exp = make_exp(polarization="statistical", sample=sample, fm_depth=FM_DEPTH, B1=B1,
                   f0=F0, adiabatic=adiabatic, slice_profile="fundamental")
    field = exp.magnet.field(SPIN[0] - np.array([0.0, 0.0, 20e-9 + exp.magnet.half_height]))
    field = field + np.array([0.0, 0.0, exp.B0])
    b = float(np.linalg.norm(field))
    b_res = b - S_OFFSET * FM_DEPTH  # the spin sits at s = 0.3 in the slice
    rf = dataclasses.replace(exp.rf, frequency=abs(PROTON.gamma) * b_res / (2 * math.pi))
    proto = dataclasses.replace(exp.protocol, T1rho=T1RHO, tau_m=tau_m)
    return dataclasses.replace(exp, rf=rf, protocol=proto), field, b


def _by_hand(field, b, f_mod):
    b1_eff = B1 * math.sqrt(1 - (field[0] / b) ** 2)
    a = abs(PROTON.gamma) * b1_eff**2 / (2 * math.pi * f_mod * FM_DEPTH
                                          * math.sqrt(1 - S_OFFSET**2))
    keep = 1 - 2 * math.exp(-math.pi * a / 2)
    return a, 1 / (1 / T1RHO - 2 * f_mod * math.log(keep))


def test_rig_and_chain_use_the_lifetime_of_the_lock():
    exp, field, b = _one_spin()
    a, tau = _by_hand(field, b, F0)
    assert 1.5 < a < 3  # a marginal passage ...
    assert tau < 2e-3 * T1RHO  # ... whose losses set the correlation time, not T1rho
    st = RigState(experiment=exp, clock=SimClock(manual=True))
    assert st.spin_correlation_time == pytest.approx(tau, rel=1e-9)
    ch = st.new_lockin()
    ch.configure(frequency=F0, phase_deg=-90.0)
    st.rf.mod_type, st.rf.output = 1, True  # FM on: the slice sweeps the spin
    z = st.fine.axes["3"]
    st.fine.move(z, st.fine.position(z, st.now(), noisy=False) - (st.tip_position()[2] - 20e-9),
                 st.now())
    st.clock.advance(1.0)  # the servo settles at the experiment's 20 nm gap
    assert st.tip_position()[2] == pytest.approx(20e-9, abs=1e-12)
    assert ch.noise_std() > 0
    inputs = st.lockin_inputs(st.now())
    assert inputs.force_std > 0  # the statistical spin force drives the engine ...
    assert inputs.spin_time == pytest.approx(tau, rel=1e-9)  # ... whose inputs carry tau
    assert ch._engine.params.spin_time == pytest.approx(tau, rel=1e-9)  # ... with this tau
    # the time-domain chain: the same law (at the modulation frequency it runs)
    settings = TimeseriesSettings.from_config({"duration": "1 ms", "spin_signal": 1e-36},
                                              "timeseries")
    params, _ = chain_parameters(exp, settings)
    assert params.spin_model == "cai-statistical"
    assert params.spin_time == pytest.approx(tau, rel=1e-9)
    settings = TimeseriesSettings.from_config({"duration": "1 ms", "spin_signal": 1e-36,
                                               "modulation_frequency": "4 kHz"}, "timeseries")
    params, _ = chain_parameters(exp, settings)
    assert params.spin_time == pytest.approx(_by_hand(field, b, 4e3)[1], rel=1e-9)


def test_ideal_passages_or_a_given_tau_m_keep_the_configured_time():
    exp, _, _ = _one_spin(adiabatic="ideal")
    assert RigState(experiment=exp, clock=SimClock(manual=True)).spin_correlation_time == T1RHO
    exp, _, _ = _one_spin(tau_m=0.25)
    assert RigState(experiment=exp, clock=SimClock(manual=True)).spin_correlation_time == 0.25
    params, _ = chain_parameters(exp, TimeseriesSettings.from_config(SOLVER_FREE,
                                                                     "timeseries"))
    assert params.spin_time == 0.25


def test_a_curie_cai_lock_lives_as_long_as_the_statistical_one():
    """The time domain's Curie CAI envelope decays with the same lifetime of the lock
    (T1rho shortened by the passage losses), unless the settings give their own loss per
    inversion (then T1rho and that loss)."""
    exp, field, b = _one_spin()
    exp = dataclasses.replace(exp, protocol=dataclasses.replace(exp.protocol,
                                                                polarization="curie"))
    _, tau = _by_hand(field, b, F0)
    params, _ = chain_parameters(exp, TimeseriesSettings.from_config(
        {"duration": "1 ms", "spin_signal": 1e-18}, "timeseries"))
    assert params.spin_model == "cai"
    assert params.spin_time == pytest.approx(tau, rel=1e-9)
    params, _ = chain_parameters(exp, TimeseriesSettings.from_config(
        {"duration": "1 ms", "spin_signal": 1e-18, "cai_loss": 0.01}, "timeseries"))
    assert params.spin_time == T1RHO and params.cai_loss == 0.01


def test_the_rigs_correlation_time_follows_its_rf_settings():
    """The virtual rig evaluates the lock's lifetime at its present settings: twice the FM
    deviation (the spin then at s = 0.15 of a 4 mT slice, a slower sweep per field unit
    but a deeper one) or a 4 kHz modulation rate give the hand-computed lifetimes."""
    exp, field, b = _one_spin()
    st = RigState(experiment=exp, clock=SimClock(manual=True))
    assert st.spin_correlation_time == pytest.approx(_by_hand(field, b, F0)[1], rel=1e-9)

    def by_hand(depth: float, f_mod: float) -> float:
        b1_eff = B1 * math.sqrt(1 - (field[0] / b) ** 2)
        s = S_OFFSET * FM_DEPTH / depth
        a = abs(PROTON.gamma) * b1_eff**2 / (2 * math.pi * f_mod * depth * math.sqrt(1 - s * s))
        keep = 1 - 2 * math.exp(-math.pi * a / 2)
        return 1 / (1 / T1RHO - 2 * f_mod * math.log(keep))

    st.rf.fm_deviation *= 2
    assert st.spin_correlation_time == pytest.approx(by_hand(2 * FM_DEPTH, F0), rel=1e-9)
    assert st.spin_correlation_time < 0.2 * _by_hand(field, b, F0)[1]
    st.rf.fm_deviation /= 2
    st.rf.mod_rate = 4e3
    assert st.spin_correlation_time == pytest.approx(_by_hand(field, b, 4e3)[1], rel=1e-9)
