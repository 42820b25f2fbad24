"""Scan figures: maps with units, a line cut and the measured mask, also for partial scans."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pytest

from mrfm.data.nexus import FileFormatError
from mrfm.plotting.scan import plot
from mrfm.plotting.style import scaled_unit
from mrfm.scan.store import Channel, ScanStore

CHANNELS = [Channel("lockin_x", "V", "lock-in X"), Channel("force", "N", "force")]


def _partial_scan(path, *, heights=1, lines=7):
    x = np.linspace(-150e-9, 150e-9, 12)
    y = np.linspace(-100e-9, 100e-9, 10)
    h = np.linspace(30e-9, 60e-9, heights)
    store = ScanStore.create(path, axes={"x": x, "y": y, "height": h}, channels=CHANNELS,
                             config_text="a = 1")
    for k in range(heights):
        for j in range(lines):
            for i in range(x.size):
                f = 1e-18 * np.exp(-((x[i] - 30e-9) ** 2 + y[j] ** 2) / (50e-9) ** 2)
                store.write_point((i, j, k), {"lockin_x": 1e12 * f, "force": f}, 0.0)
            store.flush()
    store.set_status("interrupted")
    store.close()


def test_partial_scan_plot_has_maps_and_mask(tmp_path):
    path = tmp_path / "scan.h5"
    _partial_scan(path)
    out = tmp_path / "scan.png"
    plot(path, out)
    img = mpimg.imread(out)
    assert img.shape[0] > 800 and img.shape[1] > 800  # 3 rows x 2 columns of panels
    assert img[..., :3].std() > 0.1  # not blank


def test_3d_stack_and_point_list(tmp_path):
    path = tmp_path / "stack.h5"
    _partial_scan(path, heights=3, lines=10)
    plot(path, tmp_path / "stack.png")
    assert (tmp_path / "stack.png").stat().st_size > 10_000
    pts = tmp_path / "points.h5"
    store = ScanStore.create(pts, axes={"point": np.arange(4.0)}, channels=CHANNELS,
                             config_text="b = 1")
    for i in range(3):
        store.write_point((i,), {"lockin_x": float(i), "force": 1e-18 * i}, 0.0)
    store.close()
    plot(pts, tmp_path / "points.png")
    assert (tmp_path / "points.png").stat().st_size > 5_000


def test_units_get_readable_prefixes_and_bad_files_are_refused(tmp_path):
    assert scaled_unit(np.array([2e-18, np.nan]), "N") == (pytest.approx(1e18), "aN")
    assert scaled_unit(np.array([3e-3]), "V") == (pytest.approx(1e3), "mV")
    assert scaled_unit(np.array([4.2]), "K") == (1.0, "K")
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(FileFormatError):
        plot(bad, tmp_path / "bad.png")


def _captured_figure(monkeypatch, path, tmp_path):
    """Plot ``path`` and return the figure instead of only its file."""
    import mrfm.plotting.scan as scan_plot

    captured = {}
    real_save = scan_plot.save

    def keep(fig, out):
        captured["titles"] = [a.get_title() for a in fig.axes]
        captured["cmaps"] = [im.get_cmap().name for a in fig.axes for im in a.get_images()]
        return real_save(fig, out)

    monkeypatch.setattr(scan_plot, "save", keep)
    plot(path, tmp_path / "fig.svg")
    assert (tmp_path / "fig.svg").read_bytes().startswith(b"<?xml")
    return captured


def test_mask_panel_only_for_incomplete_scans_and_colour_by_sign(tmp_path, monkeypatch):
    partial = tmp_path / "partial.h5"
    _partial_scan(partial)
    fig = _captured_figure(monkeypatch, partial, tmp_path)
    assert any(t.startswith("measured mask") for t in fig["titles"])
    # both channels are non-negative (a Gaussian force): sequential maps, grey mask
    assert fig["cmaps"] == ["viridis", "viridis", "Greys_r"]
    full = tmp_path / "full.h5"
    _partial_scan(full, lines=10)
    fig = _captured_figure(monkeypatch, full, tmp_path)
    assert not any(t.startswith("measured mask") for t in fig["titles"])
    assert "Greys_r" not in fig["cmaps"]
