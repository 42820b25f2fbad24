"""Scan files that are never lost: NeXus HDF5 written in SWMR mode, flushed line by line.

Layout (API.md "Files")::

    /entry                      NXentry, mrfm_kind = "scan"
    /entry/config               experiment configuration, TOML text
    /entry/rig                  rig file text (TOML)
    /entry/instrument/identities    *IDN? (or equivalent) of each instrument, "name: idn" lines
    /entry/instrument/<name>/<setting>  each instrument's settings read back, ``units``
                                attribute (:mod:`mrfm.scan.logbook`)
    /entry/sessions/session_2   NXcollection per resumed session: rig (TOML text),
                                identities, started (ISO 8601), t_start (s on the scan's
                                time axis), instrument/<name>/<setting>; the first session
                                is /entry/rig and /entry/instrument
    /entry/data                 NXdata: one dataset per channel, shape = grid shape (nx, ny, nz),
                                NaN where not measured yet; axes x, y, height (m)
    /entry/data/measured        bool mask, same shape
    /entry/data/timestamp       s since the scan file was created (``/entry@t0_unix``, Unix
                                time), per point (NaN until measured); resumed sessions
                                continue on the same time axis
    /entry/status               fixed-length string: "running", "complete", "interrupted",
                                "fault: ..."
    /entry/title, program_name, start_time, end_time (set at each close), sample (NXsample)
    /entry/plot                 NXdata, the entry's default: the first channel as
                                [height, y, x] with length-1 axes dropped (a one-height map is
                                [y, x]) for NeXus viewers, NaN until measured, written with
                                each flush (/entry/data keeps its (nx, ny, nz) layout, which
                                resume, monitor and readers use)

Every dataset is created before SWMR mode starts (HDF5 forbids new objects in
SWMR mode), so a reader in another process (``h5py.File(path, "r", swmr=True)``)
sees each line as soon as :meth:`ScanStore.flush` has run, and a process killed
with SIGKILL leaves a file holding every line flushed before the kill.
``--resume`` reopens the file, checks that it belongs to the same scan (same
configuration hash and grid) and continues from the ``measured`` mask.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

import mrfm
from mrfm.data import nexus
from mrfm.data.nexus import FileFormatError, now_iso
from mrfm.drivers.base import Logged
from mrfm.errors import UserError
from mrfm.scan.logbook import Settings, update_logbook, write_logbook

STATUS_LEN = 256


@dataclass(frozen=True)
class Channel:
    """One recorded quantity: dataset name, SI unit and a long name for plots."""

    name: str
    unit: str
    long_name: str


def config_hash(config_text: str) -> str:
    """SHA-256 of the configuration text: identifies a scan for ``--resume``."""
    return hashlib.sha256(config_text.encode("utf-8")).hexdigest()


def _open_for_resume(p: Path, config_text: str, channels: Sequence[Channel],
                     axes: Mapping[str, np.ndarray]) -> h5py.File:
    """Open ``p`` read-write after checking it is the same scan (config hash, grid, channels)."""
    if not p.exists():
        raise UserError(f"{p}: cannot resume, file not found")
    try:
        fh = h5py.File(p, "r+", libver="latest")
    except OSError:
        # A writer killed in SWMR mode leaves the file flagged "open for write";
        # it stays readable in SWMR mode, so rewrite a clean copy and reopen that.
        recover(p)
        try:
            fh = h5py.File(p, "r+", libver="latest")
        except OSError as exc:
            raise FileFormatError(f"{p}: cannot reopen for resume ({exc})") from None
    try:
        entry = fh.get("entry")
        if entry is None or entry.attrs.get("mrfm_kind") != "scan":
            raise FileFormatError(f"{p}: not an mrfm scan file")
        if entry.attrs.get("config_sha256") != config_hash(config_text):
            raise UserError(
                f"{p}: belongs to another scan (its configuration differs from this one); "
                "resume with the same configuration or choose a new -o"
            )
        data = entry["data"]
        for name, values in axes.items():
            if name not in data or not np.array_equal(data[name][()], np.asarray(values)):
                raise UserError(f"{p}: the scan grid axis {name!r} differs; cannot resume")
        missing = [c.name for c in channels if c.name not in data]
        if missing:
            raise UserError(f"{p}: channels {missing} missing; cannot resume")
    except BaseException:
        fh.close()
        raise
    return fh


def _record_session(entry: h5py.Group, rig_text: str,
                    identities: Mapping[str, str] | None, logbook: Settings | None) -> str:
    """Add ``/entry/sessions/session_<n>`` (n = 2 for the first resume)."""
    sessions = entry.require_group("sessions")
    sessions.attrs["NX_class"] = "NXcollection"
    n = 2 + sum(1 for name in sessions if name.startswith("session_"))
    group = sessions.create_group(f"session_{n}")
    group.attrs["NX_class"] = "NXcollection"
    group.attrs["started"] = now_iso()
    group.attrs["t_start"] = time.time() - float(entry.attrs.get("t0_unix", time.time()))
    group.attrs["t_start_units"] = "s"
    group.create_dataset("rig", data=rig_text, dtype=h5py.string_dtype())
    idn = "\n".join(f"{k}: {v}" for k, v in (identities or {}).items())
    group.create_dataset("identities", data=idn, dtype=h5py.string_dtype())
    inst = group.create_group("instrument")
    inst.attrs["NX_class"] = "NXinstrument"
    write_logbook(inst, logbook or {})
    return inst.name


class ScanStore:
    """The HDF5 file of one scan, open for writing in SWMR mode.

    Use :meth:`create` for a new scan and :meth:`resume` to continue an
    interrupted one; close with :meth:`close` (also a context manager).
    """

    def __init__(self, fh: h5py.File, channels: Sequence[Channel],
                 logbook_path: str = "entry/instrument"):
        self._fh = fh
        self._logbook = fh[logbook_path]
        self.channels = tuple(channels)
        data = fh["entry/data"]
        self._datasets = {c.name: data[c.name] for c in self.channels}
        self._measured = data["measured"]
        self._timestamp = data["timestamp"]
        self._status = fh["entry/status"]
        self.shape = tuple(self._measured.shape)
        # the default plot (files written before it existed have none)
        plot = fh["entry"].get("plot")
        self._plot_name = str(channels[0].name) if channels else ""
        self._plot = plot.get(self._plot_name) if isinstance(plot, h5py.Group) else None
        #: Unix time of the file's creation: the origin of ``timestamp``
        self.t0_unix = float(fh["entry"].attrs.get("t0_unix", time.time()))
        # The mask in memory mirrors the file; it is the source of truth while scanning.
        self.measured = np.array(self._measured[()], dtype=bool)
        # Points written since the last flush: index -> (values, t). They reach the file
        # at flush() as one slab write per dataset (their bounding box), not one small
        # write per point and dataset, which would cost ~1 ms per point.
        self._pending: dict[tuple[int, ...], tuple[dict[str, float], float]] = {}

    # ------------------------------------------------------------------ creation
    @classmethod
    def create(
        cls,
        path: str | Path,
        *,
        axes: Mapping[str, np.ndarray],
        channels: Sequence[Channel],
        config_text: str,
        rig_text: str = "",
        identities: Mapping[str, str] | None = None,
        attrs: Mapping[str, object] | None = None,
        logbook: Settings | None = None,
    ) -> ScanStore:
        """Create a new scan file (refuses to overwrite an existing one).

        ``logbook``: the instruments' settings read back at the start
        (:mod:`mrfm.scan.logbook`), written under ``/entry/instrument``.
        """
        p = Path(path)
        if p.exists():
            raise UserError(f"{p}: exists already; use --resume to continue it or choose -o")
        if not p.parent.exists():
            raise UserError(f"{p}: output folder {p.parent} does not exist")
        shape = tuple(int(np.asarray(a).size) for a in axes.values())
        fh = h5py.File(p, "w", libver="latest")
        try:
            fh.attrs["default"] = "entry"
            entry = fh.create_group("entry")
            entry.attrs.update({
                "NX_class": "NXentry", "default": "data", "mrfm_kind": "scan",
                "mrfm_version": mrfm.__version__, "created": now_iso(),
                "config_sha256": config_hash(config_text),
                "t0_unix": time.time(),
            })
            for key, value in (attrs or {}).items():
                entry.attrs[key] = value
            nexus.write_text(entry, "title", nexus.TITLES["scan"])
            nexus.write_text(entry, "program_name", "mrfm").attrs["version"] = mrfm.__version__
            nexus.write_text(entry, "start_time", entry.attrs["created"])
            nexus.reserve_end_time(entry)
            nexus.group(entry, "sample", "NXsample")
            entry.create_dataset("config", data=config_text, dtype=h5py.string_dtype())
            entry.create_dataset("rig", data=rig_text, dtype=h5py.string_dtype())
            inst = entry.create_group("instrument")
            inst.attrs["NX_class"] = "NXinstrument"
            idn = "\n".join(f"{k}: {v}" for k, v in (identities or {}).items())
            inst.create_dataset("identities", data=idn, dtype=h5py.string_dtype())
            write_logbook(inst, logbook or {})
            entry.create_dataset("status", data=np.array("running".ljust(STATUS_LEN), dtype="S"))
            data = entry.create_group("data")
            data.attrs["NX_class"] = "NXdata"
            data.attrs["signal"] = channels[0].name
            data.attrs["axes"] = list(axes)
            for i, (name, values) in enumerate(axes.items()):
                ds = data.create_dataset(name, data=np.asarray(values, dtype=float))
                ds.attrs["units"] = "m"
                data.attrs[f"{name}_indices"] = i
            for c in channels:
                ds = data.create_dataset(c.name, shape=shape, dtype="f8", fillvalue=np.nan,
                                         chunks=_chunks(shape))
                ds.attrs["units"] = c.unit
                ds.attrs["long_name"] = c.long_name
            data.create_dataset("measured", shape=shape, dtype=bool, fillvalue=False,
                                chunks=_chunks(shape))
            ts = data.create_dataset("timestamp", shape=shape, dtype="f8", fillvalue=np.nan,
                                     chunks=_chunks(shape))
            ts.attrs["units"] = "s"
            nexus.write_plot(entry, channels[0].name, None, channels[0].unit,
                             {name: (values, "m") for name, values in axes.items()},
                             long_name=channels[0].long_name, shape=shape)
            fh.swmr_mode = True
        except BaseException:
            fh.close()
            p.unlink(missing_ok=True)
            raise
        return cls(fh, channels)

    @classmethod
    def resume(cls, path: str | Path, *, config_text: str, channels: Sequence[Channel],
               axes: Mapping[str, np.ndarray], rig_text: str | None = None,
               identities: Mapping[str, str] | None = None,
               logbook: Settings | None = None) -> ScanStore:
        """Reopen an interrupted scan; refuses a file that belongs to another scan.

        With ``rig_text`` (the rig file of this session) the session is recorded under
        ``/entry/sessions/session_<n>`` with the instruments' ``identities``, so a scan
        finished on another day, or with a replaced instrument, says which points which
        rig measured (compare ``t_start`` with ``/entry/data/timestamp``). Without it the
        file is only checked and reopened (:meth:`check_resumable` does the check alone).
        """
        fh = _open_for_resume(Path(path), config_text, channels, axes)
        where = "entry/instrument"
        try:
            if rig_text is not None:
                where = _record_session(fh["entry"], rig_text, identities, logbook)
            fh.swmr_mode = True
        except BaseException:
            fh.close()
            raise
        store = cls(fh, channels, logbook_path=where)
        store.set_status("running")
        return store

    @classmethod
    def check_resumable(cls, path: str | Path, *, config_text: str,
                        channels: Sequence[Channel], axes: Mapping[str, np.ndarray]) -> None:
        """Raise (UserError, FileFormatError) unless :meth:`resume` can continue ``path``.

        Run before any instrument is opened; the file is left closed and unchanged (except
        that a file left flagged "open for write" by a killed writer is rewritten clean).
        """
        _open_for_resume(Path(path), config_text, channels, axes).close()

    # ------------------------------------------------------------------ writing
    def write_point(self, index: tuple[int, ...], values: Mapping[str, float], t: float) -> None:
        """Record one point's channel values (SI) and its time; marks it measured.

        The point reaches the file at the next :meth:`flush` (the controller flushes
        after every line).
        """
        unknown = set(values) - set(self._datasets)
        if unknown:
            raise KeyError(f"channels {sorted(unknown)} are not in this scan file")
        index = tuple(int(i) for i in index)
        self._pending[index] = (dict(values), float(t))
        self.measured[index] = True

    def discard(self, indices: Sequence[tuple[int, ...]]) -> None:
        """Forget points read from a faulty instrument: no longer measured (a resume
        measures them again). Points already flushed are unmarked in the file at once."""
        for index in indices:
            index = tuple(int(i) for i in index)
            if self._pending.pop(index, None) is None and self.measured[index]:
                self._measured[index] = False
            self.measured[index] = False
        self._measured.flush()

    def _write_pending(self) -> tuple[slice, ...] | None:
        """Write the pending points' data as one bounding-box slab per dataset.

        Returns the box, whose ``measured`` mask the caller writes only after the
        data are flushed, so a reader never sees a point marked measured before
        its values are on disk.
        """
        if not self._pending:
            return None
        idx = np.array(list(self._pending), dtype=int)
        lo, hi = idx.min(axis=0), idx.max(axis=0) + 1
        box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
        full = len(self._pending) == int(np.prod(hi - lo))
        rel = tuple((idx - lo).T)
        targets = [*self._datasets.items(), ("\0timestamp", self._timestamp)]
        for name, ds in targets:
            # points of the box not written now keep their stored values
            slab = np.full(tuple(hi - lo), np.nan) if full else ds[box]
            if name == "\0timestamp":
                column = [t for _, t in self._pending.values()]
            else:
                column = [v.get(name, np.nan) for v, _ in self._pending.values()]
            slab[rel] = column
            ds[box] = slab
            if name == self._plot_name and self._plot is not None:
                self._plot[nexus.plot_box(box, self.shape)] = nexus.to_plot(slab, self.shape)
        self._pending.clear()
        return box

    def flush(self) -> None:
        """Make everything written so far visible to readers and safe against a kill.

        Order matters for readers and for a kill at any instant: data first, then the
        ``measured`` mask that declares them valid.
        """
        box = self._write_pending()
        for ds in self._datasets.values():
            ds.flush()
        self._timestamp.flush()
        if self._plot is not None:
            self._plot.flush()
        if box is not None:
            self._measured[box] = self.measured[box]
        self._measured.flush()
        self._status.flush()
        self._fh.flush()

    def update_logbook(self, name: str, values: Mapping[str, Logged]) -> None:
        """Overwrite instrument ``name``'s logbook with a new read-back (after a change)."""
        if self._fh.id.valid:
            update_logbook(self._logbook, name, values)

    def set_status(self, status: str) -> None:
        """Store the scan status ("running", "complete", "interrupted", "fault: ...")."""
        self._status[()] = np.array(status[:STATUS_LEN].ljust(STATUS_LEN), dtype="S")
        self._status.flush()

    def elapsed(self) -> float:
        """Seconds since the file was created (the ``timestamp`` of a point measured now)."""
        return time.time() - self.t0_unix

    @property
    def complete(self) -> bool:
        """True when every point is measured."""
        return bool(self.measured.all())

    def close(self) -> None:
        """Flush and close the file (idempotent)."""
        if self._fh.id.valid:
            nexus.finish_entry(self._fh["entry"])
            self.flush()
            self._fh.close()

    def __enter__(self) -> ScanStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _chunks(shape: tuple[int, ...]) -> tuple[int, ...]:
    """One line (all of the first axis) per chunk: a flushed line is one chunk write."""
    return tuple(max(1, n) if i == 0 else 1 for i, n in enumerate(shape))


def recover(path: str | Path) -> None:
    """Rewrite a scan file left flagged "open for write" by a killed writer.

    The file is read in SWMR mode (which HDF5 allows after a crash), copied
    object by object into a temporary file beside it, and renamed over the
    original: nothing flushed before the crash is lost, and the copy opens
    normally afterwards.
    """
    p = Path(path)
    tmp = p.with_name(f".{p.name}.recover.tmp")
    try:
        with h5py.File(p, "r", swmr=True) as src, h5py.File(tmp, "w", libver="latest") as dst:
            for key, value in src.attrs.items():
                dst.attrs[key] = value
            for name in src:
                src.copy(src[name], dst, name=name)
        os.replace(tmp, p)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise FileFormatError(f"{p}: cannot recover the interrupted scan file ({exc})") from None


def read_status(path: str | Path) -> str:
    """The status string of a scan file (readable while the scan runs)."""
    with h5py.File(path, "r", swmr=True) as fh:
        return fh["entry/status"][()].decode().strip()
