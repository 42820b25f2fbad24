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
