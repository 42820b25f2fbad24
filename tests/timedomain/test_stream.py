"""Streaming to HDF5: chunk-size independence, NeXus layout, disk check, interruption."""

import math

import h5py
import numpy as np
import pytest

from mrfm.errors import ResourceLimitError
from mrfm.timedomain import stream
from mrfm.timedomain.chain import ChainParameters, ChainSimulator
from mrfm.timedomain.lockin import RESYNC
from mrfm.timedomain.noise import FILL_BLOCK


def params(**kw):
    base = dict(k=1e-4, f0=5e3, Q=2e3, temperature=4.2, dt=1e-5, seed=42,
                lockin_time_constant=3e-3, spin_model="cai-statistical", spin_value=1e-34,
                spin_time=0.01)
    base.update(kw)
    return ChainParameters(**base)


def run_in_pieces(c, sizes):
    sim = ChainSimulator(c)
    parts = [sim.run(n) for n in sizes]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


@pytest.mark.parametrize("mode", ["driven", "self-oscillating"])
def test_record_independent_of_chunk_size(mode):
    extra = {"mode": mode, "amplitude": 5e-9, "spin_model": "shift-telegraph",
             "spin_value": 0.2, "spin_time": 0.01} if mode == "self-oscillating" else {}
    c = params(**extra)
    # pieces that start and end inside the kernels' noise blocks and across the
    # reference-phasor resync grid
    n = 2 * RESYNC + 3 * FILL_BLOCK + 1234
    sizes = [1000, FILL_BLOCK + 17, 1, RESYNC - 3, 777]
    whole = run_in_pieces(c, [n])
    odd = run_in_pieces(c, sizes + [n - sum(sizes)])
    for key in whole:
        np.testing.assert_array_equal(whole[key], odd[key], err_msg=key)
    other = run_in_pieces(params(seed=43, **extra), [n])
    assert not np.array_equal(whole["displacement"], other["displacement"])


def test_hdf5_layout_and_readback(tmp_path):
    c = params()
    path = tmp_path / "ts.h5"
    summary = stream.write_timeseries(path, c, n_samples=30_000, chunk=7_000,
                                      config_text="name = 'x'\n")
    assert summary["samples_written"] == 30_000 and summary["status"] == "complete"
    with h5py.File(path, "r") as fh:
        assert fh["entry"].attrs["NX_class"] == "NXentry"
        assert fh["entry"].attrs["mrfm_kind"] == "timeseries"
        data = fh["entry/data"]
        assert data.attrs["NX_class"] == "NXdata"
        assert data.attrs["sample_rate"] == pytest.approx(1e5)
        assert data["displacement"].dtype == np.float64
        assert data["displacement"].attrs["units"] == "m"
        for name in ("force", "photodiode", "lockin_x", "lockin_y", "spin"):
            assert data[name].shape == (30_000,)
            assert "units" in data[name].attrs
        assert "frequency_shift" not in data  # driven mode has no PLL
        assert int(fh["entry/samples_written"][()]) == 30_000
        assert fh["entry/config"][()].decode() == "name = 'x'\n"
    whole = run_in_pieces(c, [30_000])
    back = stream.read_timeseries(path)
    np.testing.assert_array_equal(back["channels"]["displacement"], whole["displacement"])
    np.testing.assert_allclose(back["channels"]["lockin_x"], whole["lockin_x"], rtol=1e-6,
                               atol=1e-9)


def test_disk_space_refused_with_estimate(tmp_path):
    huge = 10**15
    with pytest.raises(ResourceLimitError, match="GB"):
        stream.write_timeseries(tmp_path / "big.h5", params(), n_samples=huge)
    assert not (tmp_path / "big.h5").exists()
    assert stream.estimate_bytes(10**9, ["displacement"]) == pytest.approx(8.4e9, rel=0.01)


def test_interrupted_run_leaves_readable_file(tmp_path, monkeypatch):
    calls = {"n": 0}
    original = ChainSimulator.run

    def interrupting(self, n):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, n)

    monkeypatch.setattr(ChainSimulator, "run", interrupting)
    path = tmp_path / "cut.h5"
    with pytest.raises(KeyboardInterrupt):
        stream.write_timeseries(path, params(), n_samples=50_000, chunk=5_000)
    back = stream.read_timeseries(path)
    assert back["samples_written"] == 10_000
    assert back["status"] == "interrupted"
    assert back["channels"]["displacement"].shape == (10_000,)


def test_memory_is_bounded_by_the_chunk():
    """A chunk of 2**20 samples allocates ~ 100 MB at most, whatever the record length."""
    per_sample = 8 * (7 + 2 + 1 + 1)  # outputs, thermal draws, shot, spin draws
    assert per_sample * 2**20 < 2**30 / 8
    assert math.isfinite(stream.estimate_bytes(10**9, stream.CHANNEL_INFO))
