"""One read of a scan file, taken without disturbing its writer, and what the page shows of it.

The file is opened read-only in SWMR mode (``h5py.File(path, "r", swmr=True)``), read
and closed at once, every time: the writer is never blocked (SWMR readers take no
lock), and a file replaced under the same name (``mrfm scan --resume`` rewrites a
killed writer's file) is simply read anew. Reading order matters while the scan runs:
the status first, then the ``measured`` mask, then the data and timestamps. The writer
flushes data before the mask that declares them valid and sets the final status after
the last line, so a point this reader sees as measured has its values on disk, and a
"complete" status is never shown beside a mask read before the last line.

A read that meets the file mid-write (a partly updated HDF5 structure raises
``OSError``/``KeyError``/``ValueError``) raises :class:`TransientReadError`; the server
keeps its previous snapshot and tries again at the next poll.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from mrfm.data.nexus import FileFormatError
from mrfm.unit_format import format_quantity

#: longest text of one setting value shown (longer values are cut with "...")
MAX_TEXT = 300
#: at most this many instrument settings are listed
MAX_SETTINGS = 400
#: setting units shown without an SI prefix (logarithmic, angles, ratios)
NO_PREFIX = frozenset({"", "dB", "dBm", "dB/oct", "deg", "%", "rad"})
#: points (most recent of the current session) behind the rate and ETA estimate
RATE_WINDOW = 256
#: a running scan whose file has not changed for this long (or three line times, if
#: longer) is flagged as possibly stopped: a scan killed with SIGKILL leaves "running"
STALE_AFTER_S = 120.0


class TransientReadError(RuntimeError):
    """The file could not be read consistently this time (probably mid-write); retry."""


@dataclass(frozen=True)
class ChannelData:
    """One recorded channel: values on the scan grid (SI ``unit``; NaN where not measured)."""

    name: str
    unit: str
    long_name: str
    values: np.ndarray


@dataclass(frozen=True)
class Setting:
    """One instrument setting read back into the file: ``/entry/instrument/<instrument>/<name>``."""

    instrument: str
    name: str
    value: str
    unit: str


@dataclass(frozen=True)
class Snapshot:
    """What one read of a scan file found (arrays have the grid's shape)."""

    path: Path
    file_key: tuple[int, int]  # (st_mtime_ns, st_size) taken before the read
    title: str
    created: str
    t0_unix: float
    status: str
    axes: dict[str, np.ndarray]
    axis_units: dict[str, str]
    signal: str
    channels: tuple[ChannelData, ...]
    measured: np.ndarray
    timestamp: np.ndarray
    settings: tuple[Setting, ...]
    identities: tuple[str, ...]
    session_starts: tuple[float, ...]
    attrs: dict[str, str]
    config: str

    @property
    def key(self) -> tuple[object, ...]:
        """Changes whenever anything shown on the page may have changed."""
        return (self.status, int(self.measured.sum()), self.file_key)

    def channel(self, name: str) -> ChannelData:
        """The channel called ``name`` (KeyError if the file has none)."""
        for c in self.channels:
            if c.name == name:
                return c
        raise KeyError(name)

    def latest_index(self) -> tuple[int, ...] | None:
        """Grid index of the most recently measured point (None before the first)."""
        ts = np.where(self.measured, self.timestamp, -np.inf)
        if not np.isfinite(ts).any():
            return None
        return tuple(int(i) for i in np.unravel_index(int(np.argmax(ts)), ts.shape))


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        if value.size == 1:
            return _text(value.reshape(()).item())
        value = np.array2string(value, threshold=12, precision=6)
    text = str(value).strip() if not isinstance(value, float) else f"{value:.7g}"
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


def _read_settings(inst: h5py.Group) -> tuple[tuple[Setting, ...], tuple[str, ...]]:
    """Settings (``<instrument>/<setting>`` datasets, with ``units``) and ``*IDN?`` lines."""
    settings: list[Setting] = []
    identities: tuple[str, ...] = ()

    def visit(name: str, obj: object) -> None:
        if not isinstance(obj, h5py.Dataset) or len(settings) >= MAX_SETTINGS:
            return
        if name == "identities":
            return
        unit = _text(obj.attrs.get("units", ""))
        if obj.size > 64:
            value = f"array of shape {obj.shape}"
        else:
            raw = obj[()]
            if (obj.dtype.kind == "f" and obj.shape == () and unit not in NO_PREFIX
                    and math.isfinite(raw)):
                value, _, unit = format_quantity(float(raw), unit, digits=7).partition(" ")
            else:
                value = _text(raw)
        head, _, leaf = name.rpartition("/")
        settings.append(Setting(head or "(rig)", leaf, value, unit))

    inst.visititems(visit)
    if "identities" in inst and isinstance(inst["identities"], h5py.Dataset):
        raw = inst["identities"][()]
        raw = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        identities = tuple(_text(line) for line in raw.splitlines()[:MAX_SETTINGS] if line.strip())
    return tuple(settings), identities


#: channels listed first, in this order (after the file's signal); others follow by name
ORDER = ("force", "frequency_shift", "lockin_x", "lockin_y", "temperature", "field",
         "tip_x", "tip_y", "tip_height")


def _channel_rank(name: str, signal: str) -> tuple[int, str]:
    if name == signal:
        return (-1, name)
    return (ORDER.index(name) if name in ORDER else len(ORDER), name)


def read_snapshot(path: str | Path) -> Snapshot:
    """Read the scan file ``path`` once (SWMR, read-only) and close it.

    Raises
    ------
    FileFormatError
        The file is missing, not HDF5, or not an mrfm scan file (a user error, exit 2).
    TransientReadError
        The file could not be read consistently now (caught mid-write); try again later.
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except OSError:
        raise FileFormatError(f"{p}: scan file not found") from None
    if not h5py.is_hdf5(p):
        raise FileFormatError(f"{p}: not an HDF5 file")
    try:
        fh = h5py.File(p, "r", swmr=True)
    except OSError:
        try:  # a file written without SWMR support (old superblock) opens plainly
            fh = h5py.File(p, "r")
        except OSError as exc:
            raise TransientReadError(f"{p}: cannot open ({exc})") from None
    try:
        with fh:
            return _read(fh, p, (st.st_mtime_ns, st.st_size))
    except FileFormatError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise TransientReadError(f"{p}: unreadable now ({exc})") from None


def _read(fh: h5py.File, p: Path, file_key: tuple[int, int]) -> Snapshot:
    entry = fh.get("entry")
    if entry is None or _text(entry.attrs.get("mrfm_kind", "")) != "scan" or "data" not in entry:
        raise FileFormatError(f"{p}: not an mrfm scan file (no /entry with mrfm_kind = 'scan')")
    # status, then the mask, then the data (see the module docstring)
    status = _text(entry["status"][()]) if "status" in entry else "unknown"
    data = entry["data"]
    measured = np.asarray(data["measured"][()], dtype=bool)
    axis_names = [_text(a) for a in np.atleast_1d(data.attrs.get("axes", []))]
    axes = {a: np.asarray(data[a][()], dtype=float) for a in axis_names}
    axis_units = {a: _text(data[a].attrs.get("units", "")) for a in axis_names}
    skip = set(axis_names) | {"measured", "timestamp"}
    channels = []
    for name in sorted(data, key=lambda n: _channel_rank(n, _text(data.attrs.get("signal", "")))):
        ds = data[name]
        if name in skip or not isinstance(ds, h5py.Dataset) or ds.dtype.kind != "f":
            continue
        if ds.shape != measured.shape:
            continue
        values = np.where(measured, ds[()], np.nan)
        channels.append(ChannelData(name, _text(ds.attrs.get("units", "")),
                                    _text(ds.attrs.get("long_name", name)), values))
    timestamp = np.where(measured, data["timestamp"][()], np.nan)
    if measured.ndim == 2 and len(axes) == 2:
        # a single-height scan stored as a 2-D map: one height plane, as (nx, ny, 1)
        height = data["height"][()] if "height" in data and "height" not in axes else np.nan
        axes["height"] = np.atleast_1d(np.asarray(height, dtype=float))[:1]
        axis_units["height"] = "m"
        measured, timestamp = measured[:, :, None], timestamp[:, :, None]
        channels = [ChannelData(c.name, c.unit, c.long_name, c.values[:, :, None])
                    for c in channels]
    signal = _text(data.attrs.get("signal", channels[0].name if channels else ""))
    settings: tuple[Setting, ...] = ()
    identities: tuple[str, ...] = ()
    if "instrument" in entry and isinstance(entry["instrument"], h5py.Group):
        settings, identities = _read_settings(entry["instrument"])
    starts = []
    if "sessions" in entry:
        for g in entry["sessions"].values():
            if "t_start" in g.attrs:
                starts.append(float(g.attrs["t_start"]))
    attrs = {k: _text(entry.attrs[k]) for k in ("rig_name", "plan_pattern", "mrfm_version")
             if k in entry.attrs}
    config = _text(entry["config"][()]) if "config" in entry else ""
    return Snapshot(
        path=p, file_key=file_key,
        title=_text(entry.attrs.get("mrfm_title", entry.attrs.get("title", p.name))),
        created=_text(entry.attrs.get("created", "")),
        t0_unix=float(entry.attrs.get("t0_unix", math.nan)),
        status=status, axes=axes, axis_units=axis_units, signal=signal,
        channels=tuple(channels), measured=measured, timestamp=timestamp,
        settings=settings, identities=identities, session_starts=tuple(sorted(starts)),
        attrs=attrs, config=config if len(config) < 20000 else config[:20000] + "\n...",
    )


def scan_state(status: str) -> tuple[str, str]:
    """``(state, message)`` from the file's status string.

    state is one of "running", "complete", "fault", "interrupted", "unknown"; message
    is the fault's text, or safe-state problems recorded after the status.
    """
    head, _, rest = status.partition(";")
    head = head.strip()
    if head.startswith("fault:"):
        return "fault", status.partition(":")[2].strip()
    for state in ("running", "complete", "interrupted"):
        if head == state:
            return state, rest.strip()
    return "unknown", status


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def progress(snap: Snapshot, now: float | None = None) -> dict[str, float | int | None]:
    """Points done, rate (s per point, this session's latest points) and ETA (s)."""
    now = time.time() if now is None else now
    total = int(snap.measured.size)
    done = int(snap.measured.sum())
    ts = np.sort(snap.timestamp[np.isfinite(snap.timestamp)])
    since = snap.session_starts[-1] if snap.session_starts else -math.inf
    recent = ts[ts >= since][-RATE_WINDOW:]
    per_point = (float(recent[-1] - recent[0]) / (recent.size - 1)) if recent.size > 2 else None
    state, _ = scan_state(snap.status)
    eta = per_point * (total - done) if per_point is not None and state == "running" else None
    last = float(ts[-1]) if ts.size else None
    elapsed = (now - snap.t0_unix) if state == "running" else last
    return {
        "done": done, "total": total, "fraction": done / total if total else None,
        "s_per_point": _finite(per_point) if per_point is not None else None,
        "eta_s": _finite(eta) if eta is not None else None,
        "elapsed_s": _finite(elapsed) if elapsed is not None else None,
        "last_point_s": last,
    }


def latest_readings(snap: Snapshot) -> list[dict[str, str]]:
    """Each channel's value at the most recently measured point, formatted with its unit."""
    index = snap.latest_index()
    rows = []
    for c in snap.channels:
        value = float(c.values[index]) if index is not None else math.nan
        text = format_quantity(value, c.unit) if math.isfinite(value) else "-"
        rows.append({"name": c.name, "long_name": c.long_name, "unit": c.unit, "value": text})
    return rows


def stale_for(snap: Snapshot, now: float | None = None) -> float | None:
    """Seconds without a change of a file that says "running", once that is suspicious.

    None while the scan looks alive: the file changed within STALE_AFTER_S or within
    three times the time one line takes (the writer flushes once per line), or its
    status is not "running". A scan killed with SIGKILL, or its computer switched
    off, leaves "running" in the file; nothing in the file tells a killed writer from
    a slow one, so the page says how long the file has been silent.
    """
    if scan_state(snap.status)[0] != "running":
        return None
    age = file_age(snap, now)
    per_point = progress(snap, now)["s_per_point"] or 0.0
    line = snap.measured.shape[0] if snap.measured.ndim == 3 else 1
    return age if age > max(STALE_AFTER_S, 3.0 * per_point * line) else None


def file_age(snap: Snapshot, now: float | None = None) -> float:
    """Seconds since the file last changed (its modification time at the read)."""
    now = time.time() if now is None else now
    return max(0.0, now - snap.file_key[0] * 1e-9)
