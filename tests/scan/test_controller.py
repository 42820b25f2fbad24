"""The scan loop against a scripted rig: order of work, safe state on every exit, interlocks.

The rig here is a plain Python object that records every call, so the tests
state exactly what the controller must do (approach from the safe height in
bounded steps, one flush per line, the safe state before the file closes)
without any instrument or network.
"""

from __future__ import annotations

import dataclasses
import math
import os
import signal

import h5py
import numpy as np
import pytest

from mrfm.config import ScanGrid
from mrfm.drivers.errors import InstrumentDisconnected
from mrfm.errors import UserError
from mrfm.scan.controller import ScanController, ScanInterrupted, StopFlag, validate_plan
from mrfm.scan.plan import ScanPlan
from mrfm.scan.rig_protocol import RigTiming
from mrfm.scan.safety import InterlockError, SafetyLimits
from mrfm.scan.store import Channel, ScanStore, read_status

CHANNELS = [Channel("lockin_x", "V", "lock-in X"), Channel("lockin_y", "V", "lock-in Y")]
GRID = ScanGrid(x=np.linspace(-40e-9, 40e-9, 5), y=np.linspace(-20e-9, 20e-9, 3),
                height=np.array([30e-9]))
PLAN = ScanPlan(settle_time=0.0, lockin_settle=0.0, safe_height=1e-6, approach_step=200e-9)
LIMITS = SafetyLimits(temperature_wait=5.0)


def signal_at(pos):
    """A smooth, position-dependent reading, so the file can be checked point by point."""
    x, y, h = pos
    return 1e-6 * (x / 1e-7 + 2 * y / 1e-7) + h


class ScriptedRig:
    """Records calls; faults and interlock states are set by the test."""

    time_scale = 1.0

    def __init__(self, *, fail_on_read=None, temperatures=None, ramping=False, rf_dbm=-math.inf):
        self.calls: list[tuple] = []
        self.here = (0.0, 0.0, 5e-6)
        self.reads = 0
        self.fail_on_read = fail_on_read
        self.temperatures = list(temperatures or [])
        self.ramping = ramping
        self.rf_dbm = rf_dbm
        self.safe = False
        self.poles = 4

    def channels(self):
        return CHANNELS

    def time_constant(self):
        return 1e-3

    def filter_order(self):
        return self.poles

    def move_to(self, position):
        self.calls.append(("move", tuple(position)))
        self.here = tuple(position)

    def position(self):
        return self.here

    def read(self):
        self.reads += 1
        if self.fail_on_read is not None and self.reads >= self.fail_on_read:
            raise InstrumentDisconnected("lockin: connection closed by the instrument")
        self.calls.append(("read", self.here))
        return {"lockin_x": signal_at(self.here), "lockin_y": -1.0}

    def temperature(self):
        t = self.temperatures.pop(0) if len(self.temperatures) > 1 else (
            self.temperatures[0] if self.temperatures else 4.2)
        self.calls.append(("temperature", t))
        return t

    def field_ramping(self):
        return self.ramping

    def rf_power(self):
        return self.rf_dbm

    def safe_state(self, *, safe_height):
        self.calls.append(("safe", safe_height))
        self.safe = True
        return []

    def identities(self):
        return {"lockin": "Stanford_Research_Systems,SR830,s/n00001,ver1.07"}

    def field(self):
        return math.nan

    def prepare(self, *, limits):
        pass

    def pause(self):
        pass

    def check_instruments(self):
        pass

    def timing(self, settle=0.0):
        return RigTiming()


def new_store(tmp_path, name="scan.h5"):
    return ScanStore.create(tmp_path / name, axes=PLAN.axes(GRID), channels=CHANNELS,
                            config_text="a = 1")


def test_complete_scan_records_every_point_and_ends_safe(tmp_path):
    rig = ScriptedRig()
    lines = []
    ctl = ScanController(rig, PLAN, GRID, new_store(tmp_path), limits=LIMITS,
                         progress=lambda done, total: lines.append((done, total)))
    outcome = ctl.run()
    assert outcome.status == "complete"
    assert (outcome.points_measured, outcome.points_total, outcome.points_this_run) == (15, 15, 15)
    assert lines == [(5, 15), (10, 15), (15, 15)]  # one progress report per flushed line
    assert rig.calls[-1] == ("safe", 1e-6)
    # approach: up/across at the safe height, then down in steps <= approach_step
    moves = [c[1] for c in rig.calls if c[0] == "move"]
    assert moves[0] == (-40e-9, -20e-9, 1e-6)
    descent = [m[2] for m in moves[: moves.index((-40e-9, -20e-9, 30e-9)) + 1]]
    assert np.all(np.diff(descent) < 0)
    assert np.max(-np.diff(descent)) <= 200e-9 + 1e-15
    with h5py.File(tmp_path / "scan.h5", "r") as fh:
        x = fh["entry/data/lockin_x"][()]
        assert fh["entry/data/measured"][()].all()
    expected = np.array([[[signal_at((xi, yj, GRID.height[0]))] for yj in GRID.y] for xi in GRID.x])
    np.testing.assert_allclose(x, expected, rtol=1e-12)
    assert read_status(tmp_path / "scan.h5") == "complete"


def test_a_low_tip_goes_straight_up_before_moving_across(tmp_path):
    rig = ScriptedRig()
    rig.here = (2e-6, 0.0, 20e-9)  # left low by an earlier crash
    ScanController(rig, PLAN, GRID, new_store(tmp_path), limits=LIMITS).run()
    moves = [c[1] for c in rig.calls if c[0] == "move"]
    climb = moves[: moves.index((2e-6, 0.0, 1e-6)) + 1]
    assert all(m[:2] == (2e-6, 0.0) for m in climb)  # vertical only
    assert np.max(np.diff([m[2] for m in climb])) <= 200e-9 + 1e-15
    assert moves[len(climb)] == (-40e-9, -20e-9, 1e-6)  # then across at the safe height


def test_instrument_fault_keeps_flushed_lines_and_ends_safe(tmp_path):
    rig = ScriptedRig(fail_on_read=8)  # dies in the middle of the second line
    ctl = ScanController(rig, PLAN, GRID, new_store(tmp_path), limits=LIMITS)
    with pytest.raises(InstrumentDisconnected):
        ctl.run()
    assert rig.safe and rig.calls[-1][0] == "safe"
    with h5py.File(tmp_path / "scan.h5", "r") as fh:
        measured = fh["entry/data/measured"][()]
    assert measured[:, 0, 0].all()  # the first line was flushed
    assert measured.sum() == 7  # and the points read before the fault are kept too
    assert read_status(tmp_path / "scan.h5").startswith("fault: lockin: connection closed")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signals_stop_between_points_after_safe_state(tmp_path, signum):
    rig = ScriptedRig()

    def progress(done, total):
        if done == 5:
            os.kill(os.getpid(), signum)  # Ctrl-C (or a kill) after the first line

    previous = signal.getsignal(signum)
    ctl = ScanController(rig, PLAN, GRID, new_store(tmp_path), limits=LIMITS, progress=progress)
    with pytest.raises(ScanInterrupted, match=signal.Signals(signum).name):
        ctl.run()
    assert signal.getsignal(signum) is previous  # handlers restored
    assert rig.calls[-1][0] == "safe"
    assert sum(1 for c in rig.calls if c[0] == "read") == 5
    assert read_status(tmp_path / "scan.h5") == "interrupted"


def test_interlocks_refuse_to_start(tmp_path):
    for rig, match in ((ScriptedRig(ramping=True), "ramping"),
                       (ScriptedRig(rf_dbm=12.0), "RF power 12 dBm"),
                       (ScriptedRig(temperatures=[11.0]), "temperature")):
        store = new_store(tmp_path, f"{match.split()[0]}.h5")
        with pytest.raises(InterlockError, match=match):
            ScanController(rig, PLAN, GRID, store, limits=LIMITS).run()
        assert not [c for c in rig.calls if c[0] == "move"]  # nothing moved
        assert rig.safe


def test_temperature_above_interlock_pauses_then_continues(tmp_path):
    now = [0.0]
    rig = ScriptedRig(temperatures=[4.2, 4.2, 12.0, 12.0, 4.5])  # warm before the second line
    messages = []
    ctl = ScanController(rig, PLAN, GRID, new_store(tmp_path), limits=LIMITS,
                         notify=messages.append, clock=lambda: now[0],
                         sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert ctl.run().status == "complete"
    assert any(m.startswith("paused: stage temperature 12.000 K") for m in messages)
    assert any(m.startswith("resumed") for m in messages)
    # the pause came between lines, not inside one
    kinds = [c[0] for c in rig.calls]
    first_hot = [c for c in rig.calls if c == ("temperature", 12.0)]
    assert first_hot and kinds.count("read") == 15


def test_temperature_that_stays_high_stops_the_scan(tmp_path):
    now = [0.0]
    rig = ScriptedRig(temperatures=[4.2, 4.2, 12.0])
    ctl = ScanController(rig, PLAN, GRID, new_store(tmp_path), limits=LIMITS,
                         clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    with pytest.raises(InterlockError, match="longer than 5 s"):
        ctl.run()
    assert rig.safe
    assert now[0] == pytest.approx(5.0, abs=1.1)  # gave up after temperature_wait


def test_resume_measures_only_the_missing_points(tmp_path):
    rig = ScriptedRig(fail_on_read=9)
    with pytest.raises(InstrumentDisconnected):
        ScanController(rig, PLAN, GRID, new_store(tmp_path), limits=LIMITS).run()
    store = ScanStore.resume(tmp_path / "scan.h5", config_text="a = 1", channels=CHANNELS,
                             axes=PLAN.axes(GRID))
    rig2 = ScriptedRig()
    outcome = ScanController(rig2, PLAN, GRID, store, limits=LIMITS).run()
    assert outcome.status == "complete" and outcome.points_this_run == 15 - 8
    with h5py.File(tmp_path / "scan.h5", "r") as fh:
        x = fh["entry/data/lockin_x"][()]
    expected = np.array([[[signal_at((xi, yj, GRID.height[0]))] for yj in GRID.y] for xi in GRID.x])
    np.testing.assert_allclose(x, expected, rtol=1e-12)


def test_plan_validation_refuses_targets_outside_the_limits():
    narrow = SafetyLimits(x_range=(-30e-9, 30e-9))
    with pytest.raises(UserError, match=r"scan\.x: target -4e-08 m is outside"):
        validate_plan(PLAN, GRID, narrow)
    with pytest.raises(UserError, match="below the highest scan target"):
        validate_plan(ScanPlan(safe_height=20e-9), GRID, LIMITS)
    validate_plan(PLAN, GRID, LIMITS)


def test_stop_flag_request_is_honoured_without_signals(tmp_path):
    stop = StopFlag()
    rig = ScriptedRig()
    ctl = ScanController(rig, PLAN, GRID, new_store(tmp_path), limits=LIMITS, stop=stop,
                         progress=lambda d, t: stop.request("operator stop"))
    with pytest.raises(ScanInterrupted, match="operator stop"):
        ctl.run()
    assert rig.safe


class TimedRig(ScriptedRig):
    """A rig whose own time per step is known (the estimate's inputs)."""

    def timing(self, settle=0.0):
        return RigTiming(point=2e-3, move=1e-3, line=5e-3, fixed=0.1, park=(0.0, 0.0),
                         park_step=100e-9)


def test_the_estimate_adds_the_rigs_time_the_approach_and_the_safe_state(tmp_path):
    plan = ScanPlan(settle_time=1e-3, lockin_settle=2.0, safe_height=1e-6, approach_step=200e-9)
    rig = TimedRig()  # tip at 5 um, time constant 1 ms
    ctl = ScanController(rig, plan, GRID, new_store(tmp_path), limits=LIMITS)
    # 15 points x (3 ms wait + 0.1 ms overrun + 2 ms) + 3 lines x 5 ms + 0.1 s once;
    # moves: up from 5 um (none) + across (1) + down 970 nm in 200 nm steps (5);
    # retract from the last point (40 nm, 20 nm, 30 nm): up 970 nm in 100 nm (10) and
    # across 44.7 nm to the park position (1)
    expected = 15 * 5.1e-3 + 3 * 5e-3 + 0.1 + (1 + 5 + 10 + 1) * 1e-3
    assert ctl.estimate_duration() == pytest.approx(expected)


@pytest.mark.parametrize(("poles", "settle", "warned", "percent"),
                         [(4, 5.0, True, "73 %"), (3, 5.0, True, "88 %"),
                          (2, 7.0, False, None), (4, 10.1, False, None), (1, 4.0, True, "98 %")])
def test_a_wait_shorter_than_the_lockins_settling_is_reported(tmp_path, poles, settle, warned,
                                                             percent):
    """The scan says so when it reads before the lock-in has reached 99 % of a step for its
    slope (P(n, t/tau) = 0.99 at 4.6, 6.6, 8.4 and 10.0 tau for 1..4 poles; the default
    plan waits 7 tau)."""
    rig = ScriptedRig()
    rig.poles = poles
    plan = dataclasses.replace(PLAN, lockin_settle=settle)
    messages = []
    ScanController(rig, plan, GRID, new_store(tmp_path), limits=LIMITS,
                   notify=messages.append).run()
    found = [m for m in messages if "reaches 99 % of a step" in m]
    assert bool(found) == warned, messages
    if warned:
        assert f"({percent} settled)" in found[0] and f"{6 * poles} dB/oct" in found[0]
    assert ScanPlan().lockin_settle == 7.0
