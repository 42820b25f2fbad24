"""Reading mrfm's HDF5 (NeXus) files: the kinds, opening, verifying, small readers.

:func:`open_mrfm_file` opens a file and checks its ``/entry/mrfm_kind``;
:func:`verify_file` reads every object of a file back in a forked child with a
timeout, before a command uses it. The layout and the writers are in
:mod:`mrfm.data.nexus`, which re-exports every public name of this module.
"""

from __future__ import annotations

import math
import os
import select
import signal
import time
from pathlib import Path

import h5py

from mrfm.errors import UserError

#: the values of ``/entry``'s ``mrfm_kind`` (what a file holds)
KINDS = ("signal_map", "timeseries", "scan", "reconstruction", "dataset_item")


class FileFormatError(UserError):
    """An input file is missing, truncated, corrupt or not an mrfm file of the expected kind."""


def open_mrfm_file(path: str | Path, *, kinds: tuple[str, ...] = KINDS) -> h5py.File:
    """Open an mrfm HDF5 file for reading, checking that it holds one of ``kinds``.

    Raises
    ------
    FileFormatError
        If the file is missing, not HDF5, truncated or corrupt, or of another kind.
    """
    p = Path(path)
    if not p.exists():
        raise FileFormatError(f"{p}: file not found")
    if p.is_dir():
        raise FileFormatError(f"{p}: is a directory, expected an HDF5 file")
    try:
        fh = _open_read(p)
    except (OSError, RuntimeError, ValueError, TypeError) as exc:
        raise FileFormatError(
            f"{p}: not a readable HDF5 file (truncated or corrupt: {exc})"
        ) from None
    try:
        kind = read_kind(fh)
    except FileFormatError:
        fh.close()
        raise FileFormatError(f"{p}: not an mrfm file (no /entry with an mrfm_kind)") from None
    except (OSError, KeyError, RuntimeError, ValueError, TypeError) as exc:
        fh.close()
        raise FileFormatError(f"{p}: corrupt HDF5 structure ({exc})") from None
    if kind not in kinds:
        fh.close()
        raise FileFormatError(f"{p}: holds a {kind!r}; expected one of {', '.join(kinds)}")
    return fh


#: most objects (groups and datasets) :func:`verify_file` visits
MAX_OBJECTS = 20_000
#: most bytes of dataset values :func:`verify_file` reads back
MAX_VERIFY_BYTES = 128 * 1024**2
#: seconds :func:`verify_file` allows for reading a file's structure
VERIFY_TIMEOUT_S = 30.0


def verify_file(path: str | Path, *, kinds: tuple[str, ...] = KINDS,
                timeout: float = VERIFY_TIMEOUT_S) -> None:
    """Check, before a command uses it, that ``path`` is an intact mrfm file of ``kinds``.

    The file must be a regular file; it is opened, and every group, attribute and
    dataset (up to :data:`MAX_OBJECTS` objects and :data:`MAX_VERIFY_BYTES` of values)
    is read back. Damaged HDF5 metadata can make the HDF5 library loop or fail deep
    inside a read; the walk therefore runs in a forked child process, killed after
    ``timeout`` seconds, so a hostile file costs at most that long.

    Raises
    ------
    FileFormatError
        Missing, not a regular file, not HDF5, truncated, corrupt, of another kind, or
        its structure could not be read within ``timeout``.
    """
    from mrfm.data.files import check_input_file

    p = Path(path)
    try:
        check_input_file(p, "HDF5 file")
    except UserError as exc:
        raise FileFormatError(str(exc)) from None
    if not hasattr(os, "fork"):
        _verify_inline(p, kinds)
        return
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: walk the file, report one line (empty: intact), never return
        os.close(read_end)
        # the child ends itself after the timeout, even inside a looping HDF5 call (the
        # default SIGALRM action), and so never outlives a parent that was killed
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(int(math.ceil(timeout)) + 1)
        message = ""
        try:
            _verify_inline(p, kinds)
        except UserError as exc:
            message = str(exc)
        except BaseException as exc:  # noqa: BLE001 - any failure of the walk is a bad file
            message = f"{p}: corrupt HDF5 content ({exc.__class__.__name__}: {exc})"
        try:
            os.write(write_end, message.encode("utf-8", "replace")[:4000])
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([read_end], [], [], max(left, 0.0))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                raise FileFormatError(
                    f"{p}: reading the HDF5 structure did not finish within {timeout:g} s "
                    "(corrupt file?)")
            chunk = os.read(read_end, 4096)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    message = b"".join(chunks).decode("utf-8", "replace")
    if message:
        raise FileFormatError(message)


def _verify_inline(p: Path, kinds: tuple[str, ...]) -> None:
    budget = {"objects": MAX_OBJECTS, "bytes": MAX_VERIFY_BYTES}

    def visit(name: str, obj: h5py.Group | h5py.Dataset) -> None:
        budget["objects"] -= 1
        if budget["objects"] < 0:
            raise FileFormatError(f"{p}: more than {MAX_OBJECTS} objects; not an mrfm file")
        for key in obj.attrs:
            obj.attrs[key]
        if isinstance(obj, h5py.Dataset):
            nbytes = int(obj.size or 0) * int(obj.dtype.itemsize)
            if nbytes <= budget["bytes"]:
                obj[()]
                budget["bytes"] -= nbytes

    with open_mrfm_file(p, kinds=kinds) as fh:
        try:
            for key in fh.attrs:
                fh.attrs[key]
            fh.visititems(visit)
        except FileFormatError:
            raise
        except (OSError, KeyError, ValueError, TypeError, RuntimeError, IndexError) as exc:
            raise FileFormatError(f"{p}: corrupt HDF5 content ({exc})") from None


def _open_read(path: Path) -> h5py.File:
    """Open for reading; SWMR mode only for a file flagged as being written (a running scan).

    A plain open comes first because it checks the file for truncation, which
    SWMR mode (where a file may grow) does not.
    """
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        if "already open for write" not in str(exc):
            raise
        return h5py.File(path, "r", swmr=True)


def read_kind(fh: h5py.File) -> str:
    """Return ``/entry``'s ``mrfm_kind`` attribute; FileFormatError if absent or not a name."""
    entry = fh.get("entry")
    if not isinstance(entry, h5py.Group) or "mrfm_kind" not in entry.attrs:
        raise FileFormatError("no /entry/mrfm_kind")
    kind = entry.attrs["mrfm_kind"]
    if isinstance(kind, bytes):
        try:
            kind = kind.decode("utf-8")
        except UnicodeDecodeError:
            raise FileFormatError("/entry/mrfm_kind is not text") from None
    if not isinstance(kind, str):
        raise FileFormatError(f"/entry/mrfm_kind is not text ({type(kind).__name__})")
    return kind


def read_config_text(fh: h5py.File) -> str:
    """Return the TOML text stored in ``/entry/config``; FileFormatError if absent."""
    if "config" not in fh["entry"]:
        raise FileFormatError(f"{fh.filename}: no experiment configuration in /entry/config")
    value = fh["entry/config"][()]
    return value.decode() if isinstance(value, bytes) else str(value)


def units_of(ds: h5py.Dataset) -> str:
    """The ``units`` attribute of a dataset as str (``""`` if absent)."""
    unit = ds.attrs.get("units", "")
    return unit.decode() if isinstance(unit, bytes) else str(unit)
