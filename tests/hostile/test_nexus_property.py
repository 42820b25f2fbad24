"""HDF5 readers under attack: truncated, bit-flipped and wrongly typed files give a
FileFormatError (a UserError, exit 2), never another exception and never a hang.

Independent truth: API.md ("missing/corrupt file -> exit 2") and issue 16 (corrupted
files must not exit 1 nor hang in ``read_kind``).
"""

from __future__ import annotations

import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mrfm.data.nexus import (
    FileFormatError,
    atomic_h5,
    create_entry,
    group,
    open_mrfm_file,
    read_kind,
    verify_file,
    write_dataset,
)
from tests.hostile.hostile_inputs import special_file


def _good_file(path: Path) -> Path:
    with atomic_h5(path) as fh:
        entry = create_entry(fh, kind="signal_map", config_text="name = 'x'\n")
        data = group(entry, "data", "NXdata")
        data.attrs["signal"] = "signal"
        write_dataset(data, "signal", np.linspace(0, 1, 64).reshape(4, 4, 4), "N")
        for axis in "xyz":
            write_dataset(data, axis, np.arange(4.0), "m")
    return path


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> bytes:
    return _good_file(tmp_path_factory.mktemp("nx") / "good.h5").read_bytes()


def _read_all(path: Path) -> None:
    """What a reader does: verify, open, read the kind.

    Some damaged files make the HDF5 library loop inside the walk (e.g. a zeroed block of
    the object headers; 0-3 of a run's 40 examples): the forked walk then burns CPU until
    its timeout ends it, which is the behaviour under test. A 10 s timeout made such a
    run cost up to 25 s of CPU (5 December 2026); an intact file's walk takes about
    10 ms, so 2 s still separates a walk that finishes from one that does not
    (``test_looping_reader_is_cut_by_the_timeout`` checks the cut itself)."""
    verify_file(path, timeout=2.0)
    with open_mrfm_file(path) as fh:
        read_kind(fh)


# 40 damaged files per run (each read back in a forked process, ~15 ms; 2 s for one that
# loops): the suite's share; benchmarks/fuzz_cli.py runs hundreds through the command line
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_bytes_give_file_format_error(tmp_path, good, data):
    blob = bytearray(good)
    kind = data.draw(st.sampled_from(["truncate", "flip", "zero", "insert"]))
    if kind == "truncate":
        blob = blob[: data.draw(st.integers(0, len(blob) - 1))]
    elif kind == "flip":
        for _ in range(data.draw(st.integers(1, 32))):
            i = data.draw(st.integers(0, len(blob) - 1))
            blob[i] ^= 1 << data.draw(st.integers(0, 7))
    elif kind == "zero":
        i = data.draw(st.integers(0, len(blob) - 1))
        n = data.draw(st.integers(1, 4096))
        blob[i:i + n] = bytes(len(blob[i:i + n]))
    else:
        i = data.draw(st.integers(0, len(blob)))
        blob[i:i] = data.draw(st.binary(min_size=1, max_size=64))
    path = tmp_path / "damaged.h5"
    path.write_bytes(bytes(blob))
    t0 = time.monotonic()
    try:
        _read_all(path)
    except FileFormatError as exc:
        assert str(path) in str(exc) or "mrfm_kind" in str(exc)
    assert time.monotonic() - t0 < 10.0


@pytest.mark.parametrize("kind_value", [42, np.array([1, 2]), b"\xff\xfe", 1.5])
def test_wrongly_typed_kind_is_a_file_format_error(tmp_path, kind_value):
    path = _good_file(tmp_path / "k.h5")
    with h5py.File(path, "r+") as fh:
        fh["entry"].attrs["mrfm_kind"] = kind_value
    with pytest.raises(FileFormatError):
        _read_all(path)


def test_entry_that_is_a_dataset_is_a_file_format_error(tmp_path):
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as fh:
        fh.create_dataset("entry", data=1.0)
    with pytest.raises(FileFormatError, match="not an mrfm file"):
        _read_all(path)


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "dir"])
def test_special_files_refused_before_reading(tmp_path, special):
    target = special_file(tmp_path, special, "pipe.h5")
    t0 = time.monotonic()
    with pytest.raises(FileFormatError, match="regular file"):
        verify_file(target)
    assert time.monotonic() - t0 < 2.0


def test_looping_reader_is_cut_by_the_timeout(tmp_path, monkeypatch):
    """A walk that never returns (as damaged HDF5 metadata can make the library loop)
    ends with a FileFormatError after the timeout, and its child process is gone."""
    import mrfm.data.nexus_read as nexus_read

    def forever(path, kinds):
        while True:
            time.sleep(0.01)

    monkeypatch.setattr(nexus_read, "_verify_inline", forever)
    path = _good_file(tmp_path / "ok.h5")
    t0 = time.monotonic()
    with pytest.raises(FileFormatError, match="did not finish within 1 s"):
        verify_file(path, timeout=1.0)
    assert time.monotonic() - t0 < 5.0
