"""simulate(): errors, warnings, memory checks, several species, NeXus output, CLI and plot.

Checks: the tip inside the sample is an error; a resonance slice that misses the sample
warns and gives zeros; a job over the memory limit raises ResourceLimitError with the
estimate; 512^3 voxels x 128x128 tips fit the FFT path in 8 GiB; two species add;
halving the voxel changes a thin-slice CAI peak by < 1 % (sub-voxel slice treatment).
"""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from mrfm.cli.main import main
from mrfm.errors import ResourceLimitError, UserError
from mrfm.physics import Sample
from mrfm.resources import data_dir
from mrfm.solver import ResonanceOutsideSampleWarning, SignalMap, memory, simulate
from mrfm.solver import fft as fftpath

from .helpers import ELECTRON, PROTON, make_exp, slab_sample


def test_tip_inside_sample_is_an_error():
    sample = slab_sample(top=30e-9)
    with pytest.raises(UserError, match="tip inside the sample"):
        simulate(make_exp(sample=sample, heights=(20e-9,), rf_frequency=1e8))


def test_slice_outside_sample_warns_and_is_zero():
    exp = make_exp(rf_frequency=10e9)  # resonance field far above anything the tip makes
    with pytest.warns(ResonanceOutsideSampleWarning):
        res = simulate(exp)
    assert res.signal.shape == (1, 1, 1) and not np.any(res.signal)


def test_memory_limit_and_large_fft_estimate():
    exp = make_exp(x=np.arange(-3, 4) * 5e-9)
    with pytest.raises(ResourceLimitError, match="GiB"):
        simulate(exp, memory_limit=1000)
    voxel = np.full(3, 1e-9)
    axis = np.arange(128) * 1e-9
    p = fftpath.plan(axis, axis, (512, 512, 512), voxel)
    need = memory.fft_bytes(n1=p["n1"], n2=p["n2"], lx=p["lx"], ly=p["ly"], n_heights=1,
                            n_tips=128 * 128)
    assert need < 8 * memory.GIB


def test_small_jobs_skip_the_available_memory_but_never_an_explicit_limit(monkeypatch):
    """Estimates up to SMALL_JOB_BYTES are not compared with /proc/meminfo (0.1 ms a call);
    --max-memory, MRFM_MEMORY_LIMIT and an explicit limit still refuse them, and a larger
    job is still compared with the memory available."""
    from mrfm import resources

    def unavailable():
        raise AssertionError("read the available memory")

    monkeypatch.delenv("MRFM_MEMORY_LIMIT", raising=False)
    monkeypatch.setattr(resources, "available_bytes", unavailable)
    resources.check(resources.SMALL_JOB_BYTES, what="a small job")  # not read
    exp = make_exp(x=np.arange(-3, 4) * 5e-9)
    assert simulate(exp, progress=False).signal.shape == (7, 1, 1)
    with pytest.raises(AssertionError, match="available memory"):
        resources.check(resources.SMALL_JOB_BYTES + 1, what="a larger job")
    with pytest.raises(ResourceLimitError, match="the limit"):
        resources.check(2000, 1000, what="a small job")
    monkeypatch.setenv("MRFM_MEMORY_LIMIT", "1000")
    with pytest.raises(ResourceLimitError, match="MRFM_MEMORY_LIMIT"):
        resources.check(2000, what="a small job")
    monkeypatch.delenv("MRFM_MEMORY_LIMIT")
    resources.set_limit(1000)
    try:
        with pytest.raises(ResourceLimitError, match="--max-memory"):
            simulate(exp, progress=False)
    finally:
        resources.set_limit(None)


def test_two_species_add():
    s1 = slab_sample(species=PROTON)
    rho = next(iter(s1.densities.values()))
    both = Sample(origin=s1.origin, voxel=s1.voxel,
                  densities={"1H": rho, "electron": 1e-3 * rho})
    only_e = Sample(origin=s1.origin, voxel=s1.voxel, densities={"electron": 1e-3 * rho})
    kw = dict(protocol="force-gradient", x=np.arange(-2, 3) * 5e-9)
    h_alone = simulate(make_exp(sample=s1, **kw)).signal
    e_alone = simulate(make_exp(sample=only_e, species=ELECTRON, **kw)).signal
    total = simulate(make_exp(sample=both, **kw)).signal
    assert np.all(h_alone != 0) and np.all(e_alone != 0)
    np.testing.assert_allclose(total, h_alone + e_alone, rtol=1e-12)


def test_thin_slice_voxel_halving_changes_peak_below_one_percent():
    def peak(v):
        n = round(40e-9 / v)
        sample = slab_sample(nx=n, ny=n, nz=round(20e-9 / v), voxel=v)
        exp = make_exp(sample=sample, fm_depth=3e-4, x=[-8e-9], heights=(20e-9,))
        return simulate(exp, method="direct").signal[0, 0, 0]

    coarse, fine = peak(4e-9), peak(2e-9)
    assert coarse == pytest.approx(fine, rel=0.01)


def test_signal_map_hdf5_round_trip(tmp_path):
    exp = make_exp(x=np.arange(-3, 4) * 5e-9, heights=(20e-9, 25e-9))
    res = simulate(exp)
    path = res.to_hdf5(tmp_path / "map.h5")
    with h5py.File(path, "r") as fh:
        assert fh["entry"].attrs["mrfm_kind"] == "signal_map"
        assert fh["entry"].attrs["NX_class"] == "NXentry"
        data = fh["entry/data"]
        assert data.attrs["NX_class"] == "NXdata"
        assert data["signal"].attrs["units"] == "N"
        assert data["z"].attrs["units"] == "m"
        assert "instrument" in fh["entry"] and "sample" in fh["entry"]
        assert "config" in fh["entry"]
    back = SignalMap.from_hdf5(path)
    np.testing.assert_array_equal(back.signal, res.signal)
    assert back.protocol == "CAI" and back.unit == "N"


def test_cli_simulate_json_and_plot(tmp_path, capsys):
    cfg = data_dir("configs") / "demo.toml"
    out = tmp_path / "demo.h5"
    grid = "['-60 nm', '60 nm', 25]"
    code = main(["simulate", str(cfg), "-o", str(out), "--json",
                 "--set", f"scan.x={grid}", "--set", f"scan.y={grid}"])
    stdout = capsys.readouterr().out
    assert code == 0
    info = json.loads(stdout)
    for key in ("protocol", "unit", "shape", "signal_min", "signal_max", "signal_peak",
                "elapsed_s", "output"):
        assert key in info
    assert info["shape"] == [25, 25, 1] and info["unit"] == "N"
    assert info["signal_peak"] == pytest.approx(max(abs(info["signal_min"]),
                                                    abs(info["signal_max"])))
    png = tmp_path / "demo.png"
    assert main(["plot", str(out), "-o", str(png)]) == 0
    assert png.stat().st_size > 10_000


def test_cli_simulate_bad_method_exits_2(capsys):
    # point spins only: the FFT path needs a voxel grid
    cfg = data_dir("configs") / "electron-spins.toml"
    code = main(["simulate", str(cfg), "--method", "fft"])
    err = capsys.readouterr().err
    assert code == 2 and "fft" in err
