"""The monitor's model of one scan file: its latest good snapshot, the page's JSON state
and the rendered figures, shared by every request of :mod:`mrfm.monitor.server`.

The file is re-read only when its modification time or size changed, at most every
``min_refresh_s`` or every three times the time the last figures took to render (so
rendering takes at most a third of one core however fast the scan writes), and each
figure is rendered once per file state, whatever the number of browsers watching.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from pathlib import Path

from mrfm.data.nexus import FileFormatError
from mrfm.monitor.snapshot import (
    Snapshot,
    TransientReadError,
    latest_readings,
    progress,
    read_snapshot,
    scan_state,
    stale_for,
)

#: the page's figures, in the order the warm-up draws them
FIGURES = ("map", "line", "channels")
#: page poll interval (ms), sent to the page in state.json
POLL_MS = 1000


class Model:
    """The latest good snapshot of the file, its JSON state and its rendered figures."""

    def __init__(self, path: Path, min_refresh_s: float = 0.5, reread_s: float = 10.0):
        self.path = path
        self.min_refresh_s = min_refresh_s
        self.reread_s = reread_s
        self._lock = threading.Lock()
        self._render_lock = threading.Lock()
        self.snapshot: Snapshot | None = None
        self.version = 0
        self.read_error = ""
        self._checked = -float("inf")
        self._read_at = -float("inf")
        self._figures: dict[tuple[str, str], tuple[int, bytes]] = {}
        self._render_s: dict[str, float] = {}  # last render time per figure kind (s)
        self._favicon: bytes | None = None
        #: set by MonitorServer.stop: the warm-up renders no further figure
        self.closing = threading.Event()

    def first_read(self, attempts: int = 20) -> None:
        """Read the file once before serving (FileFormatError if it is not a scan file)."""
        for i in range(attempts):
            try:
                self._store(read_snapshot(self.path))
                return
            except TransientReadError as exc:
                if i == attempts - 1:
                    raise FileFormatError(f"{self.path}: cannot read the scan file "
                                          f"({exc})") from None
                time.sleep(0.1)

    def _store(self, snap: Snapshot) -> None:
        if self.snapshot is None or snap.key != self.snapshot.key:
            self.version += 1
        self.snapshot = snap
        self._read_at = time.monotonic()

    def refresh(self) -> Snapshot:
        """The current snapshot, re-read if the file changed (see the module docstring)."""
        with self._lock:
            now = time.monotonic()
            interval = max(self.min_refresh_s, 3.0 * sum(self._render_s.values()))
            if now - self._checked >= interval:
                self._checked = now
                try:
                    st = self.path.stat()
                    key = (st.st_mtime_ns, st.st_size)
                    if (self.snapshot is None or key != self.snapshot.file_key
                            or now - self._read_at >= self.reread_s):
                        self._store(read_snapshot(self.path))
                    self.read_error = ""
                except (OSError, TransientReadError, FileFormatError) as exc:
                    self.read_error = str(exc)  # keep the last good snapshot; retry next poll
            assert self.snapshot is not None  # first_read() ran before serving
            return self.snapshot

    def state(self) -> dict[str, object]:
        """The JSON object of /state.json."""
        snap = self.refresh()
        state, message = scan_state(snap.status)
        prog = progress(snap)
        return {
            "version": self.version,
            "poll_ms": POLL_MS,
            "file": snap.path.name,
            "title": snap.title,
            "created": snap.created,
            "t0_unix": snap.t0_unix if math.isfinite(snap.t0_unix) else 0.0,
            "state": state,
            "status": snap.status,
            "message": message,
            "stale_s": stale_for(snap),
            "read_error": self.read_error,
            "progress": prog,
            "signal": snap.signal,
            "channels": latest_readings(snap),
            "settings": [vars(s) for s in snap.settings],
            "identities": list(snap.identities),
            "info": {**snap.attrs, "grid": " x ".join(str(v.size) for v in snap.axes.values()),
                     "axes": ", ".join(snap.axes)},
            "config": snap.config,
            "sessions": len(snap.session_starts) + 1,
        }

    def figure(self, kind: str, channel: str) -> bytes:
        """PNG bytes of figure ``kind`` for ``channel`` (rendered once per file state)."""
        from mrfm.monitor import render  # matplotlib: loaded when a figure is first asked for

        snap = self.refresh()
        version = self.version
        with self._render_lock:
            cached = self._figures.get((kind, channel))
            if cached is not None and cached[0] == version:
                return cached[1]
            t0 = time.perf_counter()
            if kind == "map":
                png = render.render_map(snap, channel)
            elif kind == "line":
                png = render.render_line(snap, channel)
            else:
                png = render.render_channels(snap)
            self._render_s[kind] = time.perf_counter() - t0
            self._figures[(kind, channel)] = (version, png)
            return png

    def prerender(self) -> None:
        """Render the page's default figures for the current file state (cache warm-up)."""
        snap = self.refresh()
        with contextlib.suppress(Exception):  # a real request will report any error
            for kind in FIGURES:
                if self.closing.is_set():
                    return
                self.figure(kind, snap.signal if kind != "channels" else "")

    def favicon(self) -> bytes:
        from mrfm.monitor import render

        with self._render_lock:
            if self._favicon is None:
                self._favicon = render.render_favicon()
            return self._favicon


__all__ = ["FIGURES", "POLL_MS", "Model"]
