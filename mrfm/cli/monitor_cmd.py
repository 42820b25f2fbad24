"""``mrfm monitor SCAN.h5 [--port N]``: watch a scan file live in the browser.

Serves the page of :mod:`mrfm.monitor` on 127.0.0.1, prints its URL
(``http://127.0.0.1:PORT/``) on stdout and serves until SIGTERM (exit 0) or Ctrl-C
(exit 130). A missing or unreadable scan file is bad input (exit 2, one line).
The monitor lowers its own CPU priority (nice 10 on POSIX), so that a scan on the same
computer gets the processor first when both want it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading

#: environment variable: "1" makes the monitor stop at EOF on stdin (MonitorProcess)
STOP_WITH_STDIN = "MRFM_MONITOR_STOP_WITH_STDIN"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "monitor",
        help="watch a scan file live in the browser (127.0.0.1 only)",
        description="Serve a page on 127.0.0.1 that follows a scan file as it grows: the map, "
        "the latest line, the recorded channels against time, progress and ETA, the "
        "instrument settings and the scan's state. Read-only; works on finished files too. "
        "Prints the page's URL, then serves until Ctrl-C or SIGTERM.",
    )
    p.add_argument("file", metavar="SCAN.h5", help="scan file written by 'mrfm scan'")
    p.add_argument("--port", type=int, default=0,
                   help="TCP port on 127.0.0.1 (default 0: the OS chooses)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mrfm.monitor import MonitorServer

    done = threading.Event()
    # set by MonitorProcess: stop when the parent's pipe closes (the scan ended or was killed)
    if os.environ.get(STOP_WITH_STDIN) == "1":
        def watch() -> None:
            # os.read, not sys.stdin: a daemon thread blocked in a buffered read aborts
            # the interpreter at exit; b"" is EOF (the parent closed the pipe or died)
            with contextlib.suppress(OSError):
                while os.read(sys.stdin.fileno(), 4096):
                    pass
            done.set()

        threading.Thread(target=watch, daemon=True).start()
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: done.set())
    try:
        server = MonitorServer(args.file, port=args.port)
        with server:
            if hasattr(os, "nice"):  # once serving (bad input returns before, unchanged)
                with contextlib.suppress(OSError):
                    os.nice(10)
            print(server.url, flush=True)
            while not done.wait(0.5):  # Ctrl-C raises KeyboardInterrupt here: exit 130
                pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    if os.environ.get(STOP_WITH_STDIN) == "1" or not server.stopped_cleanly:
        # the child of MonitorProcess, stopped cleanly (pages closed, server joined), or a
        # server that gave up waiting for a thread still drawing or reading: leave without
        # the interpreter's and C++ libraries' exit-time teardown, which raced a native
        # thread once in CI ("terminate called without an active exception", SIGABRT)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0
