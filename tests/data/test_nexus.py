"""NeXus HDF5 helpers: atomic writes, kinds, units, corrupt input."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from mrfm.data.nexus import (
    FileFormatError,
    atomic_h5,
    create_entry,
    open_mrfm_file,
    read_config_text,
    write_dataset,
)


def test_atomic_write_appears_only_on_success(tmp_path):
    target = tmp_path / "out.h5"
    with pytest.raises(RuntimeError), atomic_h5(target) as fh:
        create_entry(fh, kind="signal_map", config_text="x = 1")
        raise RuntimeError("interrupted")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind
    with atomic_h5(target) as fh:
        entry = create_entry(fh, kind="signal_map", config_text="x = 1")
        data = entry.create_group("data")
        write_dataset(data, "signal", np.arange(3.0), "N")
    with open_mrfm_file(target) as fh:
        assert fh["entry"].attrs["NX_class"] == "NXentry"
        assert fh["entry/data/signal"].attrs["units"] == "N"
        assert read_config_text(fh) == "x = 1"


def test_kind_checked(tmp_path):
    target = tmp_path / "a.h5"
    with atomic_h5(target) as fh:
        create_entry(fh, kind="timeseries")
    with pytest.raises(FileFormatError, match="expected one of"):
        open_mrfm_file(target, kinds=("scan",))


@pytest.mark.parametrize("content", [b"", b"not hdf5 at all", b"\x89HDF\r\n\x1a\n" + b"\x00" * 40])
def test_corrupt_files_give_a_clear_error(tmp_path, content):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(content)
    with pytest.raises(FileFormatError, match="bad.h5"):
        open_mrfm_file(bad)


def test_truncated_file(tmp_path):
    good = tmp_path / "good.h5"
    with atomic_h5(good) as fh:
        entry = create_entry(fh, kind="signal_map", config_text="x = 1")
        write_dataset(entry.create_group("data"), "signal", np.ones(10000), "N")
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    with pytest.raises(FileFormatError):
        with open_mrfm_file(truncated) as fh:
            fh["entry/data/signal"][()]


def test_non_mrfm_hdf5(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as fh:
        fh["x"] = 1
    with pytest.raises(FileFormatError, match="not an mrfm file"):
        open_mrfm_file(other)


def test_cantilever_group_records_q_total_and_its_parts(tmp_path):
    """The rig tests' pad cantilever at 0.1 Pa (gas damping dominates): Q_total and the
    channels with units; truth 1/Q_total = 1/Q_intrinsic + 1/Q_gas with Q_gas by hand
    ((pi/2)^1.5 rho t f0 sqrt(R T/M) / P, 100 nm Si, helium at 4.2 K)."""
    import math
    from pathlib import Path

    from mrfm.config import load
    from mrfm.data.nexus import write_experiment_metadata

    pad = Path(__file__).parents[1] / "rig" / "pad.toml"
    exp = load(pad, overrides={"stage.pressure": "0.1 Pa"})
    q_gas = ((math.pi / 2) ** 1.5 * 2329 * 100e-9 * 5e3
             * math.sqrt(8.314462618 * 4.2 / 4.002602e-3) / 0.1)
    target = tmp_path / "q.h5"
    with atomic_h5(target) as fh:
        write_experiment_metadata(create_entry(fh, kind="signal_map"), exp)
    with open_mrfm_file(target) as fh:
        cant = fh["entry/instrument/cantilever"]
        assert cant["quality_factor"][()] == 2e4  # the intrinsic Q, as before
        assert cant["Q_total"][()] == pytest.approx(1 / (1 / 2e4 + 1 / q_gas), rel=1e-9)
        assert cant["Q_intrinsic"][()] == 2e4
        assert cant["Q_gas"][()] == pytest.approx(q_gas, rel=1e-9)
        for name in ("Q_total", "Q_intrinsic", "Q_gas"):
            assert cant[name].attrs["units"] == ""
        assert "Q_noncontact" not in cant  # no such channel configured
