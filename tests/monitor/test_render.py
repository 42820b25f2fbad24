"""Figures and state for every shape of scan file: nothing measured yet, several height
planes, point lists (one ``point`` axis), a long run drawn as an envelope; and the
"no new data" flag of a file left "running" by a killed writer.
"""

from __future__ import annotations

import numpy as np
import pytest

from mrfm.monitor import render
from mrfm.monitor.snapshot import progress, read_snapshot, stale_for
from mrfm.scan.store import ScanStore

from .files import CHANNELS, force_at, make_scan

PNG = b"\x89PNG\r\n\x1a\n"


def _all_figures(snap) -> list[bytes]:
    return [render.render_map(snap, "force"), render.render_line(snap, "force"),
            render.render_channels(snap)]


def test_nothing_measured_yet(tmp_path):
    snap = read_snapshot(make_scan(tmp_path / "e.h5", done=0, status="running"))
    assert snap.latest_index() is None
    p = progress(snap)
    assert (p["done"], p["s_per_point"], p["eta_s"], p["last_point_s"]) == (0, None, None, None)
    assert all(png.startswith(PNG) for png in _all_figures(snap))


def test_several_planes_and_point_lists(tmp_path):
    axes = {"x": np.linspace(0, 1e-7, 4), "y": np.linspace(0, 1e-7, 3),
            "height": np.array([20e-9, 30e-9])}
    with ScanStore.create(tmp_path / "z.h5", axes=axes, channels=CHANNELS,
                          config_text="#") as store:
        for n, idx in enumerate([(i, j, k) for k in range(2) for j in range(3)
                                 for i in range(4)][:15]):
            store.write_point(idx, {"force": 1e-18 * n}, t=0.1 * n)
        store.flush()
    snap = read_snapshot(tmp_path / "z.h5")
    assert snap.latest_index() == (2, 0, 1)  # 15th point: second plane, first line
    assert all(png.startswith(PNG) for png in _all_figures(snap))
    with ScanStore.create(tmp_path / "p.h5", axes={"point": np.arange(5.0)}, channels=CHANNELS,
                          config_text="#") as store:
        for n in range(3):
            store.write_point((n,), {"force": 1e-18 * n}, t=0.1 * n)
        store.flush()
    snap = read_snapshot(tmp_path / "p.h5")
    assert snap.latest_index() == (2,)
    assert all(png.startswith(PNG) for png in _all_figures(snap))


def test_long_runs_are_drawn_as_envelopes():
    t = np.arange(10001.0)
    v = np.sin(t / 50.0)
    v[5000] = 7.0  # a single spike survives the reduction
    tt, vv = render._envelope(t, v)
    assert tt.size <= render.MAX_POINTS + 2 and vv.max() == 7.0
    assert vv.min() == pytest.approx(v.min())


def test_silent_running_file_is_flagged(tmp_path):
    path = make_scan(tmp_path / "k.h5", done=10, status="running", dt=0.5)
    snap = read_snapshot(path)
    changed = snap.file_key[0] * 1e-9
    assert stale_for(snap, now=changed + 60.0) is None
    assert stale_for(snap, now=changed + 200.0) == pytest.approx(200.0)
    # slow points: 6 points of 60 s per line; three line times (1080 s) decide
    slow = read_snapshot(make_scan(tmp_path / "s.h5", done=10, status="running", dt=60.0))
    changed = slow.file_key[0] * 1e-9
    assert stale_for(slow, now=changed + 1000.0) is None
    assert stale_for(slow, now=changed + 1100.0) == pytest.approx(1100.0)
    done = read_snapshot(make_scan(tmp_path / "c.h5"))
    assert stale_for(done, now=done.file_key[0] * 1e-9 + 1e6) is None  # complete: never


def test_single_height_scan_stored_as_2d_map(tmp_path):
    """A 2-D NXdata map (x, y; the height a scalar) is shown as one height plane."""
    import h5py

    path = make_scan(tmp_path / "s.h5", done=10, status="running")
    flat = tmp_path / "flat.h5"
    with h5py.File(path, "r") as src, h5py.File(flat, "w", libver="latest") as dst:
        src.copy(src["entry"], dst, name="entry")
        data = dst["entry/data"]
        for name in ("force", "lockin_y", "temperature", "measured", "timestamp"):
            values = data[name][()][:, :, 0]
            del data[name]
            data.create_dataset(name, data=values)
        del data["height"]
        data.create_dataset("height", data=20e-9)
        data.attrs["axes"] = ["x", "y"]
    snap = read_snapshot(flat)
    assert snap.measured.shape == (6, 4, 1) and int(snap.measured.sum()) == 10
    assert snap.axes["height"].tolist() == [20e-9]
    assert snap.latest_index() == (2, 1, 0)
    assert snap.channel("force").values[2, 1, 0] == force_at(2, 1)
    assert all(png.startswith(PNG) for png in _all_figures(snap))
