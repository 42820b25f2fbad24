"""Watch a scan live in the browser: ``mrfm monitor SCAN.h5 [--port N]``.

The monitor serves one page on ``http://127.0.0.1:PORT/`` that follows a scan file
while it grows: the map filling in (colour bar in the channel's unit), the latest
line beside the one before, every recorded channel against time (force or frequency
shift, lock-in X/Y, temperature, field, tip position: whatever the file holds),
progress and ETA, the instrument settings and identities recorded in the file, and the
scan's state (running, complete, stopped by a fault with its message, interrupted). It
works the same on a finished file and on the file of a scan that was killed.

Design (why it is built this way)
---------------------------------
* **No new dependency, nothing from the internet.** The server is the standard
  library's ``http.server``; the figures are drawn server-side by matplotlib (already
  the package's plotting library, with the style of ``mrfm plot``) into PNG images;
  the page is one small hand-written HTML file, one stylesheet and ~150 lines of
  plain JavaScript, all served by the monitor itself (no CDN, no front-end build, no
  vendored plotting library). Lab control computers often have no internet access.
* **Cheap for many viewers.** The page polls a small JSON state (``/state.json``,
  once a second) and swaps an image only when the file changed. The file is re-read
  at most twice a second and only when its modification time or size changed; each
  figure is rendered once per file state and shared by every browser watching.
  Requests are served by a bounded number of threads.
* **Never in the writer's way.** Each read opens the file read-only in SWMR mode,
  reads status, mask and data (in that order, see :mod:`mrfm.monitor.snapshot`) and
  closes it; SWMR readers take no lock, so the scan never waits for the monitor. A
  read that meets the file mid-write is retried at the next poll. The monitor runs
  in its own process (:class:`MonitorProcess` starts one beside a scan): HDF5
  serializes all calls within a process, so a monitor thread inside the scan's
  process would make the writer wait.
* **Loopback only, read-only, nothing but the file.** The server binds 127.0.0.1,
  answers GET (and HEAD) of a fixed list of paths (no file system paths, so no path
  traversal), refuses requests whose ``Host`` is not the loopback address (DNS
  rebinding), sends a strict Content-Security-Policy, and the page inserts text from
  the file as text, never as HTML.

Python use::

    from mrfm.monitor import MonitorServer
    with MonitorServer("scan.h5", port=0) as mon:   # serves in a background thread
        print(mon.url)

    from mrfm.monitor import MonitorProcess         # beside a running scan
    with MonitorProcess("scan.h5") as mon:          # (the file must exist already)
        print(mon.url)
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from mrfm.errors import UserError
from mrfm.monitor.server import MonitorServer
from mrfm.monitor.snapshot import Snapshot, read_snapshot, scan_state

__all__ = ["MonitorProcess", "MonitorServer", "Snapshot", "read_snapshot", "scan_state"]


class MonitorProcess:
    """``mrfm monitor PATH --port PORT`` in a child process (for ``mrfm scan --monitor``).

    :meth:`start` returns the URL once the child serves (the child prints it first);
    :meth:`stop` ends the child with SIGTERM (SIGKILL after ``timeout`` s). The child's
    stderr is passed through, so its one-line errors reach the user. The child runs in
    its own session (a Ctrl-C at the terminal reaches the scan only, which then stops
    the monitor) and stops by itself when this process's end of its stdin pipe closes,
    so a scan killed with SIGKILL leaves no monitor behind.
    """

    def __init__(self, path: str | Path, port: int = 0, *, timeout: float = 30.0):
        self.path = Path(path)
        self.port = int(port)
        self.timeout = float(timeout)
        self._proc: subprocess.Popen[str] | None = None
        self.url: str | None = None

    def start(self) -> str:
        """Start the child and return its URL; UserError if it could not start serving."""
        cmd = [sys.executable, "-m", "mrfm.cli.main", "monitor", str(self.path),
               "--port", str(self.port)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "MRFM_MONITOR_STOP_WITH_STDIN": "1"}
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True, env=env, start_new_session=True)
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self._proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(self.timeout)
        url = line[0].strip() if line else ""
        if not url.startswith("http://"):
            self.stop()
            raise UserError(f"monitor for {self.path} did not start (see the message above)")
        self.url = url
        return url

    def stop(self) -> None:
        """End the child (idempotent)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(self.timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()

    def __enter__(self) -> MonitorProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
