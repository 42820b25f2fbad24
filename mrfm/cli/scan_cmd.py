"""``mrfm scan CONFIG --rig RIGFILE|virtual -o OUT.h5 [--resume | --overwrite]``.

A thin caller of :func:`mrfm.scan.run_scan` (its docstring gives the order of work and
the checks): the same command drives real hardware (a rig file naming VISA resources)
or the virtual rig (``--rig virtual``: ``instruments/virtual.toml`` served in this
process, its physics taken from CONFIG). Bad input exits 2 with one line before
anything moves (an existing OUT.h5 too, unless ``--resume`` or ``--overwrite``); an
instrument fault stops the scan in the safe state with its data kept (exit 3);
Ctrl-C/SIGTERM does the same and exits 130; ``--resume`` continues either.
"""

from __future__ import annotations

import argparse
import sys
import threading

from mrfm.cli.progress import CommandProgress

#: exit code after Ctrl-C / SIGTERM (128 + SIGINT, the shell convention)
EXIT_INTERRUPTED = 130


class LiveMonitor:
    """``mrfm monitor`` beside the scan, started in the background once the file exists
    (the scan never waits for it); its URL is printed on stderr and, unless stdout
    carries the --json object, alone on a line of stdout, each with a flush. The page
    stops with the scan (``mrfm monitor FILE`` reopens it on the finished file)."""

    def __init__(self, path: str, *, url_on_stdout: bool = True):
        from mrfm.monitor import MonitorProcess

        self._process = MonitorProcess(path)
        self._thread: threading.Thread | None = None
        self._url_on_stdout = url_on_stdout

    def start_once(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._start, daemon=True)
            self._thread.start()

    def _start(self) -> None:
        try:
            url = self._process.start()
        except Exception as exc:  # noqa: BLE001 - the scan goes on without its page
            print(f"mrfm: monitor not started: {exc}", file=sys.stderr, flush=True)
            return
        print(f"mrfm: monitor at {url}", file=sys.stderr, flush=True)
        if self._url_on_stdout:
            print(url, flush=True)

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.join(timeout=35.0)
        self._process.stop()


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "scan",
        help="run a scan on a rig (real instruments or the virtual rig)",
        description="Scan the tip over the experiment's [scan] grid (visiting order from its "
        "optional [plan] section), recording the lock-in channels into a NeXus HDF5 file "
        "that is flushed line by line and readable while the scan runs.",
    )
    p.add_argument("config", help="experiment file (TOML)")
    p.add_argument("--rig", required=True, metavar="RIGFILE|virtual",
                   help="rig file (TOML) naming the instruments, or 'virtual'")
    p.add_argument("-o", "--output", required=True, metavar="OUT.h5", help="scan file to write")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true",
                      help="continue an interrupted scan in OUT.h5 from its measured mask")
    mode.add_argument("--overwrite", action="store_true",
                      help="replace an existing OUT.h5 (once the instruments are open)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--monitor", action="store_true",
                   help="serve the live page of the scan on 127.0.0.1 (mrfm monitor) and "
                        "print its URL")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from mrfm.scan.run import hms, run_scan

    console = Console(stderr=True)
    progress = CommandProgress("scan", "points", terminal=console.is_terminal, transient=False,
                               console=console)
    monitor = LiveMonitor(args.output, url_on_stdout=not args.json) if args.monitor else None

    def on_progress(done: int, total: int) -> None:
        progress.update(done, total)
        if monitor is not None:
            monitor.start_once()  # the file exists once a line is saved

    def notify(message: str) -> None:
        console.print(f"mrfm: {message}", highlight=False, soft_wrap=True, markup=False)

    if monitor is not None and args.resume:
        monitor.start_once()  # the file exists already
    try:
        with progress:
            result = run_scan(args.config, args.rig, args.output, resume=args.resume,
                              overwrite=args.overwrite, progress=on_progress,
                              notify=notify)
    finally:
        if monitor is not None:
            monitor.stop()
    if result.fault is not None:
        raise result.fault  # exit 3 with its one line (mrfm.cli.main); data kept
    if result.interrupted:
        print(f"mrfm: scan interrupted; rig in safe state, {result.points_measured} of "
              f"{result.points_total} points kept; resume with --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    summary = {
        "status": result.status,
        "points_measured": result.points_measured,
        "points_total": result.points_total,
        "points_this_run": result.points_this_run,
        "elapsed_s": result.elapsed_s,
        "estimated_s": result.estimated_s,
        "estimated_start_s": result.estimated_start_s,
        "overhead_per_point_s": result.overhead_per_point_s,
        "output": str(result.path),
        "safe_state_problems": list(result.safe_state_problems),
    }
    if args.json:
        from mrfm.cli.jsonout import print_json

        print_json(summary)  # NaN (no point measured in this run) becomes null
    else:
        print(f"mrfm: scan {result.status}: {result.points_measured}/{result.points_total} "
              f"points in {hms(result.elapsed_s)} -> {args.output}", file=sys.stderr)
    return 0 if result.complete else 1
