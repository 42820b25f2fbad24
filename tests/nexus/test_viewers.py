"""Every file mrfm writes opens in NeXus viewers: nexusformat (and silx when installed).

Each kind -- signal map, time series, scan (live and closed, resumed), reconstruction,
dataset item -- must have root and entry ``default`` attributes leading to an NXdata
that nexusformat's ``.plot()`` draws under Agg; maps are 2-D (a length-1 axis is a
scalar), volumes 3-D, axes in the order of the array's indices, every axis with units;
entries carry title, start_time, end_time, program_name (with version), NXsample and
NXinstrument.
"""

from __future__ import annotations

import filecmp
import time
import warnings

import h5py
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

nx = pytest.importorskip("nexusformat.nexus")

from mrfm.cli.main import main  # noqa: E402
from mrfm.data.nexus import plot_order, to_plot  # noqa: E402
from mrfm.scan.store import Channel, ScanStore  # noqa: E402
from mrfm.solver.result import SignalMap  # noqa: E402

DEMO = "configs/demo.toml"


def _default_nxdata(path):
    """The default NXdata of ``path`` via the ``default`` attributes, checked by hand."""
    with h5py.File(path, "r", swmr=True) as fh:
        entry_name = fh.attrs["default"]
        entry = fh[entry_name]
        assert entry.attrs["NX_class"] == "NXentry"
        data = entry[entry.attrs["default"]]
        assert data.attrs["NX_class"] == "NXdata"
        axes = [str(a) for a in np.atleast_1d(data.attrs["axes"])]
        signal = data[data.attrs["signal"]]
        assert signal.ndim == len(axes)
        for i, name in enumerate(axes):
            assert int(data.attrs[f"{name}_indices"]) == i
            assert data[name].shape == (signal.shape[i],), name
            assert data[name].attrs["units"], name
        assert "units" in signal.attrs
        return data.name, axes, signal.shape


def _check_entry(entry, *, timestamps=True):
    assert str(entry.title.nxvalue)
    assert str(entry.program_name.nxvalue) == "mrfm"
    assert entry.program_name.attrs["version"]
    if timestamps:
        start = np.datetime64(str(entry.start_time.nxvalue)[:19])
        end = np.datetime64(str(entry.end_time.nxvalue)[:19])
        assert start <= end
    assert entry.instrument.nxclass == "NXinstrument"
    assert entry.sample.nxclass == "NXsample"


def _check_nexusformat(path, *, ndim, timestamps=True):
    """nxload: the default NXdata resolves, has ``ndim`` dims, units on axes, and plots."""
    import matplotlib.pyplot as plt

    root = nx.nxload(str(path))
    try:
        data = root.plottable_data
        assert data is not None and data.nxclass == "NXdata"
        assert data.nxsignal.ndim == ndim
        for axis in data.nxaxes:
            assert axis.attrs["units"]
        assert "units" in data.nxsignal.attrs
        _check_entry(root[root.attrs["default"]], timestamps=timestamps)
        with warnings.catch_warnings():  # nexusformat 2.1 calls matplotlib's Colormap.set_bad
            warnings.filterwarnings("ignore", "The set_bad function",
                                    PendingDeprecationWarning)
            if ndim <= 2:
                root.plot()  # the default plot, as a viewer draws it
            else:  # nexusformat draws 1-D and 2-D: one depth slice of a volume
                data[0].plot()
        plt.close("all")
    finally:
        root.nxfile.close()


def _check_silx(path, *, ndim):
    nxdata_mod = pytest.importorskip("silx.io.nxdata")
    with h5py.File(path, "r", swmr=True) as fh:
        data = nxdata_mod.get_default(fh)
        assert data is not None and data.is_valid
        assert data.signal.ndim == ndim
        assert all(a is not None for a in data.axes)


def test_plot_order_drops_length_1_axes_and_reverses():
    assert plot_order((4, 5, 1)) == (1, 0)
    assert plot_order((4, 5, 3)) == (2, 1, 0)
    assert plot_order((4, 1, 1)) == (0,)
    assert plot_order((1, 1, 1)) == (0,)
    a = np.arange(20.0).reshape(4, 5, 1)
    np.testing.assert_array_equal(to_plot(a, a.shape), a[:, :, 0].T)


def test_signal_map_2d_and_readers_unchanged(tmp_path, capsys):
    out = tmp_path / "map.h5"
    assert main(["simulate", DEMO, "-o", str(out)]) == 0
    name, axes, shape = _default_nxdata(out)
    assert name == "/entry/plot" and axes == ["y", "x"] and len(shape) == 2
    with h5py.File(out, "r") as fh:
        assert fh["entry/plot/z"].shape == ()  # the one height is a scalar with units
        assert fh["entry/plot/z"].attrs["units"] == "m"
        np.testing.assert_array_equal(fh["entry/plot/signal"][()],
                                      fh["entry/data/signal"][:, :, 0].T)
        np.testing.assert_array_equal(fh["entry/plot/x"][()], fh["entry/data/x"][()])
    m = SignalMap.from_hdf5(out)
    assert m.signal.ndim == 3 and m.signal.shape[2] == 1
    _check_nexusformat(out, ndim=2)
    _check_silx(out, ndim=2)
    png = tmp_path / "map.png"
    assert main(["plot", str(out), "-o", str(png)]) == 0


def test_signal_map_volume_is_3d(tmp_path):
    out = tmp_path / "vol.h5"
    assert main(["simulate", DEMO, "-o", str(out), "--set", 'scan.x=["-20 nm","20 nm",5]',
                 "--set", 'scan.y=["-10 nm","10 nm",4]',
                 "--set", 'scan.height=["20 nm","30 nm",3]']) == 0
    name, axes, shape = _default_nxdata(out)
    assert axes == ["z", "y", "x"] and shape == (3, 4, 5)
    _check_nexusformat(out, ndim=3)
    _check_silx(out, ndim=3)


def test_time_series_has_a_time_axis_in_seconds(tmp_path):
    from mrfm.timedomain import stream
    from mrfm.timedomain.chain import ChainParameters

    c = ChainParameters(k=1e-4, f0=5e3, Q=2e3, temperature=4.2, dt=1e-5, seed=42,
                        lockin_time_constant=3e-3, spin_model="cai-statistical",
                        spin_value=1e-34, spin_time=0.01)
    out = tmp_path / "ts.h5"
    stream.write_timeseries(out, c, n_samples=3000, chunk=1000)
    name, axes, shape = _default_nxdata(out)
    assert name == "/entry/data" and axes == ["time"] and shape == (3000,)
    with h5py.File(out, "r") as fh:
        t = fh["entry/data/time"]
        assert t.attrs["units"] == "s"
        np.testing.assert_allclose(t[()], np.arange(3000) * 1e-5, rtol=1e-15, atol=0)
    assert "time" not in stream.read_timeseries(out)["channels"]
    _check_nexusformat(out, ndim=1)
    _check_silx(out, ndim=1)


AXES = {"x": np.linspace(0, 1e-7, 5), "y": np.linspace(0, 2e-7, 4), "height": np.array([5e-8])}
CHANNELS = [Channel("force", "N", "force"), Channel("lockin_y", "V", "lock-in Y")]


def test_scan_live_closed_and_resumed(tmp_path):
    path = tmp_path / "scan.h5"
    store = ScanStore.create(path, axes=AXES, channels=CHANNELS, config_text="a = 1")
    for i in range(5):
        store.write_point((i, 0, 0), {"force": 1e-18 * i, "lockin_y": 0.0}, time.time())
    store.flush()
    # live, in SWMR mode: the default plot already holds the first line
    name, axes, shape = _default_nxdata(path)
    assert name == "/entry/plot" and axes == ["y", "x"] and shape == (4, 5)
    with h5py.File(path, "r", swmr=True) as fh:
        plot = fh["entry/plot/force"][()]
        np.testing.assert_array_equal(plot[0], 1e-18 * np.arange(5))
        assert np.isnan(plot[1:]).all()
    _check_silx(path, ndim=2)
    store.set_status("interrupted")
    store.close()
    _check_nexusformat(path, ndim=2)
    store = ScanStore.resume(path, config_text="a = 1", channels=CHANNELS, axes=AXES)
    for j in range(1, 4):
        for i in range(5):
            store.write_point((i, j, 0), {"force": 1e-18 * (i + 10 * j), "lockin_y": 0.0},
                              time.time())
        store.flush()
    store.set_status("complete")
    store.close()
    with h5py.File(path, "r") as fh:
        np.testing.assert_array_equal(fh["entry/plot/force"][()],
                                      fh["entry/data/force"][:, :, 0].T)
        assert not np.isnan(fh["entry/plot/force"][()]).any()
    _check_nexusformat(path, ndim=2)


def test_reconstruction_volume(tmp_path):
    scan = tmp_path / "map.h5"
    assert main(["simulate", DEMO, "-o", str(scan), "--set",
                 'protocol.polarization="statistical"']) == 0
    out = tmp_path / "rec.h5"
    assert main(["reconstruct", str(scan), "-o", str(out)]) == 0
    name, axes, shape = _default_nxdata(out)
    assert name == "/entry/plot" and axes[-2:] == ["y", "x"]
    with h5py.File(out, "r") as fh:
        density = fh["entry/data/density"][()]
        np.testing.assert_array_equal(fh["entry/plot/density"][()],
                                      to_plot(density, density.shape))
        summary = fh["entry/reconstruction/summary"][()].decode()
        assert "NaN" not in summary
    _check_nexusformat(out, ndim=len(shape))
    _check_silx(out, ndim=len(shape))


DATASET = """
name = "viewer test"
[cantilever]
k = "60 uN/m"
f0 = "3 kHz"
Q = 2e4
[stage]
temperature = "300 mK"
[magnet]
shape = "sphere"
radius = "50 nm"
polarization = "1.9 T"
[field]
B0 = "30 kG"
[rf]
frequency = "135.1 MHz"
B1 = "40 G"
fm_depth = "80 G"
[sample]
species = "1H"
shape = "slab"
size = ["100 nm", "100 nm"]
thickness = "20 nm"
density = "5e28 m^-3"
voxel = "20 angstrom"
[protocol]
name = "CAI"
polarization = "statistical"
[scan]
height = "25 nm"
[dataset]
phantoms = ["rods"]
grid = [8, 8, 3]
rod_length = ["10 nm", "20 nm"]
rod_radius = ["2 nm", "3 nm"]
seed = 11
"""


def test_dataset_items_byte_identical_and_plottable(tmp_path):
    from mrfm.imaging.dataset import connect, generate_dataset

    cfg = tmp_path / "ds.toml"
    cfg.write_text(DATASET)
    client, cluster = connect(None, 1)
    try:
        generate_dataset(cfg, count=1, out_dir=tmp_path / "a", client=client, progress=False)
        time.sleep(1.1)  # a wall-clock timestamp would now differ
        generate_dataset(cfg, count=1, out_dir=tmp_path / "b", client=client, progress=False)
    finally:
        client.close()
        cluster.close()
    a, b = tmp_path / "a" / "item_000000.h5", tmp_path / "b" / "item_000000.h5"
    assert filecmp.cmp(a, b, shallow=False)
    name, axes, shape = _default_nxdata(a)
    assert name == "/entry/plot" and axes == ["height", "y", "x"] and shape == (3, 8, 8)
    _check_nexusformat(a, ndim=3, timestamps=False)
    _check_silx(a, ndim=3)
