"""``mrfm dataset CONFIG -n COUNT -o DIR [--scheduler ADDRESS]``: synthetic scans on dask."""

from __future__ import annotations

import argparse
import sys

from mrfm.cli.jsonout import print_json
from mrfm.cli.options import add_max_memory, apply_max_memory
from mrfm.cli.progress import CommandProgress


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dataset",
        help="generate a synthetic scan dataset (phantoms, noiseless and noisy scans)",
        description="Draw phantoms and experiment parameters from the [dataset] section, "
        "simulate noiseless and noisy scans in parallel on dask.distributed and write one "
        "NeXus file per item plus manifest.jsonl. Rerunning skips items already written "
        "and verified.",
    )
    p.add_argument("config", help="experiment file (TOML) with a [dataset] section")
    p.add_argument("-n", "--count", type=int, required=True, help="number of items")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="existing dask scheduler, e.g. tcp://host:8786 (default: a local "
                   "cluster, one single-threaded worker process per core)")
    p.add_argument("--workers", type=int, default=None,
                   help="workers of the local cluster (default: number of cores)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_max_memory(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mrfm.imaging.dataset import generate_dataset
    from mrfm.imaging.dataset_guard import check_count, check_workers

    check_count(args.count)
    check_workers(args.workers)
    apply_max_memory(args)
    with CommandProgress("dataset", "items") as progress:
        summary = generate_dataset(
            args.config, count=args.count, out_dir=args.output, scheduler=args.scheduler,
            workers=args.workers, progress=progress.update,
        )
    if args.json:
        print_json(summary)
    else:
        print(f"{summary['generated']} generated, {summary['skipped']} already present, "
              f"{summary['failed']} failed; manifest {summary['manifest']}", file=sys.stderr)
    # API.md: exit 4 when the set finished with some items failed (listed in the manifest)
    return 4 if summary["failed"] else 0
