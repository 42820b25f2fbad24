"""``mrfm demo [-o DIR]``: a whole virtual experiment with the demo preset, in under a minute."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from mrfm.cli.progress import ProgressLines
from mrfm.errors import UserError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run a small virtual MRFM experiment end to end",
                       description="Simulate the demo preset and write files and figures.")
    p.add_argument("-o", "--output", default="mrfm-demo",
                   help="output folder (default ./mrfm-demo)")
    p.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mrfm.cli.jsonout import print_json
    from mrfm.demo import run_demo

    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise UserError(f"-o {out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    terminal = sys.stderr.isatty()  # on a terminal the steps' lines say enough

    def step_progress(label: str, unit: str) -> Callable[[int, int], None]:
        return ProgressLines(label, unit, enabled=not terminal).update

    summary = run_demo(out, log=lambda line: print(line, file=sys.stderr),
                       progress=step_progress)
    if args.json:
        print_json(summary)
    return 0
