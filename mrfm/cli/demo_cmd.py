"""``mrfm demo [-o DIR]``: a whole virtual experiment with the demo preset, in under a minute."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
    summary = run_demo(out, log=lambda line: print(line, file=sys.stderr))
    if args.json:
        print_json(summary)
    return 0
