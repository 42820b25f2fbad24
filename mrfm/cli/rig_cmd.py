"""``mrfm rig serve [RIGFILE] [--json] [--station FILE]``: serve the virtual rig until
SIGINT or SIGTERM.

Prints one line ``{"instruments": {"<name>": "<VISA resource string>", ...},
"details": {"<name>": {"resource", "driver", "model", "read_termination",
"write_termination"}, ...}}`` on stdout as soon as every virtual instrument listens
(127.0.0.1 only), then serves until SIGINT or SIGTERM and exits 0. Without ``--json``
a readable table also goes to stderr. ``--station FILE`` also writes a QCoDeS station
configuration for the served instruments (:func:`mrfm.rig.instruments.interop.station_yaml`)
before that line is printed. The default rig file is the shipped ``instruments/virtual.toml``.
The physics behind the instruments (solver signal, cantilever, start field and RF) is
the experiment the rig file names (its ``experiment`` key), else the packaged
``configs/demo.toml`` (a note on stderr says so); an experiment that does not load is
an error (exit 2).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path


def add_parser(subparsers) -> None:
    """Register ``rig`` and its ``serve`` subcommand."""
    rig = subparsers.add_parser("rig", help="the virtual instrument rig",
                                description="Run the physics-backed virtual MRFM rig.")
    sub = rig.add_subparsers(dest="rig_command", metavar="ACTION", parser_class=type(rig))
    serve = sub.add_parser(
        "serve", help="serve the virtual instruments of a rig file until Ctrl-C",
        description="Serve every instrument of RIGFILE on 127.0.0.1 (VISA raw sockets), "
        "print their resource strings as one JSON line, and run until SIGINT or SIGTERM. "
        "The physics is the experiment RIGFILE names, else the packaged configs/demo.toml.",
    )
    serve.add_argument("rigfile", nargs="?", default=None, metavar="RIGFILE",
                       help="rig file (TOML); default: the shipped instruments/virtual.toml")
    serve.add_argument("--json", action="store_true",
                       help="print only the JSON line on stdout (no table on stderr)")
    serve.add_argument("--station", type=Path, default=None, metavar="FILE",
                       help="also write a QCoDeS station YAML for the served instruments")
    serve.add_argument("--time-scale", type=float, default=None, metavar="X",
                       help="simulated seconds per wall second (overrides the rig file)")
    serve.set_defaults(func=run)
    rig.set_defaults(func=_rig_help(rig))


def _rig_help(parser: argparse.ArgumentParser):
    def show(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    return show


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; 0 on a clean stop."""
    import dataclasses

    from mrfm.errors import UserError
    from mrfm.resources import data_dir
    from mrfm.rig.instruments.interop import details, station_yaml
    from mrfm.rig.server import VirtualRig
    from mrfm.rigdef import rigfile

    path = Path(args.rigfile) if args.rigfile else data_dir("instruments") / "virtual.toml"
    rig_def = rigfile.load(path)
    if args.time_scale is not None:
        if not args.time_scale > 0:
            raise UserError(f"--time-scale: must be > 0, got {args.time_scale}")
        rig_def = dataclasses.replace(rig_def, time_scale=args.time_scale)

    stop = threading.Event()
    previous = {}

    def handler(signum, frame):  # noqa: ARG001
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)
    rig = VirtualRig(rig_def)
    try:
        rig.start()
        if args.station is not None:
            text = station_yaml(rig.instruments, rig.resources, rig_name=rig_def.name)
            try:
                args.station.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise UserError(f"--station: cannot write {args.station}: {exc}") from None
        line = {**rig.describe(), "details": details(rig.instruments, rig.resources)}
        print(json.dumps(line), flush=True)
        if not args.json:
            width = max(len(n) for n in rig.resources)
            print(f"virtual rig {rig_def.name!r} from {path}:", file=sys.stderr)
            for name, resource in rig.resources.items():
                driver = rig_def.instrument(name).driver
                print(f"  {name:<{width}}  {driver:<18} {resource}", file=sys.stderr)
            for note in rig.notes:
                print(f"  note: {note}", file=sys.stderr)
            print("serving; Ctrl-C to stop", file=sys.stderr, flush=True)
        while not stop.wait(0.2):
            pass
    finally:
        rig.stop()
        for sig, old in previous.items():
            signal.signal(sig, old)
    return 0
