"""Scan files survive SIGKILL, are readable while written, and resume only the same scan."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

from mrfm.config import ConfigError, ScanGrid
from mrfm.errors import UserError
from mrfm.scan.plan import ScanPlan
from mrfm.scan.store import Channel, ScanStore, read_status

AXES = {"x": np.linspace(0, 1e-7, 5), "y": np.linspace(0, 1e-7, 40), "height": np.array([5e-8])}
CHANNELS = [Channel("lockin_x", "V", "lock-in X"), Channel("lockin_y", "V", "lock-in Y")]

WRITER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from mrfm.scan.store import ScanStore, Channel
    axes = {"x": np.linspace(0, 1e-7, 5), "y": np.linspace(0, 1e-7, 40),
            "height": np.array([5e-8])}
    ch = [Channel("lockin_x", "V", "lock-in X"), Channel("lockin_y", "V", "lock-in Y")]
    s = ScanStore.create(sys.argv[1], axes=axes, channels=ch, config_text="a = 1")
    for j in range(40):
        for i in range(5):
            s.write_point((i, j, 0), {"lockin_x": i + 10.0 * j, "lockin_y": -1.0}, time.time())
        s.flush()
        print(j, flush=True)
        time.sleep(0.05)
    s.set_status("complete")
    s.close()
    """
)


def test_sigkill_keeps_every_flushed_line(tmp_path):
    path = tmp_path / "scan.h5"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE,
                            text=True)
    flushed = -1
    deadline = time.monotonic() + 60
    while flushed < 5 and time.monotonic() < deadline:
        flushed = int(proc.stdout.readline())
        if flushed == 2:  # a second process reads the file while the scan writes it
            with h5py.File(path, "r", swmr=True) as fh:
                assert fh["entry/data/measured"][:, :3, 0].all()
                assert fh["entry/data/lockin_x"][4, 2, 0] == pytest.approx(24.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert flushed >= 5
    with h5py.File(path, "r", swmr=True) as fh:  # readable at once after the kill
        measured = fh["entry/data/measured"][()]
        x = fh["entry/data/lockin_x"][()]
    assert measured[:, : flushed + 1, 0].all()  # every line flushed before the kill
    assert not measured[:, 39, 0].any()  # the scan did not finish
    np.testing.assert_array_equal(x[:, : flushed + 1, 0],
                                  np.add.outer(np.arange(5), 10.0 * np.arange(flushed + 1)))
    assert np.isnan(x[~measured]).all()
    assert read_status(path) == "running"  # killed: never marked complete
    store = ScanStore.resume(path, config_text="a = 1", channels=CHANNELS, axes=AXES)
    assert store.measured.sum() == measured.sum()
    store.close()
    with h5py.File(path, "r") as fh:  # after resume the file opens plainly again
        np.testing.assert_array_equal(fh["entry/data/measured"][()], measured)


def test_resume_refuses_another_scan(tmp_path):
    path = tmp_path / "scan.h5"
    ScanStore.create(path, axes=AXES, channels=CHANNELS, config_text="a = 1").close()
    with pytest.raises(UserError, match="belongs to another scan"):
        ScanStore.resume(path, config_text="a = 2", channels=CHANNELS, axes=AXES)
    other_axes = dict(AXES, x=np.linspace(0, 2e-7, 5))
    with pytest.raises(UserError, match="axis 'x' differs"):
        ScanStore.resume(path, config_text="a = 1", channels=CHANNELS, axes=other_axes)
    with pytest.raises(UserError, match="exists already"):
        ScanStore.create(path, axes=AXES, channels=CHANNELS, config_text="a = 1")


def test_each_resumed_session_records_its_rig_and_instruments(tmp_path):
    path = tmp_path / "scan.h5"
    ScanStore.create(path, axes=AXES, channels=CHANNELS, config_text="a = 1",
                     rig_text="name = 'day 1'", identities={"lockin": "SR830 s/n 1"}).close()
    ScanStore.check_resumable(path, config_text="a = 1", channels=CHANNELS, axes=AXES)
    with h5py.File(path, "r") as fh:  # the check writes nothing
        assert "sessions" not in fh["entry"]
    with pytest.raises(UserError, match="belongs to another scan"):
        ScanStore.check_resumable(path, config_text="a = 2", channels=CHANNELS, axes=AXES)
    for day, serial in ((2, "7"), (3, "8")):
        ScanStore.resume(path, config_text="a = 1", channels=CHANNELS, axes=AXES,
                         rig_text=f"name = 'day {day}'",
                         identities={"lockin": f"SR830 s/n {serial}"}).close()
    with h5py.File(path, "r") as fh:
        entry = fh["entry"]
        assert entry["rig"].asstr()[()] == "name = 'day 1'"
        assert sorted(entry["sessions"]) == ["session_2", "session_3"]
        s3 = entry["sessions/session_3"]
        assert s3["rig"].asstr()[()] == "name = 'day 3'"
        assert s3["identities"].asstr()[()] == "lockin: SR830 s/n 8"
        assert 0.0 <= s3.attrs["t_start"] < 60.0 and s3.attrs["t_start_units"] == "s"


def test_serpentine_visits_every_point_once_in_snake_order():
    grid = ScanGrid(x=np.arange(3.0), y=np.arange(2.0), height=np.array([1.0, 2.0]))
    plan = ScanPlan.from_config({"pattern": "serpentine"})
    lines = list(plan.lines(grid))
    assert len(lines) == 4
    assert [idx for idx, _ in lines[0]] == [(0, 0, 0), (1, 0, 0), (2, 0, 0)]
    assert [idx for idx, _ in lines[1]] == [(2, 1, 0), (1, 1, 0), (0, 1, 0)]
    assert [idx for idx, _ in lines[2]] == [(0, 0, 1), (1, 0, 1), (2, 0, 1)]
    visited = {idx for line in lines for idx, _ in line}
    assert len(visited) == 12
    one_way = ScanPlan.from_config({"pattern": "one-way"})
    assert [idx for idx, _ in list(one_way.lines(grid))[1]][0] == (0, 1, 0)
    # duration: 12 points x (2 ms settle + 7 x 10 ms, the defaults) = 0.864 s
    assert plan.estimate_duration(grid, time_constant=0.01) == pytest.approx(12 * 0.072)


def test_point_plans_are_validated():
    plan = ScanPlan.from_config({"pattern": "points",
                                 "points": [["0 nm", "0 nm", "50 nm"], ["10 nm", "0 nm", "60 nm"]]})
    assert plan.shape(None) == (2,)
    np.testing.assert_allclose(plan.positions(None)[1], [1e-8, 0, 6e-8])
    with pytest.raises(ConfigError, match=r"plan\.points\[0\]"):
        ScanPlan.from_config({"pattern": "points", "points": [["0 nm", "0 nm", "-5 nm"]]})
    with pytest.raises(ConfigError, match="did you mean 'settle_time'"):
        ScanPlan.from_config({"settle_tim": "1 ms"})


def test_the_estimate_counts_waits_rig_time_lines_and_what_is_left():
    grid = ScanGrid(x=np.linspace(-1e-7, 1e-7, 4), y=np.linspace(-1e-7, 1e-7, 3),
                    height=np.array([5e-8]))
    plan = ScanPlan(settle_time=2e-3, lockin_settle=5)
    # 12 points x (52 ms / time scale 10 + 1 ms) + 3 lines x 4 ms
    full = plan.estimate_duration(grid, time_constant=0.01, move_time=1e-3, time_scale=10.0,
                                  line_time=4e-3)
    assert full == pytest.approx(12 * (0.0052 + 1e-3) + 3 * 4e-3)
    measured = np.zeros(plan.shape(grid), dtype=bool)
    measured[:, 0, 0] = True  # the first line done, one point of the second
    measured[0, 1, 0] = True
    left = plan.estimate_duration(grid, time_constant=0.01, move_time=1e-3, time_scale=10.0,
                                  line_time=4e-3, measured=measured)
    assert left == pytest.approx(7 * (0.0052 + 1e-3) + 2 * 4e-3)
