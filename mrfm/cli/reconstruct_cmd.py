"""``mrfm reconstruct SCAN.h5 -o OUT.h5 [--json]``: 3-D spin density from a scan."""

from __future__ import annotations

import argparse
import sys

from mrfm.cli.jsonout import print_json
from mrfm.cli.options import add_max_memory, apply_max_memory, check_output
from mrfm.cli.progress import CommandProgress


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reconstruct",
        help="reconstruct the 3-D spin density of a scan, signal map or dataset item",
        description="Build the point-spread function of the file's own experiment "
        "(/entry/config) and deconvolve with positivity (FISTA, projected Landweber or "
        "Richardson-Lucy; [reconstruction] section). Writes the density in m^-3 and metrics.",
    )
    p.add_argument("file", help="scan, signal map or dataset item (HDF5)")
    p.add_argument("-o", "--output", required=True, help="reconstruction file to write (.h5)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_max_memory(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mrfm.data.nexus import verify_file
    from mrfm.imaging.pipeline import reconstruct_file

    apply_max_memory(args)
    verify_file(args.file, kinds=("scan", "signal_map", "dataset_item"))
    check_output(args.output, inputs=[args.file])
    with CommandProgress("reconstruct", "iterations") as progress:
        summary = reconstruct_file(args.file, args.output, progress=progress.update)
    if args.json:
        print_json(summary)
        return 0
    lines = [f"{summary['method']}: {summary['iterations']} iterations, stopped by "
             f"{summary['stopped_by']} (rule: {summary['stopping_rule']}), residual "
             f"{summary['residual_norm']:.3g} {summary['signal_unit']}"]
    if "correlation" in summary:
        lines.append(f"correlation with ground truth {summary['correlation']:.3f}, "
                     f"normalized error {summary['normalized_error']:.3f}")
    if summary["note"]:
        lines.append(summary["note"])
    lines.append(f"written {summary['output']}")
    print("\n".join(lines), file=sys.stderr)
    return 0
