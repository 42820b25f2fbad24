"""Reading scan files for the monitor: states, progress and ETA, settings, bad files.

Truth: the files are written by the scan's own ScanStore with known values and
timestamps (tests/monitor/files.py), so every number the monitor derives is known
exactly: the time per point is the timestamp step ``dt``, the ETA is ``dt`` times the
points left, the force at each point is ``force_at(i, j)``.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from mrfm.data.nexus import FileFormatError
from mrfm.monitor.snapshot import latest_readings, progress, read_snapshot, scan_state

from .files import force_at, make_scan


def test_complete_file_values_and_progress(tmp_path):
    snap = read_snapshot(make_scan(tmp_path / "s.h5", dt=0.02))
    assert scan_state(snap.status) == ("complete", "")
    assert snap.measured.all() and snap.measured.shape == (6, 4, 1)
    force = snap.channel("force")
    assert force.unit == "N"
    for i in range(6):
        for j in range(4):
            assert force.values[i, j, 0] == force_at(i, j)
    p = progress(snap)
    assert (p["done"], p["total"], p["fraction"]) == (24, 24, 1.0)
    assert p["s_per_point"] == pytest.approx(0.02, rel=1e-9)
    assert p["eta_s"] is None  # nothing left to wait for
    assert p["last_point_s"] == pytest.approx(1.0 + 0.02 * 23, rel=1e-12)
    # the signal channel first, then the known channels in the documented order
    assert [c.name for c in snap.channels] == ["force", "lockin_y", "temperature"]


def test_running_file_eta_and_latest_point(tmp_path):
    snap = read_snapshot(make_scan(tmp_path / "s.h5", done=10, status="running", dt=0.5))
    assert scan_state(snap.status)[0] == "running"
    p = progress(snap, now=snap.t0_unix + 100.0)
    assert p["done"] == 10
    assert p["s_per_point"] == pytest.approx(0.5, rel=1e-9)
    assert p["eta_s"] == pytest.approx(0.5 * (24 - 10), rel=1e-9)
    assert p["elapsed_s"] == pytest.approx(100.0)
    # serpentine: points 0-5 on line 0 (x up), 6-9 on line 1 from x = 5 down to x = 2
    assert snap.latest_index() == (2, 1, 0)
    rows = {r["name"]: r["value"] for r in latest_readings(snap)}
    assert rows["force"] == "0 N"  # force_at(2, 1) = 0
    assert rows["temperature"] == "300 mK"
    assert np.isnan(snap.channel("force").values[0, 1, 0])  # not measured yet


@pytest.mark.parametrize("status, expected", [
    ("running", ("running", "")),
    ("complete", ("complete", "")),
    ("interrupted", ("interrupted", "")),
    ("fault: lockin: no reply to 'OUTP? 1' within 2 s",
     ("fault", "lockin: no reply to 'OUTP? 1' within 2 s")),
    ("complete; safe state incomplete: RF still on",
     ("complete", "safe state incomplete: RF still on")),
    ("something else", ("unknown", "something else")),
])
def test_status_strings(status, expected):
    assert scan_state(status) == expected


def test_fault_status_read_from_file(tmp_path):
    msg = "fault: lockin: no reply to 'OUTP? 1' within 2 s"
    snap = read_snapshot(make_scan(tmp_path / "f.h5", done=7, status=msg))
    assert scan_state(snap.status) == ("fault", "lockin: no reply to 'OUTP? 1' within 2 s")
    assert int(snap.measured.sum()) == 7


def test_instrument_settings_read_back(tmp_path):
    """Values with their units, SI-prefixed (7 digits kept) except logarithmic/angle units."""
    path = make_scan(tmp_path / "s.h5", settings={
        "lockin/time_constant": (0.01, "s"), "lockin/sensitivity": (0.5, "V"),
        "magnet/field_setpoint": (0.2, "T"), "rf/output": ("on", ""),
        "rf/fm_deviation": (2.802495e7, "Hz"), "rf/power": (-3.0, "dBm"),
        "lockin/phase": (-90.0, "deg"), "lockin/filter_slope": (12, "dB/oct")})
    snap = read_snapshot(path)
    got = {(s.instrument, s.name): (s.value, s.unit) for s in snap.settings}
    assert got == {("lockin", "time_constant"): ("10", "ms"),
                   ("lockin", "sensitivity"): ("500", "mV"),
                   ("magnet", "field_setpoint"): ("200", "mT"),
                   ("rf", "output"): ("on", ""),
                   ("rf", "fm_deviation"): ("28.02495", "MHz"),
                   ("rf", "power"): ("-3", "dBm"),
                   ("lockin", "phase"): ("-90", "deg"),
                   ("lockin", "filter_slope"): ("12", "dB/oct")}


def test_bad_files_are_user_errors(tmp_path):
    with pytest.raises(FileFormatError, match="not found"):
        read_snapshot(tmp_path / "missing.h5")
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all" * 100)
    with pytest.raises(FileFormatError, match="not an HDF5 file"):
        read_snapshot(junk)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as fh:
        fh.create_dataset("x", data=[1, 2])
    with pytest.raises(FileFormatError, match="not an mrfm scan file"):
        read_snapshot(other)
