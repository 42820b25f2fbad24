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
import json
import sys

#: exit code after Ctrl-C / SIGTERM (128 + SIGINT, the shell convention)
EXIT_INTERRUPTED = 130


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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from mrfm.scan.run import hms, run_scan

    console = Console(stderr=True)
    bar = Progress(
        TextColumn("[bold]scan"), BarColumn(), MofNCompleteColumn(), TextColumn("points"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console,
        disable=not console.is_terminal, transient=False,
    )
    task = bar.add_task("scan", total=None)

    def on_progress(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    def notify(message: str) -> None:
        console.print(f"mrfm: {message}", highlight=False, soft_wrap=True, markup=False)

    with bar:
        result = run_scan(args.config, args.rig, args.output, resume=args.resume,
                          overwrite=args.overwrite, progress=on_progress,
                          notify=notify)
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
        "overhead_per_point_s": result.overhead_per_point_s,
        "output": str(result.path),
        "safe_state_problems": list(result.safe_state_problems),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"mrfm: scan {result.status}: {result.points_measured}/{result.points_total} "
              f"points in {hms(result.elapsed_s)} -> {args.output}", file=sys.stderr)
    return 0 if result.complete else 1
